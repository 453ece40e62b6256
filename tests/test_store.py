"""The store: atomic writes, backup and recovery, locking, schema migrations, crash safety."""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from companion.errors import StoreError
from companion.store.store import DB_FILENAME, SCHEMA_VERSION, Store

HERE = Path(__file__).resolve().parent


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
        assert store.search("facts", lambda d: d.get("attrs", {}).get("city") == "Leeds")[0]["id"] == a
        store.remove("facts", [b])
        store.put("mute", True)
        assert store.get("mute") is True and store.get("absent", 3) == 3
    on_disk = read_json(tmp_path)
    assert list(on_disk["facts"]) == ["1"] and on_disk["facts"]["1"]["attrs"] == {"city": "Leeds"}
    assert on_disk["meta"]["1"]["schema_version"] == SCHEMA_VERSION


def test_private_permissions(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    with Store.open(directory) as store:
        store.insert("facts", {"text": "one"})
        store.insert("facts", {"text": "two"})
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in (DB_FILENAME, DB_FILENAME + ".bak", DB_FILENAME + ".lock"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


def test_backup_holds_the_previous_version(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.insert("facts", {"text": "first"})
        store.insert("facts", {"text": "second"})
    backup = read_json(tmp_path, DB_FILENAME + ".bak")
    assert [d["text"] for d in backup["facts"].values()] == ["first"]
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],  # power cut on a filesystem without ordered data
    lambda raw: b"\x00\x17garbage\xff" * 40,
    lambda raw: b"",
    lambda raw: b'{"facts": [1, 2, 3]}',  # valid JSON, not a document tree
])
def test_damaged_file_is_set_aside_and_backup_used(tmp_path: Path, caplog, damage) -> None:
    with Store.open(tmp_path) as store:
        store.insert("facts", {"text": "Susan is her daughter"})
        store.insert("facts", {"text": "Max is her cat"})
    path = tmp_path / DB_FILENAME
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="companion.store.file"):
        with Store.open(tmp_path) as store:
            texts = [d["text"] for d in store.all("facts")]
    assert texts == ["Susan is her daughter"]  # the backup: everything but the last write
    aside = list(tmp_path.glob(DB_FILENAME + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].name[len(DB_FILENAME) + 9:][:8].isdigit()
    message = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(path) in message and aside[0].name in message and "backup" in message
    assert read_json(tmp_path)["facts"]["1"]["text"] == "Susan is her daughter"  # restored on disk


def test_both_damaged_starts_empty_and_keeps_the_files(tmp_path: Path, caplog) -> None:
    with Store.open(tmp_path) as store:
        store.insert("facts", {"text": "a"})
        store.insert("facts", {"text": "b"})
    (tmp_path / DB_FILENAME).write_text("{trunc")
    (tmp_path / (DB_FILENAME + ".bak")).write_text("also bad")
    with caplog.at_level(logging.ERROR, logger="companion.store.file"):
        with Store.open(tmp_path) as store:
            assert store.all("facts") == []
    assert any("empty store" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert len(list(tmp_path.glob("*.corrupt-2*"))) == 1 and len(list(tmp_path.glob("*.corrupt-bak-*"))) == 1


def test_missing_file_is_restored_from_backup(tmp_path: Path, caplog) -> None:
    with Store.open(tmp_path) as store:
        store.insert("facts", {"text": "a"})
        store.insert("facts", {"text": "b"})
    (tmp_path / DB_FILENAME).unlink()
    with caplog.at_level(logging.WARNING):
        with Store.open(tmp_path) as store:
            assert [d["text"] for d in store.all("facts")] == ["a"]
    assert "missing" in caplog.text


def test_removed_documents_leave_the_backup_too(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        keep = store.insert("facts", {"text": "Max is her cat"})
        gone = store.insert("facts", {"text": "she takes metformin"})
        store.remove("facts", [gone])
        assert [d["id"] for d in store.all("facts")] == [keep]
    for name in (DB_FILENAME, DB_FILENAME + ".bak"):
        assert "metformin" not in (tmp_path / name).read_text()


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    (tmp_path / (DB_FILENAME + ".abc123.tmp")).write_text("half a wri")
    Store.open(tmp_path).close()
    assert not list(tmp_path.glob("*.tmp"))


def test_two_handles_share_the_file_without_clobbering(tmp_path: Path) -> None:
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


def test_unversioned_file_is_migrated_and_kept(tmp_path: Path) -> None:
    (tmp_path / DB_FILENAME).write_text(json.dumps({"turns": {"1": {"user": "hello"}}}))
    with Store.open(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.all("turns")[0]["user"] == "hello"
    assert (tmp_path / f"{DB_FILENAME}.pre-v{SCHEMA_VERSION}").exists()


def test_migrations_run_in_order(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.insert("facts", {"text": "Susan"})
    calls: list[int] = []

    def one_to_two(data: dict) -> None:
        calls.append(1)
        for doc in data["facts"].values():
            doc["kind"] = "person"

    def two_to_three(data: dict) -> None:
        calls.append(2)
        for doc in data["facts"].values():
            doc["subject"] = doc.pop("text")

    with Store.open(tmp_path, schema_version=3, migrations={1: one_to_two, 2: two_to_three}) as store:
        assert store.all("facts")[0] == {"id": 1, "kind": "person", "subject": "Susan"}
        assert store.schema_version == 3
    assert calls == [1, 2]
    with pytest.raises(StoreError, match="newer"):
        Store.open(tmp_path)  # an older Companion must not clobber a newer file


# ---------------------------------------------------------------- crash test

KILLS = 210
KILLS_PER_DIR = 30


class ForkServer:
    """The helper process that forks writers; lines it prints arrive on a queue."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "store_crash_child.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        assert self.next() == "ready"

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def next(self) -> str:
        return self.lines.get(timeout=30)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def test_sigkill_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random(1234)
    server = ForkServer()
    acked_total = 0
    try:
        for kill in range(KILLS):
            directory = tmp_path / f"d{kill // KILLS_PER_DIR}"
            assert server.proc.stdin is not None
            server.proc.stdin.write(f"{directory}\n")
            server.proc.stdin.flush()
            pid = None
            while pid is None:  # "pid" and "open" may arrive in either order
                words = server.next().split()
                if words[0] == "pid":
                    pid = int(words[1])
            # every few kills, strike while the store is still opening
            delay_s = rng.uniform(0.0, 0.004) if kill % 7 == 0 else rng.uniform(0.005, 0.060)
            time.sleep(delay_s)
            os.kill(pid, signal.SIGKILL)
            acked: list[int] = []
            counter = 0
            while True:
                words = server.next().split()
                if words[0] == "ins":
                    acked.append(int(words[1]))
                elif words[0] == "put":
                    counter = int(words[1])
                elif words[0] == "exit" and int(words[1]) == pid:
                    assert os.WIFSIGNALED(int(words[2])), "the writer ended before it was killed"
                    break
            with Store.open(directory) as store:
                present = {d["id"] for d in store.all("crash")}
                missing = set(acked) - present
                assert not missing, f"kill {kill}: acknowledged ids lost: {sorted(missing)}"
                if counter:
                    assert store.get("counter", 0) >= counter
            assert not list(directory.glob("*.corrupt-*")), "an atomic write left a corrupt file"
            acked_total += len(acked)
    finally:
        server.close()
    assert acked_total > KILLS  # the kills landed while writes were happening
