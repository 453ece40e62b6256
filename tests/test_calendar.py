"""Appointments from an .ics file through the real scheduler, and the routines exported as .ics."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from companion.cli.main import main
from companion.clock import Household, ManualClock
from companion.routines.ics import appointments_from_ics, routines_to_ics
from companion.routines.scheduler import RoutineScheduler
from companion.store.store import Store

LONDON = ZoneInfo("Europe/London")
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Family//Shared calendar//EN
BEGIN:VEVENT
UID:gp-1@family
DTSTAMP:20240501T000000Z
DTSTART;TZID=Europe/London:20240508T103000
DTEND;TZID=Europe/London:20240508T110000
SUMMARY:Dr. Patel
LOCATION:the health centre
END:VEVENT
BEGIN:VEVENT
UID:lunch@family
DTSTAMP:20240501T000000Z
DTSTART;TZID=Europe/London:20240506T123000
DTEND;TZID=Europe/London:20240506T133000
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4
EXDATE;TZID=Europe/London:20240513T123000
SUMMARY:Lunch club
END:VEVENT
BEGIN:VEVENT
UID:bins@family
DTSTAMP:20240501T000000Z
DTSTART;VALUE=DATE:20240509
SUMMARY:Bins go out
END:VEVENT
END:VCALENDAR
"""


def test_events_recurrences_and_exceptions_become_appointments(tmp_path):
    path = tmp_path / "family.ics"
    path.write_text(ICS)
    start = datetime(2024, 5, 6, 0, 0, tzinfo=timezone.utc)
    got = appointments_from_ics(path, Household(LONDON), start, datetime(2024, 5, 27, tzinfo=timezone.utc))
    assert [(r.kind, r.title, r.date.isoformat(), f"{r.times[0]:%H:%M}") for r in got] == [
        ("appointment", "Lunch club", "2024-05-06", "12:30"),
        ("appointment", "Dr. Patel", "2024-05-08", "10:30"),
        ("reminder", "Bins go out", "2024-05-09", "09:00"),
        ("appointment", "Lunch club", "2024-05-20", "12:30"),  # the 13th was cancelled (EXDATE)
    ]
    assert got[1].text("where") == "the health centre"


def test_the_scheduler_announces_calendar_appointments_with_notice(tmp_path):
    path = tmp_path / "family.ics"
    path.write_text(ICS)
    clock = ManualClock(datetime(2024, 5, 7, 8, 0, tzinfo=timezone.utc))  # Tue 09:00 London
    with Store.open(tmp_path / "data") as store:
        sched = RoutineScheduler(None, store, clock, Household(LONDON), calendar=path)
        said = []
        for _ in range(26 * 60):
            reply = sched.poll(idle=True, muted=False)
            if reply is not None:
                said.append((clock.now().astimezone(LONDON), reply.text))
            clock.advance(60)
    texts = [t for _, t in said]
    assert any("Dr. Patel" in t and "health centre" in t and "tomorrow" in t for t in texts)  # Tue 10:30 notice
    assert any("Dr. Patel" in t and "tomorrow" not in t for t in texts)  # Wed 10:30
    assert "calendar: " in sched.status()


def test_broken_calendar_keeps_the_last_good_appointments(tmp_path):
    path = tmp_path / "family.ics"
    path.write_text(ICS)
    clock = ManualClock(datetime(2024, 5, 7, 8, 0, tzinfo=timezone.utc))
    with Store.open(tmp_path / "data") as store:
        sched = RoutineScheduler(None, store, clock, Household(LONDON), calendar=path)
        sched.poll(idle=False, muted=False)
        path.write_text("BEGIN:VCALENDAR\nthis is not a calendar")
        clock.advance(3600)
        sched.poll(idle=False, muted=False)
        assert "cannot read the calendar" in sched.status() and "3 appointment" in sched.status()  # kept


def test_routines_exported_as_ics_read_back_the_same(tmp_path):
    from companion.routines.file import parse_routines

    rf = parse_routines('[[medication]]\nname = "heart tablet"\ntimes = ["08:00", "20:00"]\n'
                        '[[appointment]]\nwith = "Dr. Patel"\nwhere = "the health centre"\ntime = "10:30"\n'
                        'date = "2024-05-08"\n[[reminder]]\nwhat = "the bins"\ntime = "19:00"\ndays = ["thu"]\n')
    data = routines_to_ics(rf.routines, Household(LONDON), date(2024, 5, 6))
    path = tmp_path / "out.ics"
    path.write_bytes(data)
    back = appointments_from_ics(path, Household(LONDON), datetime(2024, 5, 6, tzinfo=timezone.utc),
                                 datetime(2024, 5, 10, tzinfo=timezone.utc))
    got = sorted((r.date.isoformat(), f"{r.times[0]:%H:%M}", r.title) for r in back)
    assert ("2024-05-06", "08:00", "Medication: heart tablet") in got and ("2024-05-09", "20:00",
                                                                          "Medication: heart tablet") in got
    assert ("2024-05-08", "10:30", "Appointment: with Dr. Patel") in got
    assert [g for g in got if "bins" in g[2]] == [("2024-05-09", "19:00", "Reminder: the bins")]
    routines = tmp_path / "routines.toml"
    routines.write_text('[[medication]]\nname = "heart tablet"\ntime = "08:00"\n')
    config = tmp_path / "config.toml"
    config.write_text(f'[routines]\nfile = "{routines}"\ntimezone = "Europe/London"\n')
    assert main(["--config", str(config), "routines", "export-ics", "--out", str(tmp_path / "c.ics")]) == 0
    assert b"RRULE:FREQ=WEEKLY" in (tmp_path / "c.ics").read_bytes()
