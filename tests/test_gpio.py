"""The GPIO panel on gpiozero's MockFactory: LED patterns, buttons, persisted mute.

The panel reports presses; help requests are recorded by the safety skill (tests/test_help_button.py).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from companion.clock import ManualClock
from companion.config import GpioSettings, parse_settings
from companion.loop.events import State
from companion.panel import PATTERNS, Panel
from companion.store.store import Store

TALK, HELP, MUTE = 17, 27, 22
STATUS, MUTE_LED, MOOD = 12, 13, 16
RED, GREEN, BLUE = 5, 6, 26


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


@pytest.fixture
def clock():
    return ManualClock(datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc))


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


class Recorder:
    """Collects the panel's callbacks; `wait` blocks until one arrives (gpiozero fires from threads)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self._cond = threading.Condition()

    def __call__(self, name: str):
        def record(*args):
            with self._cond:
                self.calls.append((name, *args))
                self._cond.notify_all()
        return record

    def wait(self, count: int, timeout_s: float = 5.0) -> list[tuple]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.calls) >= count, timeout=timeout_s)
            return list(self.calls)


def make_panel(factory, store=None, clock=None, rec=None, **overrides) -> Panel:
    rec = rec or Recorder()
    settings = GpioSettings(**{"help_hold_s": 0.2, **overrides})
    return Panel.from_settings(settings, pin_factory=factory, store=store, clock=clock,
                               on_talk=rec("talk"), on_help=rec("help"),
                               on_help_cancel=rec("cancel"), on_mute=rec("mute"))


def press(factory, pin: int, hold_s: float = 0.02) -> None:
    factory.pin(pin).drive_low()  # buttons pull up; pressed = connected to GND
    time.sleep(hold_s)
    factory.pin(pin).drive_high()


def observed_levels(factory, pin: int, changes: int = 2, timeout_s: float = 5.0) -> set[float]:
    """Values a pin went through once the pattern's thread has made `changes` changes."""
    p = factory.pin(pin)
    p.clear_states()
    deadline = time.monotonic() + timeout_s
    while len(p.states) <= changes and time.monotonic() < deadline:
        time.sleep(0.02)
    return {s.state for s in p.states[1:]}


# ---------------------------------------------------------------- LEDs


def test_every_state_lights_its_pattern_on_pwm_leds(factory):
    with make_panel(factory) as panel:
        assert panel.enabled
        expectations = [
            (State.IDLE, {}, "idle"),
            (State.LISTENING, {}, "listening"),
            (State.THINKING, {}, "thinking"),
            (State.SPEAKING, {}, "speaking"),
            (State.IDLE, {"reminder_pending": True}, "reminder"),
            (State.SPEAKING, {"error": True}, "error"),
        ]
        for state, flags, name in expectations:
            panel.show(state, **flags)
            pattern = PATTERNS[name]
            assert panel.pattern == pattern
            if pattern.steady:
                assert factory.pin(STATUS).state == pattern.levels[0]
            else:
                seen = observed_levels(factory, STATUS)
                assert len(seen) >= 2, f"{name}: the status LED should be animated, saw {seen}"
                assert seen <= set(pattern.levels), f"{name}: unexpected levels {seen - set(pattern.levels)}"
            assert factory.pin(MUTE_LED).state == 0.0

        panel.show(State.MUTED)
        assert panel.pattern.name == "muted"
        assert factory.pin(STATUS).state == 0.0 and factory.pin(MUTE_LED).state == 1.0


def test_patterns_are_distinct_and_idle_is_dim():
    idle = PATTERNS["idle"]
    assert max(idle.levels) <= 0.3 and min(idle.levels) > 0.0  # dim, never fully dark: "I'm here"
    assert len({p.levels for p in PATTERNS.values() if p.name != "muted"}) == len(PATTERNS) - 1
    # a reminder blinks slowly, an error fast
    assert PATTERNS["reminder"].levels.count(1.0) > 3 * PATTERNS["error"].levels.count(1.0)


def test_rgb_led_shows_a_colour_per_state(factory):
    with make_panel(factory, led_kind="rgb") as panel:
        panel.show(State.LISTENING)
        assert (factory.pin(RED).state, factory.pin(GREEN).state, factory.pin(BLUE).state) == (0.0, 1.0, 0.0)
        panel.show(State.MUTED)
        assert (factory.pin(RED).state, factory.pin(GREEN).state, factory.pin(BLUE).state) == (1.0, 0.0, 0.0)
        panel.show(State.THINKING)
        seen = observed_levels(factory, RED)
        assert len(seen) >= 2 and factory.pin(BLUE).state == 0.0
        # the status LEDs of the pwm kind were never created
        assert "status" not in panel.led_names() and "rgb" in panel.led_names()


def test_mood_sensing_indicator(factory):
    with make_panel(factory) as panel:
        panel.show(State.IDLE, mood_sensing=True)
        assert factory.pin(MOOD).state > 0.0
        panel.show(State.LISTENING, mood_sensing=False)
        assert factory.pin(MOOD).state == 0.0


def test_close_turns_everything_off_and_is_idempotent(factory):
    panel = make_panel(factory)
    panel.show(State.LISTENING)
    panel.close()
    panel.close()
    assert factory.pin(STATUS).state == 0.0
    panel.show(State.THINKING)  # after close: ignored, no exception


# ---------------------------------------------------------------- buttons


def test_talk_press_emits_talk(factory):
    rec = Recorder()
    with make_panel(factory, rec=rec):
        press(factory, TALK)
        assert rec.wait(1) == [("talk",)]


def test_long_press_help_raises_help(factory, store, clock):
    rec = Recorder()
    with make_panel(factory, store=store, clock=clock, rec=rec) as panel:
        press(factory, HELP, hold_s=0.5)
        assert rec.wait(1) == [("help",)]
        assert panel.help_pending


def test_long_press_help_at_the_default_two_seconds(factory, store):
    rec = Recorder()
    with make_panel(factory, store=store, rec=rec, help_hold_s=GpioSettings().help_hold_s):
        factory.pin(HELP).drive_low()
        time.sleep(1.5)  # a busy machine can only make the held event later, never earlier
        assert rec.calls == []
        assert rec.wait(1, timeout_s=10.0) == [("help",)]
        factory.pin(HELP).drive_high()
        time.sleep(0.1)
        assert rec.calls == [("help",)]  # one request, not one per hold event


def test_short_press_help_does_nothing(factory, store):
    rec = Recorder()
    with make_panel(factory, store=store, rec=rec, help_hold_s=0.3):
        press(factory, HELP, hold_s=0.05)
        time.sleep(0.5)  # longer than the hold time: a held-event would have fired by now
        assert rec.calls == []


def test_press_within_window_cancels_help_and_does_not_raise_again(factory, store, clock):
    rec = Recorder()
    with make_panel(factory, store=store, clock=clock, rec=rec) as panel:
        press(factory, HELP, hold_s=0.4)
        rec.wait(1)
        assert panel.help_pending
        clock.advance(5)
        press(factory, HELP, hold_s=0.4)  # held past help_hold_s: still only a cancel
        assert rec.wait(2) == [("help",), ("cancel",)]
        time.sleep(0.1)
        assert len(rec.calls) == 2 and not panel.help_pending


def test_press_after_the_window_does_not_cancel(factory, store, clock):
    rec = Recorder()
    with make_panel(factory, store=store, clock=clock, rec=rec):
        press(factory, HELP, hold_s=0.4)
        rec.wait(1)
        clock.advance(10.5)
        press(factory, HELP, hold_s=0.02)
        time.sleep(0.3)
        assert rec.calls == [("help",)]


def test_mute_and_unmute(factory, store, clock):
    rec = Recorder()
    with make_panel(factory, store=store, clock=clock, rec=rec) as panel:
        press(factory, MUTE)
        assert rec.wait(1) == [("mute", True)]
        assert panel.muted and store.get("muted") is True
        assert factory.pin(MUTE_LED).state == 1.0 and panel.pattern.name == "muted"
        clock.advance(1)
        press(factory, MUTE)
        assert rec.wait(2)[-1] == ("mute", False)
        assert not panel.muted and store.get("muted") is False
        assert factory.pin(MUTE_LED).state == 0.0 and panel.pattern.name == "idle"


def test_mute_bounce_toggles_once(factory, clock):
    rec = Recorder()
    with make_panel(factory, clock=clock, rec=rec):
        press(factory, MUTE)
        press(factory, MUTE)  # the clock did not move: a bounce, not a second press
        time.sleep(0.1)
        assert rec.calls == [("mute", True)]


def test_mute_persists_across_restart(tmp_path, clock):
    f1 = MockFactory(pin_class=MockPWMPin)
    with Store.open(tmp_path / "data") as s1, make_panel(f1, store=s1, clock=clock) as p1:
        press(f1, MUTE)
        assert p1.muted
    f2 = MockFactory(pin_class=MockPWMPin)
    with Store.open(tmp_path / "data") as s2, make_panel(f2, store=s2, clock=clock) as p2:
        assert p2.muted
        assert f2.pin(MUTE_LED).state == 1.0 and p2.pattern.name == "muted"
        p2.set_muted(False)  # a voice command: persisted, LEDs follow, no callback
        assert f2.pin(MUTE_LED).state == 0.0
    with Store.open(tmp_path / "data") as s3:
        assert s3.get("muted") is False


def test_help_works_while_muted(factory, store, clock):
    rec = Recorder()
    with make_panel(factory, store=store, clock=clock, rec=rec) as panel:
        press(factory, MUTE)
        panel.show(State.MUTED)
        press(factory, HELP, hold_s=0.4)
        assert rec.wait(2) == [("mute", True), ("help",)]


def test_callback_errors_do_not_break_the_panel(factory, caplog):
    calls = []

    def boom():
        calls.append(1)
        raise RuntimeError("loop is gone")

    panel = Panel.from_settings(GpioSettings(), pin_factory=factory, on_talk=boom)
    with panel, caplog.at_level(logging.ERROR, logger="companion.panel"):
        press(factory, TALK)
        press(factory, TALK)
    assert len(calls) == 2 and "loop is gone" in caplog.text


# ---------------------------------------------------------------- no GPIO


def test_no_gpio_gives_a_disabled_panel_and_one_log_line(monkeypatch, caplog, store):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    with caplog.at_level(logging.INFO, logger="companion.panel"):
        panel = Panel.from_settings(GpioSettings(), store=store)
    assert not panel.enabled
    records = [r for r in caplog.records if r.name == "companion.panel"]
    assert len(records) == 1 and "GPIO panel disabled" in records[0].getMessage()
    panel.show(State.THINKING, error=True)  # no-ops
    panel.set_muted(True)
    assert panel.muted and store.get("muted") is True
    panel.close()


def test_bad_pin_config_disables_panel_with_reason(factory, caplog):
    with caplog.at_level(logging.WARNING, logger="companion.panel"):
        panel = Panel.from_settings(GpioSettings(led_kind="rgb", rgb_pins=[5, 6]), pin_factory=factory)
    assert not panel.enabled and "rgb_pins needs three pins" in caplog.text
    # the pins it had claimed were released: a correct panel can use them
    with make_panel(factory) as ok:
        assert ok.enabled


def test_gpio_config_section_parses_and_validates():
    s = parse_settings('[gpio]\ntalk_pin = 5\nled_kind = "rgb"\nrgb_pins = [17, 18, 19]\nhelp_hold_s = 3\n')
    assert s.gpio.talk_pin == 5 and s.gpio.rgb_pins == [17, 18, 19] and s.gpio.help_hold_s == 3.0
    with pytest.raises(Exception, match="one of 'pwm', 'rgb'"):
        parse_settings('[gpio]\nled_kind = "neon"\n')
