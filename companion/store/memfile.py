"""The memory file on disk (TinyDB JSON, one document per line), its daily copies, loading and migrations."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from tinydb.storages import Storage

from companion.errors import StoreError
from companion.store.file import CorruptFile, Data, atomic_write, dumps, parse, salvage, signature, store_error
from companion.store.generations import DIRNAME as GENERATIONS_DIR
from companion.store.generations import Generations
from companion.store.health import Health, Recovery
from companion.store.journal import ROW_TYPES, Journal
from companion.store.recovery import META_TABLE, STATE_TABLE, meta_of, rebuild

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2


def _v0_to_v1(data: Data, journal: Journal) -> None:
    """Files written before versioning: nothing to reshape, the meta doc is added."""


def _v1_to_v2(data: Data, journal: Journal) -> None:
    """Turns, mood, help and routine events move to the journal; settings too. Memories stay."""
    for kind in ROW_TYPES:
        rows = []
        for doc in data.pop(kind.TABLE, {}).values():
            try:
                rows.append(kind.from_dict(doc))
            except (ValueError, TypeError) as exc:
                log.warning("migration: skipped an unreadable %s row: %s", kind.TABLE, exc)
        journal.append_many(rows)
    for doc in data.pop(STATE_TABLE, {}).values():
        if isinstance(doc.get("key"), str):
            journal.put(doc["key"], doc.get("value"), defer=True)
    journal.flush()


# schema_version N -> function turning an N file into an N+1 file (in place)
MIGRATIONS: dict[int, Callable[[Data, Journal], None]] = {0: _v0_to_v1, 1: _v1_to_v2}
Migrations = Mapping[int, Callable[[Data, Journal], None]]


def _restore_state(journal: Journal, copy: dict[str, dict[str, Any]]) -> None:
    """The journal was lost but the memory file holds a copy of the settings: take them back."""
    if copy and not journal.state():
        for doc in copy.values():
            if isinstance(doc, dict) and isinstance(doc.get("key"), str):
                journal.put(doc["key"], doc.get("value"), defer=True)
        journal.flush()


def journal_name(journal: Journal) -> str:
    """The journal's file name (for recovery records)."""
    return journal.db.path.name if journal.db.path is not None else "journal"


class TreeStorage(Storage):
    """TinyDB's storage for the store: the tree lives in the store's memory (saving it is the store's job)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def read(self) -> Data:
        return self.store._tree

    def write(self, data: Data) -> None:
        self.store._tree = data


class MemoryFile:
    """``companion.json`` and ``generations/``: read at start (rebuilt if damaged), rewritten by compaction."""

    def __init__(self, path: Path, keep: int) -> None:
        self.path = path
        self.generations = Generations(path.parent / GENERATIONS_DIR, keep)
        self._sig: tuple[int, int, int] | None = None
        self.written_on: date | None = None
        self.version = SCHEMA_VERSION  # the schema the file is written with
        self.migrated = False  # the last load migrated an older file

    def cleanup(self) -> None:
        """Delete temporary files a crash left behind (call with the file lock held)."""
        for leftover in list(self.path.parent.glob(self.path.name + ".*.tmp")) + \
                list(self.generations.directory.glob("*.tmp")):
            leftover.unlink(missing_ok=True)
            log.info("removed %s left by an interrupted write", leftover)

    def changed(self) -> bool:
        """Another process rewrote the file since we read or wrote it."""
        return self._sig is not None and signature(self.path) != self._sig

    @property
    def stale(self) -> bool:
        """The file must be (re)written: never written by us, or no copy of today yet."""
        return self._sig is None or not self.generations.has(date.today())

    def read(self) -> Data | None:
        """The file's tree (None when missing); CorruptFile when damaged."""
        try:
            data = parse(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise store_error("read the store", self.path, exc) from None
        self._sig = signature(self.path)
        return data

    def load(self, journal: Journal, health: Health, target: int = SCHEMA_VERSION,
             migrations: Migrations = MIGRATIONS) -> tuple[Data, int]:
        """(memory tables, newest change they hold), rebuilt from copies and the journal if damaged."""
        damaged, problem = None, ""
        self.version = target
        try:
            data = self.read()
        except (CorruptFile, UnicodeDecodeError) as exc:
            data, problem = None, str(exc)
            damaged = salvage(self.path.read_bytes())
        if data is None and (damaged is not None or self.generations.all() or journal.last_seq()):
            rebuilt = rebuild(self.path, damaged, problem or "the file is missing", self.generations, journal)
            health.recoveries.append(rebuilt.recovery)
            data = rebuilt.data
            data[META_TABLE] = {"1": {"schema_version": target, "seq": rebuilt.seq}}
            self._sig = None  # write the rebuilt tree
        elif data is not None and journal.db.created and int(meta_of(data).get("seq", 0)) > 0 \
                and not any(r.file == journal_name(journal) for r in health.recoveries):
            written = str(meta_of(data).get("written_at", "its last rewrite"))[:16].replace("T", " ")
            health.recoveries.append(Recovery.now(journal_name(journal), "the file is missing",
                                                  f"started a new one; memories up to {written} are kept, "
                                                  "anything said after that may be gone", None))
        if data is None:
            data = {META_TABLE: {"1": {"schema_version": target, "seq": 0}}}
        self._migrate(data, journal, target, migrations)
        seq = int(meta_of(data).get("seq", 0))
        _restore_state(journal, data.pop(STATE_TABLE, {}))
        data.pop(META_TABLE, None)
        return data, seq

    def _migrate(self, data: Data, journal: Journal, target: int, migrations: Migrations) -> None:
        version = int(meta_of(data).get("schema_version", 0))
        if version > target:
            raise StoreError(f"the store {self.path} has schema version {version}, newer than this "
                             f"Companion understands ({target}); upgrade Companion instead of downgrading")
        if version == target:
            return
        keep = self.path.with_name(f"{self.path.name}.pre-v{target}")
        if self.path.exists():
            shutil.copy2(self.path, keep)
            os.chmod(keep, 0o600)
        for v in range(version, target):
            if v not in migrations:
                raise StoreError(f"no migration from schema {v} to {v + 1} for {self.path}")
            migrations[v](data, journal)
            log.info("migrated store %s from schema %d to %d", self.path, v, v + 1)
        data[META_TABLE] = {"1": {**meta_of(data), "schema_version": target}}
        self._sig = None  # write the migrated file
        self.migrated = True

    def write(self, tree: Data, seq: int, state: dict[str, Any]) -> None:
        """Replace the file atomically (meta first, so a cut tail keeps it), and keep today's copy."""
        data: Data = {META_TABLE: {"1": {"schema_version": self.version, "seq": seq,
                                         "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                         "counts": {t: len(d) for t, d in tree.items()}}}}
        data.update(tree)
        data[STATE_TABLE] = {str(i): {"key": k, "value": v} for i, (k, v) in enumerate(sorted(state.items()), 1)}
        payload = dumps(data)
        atomic_write(self.path, payload, mode=0o600)
        self._sig = signature(self.path)
        self.written_on = date.today()
        self.generations.add(payload, date.today(), seq)

    def remove_copies(self, journal_name: str) -> int:
        """Delete the daily copies, damaged files set aside and pre-migration copies (she asked to forget everything)."""
        gone = self.generations.remove_all()
        for path in list(self.path.parent.glob(self.path.name + ".*")) + \
                list(self.path.parent.glob(journal_name + ".corrupt-*")):
            if ".corrupt" in path.name or ".pre-v" in path.name:
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    def align_copies(self, wanted: dict[tuple[str, str], dict[str, Any] | None]) -> int:
        """Make these documents in every daily copy equal the live ones (None: gone); returns copies rewritten."""
        def edit(data: Data) -> bool:
            changed = False
            for (table, doc_id), doc in wanted.items():
                if data.get(table, {}).get(doc_id) != doc:
                    changed = True
                    if doc is None:
                        data[table].pop(doc_id, None)
                    else:
                        data.setdefault(table, {})[doc_id] = doc
            return changed

        return self.generations.rewrite(edit)
