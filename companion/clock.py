"""Injectable clocks: wall time for schedules, monotonic time for intervals."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Protocol


class Clock(Protocol):
    """What every time-dependent component asks for the time."""

    def now(self) -> datetime:
        """Current time as an aware datetime (UTC)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to: for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (with tzinfo)")
        self._now = start.astimezone(timezone.utc)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        """Move time forward by `seconds` (plus any timedelta keyword args)."""
        delta = timedelta(seconds=seconds, **kwargs)
        if delta.total_seconds() < 0:
            raise ValueError("time only moves forward")
        self._now += delta
        self._mono += delta.total_seconds()
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an aware datetime that is not in the past."""
        when = when.astimezone(timezone.utc)
        self.advance((when - self._now).total_seconds())


def local_now(clock: Clock, tz: tzinfo | None) -> datetime:
    """The clock's time in the person's time zone (system zone if None)."""
    return clock.now().astimezone(tz) if tz else clock.now().astimezone()
