"""Time: injectable clocks (wall time for schedules, monotonic for intervals) and her household's
time zone and quiet hours, parsed once at the door and asked by everyone else."""

from __future__ import annotations

import difflib
import logging
import os
import re
import time as _time
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


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
        return _time.monotonic()


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


# ---------------------------------------------------------------- time values from text

_CLOCK_TIME = re.compile(r"^\s*(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*$", re.I)
_WORD_TIMES = {"noon": time(12), "midday": time(12), "midnight": time(0)}
TIME_EXAMPLE = '"22:00" (24-hour) or "10pm"'


def parse_time_of_day(text: str) -> time:
    """'22:00', '7:30', '10pm', '10:30 p.m.', 'noon' → a local wall time; ValueError says what to write."""
    s = str(text).strip().lower()
    if s in _WORD_TIMES:
        return _WORD_TIMES[s]
    m = _CLOCK_TIME.match(s)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        suffix = (m.group(3) or "").replace(".", "")
        if suffix and not 1 <= hour <= 12:
            raise ValueError(f"{text!r} is not a time: with am/pm the hour is 1 to 12; write {TIME_EXAMPLE}")
        if suffix == "pm" and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        if (m.group(2) is not None or suffix) and hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"{text!r} is not a time of day; write {TIME_EXAMPLE}")


@dataclass(frozen=True)
class QuietHours:
    """A daily local time range [start, end) that may wrap past midnight; start == end means never."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "QuietHours":
        """'21:00-08:00', '9pm-8am', '9pm to 8am' → QuietHours; ValueError says what to write."""
        parts = re.split(r"\s*(?:-|–|—|\bto\b|\buntil\b)\s*", str(text).strip(), maxsplit=1)
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{text!r} is not a time range; write it like \"21:00-08:00\" or \"9pm-8am\"")
        return cls(parse_time_of_day(parts[0]), parse_time_of_day(parts[1]))

    def contains(self, t: time) -> bool:
        """Is local wall time `t` inside the range?"""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def describe(self) -> str:
        """'22:00–07:00' for messages."""
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def __str__(self) -> str:
        return self.describe()


# ---------------------------------------------------------------- time zones


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


# Abbreviations people write, and the place to write instead (an abbreviation hides summer time).
_ABBREVIATIONS = {"bst": "Europe/London", "cet": "Europe/Paris", "cest": "Europe/Paris", "est": "America/New_York",
                  "edt": "America/New_York", "cst": "America/Chicago", "cdt": "America/Chicago",
                  "mst": "America/Denver", "mdt": "America/Denver", "pst": "America/Los_Angeles",
                  "pdt": "America/Los_Angeles", "aest": "Australia/Sydney", "ist": "Europe/Dublin"}
_OFFSET = re.compile(r"^\s*(utc|gmt)?\s*[+-]\s*\d{1,2}(:?\d{2})?\s*$", re.I)


def parse_zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA zone name → ZoneInfo; ValueError suggests the closest real name."""
    try:
        if name.strip() and not name.strip().startswith("/"):
            return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    place = _ABBREVIATIONS.get(name.strip().lower())
    if place:
        raise ValueError(f"{name!r} is an abbreviation; write the place, like \"{place}\" (then summer time is "
                         "handled for you)")
    if _OFFSET.match(name):
        raise ValueError(f"{name!r} is an offset, which is wrong half the year; write the place, like "
                         "\"Europe/Paris\" or \"America/New_York\"")
    close = difflib.get_close_matches(name, _zone_names(), n=1, cutoff=0.6)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    raise ValueError(f"{name!r} is not a known time zone{hint}; write an IANA name like \"Europe/London\" "
                     "or \"America/New_York\"")


@lru_cache(maxsize=1)
def system_zone() -> tzinfo:
    """The system's IANA zone ($TZ, /etc/timezone, /etc/localtime), so DST rules are known; else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    log.warning("cannot tell the system time zone; using UTC (set [routines] timezone)")
    return timezone.utc


# ---------------------------------------------------------------- her household


@dataclass(frozen=True)
class Household:
    """Her time zone and quiet hours: the one place local time and "may it speak now?" are decided."""

    zone: tzinfo = field(default_factory=system_zone)
    quiet: QuietHours | None = QuietHours(time(22), time(7))  # no non-urgent speech in this local range

    def local(self, now: datetime) -> datetime:
        """An aware instant as her local wall-clock time."""
        return now.astimezone(self.zone)

    def today(self, now: datetime) -> date:
        """Her local date at `now`."""
        return self.local(now).date()

    def is_quiet(self, now: datetime, *, urgent: bool = False) -> bool:
        """Must non-urgent speech wait at `now`? Urgent things never wait."""
        if urgent or self.quiet is None:
            return False
        return self.quiet.contains(self.local(now).time().replace(tzinfo=None))

    def at(self, day: date, t: time) -> datetime:
        """The UTC instant of her local `day` at wall time `t`.

        A time skipped by a spring DST change (01:30 when clocks jump 01:00→02:00)
        happens as soon as the clocks allow: fold=0 reads it with the offset from
        before the change, which lands it one gap later (02:30). A time that occurs
        twice in autumn happens at its first occurrence (fold=0), once.
        """
        return datetime.combine(day, t, tzinfo=self.zone).astimezone(timezone.utc)

    def quiet_ends(self, when: datetime) -> datetime:
        """`when` if it is outside quiet hours, else the UTC instant they end."""
        if not self.is_quiet(when):
            return when
        assert self.quiet is not None
        local = self.local(when)
        day = local.date()
        if self.quiet.start > self.quiet.end and local.time().replace(tzinfo=None) >= self.quiet.start:
            day += timedelta(days=1)  # quiet hours wrap past midnight: they end tomorrow morning
        return self.at(day, self.quiet.end)

    def with_quiet(self, quiet: QuietHours | None) -> "Household":
        """The same household with other quiet hours (the routines file may set its own)."""
        return replace(self, quiet=quiet)

    @property
    def zone_name(self) -> str:
        return getattr(self.zone, "key", None) or str(self.zone)
