"""Her household's clock: zone and quiet hours parsed once (config or routines file), asked by everyone."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from companion.clock import Household, QuietHours, parse_time_of_day, parse_zone
from companion.config import accept, config_choices, load_settings_or_last_good, parse_settings
from companion.errors import ConfigError

LONDON = ZoneInfo("Europe/London")


def test_local_time_quiet_hours_and_when_they_end_across_dst():
    h = Household(LONDON, QuietHours(time(22), time(7)))
    summer = datetime(2026, 7, 1, 21, 30, tzinfo=timezone.utc)  # 22:30 in London (BST)
    assert h.local(summer).hour == 22 and h.is_quiet(summer) and not h.is_quiet(summer, urgent=True)
    assert h.quiet_ends(summer) == datetime(2026, 7, 2, 6, 0, tzinfo=timezone.utc)  # 07:00 BST
    winter = datetime(2026, 12, 1, 21, 30, tzinfo=timezone.utc)  # 21:30 GMT: not yet quiet
    assert not h.is_quiet(winter) and h.quiet_ends(winter) == winter
    # the night the clocks go back: quiet hours end at 07:00 GMT
    assert h.quiet_ends(datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)) == datetime(2026, 10, 25, 7, 0,
                                                                                          tzinfo=timezone.utc)
    assert h.at(date(2026, 3, 29), time(1, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)  # skipped hour
    assert Household(LONDON, None).is_quiet(summer) is False


@pytest.mark.parametrize("text, expected", [("22:00", time(22)), ("7:30", time(7, 30)), ("10pm", time(22)),
                                            ("10:30 p.m.", time(22, 30)), ("12am", time(0)), ("noon", time(12))])
def test_times_of_day_in_the_ways_families_write_them(text, expected):
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize("text", ["25:00", "13pm", "ten", "7", ""])
def test_impossible_times_say_what_to_write(text):
    with pytest.raises(ValueError, match=r'write "22:00" \(24-hour\) or "10pm"'):
        parse_time_of_day(text)


def test_time_ranges_and_zones():
    assert QuietHours.parse("9pm-8am") == QuietHours(time(21), time(8))
    assert QuietHours.parse("21:00 to 08:00") == QuietHours(time(21), time(8))
    assert parse_zone("America/New_York").key == "America/New_York"
    with pytest.raises(ValueError, match='did you mean "Europe/London"'):
        parse_zone("Europe/Lodnon")


def test_config_builds_the_household_once_with_typed_values():
    s = parse_settings('[routines]\ntimezone = "Europe/London"\nquiet_from = "10pm"\nquiet_until = "6:30am"\n'
                       '[caregiver]\nquiet_hours = "9pm-8am"\n')
    assert s.household == Household(LONDON, QuietHours(time(22), time(6, 30)))
    assert s.household is s.household  # built once
    assert s.caregiver.quiet_hours == QuietHours(time(21), time(8))
    assert parse_settings('[routines]\nquiet_from = "07:00"\nquiet_until = "07:00"\n').household.quiet is None
    assert s.replace(routines={"timezone": "Europe/Paris"}).household.zone == ZoneInfo("Europe/Paris")


def test_a_mistyped_zone_or_range_is_a_line_numbered_config_error():
    text = '[conversation]\nuser_name = "Mum"\n\n[routines]\ntimezone = "Europe/Lodnon"\nquiet_from = "25:00"\n' \
           '\n[caregiver]\nquiet_hours = "9pm"\n'
    with pytest.raises(ConfigError) as exc:
        parse_settings(text, source="config.toml")
    msg = str(exc.value)
    assert 'config.toml:5: [routines] timezone: \'Europe/Lodnon\' is not a known time zone (did you mean ' \
           '"Europe/London"?)' in msg
    assert "config.toml:6: [routines] quiet_from: '25:00' is not a time of day" in msg
    assert "config.toml:9: [caregiver] quiet_hours: '9pm' is not a time range" in msg
    with pytest.raises(ConfigError, match="not a known time zone"):
        parse_settings("").replace(routines={"timezone": "Mars/Olympus"})


@pytest.mark.parametrize("text, message", [
    ('[routines]\ntimezone = "Europe/Lodnon"\n', ":2: [routines] timezone: 'Europe/Lodnon' is not a known time zone"),
    ('[caregiver]\nquiet_hours = "9pm"\n', ":2: [caregiver] quiet_hours: '9pm' is not a time range"),
])
def test_at_start_a_bad_zone_or_range_exits_2_with_the_message_and_no_traceback(tmp_path, text, message):
    config = tmp_path / "config.toml"
    config.write_text(text)
    done = subprocess.run([sys.executable, "-m", "companion", "--config", str(config), "routines", "upcoming"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{config}{message}" in done.stderr
    assert "Traceback" not in done.stderr


def test_on_reload_the_service_keeps_the_last_good_household(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = tmp_path / "config.toml"
    config.write_text('[routines]\ntimezone = "Europe/London"\nquiet_from = "21:30"\n')
    good, problem = load_settings_or_last_good(config)
    assert problem is None and good.household.zone == LONDON
    accept(config_choices(config)[0])  # the companion started with it
    config.write_text('[routines]\ntimezone = "Europe/London"\nquiet_from = "half nine"\n')  # a bad edit
    kept, problem = load_settings_or_last_good(config)
    assert kept.household == good.household
    assert ":3: [routines] quiet_from: 'half nine'" in problem and "Keeping the last good config" in problem
    config.write_text('[routines]\ntimezone = "Europe/Lodnon"\nquiet_from = "21:30"\n')  # a mistyped zone
    kept, problem = load_settings_or_last_good(config)
    assert kept.household == good.household
    assert ":2: [routines] timezone: 'Europe/Lodnon'" in problem and "Keeping the last good config" in problem


def test_a_mistyped_quiet_range_in_the_routines_file_names_its_line_and_keeps_the_last_good(tmp_path):
    from companion.clock import ManualClock
    from companion.routines.scheduler import RoutineScheduler
    from companion.store.store import Store

    path = tmp_path / "routines.toml"
    path.write_text('[quiet_hours]\nfrom = "21:00"\nuntil = "07:30"\n\n[[medication]]\nname = "pill"\n'
                    'times = ["09:00"]\n')
    clock = ManualClock(datetime(2026, 5, 4, 12, tzinfo=timezone.utc))
    with Store.open(tmp_path / "data") as store:
        sched = RoutineScheduler(path, store, clock, Household(LONDON), reload_check_s=0.0)
        assert sched.household.quiet == QuietHours(time(21), time(7, 30))
        path.write_text('[quiet_hours]\nfrom = "21:00"\nuntil = "7.30am"\n\n[[medication]]\nname = "pill"\n'
                        'times = ["09:00"]\n')
        clock.advance(5)
        sched.poll(idle=False, muted=False)
        status = sched.status()
        assert "line 3" in status and "until" in status and "still using the last good version" in status
        assert sched.household.quiet == QuietHours(time(21), time(7, 30))
