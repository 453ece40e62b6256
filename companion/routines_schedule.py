"""When routines happen: local wall-clock times → UTC instants, across DST changes."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .routines_file import QuietHours, Routine, RoutinesFile

log = logging.getLogger(__name__)

UTC = timezone.utc


@dataclass(frozen=True)
class Occurrence:
    """One moment a routine wants to speak: the routine itself, or its advance notice."""

    routine: Routine
    stage: str  # "main" | "notice"
    due: datetime  # aware UTC; when to speak
    event: datetime  # aware UTC; when the routine itself happens (== due for "main")

    @property
    def key(self) -> tuple[str, str, str]:
        """Identifies this occurrence across restarts (stored as routine_log 'due')."""
        return (self.routine.id, self.stage, self.due.isoformat())


def resolve_timezone(name: str) -> tuple[tzinfo, str]:
    """The person's zone from an IANA name ('' = system zone); returns (zone, problem or '')."""
    if name:
        try:
            return ZoneInfo(name), ""
        except (ZoneInfoNotFoundError, ValueError):
            return system_timezone(), (f"[routines] timezone '{name}' is not a known time zone; "
                                       "write a name like \"Europe/London\" or \"America/New_York\"")
    return system_timezone(), ""


def system_timezone() -> tzinfo:
    """The system's IANA zone ($TZ, /etc/timezone, /etc/localtime), so DST rules are known."""
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
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    log.warning("cannot tell the system time zone; using UTC (set [routines] timezone)")
    return UTC


def local_instant(day: date, t: time, tz: tzinfo) -> datetime:
    """The UTC instant of local `day` at `t`.

    A time skipped by a spring DST change (01:30 when clocks jump 01:00→02:00)
    happens as soon as the clocks allow: fold=0 reads it with the offset from
    before the change, which lands it one gap later (02:30). A time that occurs
    twice in autumn happens at its first occurrence (fold=0), once.
    """
    return datetime.combine(day, t, tzinfo=tz).astimezone(UTC)


def occurrences(routines: tuple[Routine, ...], tz: tzinfo, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence with start < due <= end (UTC), in time order."""
    out: list[Occurrence] = []
    for r in routines:
        if not r.times:
            continue  # messages "at the next conversation" have no clock time
        out.extend(_between(r, "main", timedelta(0), tz, start, end))
        if r.notice:
            out.extend(_between(r, "notice", r.notice, tz, start, end))
    out.sort(key=lambda o: (o.due, o.routine.kind, o.routine.id))
    return out


def _between(r: Routine, stage: str, ahead: timedelta, tz: tzinfo, start: datetime, end: datetime) -> list[Occurrence]:
    first = (start + ahead).astimezone(tz).date() - timedelta(days=1)
    last = (end + ahead).astimezone(tz).date() + timedelta(days=1)
    days = [r.date] if r.date is not None else [first + timedelta(days=i) for i in range((last - first).days + 1)]
    out = []
    for day in days:
        if not (first <= day <= last and r.on(day)):
            continue
        for t in r.times:
            event = local_instant(day, t, tz)
            due = event - ahead
            if start < due <= end:
                out.append(Occurrence(r, stage, due, event))
    return out


def quiet_ends(quiet: QuietHours | None, when: datetime, tz: tzinfo) -> datetime:
    """`when` if it is outside quiet hours, else the UTC instant they end."""
    if quiet is None:
        return when
    local = when.astimezone(tz)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return when
    day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        day += timedelta(days=1)  # quiet hours wrap past midnight: they end tomorrow morning
    return local_instant(day, quiet.end, tz)


def effective_quiet(rf: RoutinesFile | None, quiet_from: str, quiet_until: str) -> QuietHours | None:
    """The routines file's [quiet_hours] if it has one, else the main config's."""
    from .routines_file import parse_time

    if rf is not None and rf.quiet_set:
        return rf.quiet
    start, end = parse_time(quiet_from), parse_time(quiet_until)
    if start is None or end is None or start == end:
        return None
    return QuietHours(start, end)


def upcoming(rf: RoutinesFile, tz: tzinfo, quiet: QuietHours | None, start: datetime,
             hours: float) -> list[tuple[datetime, Occurrence, str]]:
    """What will be said in the next `hours`: (local time, occurrence, note) in order."""
    rows = []
    for occ in occurrences(rf.routines, tz, start, start + timedelta(hours=hours)):
        note = ""
        ready = quiet_ends(quiet, occ.due, tz)
        if ready != occ.due and not occ.routine.urgent:
            note = f"quiet hours: waits until {ready.astimezone(tz):%H:%M}"
        if occ.stage == "notice":
            note = (note + "; " if note else "") + f"advance notice for {occ.event.astimezone(tz):%a %d %b %H:%M}"
        rows.append((occ.due.astimezone(tz), occ, note))
    return rows
