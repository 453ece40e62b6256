"""`companion hardware-test` on MockFactory, with a thread pressing the buttons it asks for."""

from __future__ import annotations

import io
import threading
import time

from gpiozero.pins.mock import MockFactory, MockPWMPin

from companion.cli.hardware import run_hardware_test
from companion.config import GpioSettings

PINS = {"TALK": 17, "HELP": 27, "MUTE": 22}


class Assembler(io.StringIO):
    """Reads the prompts and keeps pressing the requested button, like a person would."""

    def __init__(self, factory, broken: set[str] = frozenset()) -> None:
        super().__init__()
        self.factory, self.broken = factory, broken
        self.target: int | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._press_loop, daemon=True)
        self.thread.start()

    def write(self, text: str) -> int:
        if "OK:" in text or "NOT SEEN" in text:
            self.target = None  # stop pressing before the panel closes its pins
        for label, pin in PINS.items():
            if f"Press the {label} button" in text:
                self.target = None if label in self.broken else pin
        return super().write(text)

    def _press_loop(self) -> None:
        while not self.done.is_set():
            pin = self.target
            if pin is not None:
                self.factory.pin(pin).drive_low()
                time.sleep(0.02)
                self.factory.pin(pin).drive_high()
            time.sleep(0.02)


def test_walks_through_leds_and_buttons():
    factory = MockFactory(pin_class=MockPWMPin)
    out = Assembler(factory)
    lit: set[int] = set()

    def sleep(_s: float) -> None:  # instead of waiting, note which LEDs are on right now
        lit.update(n for n in (12, 13, 16) if factory.pin(n).state == 1.0)

    try:
        rc = run_hardware_test(GpioSettings(), pin_factory=factory, out=out, led_s=0.0,
                               button_timeout_s=5.0, sleep=sleep)
    finally:
        out.done.set()
        out.thread.join(timeout=2)
    text = out.getvalue()
    assert rc == 0, text
    assert lit == {12, 13, 16}
    for label in PINS:
        assert f"OK: {label} works." in text
    assert "All LEDs shown and all buttons work." in text


def test_reports_a_button_that_never_answers():
    factory = MockFactory(pin_class=MockPWMPin)
    out = Assembler(factory, broken={"HELP"})
    try:
        rc = run_hardware_test(GpioSettings(led_kind="rgb"), pin_factory=factory, out=out, led_s=0.0,
                               button_timeout_s=0.3, sleep=lambda s: None)
    finally:
        out.done.set()
        out.thread.join(timeout=2)
    text = out.getvalue()
    assert rc == 1
    assert "NOT SEEN: HELP" in text and "GPIO27" in text and "OK: MUTE works." in text
    assert "the RGB LED should be red" in text


def test_without_gpio_says_what_to_do(monkeypatch):
    from gpiozero import Device

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    out = io.StringIO()
    assert run_hardware_test(GpioSettings(), out=out) == 1
    assert "No GPIO found" in out.getvalue()
