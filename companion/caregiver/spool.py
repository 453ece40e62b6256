"""The alert spool on disk, kept *best effort*: nothing here ever raises to the alert path.

Layout under <data dir>/alerts/: `spool/<alert id>__<channel>.json` (one delivery waiting,
with a write-ahead `sending` owner while a send is in flight), `delivered/<id>__<channel>__r<rev>`
(sent), `open/<id>.json` (an alert's newest revision, who
has it and who confirmed), `acks/<id>.json` (someone acknowledged), `bad/` (files that could not be read, set
aside), `audit.jsonl` (every event). When a write fails (read-only or full disk, a folder
owned by root) the data stays in memory, the failure is remembered (`problem`), and
`flush()` tries again later. All reads and writes of alert state go through this module, so
they can move onto the store's journal later without touching the service.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from companion.store.file import atomic_write as write_file_atomically

log = logging.getLogger(__name__)


def owner_tag() -> str:
    """'<boot id>:<pid>': who is sending; a tag from another boot or a dead pid means a crash."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown-boot"
    return f"{boot}:{os.getpid()}"


def owner_alive(tag: str) -> bool:
    """Is the process that wrote this owner tag still running (this boot)?"""
    boot, _, pid = tag.rpartition(":")
    if boot != owner_tag().rpartition(":")[0] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AuditLog:
    """Append-only JSON lines: what was sent, to whom, when, why, and the result. Never raises."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.failed_writes = 0

    def write(self, **entry: Any) -> None:
        """Append one entry durably (a full disk only costs the audit line, logged)."""
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            try:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(line)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                self.failed_writes += 1
                log.error("cannot write the alert audit log %s: %s", self.path, exc)

    def read(self) -> list[dict[str, Any]]:
        """Every entry (a corrupt last line from a power cut is skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


class Spool:
    """Files under one directory, written atomically, with an in-memory fallback."""

    SUBDIRS = ("spool", "open", "delivered", "acks", "bad")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._unsaved: dict[Path, bytes | None] = {}  # path -> content to write (None = to delete)
        self._bad_seen: set[str] = set()
        self.problem = ""  # the last write error, '' when everything is on disk
        for sub in self.SUBDIRS:
            try:
                (directory / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                self.problem = f"cannot create {directory / sub}: {exc}"
                log.error("alerts: %s; keeping alerts in memory", self.problem)
        self.audit = AuditLog(directory / "audit.jsonl")

    # ---------------------------------------------------------------- writing

    def _write(self, path: Path, payload: bytes | None) -> bool:
        try:
            if payload is None:
                path.unlink(missing_ok=True)
            else:
                write_file_atomically(path, payload, mode=0o600)
        except OSError as exc:
            with self._lock:
                self._unsaved[path] = payload
                self.problem = f"cannot write {path}: {exc.strerror or exc}"
            log.error("alerts: %s (kept in memory, retried later)", self.problem)
            return False
        with self._lock:
            self._unsaved.pop(path, None)
        return True

    def save(self, sub: str, name: str, data: dict[str, Any]) -> bool:
        """Write one JSON file; False when it is only in memory for now."""
        return self._write(self.directory / sub / name, json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def delete(self, sub: str, name: str) -> bool:
        """Remove one file (missing is fine)."""
        return self._write(self.directory / sub / name, None)

    def flush(self) -> bool:
        """Retry every write that failed; True when nothing is left only in memory."""
        with self._lock:
            todo = list(self._unsaved.items())
        for path, payload in todo:
            if not self._write(path, payload):
                return False
        with self._lock:
            if not self._unsaved:
                self.problem = ""
            return not self._unsaved

    @property
    def unsaved(self) -> int:
        """How many writes are waiting in memory."""
        with self._lock:
            return len(self._unsaved)

    # ---------------------------------------------------------------- reading

    def load(self, sub: str) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
        """(name, data) for every readable file of `sub`, and the names of poisoned ones (moved to bad/)."""
        good: list[tuple[str, dict[str, Any]]] = []
        bad: list[str] = []
        try:
            names = sorted(p.name for p in (self.directory / sub).glob("*.json"))
        except OSError as exc:
            log.error("alerts: cannot list %s: %s", self.directory / sub, exc)
            return good, bad
        for name in names:
            if name in self._bad_seen:
                continue
            path = self.directory / sub / name
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
            except FileNotFoundError:
                continue  # another process finished it meanwhile
            except (OSError, ValueError) as exc:
                self._set_aside(path, exc)
                bad.append(name)
                continue
            good.append((name, data))
        return good, bad

    def _set_aside(self, path: Path, exc: Exception) -> None:
        """A file that cannot be read must never block the others: move it to bad/ (or skip it)."""
        self._bad_seen.add(path.name)
        log.error("alerts: unreadable file %s (%s); set aside", path, exc)
        try:
            os.replace(path, self.directory / "bad" / path.name)
        except OSError as move_exc:
            log.error("alerts: cannot move %s aside (%s); skipping it from now on", path, move_exc)

    def exists(self, sub: str, name: str) -> bool:
        """Is that file there (or written in memory)?"""
        path = self.directory / sub / name
        with self._lock:
            if path in self._unsaved:
                return self._unsaved[path] is not None
        try:
            return path.exists()
        except OSError:
            return False

    def read(self, sub: str, name: str) -> dict[str, Any] | None:
        """One JSON file, or None when missing or unreadable."""
        path = self.directory / sub / name
        with self._lock:
            if path in self._unsaved:
                payload = self._unsaved[path]
                return None if payload is None else json.loads(payload)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None
