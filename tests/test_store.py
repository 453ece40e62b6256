"""The store: memories (TinyDB + change log), typed journal rows, locking, migrations, modes, crash safety."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from reliability_kill import kill_loop  # noqa: E402

from companion.errors import StoreError
from companion.store.file import signature
from companion.store.journal import HelpRow, MoodRow, RoutineRow, TurnRow
from companion.store.memfile import SCHEMA_VERSION
from companion.store.store import DB_FILENAME, JOURNAL_FILENAME, Store

HERE = Path(__file__).resolve().parent
T0 = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)


def read_json(directory: Path, name: str = DB_FILENAME) -> dict:
    return json.loads((directory / name).read_text(encoding="utf-8"))


def test_documents_round_trip_with_ids(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        a = store.insert("facts", {"text": "Susan is her daughter", "attrs": {"city": "York"}})
        b = store.insert("facts", {"text": "Max is her cat"})
        assert (a, b) == (1, 2)
        docs = store.all("facts")
        assert [d["id"] for d in docs] == [1, 2]
        docs[0]["attrs"]["city"] = "mutated"  # callers get copies
        store.update("facts", {"attrs": {"city": "Leeds"}}, [a])
        from tinydb import Query
        assert store.table("facts").search(Query().attrs.city == "Leeds")[0].doc_id == a  # TinyDB queries work
        store.remove("facts", [b])
        store.put("mute", True)
        assert store.get("mute") is True and store.get("absent", 3) == 3
    on_disk = read_json(tmp_path)  # a TinyDB file: table -> id -> document
    assert list(on_disk["facts"]) == ["1"] and on_disk["facts"]["1"]["attrs"] == {"city": "Leeds"}
    assert on_disk["meta"]["1"]["schema_version"] == SCHEMA_VERSION
    from tinydb import TinyDB
    with TinyDB(tmp_path / DB_FILENAME) as plain:
        assert plain.table("facts").get(doc_id=1)["text"] == "Susan is her daughter"


def test_a_memory_write_appends_to_the_journal_instead_of_rewriting_the_file(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.insert_many("facts", [{"text": f"memory {i}", "said": "x" * 200} for i in range(500)])
        store.compact()
        before = signature(tmp_path / DB_FILENAME)
        store.insert("facts", {"text": "one more"})
        assert signature(tmp_path / DB_FILENAME) == before  # the big file was not rewritten
        with Store.open(tmp_path) as other:  # another process sees it at once (from the change log)
            assert other.all("facts")[-1]["text"] == "one more"


def test_journal_rows_are_typed_and_read_between_two_times(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        j = store.journal
        for h in range(5):
            j.append(TurnRow(at=T0 + timedelta(hours=h), user=f"turn {h}", reply="ok"))
        j.append(MoodRow(at=T0, valence=-0.2, category="sad"), defer=True)
        assert [m.category for m in j.all(MoodRow)] == ["sad"]  # a deferred row is seen before it is written
        help_row = j.append(HelpRow(at=T0, source="button", category="help", detail="help button"))
        j.mark_help_cancelled(help_row.id, T0 + timedelta(minutes=1))
        j.append(RoutineRow(at=T0, routine_id="heart", kind="medication", event="missed", due=T0))
        got = j.between(TurnRow, T0 + timedelta(hours=1), T0 + timedelta(hours=3))
        assert [t.user for t in got] == ["turn 1", "turn 2"] and all(isinstance(t, TurnRow) for t in got)
    with Store.open(tmp_path) as store:
        (h,) = store.journal.all(HelpRow)
        assert h.cancelled and h.cancelled_at == T0 + timedelta(minutes=1) and h.at == T0
        assert store.journal.all(MoodRow)[0].valence == -0.2  # written at close
        assert store.journal.all(RoutineRow)[0].due == T0
        assert store.journal.latest(TurnRow).user == "turn 4"
        assert store.journal.purge(TurnRow, T0 + timedelta(hours=2)) == 2
        assert store.journal.count(TurnRow) == 3


def test_private_permissions(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    with Store.open(directory) as store:
        store.insert("facts", {"text": "one"})
        store.journal.append(TurnRow(at=T0, user="hello"))
        assert stat.S_IMODE((directory / (JOURNAL_FILENAME + "-wal")).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "generations").stat().st_mode) == 0o700
    for path in [directory / DB_FILENAME, directory / (DB_FILENAME + ".lock"), directory / JOURNAL_FILENAME,
                 *(directory / "generations").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    (tmp_path / (DB_FILENAME + ".abc123.tmp")).write_text("half a wri")
    Store.open(tmp_path).close()
    assert not list(tmp_path.glob("*.tmp"))


def test_two_handles_share_the_files_without_clobbering(tmp_path: Path) -> None:
    service, cli = Store.open(tmp_path), Store.open(tmp_path)
    try:
        a = service.insert("facts", {"text": "from the service"})
        before = service.revision("facts")
        b = cli.insert("facts", {"text": "from the CLI"})
        cli.remove("facts", [a])
        assert service.revision("facts") != before
        c = service.insert("facts", {"text": "service again"})  # must not reuse or resurrect ids
        assert len({a, b, c}) == 3
        assert [d["text"] for d in service.all("facts")] == ["from the CLI", "service again"]
        cli.compact()  # the CLI rewrites the file: the service re-reads it
        assert [d["text"] for d in service.all("facts")] == ["from the CLI", "service again"]
        cli.put("muted", True)
        assert service.get("muted") is True
    finally:
        service.close()
        cli.close()


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(15):
                store.insert("t", {"k": k, "i": i})
                store.journal.append(TurnRow(at=T0, user=f"{k} {i}"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    store.close()  # twice is fine
    assert not errors
    assert len(read_json(tmp_path)["t"]) == 60
    with pytest.raises(StoreError):
        store.all("t")
    with Store.open(tmp_path) as again:
        assert again.journal.count(TurnRow) == 60


def test_a_transaction_is_one_commit_and_all_or_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.insert("facts", {"text": "half"})
                raise RuntimeError("the import found a problem")
        assert store.all("facts") == []
        with store.transaction():
            store.insert("facts", {"text": "a"})
            store.insert("facts", {"text": "b"})
            store.journal.append(TurnRow(at=T0, user="the turn"), defer=True)
            assert store.journal.db.staged()  # nothing is written before the end (other processes wait on the lock)
        with Store.open(tmp_path) as other:
            assert [d["text"] for d in other.all("facts")] == ["a", "b"]
            assert [t.user for t in other.journal.all(TurnRow)] == ["the turn"]


def test_version_1_file_moves_its_records_into_the_journal(tmp_path: Path) -> None:
    old = {"meta": {"1": {"schema_version": 1}},
           "facts": {"1": {"kind": "person", "subject": "Susan"}},
           "turns": {"1": {"at": "2025-03-04T09:30:00+00:00", "user": "hello", "reply": "hi", "intent": None}},
           "mood": {"1": {"at": "2025-03-04T09:30:00+00:00", "valence": 0.3, "category": "happy"}},
           "help": {"1": {"at": "2025-03-04T09:31:00+00:00", "source": "button", "category": "help", "cancelled": True}},
           "routine_log": {"1": {"at": "2025-03-04T08:05:00+00:00", "routine_id": "heart", "kind": "medication",
                                 "event": "acknowledged", "due": "2025-03-04T08:00:00+00:00", "stage": "main"}},
           "state": {"1": {"key": "muted", "value": True}}}
    (tmp_path / DB_FILENAME).write_text(json.dumps(old))
    with Store.open(tmp_path) as store:
        assert store.all("facts")[0]["subject"] == "Susan"
        assert [t.user for t in store.journal.all(TurnRow)] == ["hello"]
        assert store.journal.all(MoodRow)[0].category == "happy"
        assert store.journal.all(HelpRow)[0].cancelled is True
        assert store.journal.all(RoutineRow)[0].due == datetime(2025, 3, 4, 8, tzinfo=timezone.utc)
        assert store.get("muted") is True
    assert set(read_json(tmp_path)) == {"meta", "facts", "state"}  # the records left the memory file
    assert (tmp_path / f"{DB_FILENAME}.pre-v{SCHEMA_VERSION}").exists()


def test_migrations_run_in_order(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.insert("facts", {"text": "Susan"})
    calls: list[int] = []

    def two_to_three(data: dict, journal) -> None:
        calls.append(2)
        for doc in data["facts"].values():
            doc["kind"] = "person"

    def three_to_four(data: dict, journal) -> None:
        calls.append(3)
        for doc in data["facts"].values():
            doc["subject"] = doc.pop("text")

    with Store.open(tmp_path, schema_version=4, migrations={2: two_to_three, 3: three_to_four}) as store:
        assert store.all("facts")[0] == {"id": 1, "kind": "person", "subject": "Susan"}
    assert calls == [2, 3] and read_json(tmp_path)["meta"]["1"]["schema_version"] == 4
    with pytest.raises(StoreError, match="newer"):
        Store.open(tmp_path)  # an older Companion must not clobber a newer file


def test_permission_problem_is_one_line_with_the_fix(tmp_path: Path) -> None:
    """A store owned by someone else: one line naming the file and `sudo chown`, exit 2, no traceback."""
    data = tmp_path / "data"
    with Store.open(data) as store:
        store.insert("facts", {"kind": "name", "subject": "Margaret"})
    config = tmp_path / "config.toml"
    config.write_text(f'[memory]\ndata_dir = "{data}"\n')
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "companion", "--config", str(config), "memories", "list"]
    if os.geteuid() == 0:  # root ignores modes: give the data to another user, run without the override
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv (util-linux) to run as root without CAP_DAC_OVERRIDE")
        for path in [data, *data.rglob("*")]:
            os.chown(path, 65534, 65534)
        run = subprocess.run(["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", *cmd],
                             capture_output=True, text=True, timeout=60, env=env)
    else:
        os.chmod(data, 0)
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        finally:
            os.chmod(data, 0o700)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "permission denied" in lines[0] and "sudo chown -R" in lines[0] and str(data) in lines[0]


# ---------------------------------------------------------------- crash test (scripts/reliability_kill.py runs more)


def test_sigkill_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    totals = kill_loop(tmp_path, kills=150)
    assert totals["ins"] > 100 and totals["row"] > 100  # the kills landed while writes were happening
