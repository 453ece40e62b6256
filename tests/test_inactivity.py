"""The inactivity watch on a ManualClock with the real store and alert service: first use, power cuts,
muting, clock steps at boot, the question asked of her first; and the device's running record."""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta, timezone

import pytest
from caregiver_servers import SteppingClock

from companion.caregiver.alerts import AlertService
from companion.caregiver.inactivity import QUESTION, SAVE_COUNT_S, InactivityWatch
from companion.caregiver.presence import ClockSync, Presence
from companion.config import Settings
from companion.loop.dialogue import Dialogue
from companion.loop.skills import TurnInput
from companion.store.journal import TurnRow
from companion.store.store import Store

MORNING = datetime(2024, 5, 6, 7, 0, tzinfo=timezone.utc)  # 08:00 in London


@pytest.fixture
def world(tmp_path):
    settings = Settings().replace(caregiver={"inactivity_hours": 4.0, "inactivity_grace_min": 20.0},
                                  routines={"timezone": "Europe/London"}, conversation={"user_name": "Mary"})
    sync_dir = tmp_path / "timesync"
    sync_dir.mkdir()
    (sync_dir / "synchronized").touch()
    with Store.open(tmp_path / "data") as store:
        clock = SteppingClock(MORNING)
        alerts = AlertService.from_settings(settings, tmp_path / "data", clock)
        mic = {"on": True}
        watch = InactivityWatch(settings, store, alerts, clock, listening=lambda: mic["on"],
                                clock_sync=ClockSync(sync_dir, use_kernel=False))
        yield watch, store, alerts, clock, mic, sync_dir


_DIALOGUES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def dialogue(watch, clock) -> Dialogue:
    """The real dialogue around the watch (its answer slot routes her answer to the question); no LLM turns."""
    if watch not in _DIALOGUES:
        _DIALOGUES[watch] = Dialogue(None, [watch], clock, watch.household)  # type: ignore[arg-type]
    return _DIALOGUES[watch]


def run(watch, clock, minutes: int, idle: bool = True) -> list:
    """Advance minute by minute, checking and polling as the running companion does."""
    asked, alerts = [], []
    for _ in range(minutes):
        clock.advance(60)
        if (alert := watch.check()) is not None:
            alerts.append(alert)
        if (reply := dialogue(watch, clock).poll(idle=idle, muted=False)) is not None:
            asked.append(reply)
    return asked, alerts


def say(watch, store, clock, text: str):
    store.journal.append(TurnRow(at=clock.now(), user=text))
    return dialogue(watch, clock).skill_reply(TurnInput(text, clock.now(), clock.now()))


def test_a_fresh_install_never_alerts_before_her_first_conversation(world):
    watch, store, alerts, clock, mic, _ = world
    asked, raised = run(watch, clock, 12 * 60)
    assert asked == [] and raised == [] and alerts.open_alerts() == []


def test_she_is_asked_first_and_only_no_answer_alerts_then_her_answer_clears_it(world):
    watch, store, alerts, clock, mic, _ = world
    say(watch, store, clock, "good morning")  # 08:00
    asked, raised = run(watch, clock, 4 * 60 - 1)
    assert asked == [] and raised == []
    asked, raised = run(watch, clock, 2)
    assert [r.text for r in asked] == [QUESTION] and raised == []  # asked at 12:01 (the first check only starts the count), nobody told yet
    asked, raised = run(watch, clock, 19)
    assert raised == []  # still inside the 20-minute grace period
    asked, raised = run(watch, clock, 2)
    assert len(raised) == 1
    alert = alerts.get(raised[0])
    assert alert.severity.value == "warning" and not alert.urgent
    assert "asked at 12:01" in alert.told_her and "did not answer" in alert.told_her
    assert "off or muted is not counted" in alerts.text_of(alert)
    clock.advance(600)
    reply = say(watch, store, clock, "yes I'm fine I was in the garden")
    assert reply is None or reply.intent == "inactivity:answered"
    assert alerts.get(raised[0]).resolved  # the all-clear updates the same alert
    assert run(watch, clock, 8 * 60)[1] == []  # at most one alert a day


def test_answering_the_question_means_nobody_is_told(world):
    watch, store, alerts, clock, mic, _ = world
    say(watch, store, clock, "hello")
    asked, _ = run(watch, clock, 4 * 60 + 1)
    assert len(asked) == 1
    clock.advance(120)
    reply = say(watch, store, clock, "yes I'm fine thank you")
    assert reply.intent == "inactivity:answered"
    assert run(watch, clock, 60)[1] == [] and alerts.open_alerts() == []


def test_a_power_cut_or_being_switched_off_is_not_inactivity(world, tmp_path):
    watch, store, alerts, clock, mic, sync_dir = world
    say(watch, store, clock, "morning")  # 08:00
    run(watch, clock, 60)  # on until 09:00
    clock.advance(hours=7)  # power cut: nothing runs until 16:00
    settings = Settings().replace(caregiver={"inactivity_hours": 4.0}, routines={"timezone": "Europe/London"})
    restarted = InactivityWatch(settings, store, alerts, clock, clock_sync=ClockSync(sync_dir, use_kernel=False))
    asked, raised = run(restarted, clock, 3 * 60 - 5)  # 16:00-18:55: 1 h + 2 h 55 of listening
    assert asked == [] and raised == []
    # listening minutes only (a first check only starts the count); a power cut may lose the last unsaved minutes
    assert (59 + 174) * 60 - SAVE_COUNT_S <= restarted.state.quiet_s <= (59 + 174) * 60


def test_muted_time_is_not_counted(world):
    watch, store, alerts, clock, mic, _ = world
    say(watch, store, clock, "hello")
    mic["on"] = False
    asked, raised = run(watch, clock, 6 * 60)
    assert asked == [] and raised == [] and watch.state.quiet_s == 0


def test_nothing_is_judged_until_the_clock_is_synchronised(world):
    watch, store, alerts, clock, mic, sync_dir = world
    say(watch, store, clock, "hello")
    (sync_dir / "synchronized").unlink()  # a boot without an RTC: timesyncd has not set the clock
    asked, raised = run(watch, clock, 8 * 60)
    assert asked == [] and raised == [] and watch.state.quiet_s == 0
    (sync_dir / "synchronized").touch()
    clock.step_wall(-3600)  # NTP corrects the clock an hour back
    asked, raised = run(watch, clock, 60)
    assert asked == [] and watch.state.quiet_s == pytest.approx(60 * 60)  # monotonic minutes only


def test_night_is_not_counted(world):
    watch, store, alerts, clock, mic, _ = world
    clock.set(datetime(2024, 5, 6, 19, 0, tzinfo=timezone.utc))  # 20:00 London
    say(watch, store, clock, "good night")
    asked, raised = run(watch, clock, 12 * 60 - 1)  # 20:00 -> 07:59
    assert asked == [] and raised == [] and watch.state.quiet_s == 0


def test_presence_records_downtime_and_survives_a_clock_step(tmp_path):
    clock = SteppingClock(MORNING)
    p = Presence(tmp_path / "presence.json", clock)
    for _ in range(60):
        p.beat()
        clock.advance(60)
    clock.advance(hours=5)  # a power cut: the record is saved every 10 minutes, so it ends at 07:50
    p2 = Presence(tmp_path / "presence.json", clock)
    assert p2.previous_end == MORNING + timedelta(minutes=50)
    p2.beat()
    clock.step_wall(-2 * 3600)  # NTP steps the wall clock back 2 hours
    for _ in range(10):
        clock.advance(60)
        p2.beat()
    gaps = p2.downtime(MORNING, MORNING + timedelta(days=1))
    # the run after the cut was timed with a clock 2 h fast: its record is moved back by the correction
    p2.flush()  # a clean shutdown saves the exact end
    assert Presence(tmp_path / "presence.json", clock).previous_end == clock.now()
    assert gaps == [(MORNING + timedelta(minutes=50), MORNING + timedelta(hours=4))]
    assert len(p2.segments) == 2
    assert p2.running_between(MORNING, MORNING + timedelta(hours=1)) == timedelta(minutes=50)


def test_clock_sync_reads_timesyncd(tmp_path):
    assert ClockSync(tmp_path / "absent", use_kernel=False).synchronised() is False
    d = tmp_path / "timesync"
    d.mkdir()
    assert ClockSync(d).synchronised() is False  # timesyncd runs, not synchronised yet
    (d / "synchronized").touch()
    assert ClockSync(d).synchronised() is True

