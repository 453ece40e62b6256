"""The help button through the app: the panel reports the press, the safety skill writes the one help row.

These are the help-row checks that used to sit in the panel's tests, now where the row is written.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from companion.app import App, attach_panel
from companion.audio.echo import EchoPath
from companion.audio.wav import WavFileSink, WavFileSource
from companion.config import GpioSettings
from companion.store.journal import HelpRow

HELP = 27


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


def _press(factory, pin: int, hold_s: float) -> None:
    factory.pin(pin).drive_low()  # buttons pull up: pressed = low
    time.sleep(hold_s)
    factory.pin(pin).drive_high()


def _wait(cond, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def app_with_panel(tmp_path, settings, components, clock, factory):
    """A real App (not running its loop) with the panel on MockFactory pins."""
    made = []

    def make(**gpio):
        s = settings.replace(gpio={"help_hold_s": 0.2, **gpio})
        echo = EchoPath()
        app = App(s, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False), echo=echo,
                  speaker=WavFileSink(tmp_path / "out", realtime=False, echo=echo), components=components,
                  clock=clock, start_alerts=False)
        panel = attach_panel(app, pin_factory=factory)
        made.append((app, panel))
        return app, panel

    yield make
    for app, panel in made:
        panel.close()
        app.close()


def test_long_press_records_one_button_request_and_alerts(app_with_panel, factory, clock):
    app, panel = app_with_panel()
    _press(factory, HELP, 0.5)
    assert _wait(lambda: len(app.store.journal.all(HelpRow)) == 1)
    (row,) = app.store.journal.all(HelpRow)
    assert row.source == "button" and row.category == "help" and row.cancelled is False
    assert row.at == clock.now()
    assert any(e["alert"]["kind"] == "safety:help" for e in app.alerts.pending())


def test_default_two_second_hold_records_once(app_with_panel, factory):
    app, panel = app_with_panel(help_hold_s=GpioSettings().help_hold_s)
    assert GpioSettings().help_hold_s == 2.0
    factory.pin(HELP).drive_low()
    time.sleep(1.5)  # a busy machine can only make the held event later, never earlier
    assert app.store.journal.all(HelpRow) == []
    assert _wait(lambda: len(app.store.journal.all(HelpRow)) == 1, timeout_s=10.0)
    factory.pin(HELP).drive_high()
    time.sleep(0.2)
    assert len(app.store.journal.all(HelpRow)) == 1


def test_short_press_records_nothing(app_with_panel, factory):
    app, panel = app_with_panel(help_hold_s=0.3)
    _press(factory, HELP, 0.05)
    time.sleep(0.5)  # longer than the hold time: a held-event would have fired by now
    assert app.store.journal.all(HelpRow) == []


def test_press_within_the_window_marks_it_a_false_alarm(app_with_panel, factory, clock):
    app, panel = app_with_panel()
    _press(factory, HELP, 0.4)
    assert _wait(lambda: panel.help_pending and len(app.store.journal.all(HelpRow)) == 1)
    clock.advance(5)
    _press(factory, HELP, 0.4)  # held past help_hold_s: still only a cancel
    assert _wait(lambda: app.store.journal.all(HelpRow)[0].cancelled)
    time.sleep(0.2)
    (row,) = app.store.journal.all(HelpRow)  # no second request
    assert row.cancelled and row.cancelled_at == clock.now()


def test_press_after_the_window_does_not_cancel(app_with_panel, factory, clock):
    app, panel = app_with_panel()
    _press(factory, HELP, 0.4)
    assert _wait(lambda: len(app.store.journal.all(HelpRow)) == 1)
    clock.advance(10.5)
    _press(factory, HELP, 0.02)
    time.sleep(0.3)
    assert [r.cancelled for r in app.store.journal.all(HelpRow)] == [False]
