"""`companion memories import`: every record checked first, a line-numbered report, all or nothing, linear."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from memory_helpers import START, say

from companion.cli.memory import add_commands
from companion.clock import ManualClock
from companion.config import MemorySettings, Settings
from companion.memory.book import MemoryBook
from companion.memory.files import import_file
from companion.memory.skill import MemorySkill
from companion.store.journal import EPISODES, FACTS
from companion.store.store import Store

ROOT = Path(__file__).resolve().parents[1]


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["memories", *argv])
    return args.func(args, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings().replace(memory={"data_dir": str(tmp_path / "data")})


# Each bad file: (its text, the line the report must name, words the report must contain)
BAD = {
    "episode mood as a word": ('{\n  "name": "Margaret",\n  "episodes": [\n    {"text": "We went to Whitby",\n'
                               '     "mood": "happy"}\n  ]\n}\n', 4, ["episodes[0].mood", "category"]),
    "a like that is null": ('{\n  "likes": ["gardening",\n            null]\n}\n', 2, ["likes[1]", "expected text"]),
    "a birthday that does not exist": ('{"people": [\n {"name": "Susan", "relation": "daughter"},\n'
                                       ' {"name": "Tom", "birthday": "31 February"}\n]}\n', 3, ["people[1].birthday"]),
    "not JSON": ('{\n  "name": "Margaret",\n  "likes": ["tea",]\n}\n', 3, ["not valid JSON"]),
    "a list at the top": ('[{"name": "Margaret"}]\n', 1, ["top level"]),
    "people is not a list": ('{\n  "people": {"name": "Susan"}\n}\n', 1, ["people", "expected a list"]),
    "a pet without a name": ('{"pets": [\n  {"kind": "cat"}\n]}\n', 2, ["pets[0].name"]),
    "a misspelt key": ('{"people": [{"name": "Susan", "town": "Leeds"}]}\n', 1, ["town", "lives_in"]),
    "an appointment date": ('{"appointments": [\n\n  {"what": "the optician", "date": "next thursday"}]}\n', 3,
                            ["appointments[0].date", "YYYY-MM-DD"]),
    "an age in words": ('{"people": [{"name": "Tom", "age": "twelve"}]}\n', 1, ["people[0].age", "whole number"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_changes_nothing_and_names_the_line(settings: Settings, tmp_path: Path, capsys, name: str) -> None:
    assert run(settings, "import", str(ROOT / "examples" / "memories.json")) == 0
    capsys.readouterr()
    run(settings, "list", "--json")
    before = capsys.readouterr().out
    text, line, words = BAD[name]
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert run(settings, "import", str(bad)) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{line}:" in err, err
    assert all(w in err for w in words), err
    assert "Traceback" not in err and ("nothing was imported" in err or "not valid JSON" in err
                                       or "top level" in err)
    run(settings, "list", "--json")
    assert capsys.readouterr().out == before  # all or nothing


def test_every_problem_is_reported_at_once(settings: Settings, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"likes": [None, 3, "tea"], "pets": [{"kind": "cat"}],
                               "episodes": [{"text": "x", "mood": "happy"}]}, indent=2))
    assert run(settings, "import", str(bad)) == 2
    err = capsys.readouterr().err
    assert "4 problem(s)" in err and err.count(f"\n  {bad}:") == 4


def test_after_a_refused_import_everything_still_works(settings: Settings, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "Margaret", "episodes": [{"text": "We went to Whitby", "mood": "happy"}]}')
    assert run(settings, "import", str(bad)) == 2
    assert run(settings, "list") == 0 and run(settings, "forget", "--about", "Whitby", "--yes") == 0
    with Store.open(Path(settings.memory.data_dir)) as store:
        skill = MemorySkill(store, MemorySettings(), ManualClock(START))
        assert "don't know much" in say(skill, "what do you remember about me", skill.clock)[0].text


def test_a_hand_edited_store_with_junk_never_breaks_list_chat_or_forget(tmp_path: Path, capsys) -> None:
    """What an older import (or a text editor) may have left: the readers cope, and say it plainly."""
    data = tmp_path / "data"
    with Store.open(data) as store:
        store.insert(EPISODES, {"kind": "episode", "said": "We went to Whitby", "mood": "happy", "about": "Susan",
                                "at": "2024-06-01T10:00:00+00:00"})
        store.insert(FACTS, {"kind": "like", "subject": None, "attrs": "none", "importance": "high"})
        store.insert(FACTS, {"kind": "birthday", "attrs": {"date": "31st of Febtober"}})
    settings = Settings().replace(memory={"data_dir": str(data)})
    assert run(settings, "list") == 0
    assert "You like None" not in capsys.readouterr().out
    with Store.open(data) as store:
        skill = MemorySkill(store, MemorySettings(), ManualClock(START))
        reply, _ = say(skill, "what do you remember about me", skill.clock)
        assert "None" not in reply.text
        say(skill, "we went to whitby last summer and it rained", skill.clock)
    assert run(settings, "forget", "--about", "Whitby", "--yes") == 0


def test_an_import_is_one_commit_whatever_its_size(tmp_path: Path) -> None:
    """Linear: one write for the whole file, and merging looks people up instead of scanning them."""
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"people": [{"name": f"Person{i}", "relation": "friend", "lives_in": "York"}
                                             for i in range(2000)]
                                  + [{"name": "Person7", "relation": "friend", "job": "baker"}]}))
    with Store.open(tmp_path / "data") as store:
        book = MemoryBook(store, ManualClock(START))
        commits = store.journal.db.commits
        assert import_file(book, people) == 2001  # 2000 added, one merged into Person7
        assert store.journal.db.commits == commits + 1
        person7 = next(m for m in book.all() if m.subject == "Person7")
        assert person7.attrs == {"lives_in": "York", "job": "baker"}
