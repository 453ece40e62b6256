"""When routines happen: local wall-clock times → UTC instants, across DST changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from companion.clock import Household
from companion.routines.file import Routine, RoutinesFile


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


def occurrences(routines: tuple[Routine, ...], household: Household, start: datetime,
                end: datetime) -> list[Occurrence]:
    """Every occurrence with start < due <= end (UTC), in time order."""
    out: list[Occurrence] = []
    for r in routines:
        if not r.times:
            continue  # messages "at the next conversation" have no clock time
        out.extend(_between(r, "main", timedelta(0), household, start, end))
        if r.notice:
            out.extend(_between(r, "notice", r.notice, household, start, end))
    out.sort(key=lambda o: (o.due, o.routine.kind, o.routine.id))
    return out


def _between(r: Routine, stage: str, ahead: timedelta, household: Household, start: datetime,
             end: datetime) -> list[Occurrence]:
    first = household.today(start + ahead) - timedelta(days=1)
    last = household.today(end + ahead) + timedelta(days=1)
    days = [r.date] if r.date is not None else [first + timedelta(days=i) for i in range((last - first).days + 1)]
    out = []
    for day in days:
        if not (first <= day <= last and r.on(day)):
            continue
        for t in r.times:
            event = household.at(day, t)
            due = event - ahead
            if start < due <= end:
                out.append(Occurrence(r, stage, due, event))
    return out


def household_for(household: Household, rf: RoutinesFile | None) -> Household:
    """Her household with the routines file's [quiet_hours] if it has one (else the main config's)."""
    return household.with_quiet(rf.quiet) if rf is not None and rf.quiet_set else household


def upcoming(rf: RoutinesFile, household: Household, start: datetime,
             hours: float) -> list[tuple[datetime, Occurrence, str]]:
    """What will be said in the next `hours`: (local time, occurrence, note) in order."""
    household = household_for(household, rf)
    rows = []
    for occ in occurrences(rf.routines, household, start, start + timedelta(hours=hours)):
        note = ""
        ready = household.quiet_ends(occ.due)
        if ready != occ.due and not occ.routine.urgent:
            note = f"quiet hours: waits until {household.local(ready):%H:%M}"
        if occ.stage == "notice":
            note = (note + "; " if note else "") + f"advance notice for {household.local(occ.event):%a %d %b %H:%M}"
        rows.append((household.local(occ.due), occ, note))
    return rows
