"""What happened to the store: recoveries from damage (persisted, for doctor and the family) and write failures."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from companion.store.journal import Journal

RECOVERIES_KEY = "store.recoveries"  # journal state: the last recoveries, newest last
KEEP_RECOVERIES = 20


@dataclass
class Recovery:
    """One damaged file found at start, and what was done about it."""

    at: str  # ISO time (UTC) of the recovery
    file: str  # the damaged file
    problem: str  # what was wrong with it
    outcome: str  # what she has now, in words
    lost: bool | None  # True: something is gone; False: nothing lost; None: cannot tell
    told: bool = False  # the family was warned through the caregiver channel

    @classmethod
    def now(cls, file: str, problem: str, outcome: str, lost: bool | None) -> "Recovery":
        """A recovery stamped with the current time."""
        return cls(datetime.now(timezone.utc).isoformat(timespec="seconds"), file, problem, outcome, lost)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recovery":
        """Tolerant of missing keys (an older version wrote it)."""
        return cls(str(d.get("at", "")), str(d.get("file", "")), str(d.get("problem", "")),
                   str(d.get("outcome", "")), d.get("lost"), bool(d.get("told", False)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the journal's state."""
        return asdict(self)

    def line(self) -> str:
        """One line for doctor and the family."""
        loss = {True: "SOME DATA WAS LOST", False: "nothing was lost", None: "some data may be lost"}[self.lost]
        return f"{self.at[:16].replace('T', ' ')} UTC: {self.file} was damaged ({self.problem}); {self.outcome}; {loss}"


@dataclass
class Health:
    """The live state of the store in this process (thread-safe)."""

    recoveries: list[Recovery] = field(default_factory=list)  # found while opening, this process
    unavailable: str = ""  # the store could not be opened: running without memory, and why
    _write_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def write_error(self) -> str:
        """Why the last write failed ('' when writes work)."""
        with self._lock:
            return self._write_error

    def set_write_error(self, message: str) -> bool:
        """Record a failing write; True when this is news (so it is logged and reported once)."""
        with self._lock:
            news = not self._write_error
            self._write_error = message
            return news

    def clear_write_error(self) -> bool:
        """Writes work again; True when they had failed before."""
        with self._lock:
            had, self._write_error = bool(self._write_error), ""
            return had

    def problems(self) -> list[str]:
        """Everything a person should hear about now."""
        out = [r.line() for r in self.recoveries]
        if self.unavailable:
            out.append(self.unavailable)
        if self.write_error:
            out.append(self.write_error)
        return out


def remember(journal: "Journal", recoveries: list[Recovery]) -> None:
    """Add recoveries to the journal's record (the last KEEP_RECOVERIES are kept)."""
    kept = [r for r in journal.get(RECOVERIES_KEY, []) if isinstance(r, dict)]
    kept += [r.to_dict() for r in recoveries]
    journal.put(RECOVERIES_KEY, kept[-KEEP_RECOVERIES:])


def recorded(journal: "Journal") -> list[Recovery]:
    """Every recorded recovery, newest last."""
    return [Recovery.from_dict(r) for r in journal.get(RECOVERIES_KEY, []) if isinstance(r, dict)]


def mark_told(journal: "Journal") -> None:
    """The family has been warned about every recorded recovery."""
    journal.put(RECOVERIES_KEY, [{**r, "told": True} for r in journal.get(RECOVERIES_KEY, []) if isinstance(r, dict)])
