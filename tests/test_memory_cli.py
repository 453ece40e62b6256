"""`companion memories list|export|import|forget` against a real store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from companion.cli.memory import add_commands
from companion.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["memories", *argv])
    return args.func(args, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings().replace(memory={"data_dir": str(tmp_path / "data")})


def test_import_list_forget_export_round_trip(settings: Settings, tmp_path: Path, capsys) -> None:
    assert run(settings, "import", str(ROOT / "examples" / "memories.json")) == 0
    assert "imported 20 memories" in capsys.readouterr().out
    assert run(settings, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    susan = next(m for m in listed if m["subject"] == "Susan")
    assert susan["relation"] == "daughter" and susan["attrs"]["lives_in"] == "Leeds"
    assert run(settings, "forget", susan["id"]) == 0
    assert run(settings, "forget", "--about", "max") == 0
    disk = " ".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert "Susan" not in disk and "Max" not in disk and "Margaret" in disk  # the journal and daily copies too
    out = tmp_path / "export.json"
    assert run(settings, "export", str(out)) == 0
    exported = json.loads(out.read_text())
    assert exported["name"] == "Margaret" and {p["name"] for p in exported["people"]} == {"Tom", "George", "Joan"}
    other = Settings().replace(memory={"data_dir": str(tmp_path / "other")})
    assert run(other, "import", str(out)) == 0  # an export imports again
    capsys.readouterr()
    run(other, "list", "--json")
    assert {m["subject"] for m in json.loads(capsys.readouterr().out) if m["kind"] == "person"} == {"Tom", "George", "Joan"}


def test_bad_import_names_the_entry(settings: Settings, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"people": [{"name": "Susan", "relation": "daughter", "town": "Leeds"}]}))
    assert run(settings, "import", str(bad)) == 2
    err = capsys.readouterr().err
    assert "people[0]" in err and "town" in err and "lives_in" in err


def test_forget_unknown_id_says_how_ids_look(settings: Settings, capsys) -> None:
    assert run(settings, "forget", "f99") == 2
    assert "f12" in capsys.readouterr().err
