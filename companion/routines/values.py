"""Parsers for single values in routines.toml: times, days, dates, notice periods.

Each takes the block being read (anything with a `problem(key, found, advice, value)`
method) so a bad value is reported with its line and an example to copy.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, time, timedelta
from typing import Any

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_WORDS = {"daily": frozenset(range(7)), "every day": frozenset(range(7)), "everyday": frozenset(range(7)),
             "weekdays": frozenset(range(5)), "weekends": frozenset({5, 6})}


_TIME_RE = re.compile(r"^\s*(\d{1,2})\s*[:.h ]\s*(\d{2})\s*(am|pm|a\.m\.|p\.m\.)?\s*$", re.I)
_HOUR_ONLY_RE = re.compile(r"^\s*(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.|o'?clock)?\s*$", re.I)


def read_times(b: Any, key: str, raw: Any) -> tuple[time, ...]:
    """One "HH:MM" or a list of them → sorted unique times."""
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        b.problem(key, "is empty", 'give at least one time, like times = ["08:00"]', raw)
    out = []
    for v in values:
        t = parse_time(v)
        if t is None:
            b.problem(key, show(v), f"write it as {suggest_time(v)}", v)
        else:
            out.append(t)
    return tuple(sorted(set(out)))


def parse_time(value: Any) -> time | None:
    """'08:00' (or a TOML time 08:00:00) → time; None if not exactly HH:MM with two-digit hours."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value.strip())
    return time(int(m.group(1)), int(m.group(2))) if m else None


def suggest_time(value: Any) -> str:
    """Our best guess at what they meant, as an example to copy."""
    text = str(value)
    m = _TIME_RE.match(text) or _HOUR_ONLY_RE.match(text)
    if m and isinstance(value, (str, int)):
        hour = int(m.group(1))
        minute = int(m.group(2)) if m.re is _TIME_RE else 0
        suffix = (m.group(m.lastindex) or "").lower().replace(".", "") if m.lastindex else ""
        if suffix.startswith("pm") and hour < 12:
            hour += 12
        if suffix.startswith("am") and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            return f'"{hour:02d}:{minute:02d}" (24-hour clock, in quotes)'
    return '"HH:MM" on the 24-hour clock, like "08:00" or "20:30"'


def read_days(b: Any, raw: Any) -> frozenset[int]:
    """"daily"/"weekdays"/"weekends"/"mon" or a list of day names → weekday numbers (Monday = 0)."""
    if isinstance(raw, str):
        key = raw.strip().lower()
        if key in DAY_WORDS:
            return DAY_WORDS[key]
        one = _day_number(key)
        if one is not None:
            return frozenset({one})
        close = difflib.get_close_matches(key, list(DAY_WORDS), n=1, cutoff=0.5)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        b.problem("days", show(raw), f'{hint}write "daily", "weekdays", "weekends" or a list like ["mon", "thu"]', raw)
        return frozenset()
    if not isinstance(raw, list) or not raw:
        b.problem("days", show(raw), 'write "daily", "weekdays", "weekends" or a list like ["mon", "thu"]', raw)
        return frozenset()
    out = set()
    for v in raw:
        n = _day_number(v.strip().lower()) if isinstance(v, str) else None
        if n is None:
            close = difflib.get_close_matches(str(v).lower()[:3], DAY_NAMES, n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            b.problem("days", f"has {show(v)}", f'{hint}use mon, tue, wed, thu, fri, sat, sun, like ["mon", "thu"]', v)
        else:
            out.add(n)
    return frozenset(out)


def _day_number(key: str) -> int | None:
    if key in DAY_NAMES:
        return DAY_NAMES.index(key)
    if key in _FULL_DAYS:
        return _FULL_DAYS.index(key)
    return None


def read_date(b: Any, raw: Any) -> date | None:
    """"2026-12-03" (or a TOML date) → date; guesses what "03/12/2026" meant."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", raw)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                b.problem("date", show(raw), "that day does not exist in the calendar; check the month and day "
                          "(year-month-day, like \"2026-12-03\")", raw)
                return None
        m = re.fullmatch(r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*", raw)
        if m:
            a, c, y = int(m.group(1)), int(m.group(2)), m.group(3)
            guesses = []
            if c <= 12 and a <= 31:  # day/month, as written in most of the world
                guesses.append(f'"{y}-{c:02d}-{a:02d}" if you meant {a} {_month(c)}')
            if a <= 12 and c <= 31 and a != c:  # month/day, as written in the US
                guesses.append(f'"{y}-{a:02d}-{c:02d}" if you meant {_month(a)} {c}')
            guess = ", or ".join(guesses) or '"2026-12-03"'
            b.problem("date", show(raw), f"write year-month-day: {guess}", raw)
            return None
    b.problem("date", show(raw), 'write year-month-day in quotes, like date = "2026-12-03"', raw)
    return None


def _month(n: int) -> str:
    return date(2000, n, 1).strftime("%B")


def read_notice(b: Any, raw: Any) -> timedelta | None:
    """"1 day" / "2 hours" / "30 minutes" → timedelta (at most 14 days)."""
    m = re.fullmatch(r"\s*(\d+)\s*(day|days|hour|hours|minute|minutes|min|mins)\s*", raw) if isinstance(raw, str) else None
    if not m or int(m.group(1)) == 0:
        b.problem("notice", show(raw), 'write how long before, like notice = "1 day" or "2 hours" or "30 minutes"', raw)
        return None
    n, unit = int(m.group(1)), m.group(2)
    delta = timedelta(days=n) if unit.startswith("day") else timedelta(hours=n) if unit.startswith("hour") else timedelta(minutes=n)
    if delta > timedelta(days=14):
        b.problem("notice", show(raw), 'at most 14 days, like notice = "1 day"', raw)
        return None
    return delta


def show(value: Any) -> str:
    """A value as the family wrote it, for messages."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (time, date)):
        return value.isoformat()
    return repr(value)
