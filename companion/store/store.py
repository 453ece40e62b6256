"""The on-device store: TinyDB on a crash-safe JSON file, one lock, a schema version."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from companion.errors import StoreError
from companion.store.file import AtomicJSONStorage, Data, FileLock

log = logging.getLogger(__name__)

DB_FILENAME = "companion.json"
SCHEMA_VERSION = 1
META_TABLE = "meta"


def _v0_to_v1(data: Data) -> None:
    """Files written before versioning: nothing to reshape, the meta doc is added."""


# schema_version N -> function turning an N file into an N+1 file (in place)
MIGRATIONS: dict[int, Callable[[Data], None]] = {0: _v0_to_v1}


def _clone(value: Any) -> Any:
    """Copy JSON-shaped data so callers cannot mutate the cached tree."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


class Store:
    """Thread- and process-safe access to the TinyDB database in the data directory.

    Every operation holds one in-process lock and an flock on ``<file>.lock``,
    so the voice loop and a ``companion memories`` command can share the file.
    Documents come back as plain dicts with an ``id`` key.
    """

    def __init__(self, path: Path, *, schema_version: int = SCHEMA_VERSION,
                 migrations: Mapping[int, Callable[[Data], None]] = MIGRATIONS) -> None:
        from tinydb import TinyDB

        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._flock = FileLock(path.with_name(path.name + ".lock"))
        self._revisions: dict[str, int] = {}
        self._closed = False
        try:
            self._db = TinyDB(path, storage=AtomicJSONStorage)
        except (ValueError, OSError) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        self._storage: AtomicJSONStorage = self._db.storage  # type: ignore[assignment]
        with self._locked():
            self._storage.cleanup()
            self._migrate(schema_version, migrations)
            try:
                os.chmod(path, 0o600)
            except FileNotFoundError:
                pass

    @classmethod
    def open(cls, directory: str | os.PathLike[str], **kwargs: Any) -> "Store":
        """Open (creating if needed, mode 0700) the store in `directory`."""
        d = Path(directory)
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if d.stat().st_uid == os.getuid():
                os.chmod(d, 0o700)  # memories are private: no other user may list or read them
        except OSError as exc:
            raise StoreError(f"cannot create data directory {d}: {exc}; set [memory] data_dir") from exc
        return cls(d / DB_FILENAME, **kwargs)

    # ---------------------------------------------------------------- locking

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise StoreError(f"the store {self.path} is closed")
            if self._depth == 0:
                self._flock.acquire()
            self._depth += 1
            try:
                yield
            except OSError as exc:
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"cannot write the store {self.path}: {exc}; "
                                 "check free space on the SD card and the directory's permissions") from exc
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._flock.release()

    def _table(self, name: str) -> Any:
        # A fresh Table per call: TinyDB caches the next id per Table object, which
        # would go stale when another process (the CLI) inserted in the meantime.
        return self._db.table_class(self._db.storage, name, cache_size=0)

    def _touch(self, table: str) -> None:
        self._revisions[table] = self._revisions.get(table, 0) + 1

    # ---------------------------------------------------------------- schema

    def _migrate(self, target: int, migrations: Mapping[int, Callable[[Data], None]]) -> None:
        data = self._storage.read() or {}
        meta = data.get(META_TABLE, {}).get("1", {})
        version = int(meta.get("schema_version", 0)) if data else target
        if version > target:
            raise StoreError(f"the store {self.path} has schema version {version}, newer than this "
                             f"Companion understands ({target}); upgrade Companion instead of downgrading")
        if version < target and data:
            keep = self.path.with_name(f"{self.path.name}.pre-v{target}")
            shutil.copy2(self.path, keep)
            os.chmod(keep, 0o600)
            for v in range(version, target):
                if v not in migrations:
                    raise StoreError(f"no migration from schema {v} to {v + 1} for {self.path}")
                migrations[v](data)
                log.info("migrated store %s from schema %d to %d", self.path, v, v + 1)
        if version != target or META_TABLE not in data:
            data[META_TABLE] = {"1": {"schema_version": target}}
            self._storage.write(data)

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._locked():
            data = self._storage.read() or {}
            return int(data.get(META_TABLE, {}).get("1", {}).get("schema_version", 0))

    # ---------------------------------------------------------------- documents

    def insert(self, table: str, doc: dict[str, Any]) -> int:
        """Store one document durably; returns its id once it is on disk."""
        with self._locked():
            doc_id = int(self._table(table).insert(doc))
            self._touch(table)
            return doc_id

    def insert_many(self, table: str, docs: Iterable[dict[str, Any]]) -> list[int]:
        """Store several documents with one write of the file."""
        docs = list(docs)
        if not docs:
            return []
        with self._locked():
            ids = [int(i) for i in self._table(table).insert_multiple(docs)]
            self._touch(table)
            return ids

    def all(self, table: str) -> list[dict[str, Any]]:
        """Every document of a table, oldest first (copies: mutate freely)."""
        with self._locked():
            raw = (self._storage.read() or {}).get(table, {})
            return [{**_clone(d), "id": int(i)} for i, d in raw.items()]

    def search(self, table: str, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Documents for which `predicate(doc)` is true."""
        return [d for d in self.all(table) if predicate(d)]

    def update(self, table: str, fields: dict[str, Any], ids: Iterable[int]) -> None:
        """Set `fields` on the documents with these ids (missing ids are ignored)."""
        with self._locked():
            present = (self._storage.read() or {}).get(table, {})
            ids = [i for i in ids if str(i) in present]
            if ids:
                self._table(table).update(_clone(fields), doc_ids=ids)
                self._touch(table)

    def remove(self, table: str, ids: Iterable[int]) -> None:
        """Really delete these documents: gone from the file and from its backup."""
        with self._locked():
            present = (self._storage.read() or {}).get(table, {})
            ids = [i for i in ids if str(i) in present]
            if ids:
                self._table(table).remove(doc_ids=ids)
                self._storage.refresh_backup()
                self._touch(table)

    def refresh_backup(self) -> None:
        """Make the backup equal the current file (after rewriting data she asked to forget)."""
        with self._locked():
            self._storage.read()
            self._storage.refresh_backup()

    def revision(self, table: str) -> tuple[int, int]:
        """Changes whenever `table` may have changed (our writes, or another process's)."""
        with self._locked():
            self._storage.read()  # notices another process's write
            return (self._storage.reloads, self._revisions.get(table, 0))

    # ---------------------------------------------------------------- key/value state

    def get(self, key: str, default: Any = None) -> Any:
        """A small persistent setting (mute, voice rate, consent...)."""
        with self._locked():
            for d in self.all("state"):
                if d.get("key") == key:
                    return d.get("value", default)
        return default

    def put(self, key: str, value: Any) -> None:
        """Persist a small setting."""
        from tinydb import Query

        with self._locked():
            self._table("state").upsert({"key": key, "value": _clone(value)}, Query().key == key)
            self._touch("state")

    def close(self) -> None:
        """Close the database; safe to call twice."""
        with self._lock:
            if not self._closed:
                self._db.close()
                self._closed = True

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
