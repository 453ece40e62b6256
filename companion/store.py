"""The on-device store: TinyDB on an atomic-replace JSON storage, behind one lock."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import StoreError

log = logging.getLogger(__name__)

DB_FILENAME = "companion.json"


class AtomicJSONStorage:
    """A TinyDB storage that never leaves a half-written file.

    Writes go to a temporary file in the same directory, are flushed and
    fsynced, then renamed over the old file, and the directory is fsynced.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        return json.loads(text)

    def write(self, data: dict[str, Any]) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def close(self) -> None:
        pass


class Store:
    """Thread-safe access to the TinyDB database in the data directory.

    Every read and write goes through one lock, because TinyDB is not
    thread-safe. Documents come back as plain dicts with an ``id`` key.
    """

    def __init__(self, path: Path) -> None:
        from tinydb import TinyDB

        self.path = path
        self._lock = threading.RLock()
        try:
            self._db = TinyDB(path, storage=AtomicJSONStorage)
        except (ValueError, OSError) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        self._closed = False

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> "Store":
        """Open (creating if needed, mode 0700) the store in `directory`."""
        d = Path(directory)
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {d}: {exc}; set [memory] data_dir") from exc
        return cls(d / DB_FILENAME)

    # ---------------------------------------------------------------- documents

    def insert(self, table: str, doc: dict[str, Any]) -> int:
        """Store one document durably; returns its id once it is on disk."""
        with self._lock:
            return int(self._db.table(table).insert(doc))

    def all(self, table: str) -> list[dict[str, Any]]:
        """Every document of a table, oldest first."""
        with self._lock:
            return [{**d, "id": d.doc_id} for d in self._db.table(table).all()]

    def search(self, table: str, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Documents for which `predicate(doc)` is true."""
        return [d for d in self.all(table) if predicate(d)]

    def update(self, table: str, fields: dict[str, Any], ids: Iterable[int]) -> None:
        """Set `fields` on the documents with these ids."""
        with self._lock:
            self._db.table(table).update(fields, doc_ids=list(ids))

    def remove(self, table: str, ids: Iterable[int]) -> None:
        """Really delete these documents (rewrites the file without them)."""
        ids = list(ids)
        if ids:
            with self._lock:
                self._db.table(table).remove(doc_ids=ids)

    # ---------------------------------------------------------------- key/value state

    def get(self, key: str, default: Any = None) -> Any:
        """A small persistent setting (mute, voice rate, consent...)."""
        with self._lock:
            for d in self._db.table("state").all():
                if d.get("key") == key:
                    return d.get("value", default)
        return default

    def put(self, key: str, value: Any) -> None:
        """Persist a small setting."""
        from tinydb import Query

        with self._lock:
            self._db.table("state").upsert({"key": key, "value": value}, Query().key == key)

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
