"""Power-cut damage to every store file: never start empty by surprise, salvage what is valid, say what was lost."""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from companion.app import open_store, report_store
from companion.caregiver.alerts import AlertService
from companion.cli.doctor import check_store
from companion.clock import ManualClock
from companion.config import Settings
from companion.store.file import dumps
from companion.store.journal import MoodRow, TurnRow
from companion.store.store import DB_FILENAME, JOURNAL_FILENAME, Store

T0 = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)
FACTS = 40


def make(directory: Path, n: int = FACTS) -> None:
    """40 facts, some turns and mood rows, a setting; closed (the memory file is written)."""
    with Store.open(directory) as store:
        for i in range(n):
            store.insert("facts", {"kind": "person", "subject": f"Person{i}", "relation": "friend",
                                   "said": f"Person{i} is my friend and lives in York"})
        store.journal.append_many([TurnRow(at=T0 + timedelta(minutes=i), user=f"turn {i}") for i in range(60)]
                                  + [MoodRow(at=T0 + timedelta(minutes=i), valence=0.1) for i in range(60)])
        store.put("honesty.setup_at", T0.isoformat())


def subjects(store: Store) -> set[str]:
    return {d["subject"] for d in store.all("facts")}


def garble(path: Path, start: float, length: int = 4096, fill: bytes = b"\x00\x17garbage\xff") -> None:
    """Overwrite part of a file in place, as a failing card or a torn write would."""
    raw = bytearray(path.read_bytes())
    at = int(len(raw) * start)
    raw[at:at + length] = (fill * (length // len(fill) + 1))[:min(length, len(raw) - at)]
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],  # cut short
    lambda raw: b"\x00\x17garbage\xff" * 40,
    lambda raw: b"",
    lambda raw: b'{"facts": [1, 2, 3]}',  # valid JSON, not a document tree
    lambda raw: raw + b"\x00" * 8192,  # a NUL tail after a whole file
])
def test_damaged_memory_file_is_rebuilt_with_nothing_lost(tmp_path: Path, caplog, damage) -> None:
    make(tmp_path)
    path = tmp_path / DB_FILENAME
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="companion.store"):
        with Store.open(tmp_path) as store:
            assert len(subjects(store)) == FACTS  # the daily copy plus the journal's changes: all of it
            (rec,) = store.health.recoveries
            assert rec.lost is False and rec.file == DB_FILENAME and "40 memories now" in rec.outcome
    assert len(list(tmp_path.glob(DB_FILENAME + ".corrupt-*"))) == 1  # the damaged file is kept for a person
    assert str(path) in caplog.text and "40 memories now" in caplog.text
    with Store.open(tmp_path) as store:  # rewritten on disk, and the recovery is remembered for doctor
        assert len(subjects(store)) == FACTS and not store.health.recoveries
        assert [r.lost for r in store.recoveries()] == [False]


def test_a_valid_file_with_a_nul_tail_keeps_its_data_on_its_own(tmp_path: Path) -> None:
    """No copy, no change log: the file's own valid part is all there is, and it is all kept."""
    make(tmp_path)
    with Store.open(tmp_path) as store:  # as after days of use: the log's old changes were dropped
        store.journal.drop_changes(upto=store.journal.high_water())
    shutil.rmtree(tmp_path / "generations")
    path = tmp_path / DB_FILENAME
    path.write_bytes(path.read_bytes() + b"\x00" * 4096)
    with Store.open(tmp_path) as store:
        assert len(subjects(store)) == FACTS
        (rec,) = store.health.recoveries
        assert rec.lost is False
    assert list(tmp_path.glob(DB_FILENAME + ".corrupt-*"))  # the damaged original is kept for a person


def test_the_file_and_every_daily_copy_damaged_at_once(tmp_path: Path) -> None:
    make(tmp_path)
    with Store.open(tmp_path) as store:  # a second day's copy, holding all 40
        payload = (tmp_path / DB_FILENAME).read_bytes()
        store.file.generations.add(payload, date.today() - timedelta(days=1), 40)
    for p in [tmp_path / DB_FILENAME, *(tmp_path / "generations").iterdir()]:
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 3])
    with Store.open(tmp_path) as store:
        assert len(subjects(store)) == FACTS  # the journal kept every change since the oldest copy
        assert [r.lost for r in store.health.recoveries] == [False]


def test_every_store_file_damaged_at_once_salvages_and_says_what_was_lost(tmp_path: Path) -> None:
    make(tmp_path)
    with Store.open(tmp_path) as store:
        store.compact()
    for p in (tmp_path / "generations").iterdir():
        garble(p, 0.05, 64 * 1024)
    garble(tmp_path / DB_FILENAME, 0.5, 600)  # a few lines in the middle
    garble(tmp_path / JOURNAL_FILENAME, 0.0, 100)  # the journal's header: "file is not a database"
    with Store.open(tmp_path) as store:
        kept = subjects(store)
        assert FACTS - 10 <= len(kept) < FACTS  # every intact line of the memory file, not an empty store
        recs = {r.file: r for r in store.health.recoveries}
        assert set(recs) == {DB_FILENAME, JOURNAL_FILENAME}
        assert recs[DB_FILENAME].lost is True and "SOME DATA WAS LOST" in recs[DB_FILENAME].line()
        assert store.get("honesty.setup_at") == T0.isoformat()  # settings back from the memory file's copy
        lines = [line for _, line in check_store(store)]
    assert any("memory store recovered" in line and "SOME DATA WAS LOST" in line for line in lines)
    assert list(tmp_path.glob(JOURNAL_FILENAME + ".corrupt-*")) and list(tmp_path.glob(DB_FILENAME + ".corrupt-*"))


def test_a_damaged_journal_keeps_its_readable_rows(tmp_path: Path) -> None:
    make(tmp_path)
    with Store.open(tmp_path) as store:
        store.journal.append_many([TurnRow(at=T0 + timedelta(hours=2, seconds=i), user="x" * 300) for i in range(2000)])
    garble(tmp_path / JOURNAL_FILENAME, 0.6, 4096)
    with Store.open(tmp_path) as store:
        assert len(subjects(store)) == FACTS
        turns = store.journal.count(TurnRow)
        assert 1000 < turns < 2060  # most rows survive a damaged page
        (rec,) = store.health.recoveries
        assert rec.file == JOURNAL_FILENAME and "kept" in rec.outcome


def test_the_family_is_told_once_and_doctor_shows_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make(data)
    (data / DB_FILENAME).write_bytes(b"\x00" * 100)
    settings = Settings().replace(memory={"data_dir": str(data)})
    store = open_store(settings)
    alerts = AlertService.from_settings(settings, data, ManualClock(T0))
    try:
        report_store(store, alerts)
        report_store(store, alerts)  # once per problem
        (entry,) = alerts.pending()
        assert entry["alert"]["kind"] == "companion_failure"
        assert "companion.json was damaged" in entry["alert"]["detail"]["explain"]
        assert all(r.told for r in store.recoveries())
        lines = [line for _, line in check_store(store)]
        assert any("memory store recovered" in line and "the family was told" in line for line in lines)
    finally:
        store.close()


def test_a_store_that_cannot_be_opened_is_reported_not_a_crash(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the data directory should be")
    settings = Settings().replace(memory={"data_dir": str(blocked)})
    store = open_store(settings)  # never raises: she can still talk and call for help
    try:
        assert "running without memory" in store.health.unavailable and str(blocked) in store.health.unavailable
        store.insert("facts", {"kind": "name", "subject": "Margaret"})
        assert store.all("facts")[0]["subject"] == "Margaret"
        alerts = AlertService.from_settings(settings, tmp_path / "elsewhere", ManualClock(T0))
        report_store(store, alerts)
        assert "running without memory" in alerts.pending()[0]["alert"]["detail"]["explain"]
    finally:
        store.close()


def test_salvage_reads_an_old_one_line_file_up_to_the_damage(tmp_path: Path) -> None:
    from companion.store.file import salvage

    data = {"facts": {str(i): {"subject": f"P{i}"} for i in range(1, 21)}, "meta": {"1": {"schema_version": 1}}}
    one_line = dumps(data).replace(b"\n", b"")
    s = salvage(one_line[: len(one_line) * 3 // 4])
    assert 10 <= s.docs < 20 and not s.complete
    assert salvage(one_line + b"\x00" * 100).docs == 20
