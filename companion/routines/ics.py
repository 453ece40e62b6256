"""Calendars in and out: appointments read from an .ics file (the family's shared calendar, exported
or synced to the device), and the routines written as an .ics for the family's own calendar app.

Reading uses `icalendar` + `recurring-ical-events`, so repeating events, exceptions and time zones
are expanded the way calendar apps do. Each event becomes a one-off [[appointment]] at its local
time, with a day's notice (all-day events become a morning reminder). Nothing is downloaded: the
file is whatever the family copies or syncs there.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path

from companion.clock import Household
from companion.routines.file import Routine

log = logging.getLogger(__name__)

LOOKAHEAD = timedelta(days=14)  # appointments this far ahead are scheduled (re-read at every change and daily)
NOTICE = timedelta(days=1)  # "Just so you know: tomorrow at 10 ..."
ALL_DAY_AT = time(9, 0)  # an all-day event is mentioned at this local time


class CalendarError(ValueError):
    """The .ics file cannot be read; the message names the file and the fix."""


def appointments_from_ics(path: Path, household: Household, start: datetime,
                          end: datetime | None = None) -> list[Routine]:
    """Every event occurrence in [start, start + 14 days) as a one-off appointment routine."""
    import icalendar
    import recurring_ical_events

    end = end or start + LOOKAHEAD
    try:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CalendarError(f"cannot read the calendar {path}: {exc}; export it again as .ics "
                            "(iCalendar) from the calendar app") from exc
    out: list[Routine] = []
    for event in recurring_ical_events.of(cal).between(start, end):
        summary = str(event.get("SUMMARY", "")).strip() or "an appointment"
        where = str(event.get("LOCATION", "")).strip()
        begin = event.get("DTSTART").dt
        if isinstance(begin, datetime):
            local = household.local(begin if begin.tzinfo else begin.replace(tzinfo=household.zone))
            day, at, kind = local.date(), local.time().replace(second=0, microsecond=0, tzinfo=None), "appointment"
        else:
            day, at, kind = begin, ALL_DAY_AT, "reminder"
        uid = str(event.get("UID", summary))
        digest = hashlib.sha1(f"{uid}|{day.isoformat()}|{at}".encode()).hexdigest()[:8]
        fields = {"what": summary, "where": where} if kind == "appointment" else {"what": summary}
        out.append(Routine(id=f"calendar:{digest}", kind=kind, title=summary, line=0, times=(at,), date=day,
                           fields=fields, notice=NOTICE if kind == "appointment" else None))
    out.sort(key=lambda r: (r.date or date.min, r.times))
    return out


_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def routines_to_ics(routines: tuple[Routine, ...] | list[Routine], household: Household, today: date) -> bytes:
    """The routines as an iCalendar file: repeating ones with a weekly rule, one-offs on their date."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//Companion//routines//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Companion routines")
    for r in routines:
        for t in r.times:
            event = icalendar.Event()
            first = r.date or today
            if r.date is None:
                while first.weekday() not in r.days:
                    first += timedelta(days=1)
            begin = datetime.combine(first, t, tzinfo=household.zone)
            event.add("uid", f"{r.id}-{t:%H%M}@companion")
            event.add("summary", _summary(r))
            event.add("dtstart", begin)
            event.add("dtend", begin + timedelta(minutes=15))
            event.add("dtstamp", datetime.combine(today, time(0), tzinfo=household.zone))
            if r.text("where"):
                event.add("location", r.text("where"))
            if r.date is None:
                rule: dict[str, object] = {"freq": "weekly", "byday": [_DAYS[d] for d in sorted(r.days)]}
                event.add("rrule", rule)
            cal.add_component(event)
    return cal.to_ical()


def _summary(r: Routine) -> str:
    label = {"medication": "Medication", "checkin": "Check-in", "reminder": "Reminder", "appointment": "Appointment",
             "message": "Message", "activity": "Activity"}[r.kind]
    return f"{label}: {r.title}"


class CalendarSource:
    """The appointments of one .ics file, re-read when it changes or a new day begins; never raises."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.problem = ""
        self._key: tuple[object, ...] | None = None
        self._routines: tuple[Routine, ...] = ()

    def routines(self, household: Household, now: datetime) -> tuple[Routine, ...]:
        """The next 14 days of appointments (the last good ones if the file is broken)."""
        if self.path is None:
            return ()
        try:
            st = self.path.stat()
            key: tuple[object, ...] = (st.st_mtime_ns, st.st_size, household.today(now))
        except OSError:
            key = (None, household.today(now))
        if key == self._key:
            return self._routines
        self._key = key
        try:
            self._routines = tuple(appointments_from_ics(self.path, household, now - timedelta(hours=3)))
            self.problem = ""
        except CalendarError as exc:
            self.problem = str(exc)
            log.warning("%s; keeping the appointments read before", exc)
        return self._routines
