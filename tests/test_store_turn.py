"""A turn is one durable write of bounded size; retention bounds every table and the files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from memory_helpers import START, turn

from companion.clock import ManualClock
from companion.config import Settings
from companion.emotion.sensor import MoodSensor
from companion.loop.skills import TurnRecord
from companion.memory.skill import MemorySkill
from companion.safety.honesty import HonestySkill
from companion.store.journal import HelpRow, MoodRow, RoutineRow, TurnRow
from companion.store.store import JOURNAL_FILENAME, Store


def skills(tmp_path: Path):
    settings = Settings().replace(memory={"data_dir": str(tmp_path)}, emotion={"mode": "on"})
    clock = ManualClock(START)
    store = Store.open(tmp_path)
    return (store, clock, MemorySkill(store, settings.memory, clock), HonestySkill.from_settings(settings, store, clock),
            MoodSensor.from_settings(settings.emotion, store, clock))


def one_turn(store, clock, memory, honesty, emotion, text: str) -> int:
    """The store-using stages of a turn, in the loop's order; returns the commits it made."""
    before = store.journal.db.commits
    t = turn(text, clock)
    emotion.estimate(t, record=True)  # the mood reading (deferred)
    honesty.policy.opening_line(t.at)  # the daily disclosure bookkeeping (deferred)
    reply = honesty.handle(t) or memory.handle(t)
    if reply is None:
        honesty.context(t)
        memory.context(t)
    record = TurnRecord(text=text, reply="How lovely.", intent=reply.intent if reply else None, at=t.at,
                        emotion=t.emotion)
    honesty.after_turn(record)
    memory.after_turn(record)
    clock.advance(30)
    return store.journal.db.commits - before


def test_a_turn_is_one_commit_with_its_mood_reading_and_counters(tmp_path: Path) -> None:
    store, clock, *parts = skills(tmp_path)
    one_turn(store, clock, *parts, "good morning")  # the first one also purges and marks the day
    commits = [one_turn(store, clock, *parts, text) for text in
               ("what a lovely day it is", "my daughter susan lives in leeds", "i went to the market yesterday and "
                "bought some wool", "tell me a joke")]
    assert commits == [1, 1, 1, 1]  # plain turns, a fact, a story: one write each
    assert len(store.journal.all(MoodRow)) == 5 and len(store.journal.all(TurnRow)) == 5
    assert not store.journal.db.staged()  # nothing left waiting
    store.close()


def test_retention_applies_to_every_table(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        j = store.journal
        for days in (500, 100, 10):
            at = START - timedelta(days=days)
            j.append_many([TurnRow(at=at, user="old"), MoodRow(at=at), HelpRow(at=at),
                           RoutineRow(at=at, routine_id="heart", event="acknowledged")])
        store.file.written_on = None  # as on a new day
        store.maintain({TurnRow: timedelta(days=30), MoodRow: timedelta(days=400), HelpRow: timedelta(days=400),
                        RoutineRow: timedelta(days=400)}, now=START)
        assert [j.count(k) for k in (TurnRow, MoodRow, HelpRow, RoutineRow)] == [1, 2, 2, 2]


def test_the_journal_file_stays_bounded_under_retention(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        j = store.journal

        def month(start):
            j.append_many([TurnRow(at=start + timedelta(minutes=15 * i), user="a turn of her day " * 5)
                           for i in range(1500)])

        month(START)
        j.flush()
        j.db.checkpoint(truncate=True)
        size = (tmp_path / JOURNAL_FILENAME).stat().st_size
        for k in range(1, 4):  # three more months, each replacing the one before
            j.purge(TurnRow, START + timedelta(days=30 * k))
            month(START + timedelta(days=30 * k))
            j.db.checkpoint(truncate=True)
        assert (tmp_path / JOURNAL_FILENAME).stat().st_size <= size * 1.1  # freed pages are reused


def test_the_change_log_and_daily_copies_are_bounded(tmp_path: Path) -> None:
    with Store.open(tmp_path, generations=3) as store:
        for i in range(20):
            store.insert("facts", {"subject": f"P{i}"})
        from datetime import date

        store.file.generations.remove_all()
        for d in range(6):  # six days of copies: only the newest three stay
            store.file.generations.add(b"{}", date(2025, 1, 1) + timedelta(days=d), 20)
        store.compact()
        assert len(store.file.generations.all()) == 3
        assert store.journal.first_seq() == 0  # every change is in the file and in every copy kept
