"""Forgetting is exact (whole names, the people model) and complete (every copy on the device), and can be undone."""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from memory_helpers import START, say, turn

from companion.cli.caregiver import write_summary
from companion.cli.memory import add_commands
from companion.clock import ManualClock
from companion.config import MemorySettings, Settings
from companion.memory.skill import MemorySkill
from companion.store.file import dumps
from companion.store.journal import FACTS, RoutineRow, TurnRow
from companion.store.store import DB_FILENAME, Store

ANN_WORLD = ["my neighbour ann lives in york", "my friend anne likes bingo", "my niece joanna is a nurse",
             "my granddaughter hannah is seven", "yesterday ann and i went to the market and bought some wool"]
TOM_WORLD = ["my grandson tom is twelve", "my friend tommy lives in leeds", "i like tomatoes",
             "dr tomlinson is my doctor", "i have an appointment with tomlinson on friday"]


def whole(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![\w-])" + name.encode() + rb"(?![\w-])", re.IGNORECASE)


def everything_on_disk(directory: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def make(tmp_path: Path, **kwargs) -> tuple[MemorySkill, ManualClock, Store]:
    clock = ManualClock(START)
    store = Store.open(tmp_path / "data")
    return MemorySkill(store, MemorySettings(), clock, **kwargs), clock, store


def subjects(store: Store) -> set[str]:
    return {d["subject"] for d in store.all(FACTS)}


def test_forget_about_ann_is_ann_not_anne_joanna_or_hannah(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    for text in ANN_WORLD:
        say(skill, text, clock)
    reply, _ = say(skill, "forget about ann", clock)
    assert reply.text.startswith("I'll forget 2 things about Ann: that your neighbour Ann lives in York; ")
    assert "Anne" not in reply.text and reply.text.endswith("— all right?")
    reply, _ = say(skill, "yes", clock)
    assert reply.intent == "memory.forgotten" and "forgotten 2 things about Ann" in reply.text
    assert subjects(store) == {"Anne", "Joanna", "Hannah"}
    assert [t.user for t in store.journal.all(TurnRow) if "ann" in t.user.split()] == []
    assert any("anne" in t.user for t in store.journal.all(TurnRow))  # her other conversations stay
    disk = everything_on_disk(tmp_path / "data")
    assert not whole("ann").search(disk)
    assert all(whole(n).search(disk) for n in ("anne", "joanna", "hannah"))


def test_forget_about_tom_is_not_tommy_tomatoes_or_dr_tomlinson(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    for text in TOM_WORLD:
        say(skill, text, clock)
    reply, _ = say(skill, "forget about tom", clock)
    assert reply.text.startswith("I'll forget 1 thing about Tom: that your grandson Tom is 12")
    say(skill, "yes", clock)
    kept = {(d["kind"], d["subject"]) for d in store.all(FACTS)}
    assert ("person", "Tom") not in kept
    assert {("person", "Tommy"), ("like", "tomatoes"), ("person", "Tomlinson")} <= kept
    assert any(d["kind"] == "appointment" for d in store.all(FACTS))  # Dr Tomlinson's appointment stays
    assert not whole("tom").search(everything_on_disk(tmp_path / "data"))


def test_forget_my_daughter_uses_the_people_model(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    for text in ("my daughter susan lives in leeds", "susan is coming to visit on saturday", "my son peter is a vet"):
        say(skill, text, clock)
    reply, _ = say(skill, "forget about my daughter", clock)
    assert "about your daughter" in reply.text and "Susan" in reply.text and "Peter" not in reply.text
    say(skill, "yes", clock)
    assert subjects(store) == {"Peter"}


def test_undo_brings_it_back_for_a_short_while_only(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    for text in ANN_WORLD:
        say(skill, text, clock)
    before = {d["id"]: d for d in store.all(FACTS)}
    say(skill, "forget about ann", clock)
    say(skill, "yes", clock)
    reply, _ = say(skill, "oh no, undo that", clock)
    assert reply.intent == "memory.undone" and "put back the 2 things about Ann" in reply.text
    assert {d["id"]: d for d in store.all(FACTS)} == before  # same ids, same documents
    assert any("ann and i" in t.user for t in store.journal.all(TurnRow))
    assert "Ann" in skill.context(turn("how is ann", clock))
    say(skill, "forget about ann", clock)
    say(skill, "yes", clock)
    clock.advance(MemorySettings().undo_window_s + 1)
    reply, _ = say(skill, "undo that", clock)
    assert reply.intent == "memory.undo_too_late" and subjects(store) == {"Anne", "Joanna", "Hannah"}


def test_forgetting_reaches_every_copy_and_says_what_was_sent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings().replace(memory={"data_dir": str(data)}, conversation={"user_name": "Mary"},
                                  caregiver={"contacts": ["Susan"], "share_words": True,
                                             "webhook_url": "http://127.0.0.1:9/hook"})
    skill, clock, store = make(tmp_path, family="Susan")
    for text in ANN_WORLD:
        say(skill, text, clock)
    store.journal.append(RoutineRow(at=clock.now(), routine_id="sleep", kind="checkin", event="checkin_answer",
                                    title="How did you sleep?", detail="badly, Ann's dog barked all night"))
    say(skill, "ann says my back hurts", clock)  # a flagged moment: quoted in the summary (share_words)
    store.compact()
    yesterday = date.today() - timedelta(days=1)  # a daily copy that holds Ann
    store.file.generations.add((data / DB_FILENAME).read_bytes(), yesterday, 10)
    (data / (DB_FILENAME + ".corrupt-20250101-000000")).write_bytes(dumps(store.all and {FACTS: {
        "1": {"kind": "person", "subject": "Ann", "said": "my neighbour ann"}}})[:-9] + b"\x00" * 64)
    summary_clock = ManualClock(clock.now() + timedelta(hours=1))
    write_summary(settings, "day", None, summary_clock, send=True)  # summaries/, outbox/, audit, spool
    disk = everything_on_disk(data)
    for where in ("summaries", "outbox", "alerts"):
        assert whole("ann").search(everything_on_disk(data / where)), where  # the copies exist before
    say(skill, "forget about ann", clock)
    reply, _ = say(skill, "yes", clock)
    assert "Messages already sent to Susan can't be called back." in reply.text
    disk = everything_on_disk(data)
    assert not whole("ann").search(disk)
    assert whole("anne").search(disk) and whole("joanna").search(disk)
    (answer,) = [r for r in store.journal.all(RoutineRow) if r.event == "checkin_answer"]
    assert answer.detail == "badly, [forgotten]'s dog barked all night"  # the record stays, the name goes


def test_cli_forget_about_is_exact_and_says_sent_copies_cannot_be_recalled(tmp_path: Path, capsys) -> None:
    skill, clock, store = make(tmp_path)
    for text in ANN_WORLD:
        say(skill, text, clock)
    store.close()
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    settings = Settings().replace(memory={"data_dir": str(tmp_path / "data")})
    args = parser.parse_args(["memories", "forget", "--about", "Ann", "--yes"])
    assert args.func(args, settings) == 0
    out = capsys.readouterr().out
    assert out.count("forgetting") == 2 and "Anne" not in out
    with Store.open(tmp_path / "data") as again:
        assert subjects(again) == {"Anne", "Joanna", "Hannah"}


@pytest.mark.parametrize("topic,kept", [("tomatoes", {"Tom", "Tommy"}), ("tommy", {"Tom", "tomatoes"})])
def test_things_are_whole_words_too(tmp_path: Path, topic: str, kept: set[str]) -> None:
    skill, clock, store = make(tmp_path)
    for text in TOM_WORLD[:3]:
        say(skill, text, clock)
    say(skill, f"forget about {topic}", clock)
    say(skill, "yes", clock)
    assert subjects(store) == kept


def test_nothing_about_a_stranger(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    say(skill, "my neighbour anne likes bingo", clock)
    reply, _ = say(skill, "forget about ann", clock)
    assert reply.intent == "memory.forget_nothing" and subjects(store) == {"Anne"}


def test_at_is_kept_in_turn_rows(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    say(skill, "hello there", clock)
    assert store.journal.all(TurnRow)[0].at == datetime(2024, 6, 10, 9, 0, tzinfo=timezone.utc) == START


def test_a_name_that_is_also_a_word(tmp_path: Path) -> None:
    """"Forget about Will": her son, not every sentence with "will" in it."""
    skill, clock, store = make(tmp_path)
    for text in ("my son will lives in leeds", "i will go to the shops tomorrow", "my friend wilma likes bingo",
                 "yesterday will and i walked along the river and had fish and chips"):
        say(skill, text, clock)
    reply, _ = say(skill, "forget about will", clock)
    assert reply.text.startswith("I'll forget 2 things about Will: that your son Will lives in Leeds; ")
    say(skill, "yes", clock)
    assert subjects(store) == {"Wilma"}
    assert any(t.user == "i will go to the shops tomorrow" for t in store.journal.all(TurnRow))


def test_the_labelled_forget_set(tmp_path: Path) -> None:
    """tests/data/forget_set.json (scripts/reliability_forget.py prints the figures per split)."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from reliability_forget import DATA, run_case

    for i, case in enumerate(json.loads(DATA.read_text())["cases"]):
        r = run_case(case, tmp_path / f"c{i}")
        assert r["gone"] == r["expected"] > 0 and not r["wrong"] and not r["missed"] and not r["left"], (case, r)
