"""The store's file on disk: atomic replace, a backup, recovery from corruption, a file lock."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from companion.errors import StoreError

log = logging.getLogger(__name__)

Data = dict[str, dict[str, dict[str, Any]]]  # table -> doc id (str) -> document


class CorruptFile(ValueError):
    """The file exists but is not a TinyDB document tree (truncated, garbage, empty)."""


def parse(text: str) -> Data:
    """Parse and validate the store's JSON; raises CorruptFile naming the problem."""
    if not text.strip():
        raise CorruptFile("the file is empty")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CorruptFile(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorruptFile("the top level is not a JSON object")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise CorruptFile(f"table {name!r} is not an object")
        for doc_id, doc in table.items():
            if not (doc_id.isdigit() and isinstance(doc, dict)):
                raise CorruptFile(f"table {name!r} has a malformed document {doc_id!r}")
    return data


def atomic_write(path: Path, payload: bytes, *, mode: int = 0o600,
                 before_replace: Callable[[], None] | None = None) -> None:
    """Replace `path` so that readers, and a power cut, see the old content or all of the new.

    Temporary file in the same directory, flush, fsync, rename, fsync of the directory.
    """
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make renames in `directory` durable (a power cut must not undo them)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class FileLock:
    """An exclusive lock shared by every process that opens the same store (flock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Block until this process holds the lock."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (closing the descriptor releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AtomicJSONStorage:
    """A TinyDB storage that never leaves a half-written file and keeps a backup.

    write(): temporary file in the same directory → flush → fsync → the current
    file is hard-linked to ``<name>.bak`` → rename over the file → fsync of the
    directory. A crash at any point leaves either the old or the new file.

    read() is served from memory while the file on disk is the one we last
    read or wrote (same inode, size, mtime); another process's write is
    noticed and re-read. The cache never stands in for a write: every write
    is on disk before it returns.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.backup = self.path.with_name(self.path.name + ".bak")
        self._cache: Data | None = None
        self._sig: tuple[int, int, int] | None = None
        self.reloads = 0  # times the file was (re)read from disk
        self.recovered_from: Path | None = None  # set when the last load used the backup

    # ---------------------------------------------------------------- reading

    def read(self) -> Data | None:
        """The whole database (cached while the file is unchanged)."""
        if self._cache is None or _signature(self.path) != self._sig:
            self._cache = self._load()
            self._sig = _signature(self.path)
            self.reloads += 1
        return self._cache

    def _load(self) -> Data:
        try:
            return parse(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problem = None
        except (CorruptFile, UnicodeDecodeError) as exc:
            problem = str(exc)
        except OSError as exc:
            raise StoreError(f"cannot read the store {self.path}: {exc}; check the SD card and permissions") from exc
        return self._recover(problem)

    def _recover(self, problem: str | None) -> Data:
        """The main file is missing or bad: set it aside and fall back to the backup."""
        aside = None
        if problem is not None:
            aside = self._aside_name("corrupt")
            os.replace(self.path, aside)
            fsync_dir(self.path.parent)
        try:
            data = parse(self.backup.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if aside is not None:
                log.error("store %s was unreadable (%s); moved it to %s; no backup %s exists, "
                          "starting with an empty store", self.path, problem, aside, self.backup)
            return {}
        except (CorruptFile, UnicodeDecodeError, OSError) as exc:
            bad_backup = self._aside_name("corrupt-bak")
            os.replace(self.backup, bad_backup)
            log.error("store %s is %s and its backup is unreadable too (%s; moved to %s); "
                      "starting with an empty store", self.path,
                      f"unreadable ({problem}), moved to {aside}" if aside else "missing", exc, bad_backup)
            return {}
        if aside is not None:
            log.warning("store %s was unreadable (%s); moved it to %s and restored the backup %s",
                        self.path, problem, aside, self.backup)
        else:
            log.warning("store %s is missing; restored it from the backup %s", self.path, self.backup)
        self._write_file(data, link_backup=False)
        self.recovered_from = self.backup
        return data

    def _aside_name(self, what: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        candidate = self.path.with_name(f"{self.path.name}.{what}-{stamp}")
        n = 1
        while candidate.exists():
            candidate = self.path.with_name(f"{self.path.name}.{what}-{stamp}-{n}")
            n += 1
        return candidate

    # ---------------------------------------------------------------- writing

    def write(self, data: Data) -> None:
        """Replace the file atomically with `data`; returns once it is durable."""
        try:
            self._write_file(data, link_backup=True)
        except BaseException:
            # TinyDB mutated the cached tree before calling us: forget it, re-read the disk
            self._cache = None
            raise
        self._cache = data

    def _write_file(self, data: Data, link_backup: bool) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

        def keep_backup() -> None:
            if link_backup and self._sig is not None and _signature(self.path) == self._sig:
                self._link_backup()  # only a file we read or wrote ourselves becomes the backup

        atomic_write(self.path, payload, mode=0o600, before_replace=keep_backup)
        self._sig = _signature(self.path)

    def _link_backup(self) -> None:
        tmp = self.backup.with_name(self.backup.name + ".tmp")
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.link(self.path, tmp)
        os.replace(tmp, self.backup)

    def refresh_backup(self) -> None:
        """Make the backup the current file, so data just deleted leaves the disk too."""
        if self._sig is not None and _signature(self.path) == self._sig:
            self._link_backup()
            fsync_dir(self.path.parent)

    def cleanup(self) -> None:
        """Delete temporary files a crash left behind (call with the file lock held)."""
        for leftover in self.path.parent.glob(self.path.name + ".*.tmp"):
            try:
                leftover.unlink()
                log.info("removed %s left by an interrupted write", leftover)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        """Drop the cache (the file is closed after every write already)."""
        self._cache = None
        self._sig = None
