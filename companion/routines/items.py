"""What the scheduler holds between polls: one waiting occurrence, and the lock decorator."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from companion.routines.file import Routine
from companion.routines.schedule import Occurrence


def locked(method: Callable[..., Any]) -> Callable[..., Any]:
    """The loop polls while a button callback (another thread) may acknowledge."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass
class Item:
    """One occurrence waiting to be spoken (or, for medication, acknowledged)."""

    key: tuple[str, str, str]
    occ: Occurrence
    ready_at: datetime  # UTC: not before this (after quiet hours)
    expires: datetime  # UTC: no longer worth saying; an unconfirmed medication counts as missed
    asked: int = 0
    last_asked: datetime | None = None
    after_turn: int = -1  # for "next conversation" messages: speak once the turn count passes this

    @property
    def routine(self) -> Routine:
        """The routine this item belongs to."""
        return self.occ.routine
