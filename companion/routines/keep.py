"""The last good routines, kept on disk: a broken, emptied, cut-short or missing routines file never
silently drops her reminders, not even after a restart, and the family is told.

`RoutinesWatch.poll()` looks at the file's modification time; a good edit is used and saved as the
last good copy (`routines-last-good.toml` in the data folder). A file that does not parse, a
missing one, or a valid one that suddenly lost most of its routines (13 → 2, or → 0: a truncated
save, a sync tool that emptied it) is *suspect*: the last good routines stay in use and the family
hears why once per distinct file. An intended big removal is confirmed with
`companion routines accept`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from companion.routines.file import RoutinesFile, RoutinesFileError, parse_routines, read_routines_text

log = logging.getLogger(__name__)

LAST_GOOD_ROUTINES = "routines-last-good.toml"
STATE = "routines-last-good.json"
MIN_LOST = 3  # a valid file that lost at least this many routines, and more than half of them, is suspect
TOLD_KEEP = 50  # how many distinct bad files we remember having told the family about
ACCEPT_HINT = "companion routines accept"

Tell = Callable[[str, str], None]  # (one-line summary, details) for the family


def _digest(text: str | None) -> str:
    return hashlib.sha256((text if text is not None else "<missing>").encode("utf-8", "replace")).hexdigest()[:16]


class RoutinesKeeper:
    """The last good routines file on disk (0600), with its count and which bad files the family heard of."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.copy = self.directory / LAST_GOOD_ROUTINES
        self.state_path = self.directory / STATE

    def state(self) -> dict:
        """What was saved: {"source", "count", "digest", "told": [...]} ({} when nothing yet)."""
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def last_good(self, source: Path, today: date | None = None) -> RoutinesFile | None:
        """The saved routines for this routines file, or None (none saved, or saved for another file)."""
        st = self.state()
        if st.get("source") != str(source):
            return None
        try:
            text = self.copy.read_text(encoding="utf-8")
            return parse_routines(text, source=f"{source} (last good copy)", today=today)
        except (OSError, UnicodeDecodeError, RoutinesFileError) as exc:
            log.warning("the saved last good routines %s cannot be used: %s", self.copy, exc)
            return None

    def save(self, source: Path, text: str, rf: RoutinesFile) -> None:
        """Keep this file as the last good one (only if it changed)."""
        st = self.state()
        digest = _digest(text)
        if st.get("digest") == digest and st.get("source") == str(source) and self.copy.exists():
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write(self.copy, text)
            _write(self.state_path, json.dumps({"source": str(source), "count": len(rf.routines),
                                                "digest": digest, "told": []}))  # a new bad file is told again
        except OSError as exc:  # keeping a copy must never stop the routines in use
            log.warning("cannot save the last good routines to %s: %s", self.copy, exc)

    def suspect(self, source: Path, rf: RoutinesFile) -> str | None:
        """Why a valid file looks damaged compared with the last good one, or None."""
        st = self.state()
        if st.get("source") != str(source):
            return None
        before, now = int(st.get("count", 0)), len(rf.routines)
        lost = before - now
        if before and now == 0:
            return (f"{source} has no routines any more (the last good version had {before}); it looks emptied "
                    "or damaged")
        if lost >= MIN_LOST and now * 2 < before:
            return (f"{source} now has only {now} routine(s) (the last good version had {before}); it looks cut "
                    "short or damaged")
        return None

    def first_time(self, key: str) -> bool:
        """True (and remembered) the first time the family is told about this bad file."""
        st = self.state()
        told = list(st.get("told", []))
        if key in told:
            return False
        st["told"] = (told + [key])[-TOLD_KEEP:]
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write(self.state_path, json.dumps(st))
        except OSError as exc:
            log.warning("cannot write %s: %s", self.state_path, exc)
        return True


def _write(path: Path, text: str) -> None:
    """Atomic, durable, private."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class KeptRoutines:
    """One look at the routines file: what to use now, and what is wrong."""

    use: RoutinesFile | None  # switch to this (None: keep what is in use)
    problem: str  # '' when the file is fine


class RoutinesWatch:
    """Reads the family's file when it changes; keeps (and restores) the last good routines."""

    def __init__(self, path: Path, keeper: RoutinesKeeper | None, tell: Tell | None = None) -> None:
        self.path = path
        self.keeper = keeper
        self.tell = tell
        self.problem = ""
        self._signature: tuple | None = None

    def _stat(self) -> tuple:
        sig = []
        for p in (self.path, self.keeper.state_path if self.keeper else None):
            try:
                st = os.stat(p) if p is not None else None
                sig.append((st.st_mtime_ns, st.st_size, st.st_ino) if st else None)
            except OSError:
                sig.append(None)
        return tuple(sig)

    def changed(self) -> bool:
        """Has the file (or the saved copy, after `routines accept`) changed since the last read?"""
        return self._stat() != self._signature

    def read(self, today: date, in_use: RoutinesFile | None) -> KeptRoutines:
        """Read the file now; `in_use` is what the scheduler runs (None right after a restart)."""
        self._signature = self._stat()
        text: str | None = None
        try:
            text = read_routines_text(self.path)
            rf = parse_routines(text, source=str(self.path), today=today)
        except RoutinesFileError as exc:
            problem = "\n  ".join(str(p) for p in exc.problems)
        else:
            reason = self.keeper.suspect(self.path, rf) if self.keeper else None
            if reason is None:
                if self.keeper:
                    self.keeper.save(self.path, text, rf)
                self.problem = ""
                return KeptRoutines(rf, "")
            problem = f"{reason}. If that was meant, run: {ACCEPT_HINT}"
        kept = in_use
        if kept is None and self.keeper is not None:
            kept = self.keeper.last_good(self.path, today)
            if kept is not None:
                log.warning("using the last good routines saved in %s (%d routines)", self.keeper.copy,
                            len(kept.routines))
        self.problem = problem
        self._report(problem, text, kept)
        return KeptRoutines(kept if kept is not in_use else None, problem)

    def _report(self, problem: str, text: str | None, kept: RoutinesFile | None) -> None:
        keeping = (f"still using the last good {len(kept.routines)} routine(s)" if kept is not None
                   else "no routines are active until it is fixed")
        log.warning("routines file %s: %s; %s", self.path, problem, keeping)
        if self.tell is None:
            return
        if self.keeper is not None and not self.keeper.first_time(_digest(text)):
            return  # told about this very file before (across restarts too)
        summary = f"The routines file needs attention: {keeping}"
        try:
            self.tell(summary, problem if str(self.path) in problem else f"{self.path}: {problem}")
        except Exception:  # telling the family must never stop the routines
            log.exception("could not tell the family about the routines file")
