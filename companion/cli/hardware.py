"""`companion hardware-test`: walk the person assembling the box through every LED and button."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, TextIO

from companion.config import GpioSettings
from companion.loop.events import State
from companion.panel import Panel

# What each light should look like, in the words of someone holding a screwdriver.
_LED_HINTS = {
    "status": "the main status LED should be fully on",
    "mute_led": "the red 'microphone off' LED should be on",
    "mood": "the small 'mood sensing' LED should be on",
}
_RGB_STEPS = [("red", (1.0, 0.0, 0.0)), ("green", (0.0, 1.0, 0.0)), ("blue", (0.0, 0.0, 1.0))]
_PATTERN_TOUR = [State.IDLE, State.LISTENING, State.THINKING, State.SPEAKING, State.MUTED]
_BUTTONS = [("talk", "TALK"), ("help", "HELP"), ("mute", "MUTE")]


def add_commands(subparsers: Any) -> None:
    """Register `companion hardware-test`."""
    p = subparsers.add_parser("hardware-test", help="check every LED and button of the GPIO panel")
    p.add_argument("--led-s", type=float, default=2.0, help="seconds each LED / pattern is shown")
    p.add_argument("--timeout-s", type=float, default=20.0, help="seconds to wait for each button press")
    p.set_defaults(func=_cmd_hardware_test)


def _cmd_hardware_test(args: argparse.Namespace, settings: Any) -> int:
    return run_hardware_test(settings.gpio, led_s=args.led_s, button_timeout_s=args.timeout_s)


def run_hardware_test(settings: GpioSettings, *, pin_factory: Any = None, out: TextIO | None = None,
                      led_s: float = 2.0, button_timeout_s: float = 20.0,
                      sleep: Callable[[float], None] = time.sleep) -> int:
    """Light each LED, play each pattern, ask for each button; 0 when every button answered."""
    out = out or sys.stdout

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    if not settings.enabled:
        say("The GPIO panel is switched off in the config ([gpio] enabled = false). Nothing to test.")
        return 1
    panel = Panel.from_settings(settings, pin_factory=pin_factory)
    if not panel.enabled:
        say("No GPIO found (see the warning above). Run this on the Raspberry Pi, with the 'pi' extra "
            "installed (./setup.sh --pi), as a user in the 'gpio' group.")
        return 1
    with panel:
        say("Companion hardware test. Watch the lights, then press each button when asked.\n")
        say("1. LEDs, one at a time")
        for name in panel.led_names():
            if name == "rgb":
                for colour, value in _RGB_STEPS:
                    say(f"   - the RGB LED should be {colour}")
                    panel.light("rgb", value)
                    sleep(led_s)
                panel.light("rgb", (0.0, 0.0, 0.0))
                continue
            say(f"   - {_LED_HINTS.get(name, name)}")
            panel.light(name, 1.0)
            sleep(led_s)
            panel.light(name, 0.0)
        say("\n2. Patterns on the status light")
        for state in _PATTERN_TOUR:
            say(f"   - {state.value}: {_describe(state, settings.led_kind)}")
            panel.show(state)
            sleep(led_s)
        for label, kwargs in (("reminder waiting: slow blink", {"reminder_pending": True}),
                              ("error: fast blink", {"error": True})):
            say(f"   - {label}")
            panel.show(State.IDLE, **kwargs)
            sleep(led_s)
        panel.show(State.IDLE)

        say("\n3. Buttons")
        missing = []
        for name, label in _BUTTONS:
            say(f"   Press the {label} button now (waiting {button_timeout_s:g} s)...")
            if panel.wait_for_button(name, button_timeout_s):
                say(f"   OK: {label} works.")
            else:
                missing.append(label)
                say(f"   NOT SEEN: {label}. Check its wires: one leg to {panel.button_pin(name)}, "
                    "the other to a GND pin (see hardware/README.md).")
        if missing:
            say(f"\nSome buttons did not answer: {', '.join(missing)}.")
            return 1
        say("\nAll LEDs shown and all buttons work.")
        return 0


def _describe(state: State, led_kind: str) -> str:
    muted = "steady red" if led_kind == "rgb" else "status light off, red LED on"
    return {
        State.IDLE: "dim, slow breathing",
        State.LISTENING: "steady on",
        State.THINKING: "quick pulse",
        State.SPEAKING: "double flash, like a heartbeat",
        State.MUTED: muted,
    }[state]
