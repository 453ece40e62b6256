"""Forgetting reaches every copy on the device: summaries, outbox copies, the alert audit, queued alerts,
daily copies and set-aside damaged files. A name is matched as a whole name ("Ann", not "Anne" or "Joanna")."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from companion.store.file import atomic_write

if TYPE_CHECKING:
    from companion.store.journal import Journal

log = logging.getLogger(__name__)

REDACTED = "[forgotten]"
TEXT_SUFFIXES = (".txt", ".html", ".json", ".jsonl", ".md")
MAX_BYTES = 64 * 1024 * 1024  # never rewrite anything this large (models live next door in some installs)
SKIP_DIRS = {"models", "generations"}  # generations are edited document by document by the store


@functools.lru_cache(maxsize=4096)
def name_pattern(name: str, exact_case: bool = False) -> re.Pattern[str]:
    """A whole name: 'Ann' matches "Ann's" but not Anne, Joanna or Hannah; 'Tom' not Tommy or tomatoes.

    Any case, unless `exact_case`: a name that is also a word ("Will", "May") matches only as written.
    """
    parts = [re.escape(p) for p in name.split()]
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(parts) + r"(?![\w-])", 0 if exact_case else re.IGNORECASE)


def patterns(words: Iterable[str], exact_case: Iterable[str] = ()) -> list[re.Pattern[str]]:
    """Whole-name patterns for the non-empty words, longest first (so 'Ann Smith' goes before 'Ann')."""
    uniq = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True)
    exact = {w.strip().lower() for w in exact_case}
    return [name_pattern(w.title() if w.lower() in exact else w, w.lower() in exact) for w in uniq]


def redact(text: str, pats: list[re.Pattern[str]]) -> tuple[str, int]:
    """`text` with every match replaced by [forgotten]; and how many there were."""
    total = 0
    for p in pats:
        text, n = p.subn(REDACTED, text)
        total += n
    return text, total


def _mask(raw: bytes, pats: list[re.Pattern[str]]) -> tuple[bytes, int]:
    """Same-length masking for files that are not text (a damaged SQLite or JSON file): structure stays."""
    total = 0
    for p in pats:
        bp = re.compile(p.pattern.encode("utf-8"), p.flags & re.IGNORECASE)
        raw, n = bp.subn(lambda m: b"X" * len(m.group(0)), raw)
        total += n
    return raw, total


@dataclass
class ScrubReport:
    """Which copies held the words."""

    files: list[Path] = field(default_factory=list)  # files rewritten
    outbox_copies: int = 0  # of them, copies of what was sent to the family
    rows: int = 0  # journal rows redacted or deleted
    generations: int = 0  # daily copies rewritten

    @property
    def sent(self) -> bool:
        """Copies of messages that went to the family mentioned it (those cannot be recalled)."""
        return self.outbox_copies > 0


def redact_rows(journal: "Journal", pats: list[re.Pattern[str]]) -> int:
    """Routine answers and help details that mention the words: kept, with the words replaced."""
    from companion.store.journal import HelpRow, RoutineRow

    if not pats:
        return 0
    changed = 0
    for row in journal.all(RoutineRow) + journal.all(HelpRow):
        new, n = redact(row.detail, pats)
        if n and row.id is not None:
            journal.rewrite(dataclasses.replace(row, detail=new))
            changed += 1
    return changed


def _files(directory: Path, skip: set[Path]) -> Iterator[Path]:
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in names:
            path = Path(root) / name
            if path not in skip and not name.endswith((".lock", "-shm")):
                yield path


@contextlib.contextmanager
def _spool_locked(path: Path) -> Iterator[None]:
    """Hold the alert spool's lock while rewriting a queued alert (the sender rewrites them too)."""
    lock = path.parent.parent / ".spool.lock" if path.parent.name == "spool" else None
    if lock is None or not lock.exists():
        yield
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def scrub_files(directories: Iterable[Path], words: Iterable[str], skip: Iterable[Path] = (),
                outboxes: Iterable[Path] = (), exact_case: Iterable[str] = ()) -> ScrubReport:
    """Replace whole-name mentions of `words` in every file under `directories` (text: [forgotten];
    damaged or binary copies: masked byte for byte)."""
    pats = patterns(words, exact_case)
    report = ScrubReport()
    if not pats:
        return report
    skip_set = {Path(p) for p in skip}
    outbox_dirs = [Path(o) for o in outboxes]
    seen: set[Path] = set()
    for directory in directories:
        if not Path(directory).is_dir():
            continue
        for path in _files(Path(directory), skip_set):
            if path in seen:
                continue
            seen.add(path)
            try:
                if path.stat().st_size > MAX_BYTES:
                    continue
                if _scrub_one(path, pats):
                    report.files.append(path)
                    if any(o in path.parents for o in outbox_dirs):
                        report.outbox_copies += 1
            except OSError as exc:
                log.error("could not remove forgotten words from %s: %s", path, exc)
    if report.files:
        log.info("removed forgotten words from %d files", len(report.files))
    return report


def _scrub_one(path: Path, pats: list[re.Pattern[str]]) -> bool:
    raw = path.read_bytes()
    textual = path.suffix in TEXT_SUFFIXES and ".corrupt" not in path.name
    if textual:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            textual = False
    if textual:
        new_text, n = redact(text, pats)
        new = new_text.encode("utf-8")
    else:
        if ".corrupt" not in path.name and ".pre-v" not in path.name:
            return False  # only our own set-aside copies are binary-scrubbed
        new, n = _mask(raw, pats)
    if not n:
        return False
    mode = path.stat().st_mode & 0o777
    with _spool_locked(path):
        atomic_write(path, new, mode=mode or 0o600)
    return True
