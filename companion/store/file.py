"""Files on disk: atomic replace, a file lock, the memory file's format, and salvage of a damaged one."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import pwd
import re
import tempfile
from dataclasses import dataclass, field
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
    return _validated(data)


def _validated(data: Any) -> Data:
    if not isinstance(data, dict):
        raise CorruptFile("the top level is not a JSON object")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise CorruptFile(f"table {name!r} is not an object")
        for doc_id, doc in table.items():
            if not (doc_id.isdigit() and isinstance(doc, dict)):
                raise CorruptFile(f"table {name!r} has a malformed document {doc_id!r}")
    return data


def clone(value: Any) -> Any:
    """Copy JSON-shaped data so callers cannot mutate a cached tree."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def dumps(data: Data) -> bytes:
    """The memory file: valid TinyDB JSON with one document per line, so damage costs only the lines it hits."""
    out = ["{"]
    tables = list(data.items())
    for t, (name, table) in enumerate(tables):
        out.append(json.dumps(name, ensure_ascii=False) + ": {")
        docs = list(table.items())
        for i, (doc_id, doc) in enumerate(docs):
            comma = "," if i < len(docs) - 1 else ""
            out.append(f'"{doc_id}": ' + json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + comma)
        out.append("}" + ("," if t < len(tables) - 1 else ""))
    out.append("}")
    return ("\n".join(out) + "\n").encode("utf-8")


# ---------------------------------------------------------------- salvage

_TABLE_LINE = re.compile(r'^\s*"([^"\\]+)"\s*:\s*\{\s*$')
_DOC_START = re.compile(r'"(\d+)"\s*:\s*\{')


@dataclass
class Salvage:
    """What could be read from a damaged memory file."""

    data: Data = field(default_factory=dict)
    complete: bool = False  # the whole file parsed
    docs_seen: int = 0  # document entries found, readable or not (an estimate of what the file held)
    problem: str = ""

    @property
    def docs(self) -> int:
        """Documents recovered (every table but meta)."""
        return sum(len(t) for name, t in self.data.items() if name != "meta")


def salvage(raw: bytes) -> Salvage:
    """Every valid document in a damaged file: a valid prefix (e.g. before a NUL tail), then line by line."""
    text = raw.decode("utf-8", errors="replace")
    try:
        data = parse(text)
        return Salvage(data, complete=True, docs_seen=_count_docs(data))
    except CorruptFile as exc:
        problem = str(exc)
    seen = len(_DOC_START.findall(text))
    out = Salvage(problem=problem, docs_seen=seen - 1 if '"meta"' in text else seen)  # meta is not a memory
    stripped = text.lstrip()
    try:  # a whole valid tree followed by junk (NULs from a power cut, a second write)
        data, _ = json.JSONDecoder().raw_decode(stripped)
        out.data = _validated(data)
        out.docs_seen = _count_docs(out.data)  # the whole tree is there
        return out
    except (ValueError, CorruptFile):
        pass
    _walk(text, out.data)
    _by_lines(text, out.data)
    return out


def _count_docs(data: Data) -> int:
    return sum(len(t) for name, t in data.items() if name != "meta")


def _walk(text: str, into: Data) -> None:
    """Read tables and documents from the start until the damage (truncation, garbage)."""
    dec = json.JSONDecoder()
    ws = re.compile(r"[\s\x00]*")
    i = ws.match(text, 0).end()
    if not text.startswith("{", i):
        return
    i += 1
    while True:
        i = ws.match(text, i).end()
        try:
            name, i = dec.raw_decode(text, i)
        except ValueError:
            return
        m = re.compile(r"[\s]*:[\s]*\{").match(text, i)
        if not isinstance(name, str) or not m:
            return
        i = m.end()
        table = into.setdefault(name, {})
        while True:
            i = ws.match(text, i).end()
            if text.startswith("}", i):
                i += 1
                break
            m = re.compile(r'"(\d+)"\s*:\s*').match(text, i)
            if not m:
                return
            try:
                doc, i = dec.raw_decode(text, m.end())
            except ValueError:
                return
            if isinstance(doc, dict):
                table[m.group(1)] = doc
            i = ws.match(text, i).end()
            if text.startswith(",", i):
                i += 1
        i = ws.match(text, i).end()
        if text.startswith(",", i):
            i += 1
            continue
        return


def _by_lines(text: str, into: Data) -> None:
    """Our own format has one document per line: read every intact line, wherever the damage is."""
    table: str | None = None
    for line in text.splitlines():
        m = _TABLE_LINE.match(line)
        if m:
            table = m.group(1)
            continue
        m = re.match(r'^\s*"(\d+)"\s*:\s*(\{.*\})\s*,?\s*$', line)
        if m and table is not None:
            try:
                doc = json.loads(m.group(2))
            except ValueError:
                continue
            if isinstance(doc, dict):
                into.setdefault(table, {}).setdefault(m.group(1), doc)


# ---------------------------------------------------------------- writing


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


def signature(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of a file, or None when it is missing: changes when another process replaces it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def ownership_fix(directory: Path) -> str:
    """The one command that gives this user back its data directory."""
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = str(os.geteuid())
    top = directory
    if str(directory).startswith("/var/lib/companion"):
        top = Path("/var/lib/companion")
    return f"sudo chown -R {user}: {top}"


def store_error(what: str, path: Path, exc: BaseException) -> StoreError:
    """A StoreError in one line: what failed, on which file, why, and the fix."""
    code = getattr(exc, "errno", None)
    reason = getattr(exc, "strerror", None) or str(exc)
    text = str(exc).lower()  # SQLite's errors carry words, not errno
    if code is None and "disk is full" in text:
        code = errno.ENOSPC
    elif code is None and ("readonly" in text or "read-only" in text):
        code = errno.EROFS
    elif code is None and "disk i/o error" in text:
        return StoreError(f"cannot {what} {path}: the card reported an I/O error; it may be failing or "
                          "read-only (check `dmesg`, then repair or replace the SD card)")
    if code in (errno.EACCES, errno.EPERM):
        return StoreError(f"cannot {what} {path}: permission denied; fix: {ownership_fix(path.parent)}")
    if code == errno.EROFS:
        return StoreError(f"cannot {what} {path}: the file system is read-only; remount it read-write "
                          "(or check the SD card, which turns read-only when it fails)")
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return StoreError(f"cannot {what} {path}: no space left; free space on the SD card")
    return StoreError(f"cannot {what} {path}: {reason}; check the SD card and the directory's permissions")


class FileLock:
    """An exclusive lock shared by every process that opens the same store (flock).

    The lock file is opened once and kept open: a card that turns read-only later
    cannot stop her memories from being read (flock works on a read-only descriptor).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                if exc.errno not in (errno.EROFS, errno.EACCES) or not os.path.exists(self.path):
                    raise store_error("open the lock file", self.path, exc) from None
                try:
                    self._fd = os.open(self.path, os.O_RDONLY)
                except OSError:
                    raise store_error("open the lock file", self.path, exc) from None
        return self._fd

    def acquire(self) -> None:
        """Block until this process holds the lock."""
        fcntl.flock(self._open(), fcntl.LOCK_EX)

    def release(self) -> None:
        """Give the lock back."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file (safe twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
