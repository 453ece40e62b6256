"""The button-and-LED panel on the Pi's GPIO header (the only module that imports gpiozero).

Three buttons (talk, help, mute) and either separate PWM LEDs or one RGB LED.
The panel never decides what a press means for the conversation: it emits
plain callbacks and the voice loop decides (barge-in, acknowledge, wake).
LED patterns are value sequences played by gpiozero's background `source`
thread, so showing a state never blocks the caller.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from companion.clock import Clock, SystemClock
from companion.config import GpioSettings
from companion.loop.events import State
from companion.store.store import Store

log = logging.getLogger(__name__)

MUTED_KEY = "muted"  # Store key holding the persisted mute state

Color = tuple[float, float, float]


# ---------------------------------------------------------------- patterns


@dataclass(frozen=True)
class Pattern:
    """One LED behaviour: a repeating brightness sequence and its colour (RGB kind)."""

    name: str
    levels: tuple[float, ...] = field(repr=False)  # brightness 0..1, played in a loop
    step_s: float = 0.05  # time per level
    color: Color = (1.0, 1.0, 1.0)

    @property
    def steady(self) -> bool:
        """True when the pattern is a single constant level."""
        return len(self.levels) == 1


def _wave(low: float, high: float, period_s: float, step_s: float) -> tuple[float, ...]:
    """A smooth (raised-cosine) swell from `low` to `high` and back."""
    n = max(2, round(period_s / step_s))
    return tuple(round(low + (high - low) * (1 - math.cos(2 * math.pi * i / n)) / 2, 3) for i in range(n))


def _blink(on_s: float, off_s: float, step_s: float, level: float = 1.0) -> tuple[float, ...]:
    """Hard on/off blinking."""
    return (level,) * max(1, round(on_s / step_s)) + (0.0,) * max(1, round(off_s / step_s))


STEP_S = 0.05  # 20 updates a second: smooth to the eye, negligible CPU on the Pi

PATTERNS: dict[str, Pattern] = {
    # dim, slow breathing: "I'm here, not listening"
    "idle": Pattern("idle", _wave(0.02, 0.25, 4.0, STEP_S), STEP_S, (0.0, 0.2, 1.0)),
    # steady full light: "I'm listening to you now"
    "listening": Pattern("listening", (1.0,), STEP_S, (0.0, 1.0, 0.0)),
    # quick pulse: "thinking"
    "thinking": Pattern("thinking", _wave(0.15, 1.0, 1.0, STEP_S), STEP_S, (1.0, 0.6, 0.0)),
    # heartbeat-like double flash, distinct from thinking's smooth pulse
    "speaking": Pattern(
        "speaking", (1.0, 1.0, 0.4, 0.4, 1.0, 1.0, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4), STEP_S, (0.0, 1.0, 1.0)
    ),
    # microphone off: status LED dark (pwm; the red mute LED is lit) or steady red (rgb)
    "muted": Pattern("muted", (1.0,), STEP_S, (1.0, 0.0, 0.0)),
    # a reminder waits for her acknowledgement: slow blink
    "reminder": Pattern("reminder", _blink(1.0, 1.0, STEP_S), STEP_S, (1.0, 0.8, 0.0)),
    # something is wrong (no microphone, model failed): fast blink
    "error": Pattern("error", _blink(0.15, 0.15, STEP_S), STEP_S, (1.0, 0.0, 1.0)),
}

_STATE_PATTERNS = {
    State.IDLE: "idle",
    State.LISTENING: "listening",
    State.THINKING: "thinking",
    State.SPEAKING: "speaking",
    State.MUTED: "muted",
}


def choose_pattern(state: State, *, muted: bool, reminder_pending: bool, error: bool) -> Pattern:
    """Which pattern the status light shows: error > muted > reminder (when idle) > state."""
    if error:
        return PATTERNS["error"]
    if muted or state is State.MUTED:
        return PATTERNS["muted"]
    if reminder_pending and state is State.IDLE:
        return PATTERNS["reminder"]
    return PATTERNS[_STATE_PATTERNS[state]]






# ---------------------------------------------------------------- the panel


Callback = Callable[..., Any]


class Panel:
    """Buttons and LEDs; a disabled panel (no GPIO) keeps the same API and does nothing visible.

    Callbacks run on gpiozero's threads: keep them short (put an event on a queue).
    """

    def __init__(self, settings: GpioSettings, *, devices: dict[str, Any] | None = None,
                 store: Store | None = None, clock: Clock | None = None,
                 on_talk: Callback | None = None, on_help: Callback | None = None,
                 on_help_cancel: Callback | None = None,
                 on_mute: Callable[[bool], Any] | None = None) -> None:
        self.settings = settings
        self.store = store  # only for the persisted mute state; help requests are recorded by the safety skill
        self.clock: Clock = clock or SystemClock()
        self.on_talk = on_talk
        self.on_help = on_help
        self.on_help_cancel = on_help_cancel
        self.on_mute = on_mute
        self._devices = devices or {}
        self._lock = threading.RLock()
        self._muted = bool(store.get(MUTED_KEY, False)) if store is not None else False
        self._last_mute_press = -math.inf
        self._help_at: float | None = None  # monotonic time of the open help request
        self._press_was_cancel = False
        self._pattern: Pattern | None = None
        self._mood_sensing = False
        self._shown: tuple[State, bool, bool] = (State.IDLE, False, False)  # state, reminder, error
        self._closed = False
        if self.enabled:
            self._wire_buttons()
            self.show(State.IDLE)  # shows the muted pattern instead when mute was restored

    # ------------------------------------------------------------ construction

    @classmethod
    def from_settings(cls, settings: GpioSettings, pin_factory: Any = None, **kwargs: Any) -> "Panel":
        """Build the panel on the Pi's pins; on a machine without GPIO, a disabled panel and one log line."""
        if not settings.enabled:
            log.info("GPIO panel off ([gpio] enabled = false)")
            return cls(settings, **kwargs)
        try:
            devices = _make_devices(settings, pin_factory)
        except Exception as exc:  # noqa: BLE001 - any GPIO failure must leave the rest of the app running
            log.warning("GPIO panel disabled: %s (%s). Buttons and LEDs are off; the wake word still works. "
                        "On a Pi: install the pi extra (lgpio) and check the [gpio] pins.",
                        type(exc).__name__, exc)
            return cls(settings, **kwargs)
        return cls(settings, devices=devices, **kwargs)

    def _wire_buttons(self) -> None:
        talk, help_, mute = self._devices["talk"], self._devices["help"], self._devices["mute"]
        talk.when_pressed = self._talk_pressed
        help_.when_pressed = self._help_pressed
        help_.when_held = self._help_held
        mute.when_pressed = self._mute_pressed

    # ------------------------------------------------------------ state

    @property
    def enabled(self) -> bool:
        """True when real (or mock) GPIO devices are attached."""
        return bool(self._devices)

    @property
    def muted(self) -> bool:
        """The microphone-off state (persisted; restored at start)."""
        return self._muted

    @property
    def pattern(self) -> Pattern | None:
        """The pattern the status light is showing (None when disabled)."""
        return self._pattern

    @property
    def help_pending(self) -> bool:
        """A help request is open and can still be cancelled with a press."""
        return self._help_at is not None and self.clock.monotonic() - self._help_at <= self.settings.help_cancel_s

    def set_muted(self, muted: bool) -> None:
        """Change mute from elsewhere (a voice command): persist and update the LEDs, no callback."""
        with self._lock:
            self._muted = bool(muted)
            if self.store is not None:
                self.store.put(MUTED_KEY, self._muted)
            self._refresh()

    # ------------------------------------------------------------ LEDs

    def show(self, state: State, *, mood_sensing: bool = False, reminder_pending: bool = False,
             error: bool = False) -> None:
        """Light the pattern for this conversation state (returns at once)."""
        if not self.enabled or self._closed:
            return
        with self._lock:
            if mood_sensing != self._mood_sensing or self._pattern is None:
                self._mood_sensing = mood_sensing
                self._set_mood(mood_sensing)
            self._shown = (state, reminder_pending, error)
            self._refresh()

    def _refresh(self) -> None:
        """Re-choose the pattern from the last shown state and the current mute flag."""
        if not self.enabled or self._closed:
            return
        state, reminder_pending, error = self._shown
        pattern = choose_pattern(state, muted=self._muted, reminder_pending=reminder_pending, error=error)
        if pattern != self._pattern:
            self._apply(pattern)

    def _apply(self, pattern: Pattern) -> None:
        self._pattern = pattern
        scale = self.settings.brightness
        if self.settings.led_kind == "rgb":
            frames = [tuple(c * lv * scale for c in pattern.color) for lv in pattern.levels]
            _play(self._devices["rgb"], frames, pattern.step_s)
            return
        status, mute_led = self._devices["status"], self._devices["mute_led"]
        mute_on = self._muted or pattern.name == "muted"
        _play(mute_led, [scale if mute_on else 0.0], pattern.step_s)
        if pattern.name == "muted":
            _play(status, [0.0], pattern.step_s)  # the red LED says it; the status light goes dark
        else:
            _play(status, [lv * scale for lv in pattern.levels], pattern.step_s)

    def _set_mood(self, on: bool) -> None:
        mood = self._devices.get("mood")
        if mood is not None:
            _play(mood, [0.3 * self.settings.brightness if on else 0.0], STEP_S)

    # ------------------------------------------------------------ direct access for hardware-test

    def led_names(self) -> list[str]:
        """The lights this panel drives, in a sensible order for a walk-through."""
        order = ["status", "mute_led", "mood"] if self.settings.led_kind == "pwm" else ["rgb", "mood"]
        return [n for n in order if n in self._devices]

    def light(self, name: str, value: float | Color) -> None:
        """Set one light directly (stops any pattern on it)."""
        _play(self._devices[name], [value], STEP_S)
        self._pattern = None

    def wait_for_button(self, name: str, timeout_s: float) -> bool:
        """Block until button `name` (talk/help/mute) is pressed; False on timeout."""
        return bool(self._devices[name].wait_for_press(timeout=timeout_s))

    def button_pin(self, name: str) -> str:
        """The pin a button is wired to, for messages ("GPIO17")."""
        return str(self._devices[name].pin)

    # ------------------------------------------------------------ buttons

    def _talk_pressed(self) -> None:
        log.debug("talk button pressed")
        _call(self.on_talk)

    def _help_pressed(self) -> None:
        # A press inside the cancel window cancels; it must not also start a new request on hold.
        with self._lock:
            self._press_was_cancel = False
            if not self.help_pending:
                return
            self._press_was_cancel = True
            self._help_at = None
        log.info("help request cancelled by button")
        _call(self.on_help_cancel)  # the safety skill marks its help row as a false alarm

    def _help_held(self) -> None:
        with self._lock:
            if self._press_was_cancel or self.help_pending:
                return
            self._help_at = self.clock.monotonic()
        log.warning("help requested by button")
        _call(self.on_help)  # the safety skill records it and alerts the family

    def _mute_pressed(self) -> None:
        with self._lock:
            now = self.clock.monotonic()
            if now - self._last_mute_press < self.settings.bounce_s:
                return  # contact bounce the pin driver let through: one press, one toggle
            self._last_mute_press = now
            self._muted = not self._muted
            if self.store is not None:
                self.store.put(MUTED_KEY, self._muted)
            self._refresh()
            muted = self._muted
        log.info("mute button: microphone %s", "off" if muted else "on")
        _call(self.on_mute, muted)

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Turn the LEDs off and release the pins; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for dev in self._devices.values():
                try:
                    if hasattr(dev, "source"):
                        dev.source = None
                    if hasattr(dev, "off"):
                        dev.off()
                    dev.close()
                except Exception:  # noqa: BLE001 - closing must never raise
                    log.debug("closing %r failed", dev, exc_info=True)

    def __enter__(self) -> "Panel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- helpers


def _play(led: Any, frames: list[Any], step_s: float) -> None:
    """Show a constant value, or loop `frames` on gpiozero's background source thread."""
    led.source = None
    if len(frames) == 1:
        led.value = frames[0]
        return
    led.source_delay = step_s
    led.source = itertools.cycle(frames)


def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    """Run a user callback; an exception there is logged, never kills the GPIO thread."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:  # noqa: BLE001
        log.exception("GPIO callback %r failed", callback)


def _pwm_capable(pin_factory: Any) -> Any:
    """With GPIOZERO_PIN_FACTORY=mock, use PWM-capable mock pins so the LEDs can dim like on the Pi."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    factory = pin_factory
    if factory is None:
        Device.ensure_pin_factory()  # raises BadPinFactory on a machine without GPIO
        factory = Device.pin_factory
    if isinstance(factory, MockFactory) and not issubclass(factory.pin_class, MockPWMPin):
        factory.pin_class = MockPWMPin
    return factory


def _make_devices(settings: GpioSettings, pin_factory: Any) -> dict[str, Any]:
    """Create the gpiozero devices; raises if the pins or the pin factory are unusable."""
    with warnings.catch_warnings():
        # gpiozero warns once per pin library it cannot load; the caller logs one line instead
        warnings.simplefilter("ignore")
        from gpiozero import PWMLED, RGBLED, Button

        pin_factory = _pwm_capable(pin_factory)
        devices: dict[str, Any] = {}
        try:
            common = {"pin_factory": pin_factory}
            bounce = settings.bounce_s or None
            devices["talk"] = Button(settings.talk_pin, bounce_time=bounce, **common)
            devices["help"] = Button(settings.help_pin, bounce_time=bounce, hold_time=settings.help_hold_s,
                                     **common)
            devices["mute"] = Button(settings.mute_pin, bounce_time=bounce, **common)
            if settings.led_kind == "rgb":
                if len(settings.rgb_pins) != 3:
                    raise ValueError(f"[gpio] rgb_pins needs three pins (red, green, blue), got {settings.rgb_pins}")
                r, g, b = settings.rgb_pins
                devices["rgb"] = RGBLED(r, g, b, active_high=not settings.rgb_common_anode, **common)
            else:
                devices["status"] = PWMLED(settings.status_led_pin, **common)
                devices["mute_led"] = PWMLED(settings.mute_led_pin, **common)
            if settings.mood_led_pin is not None:
                devices["mood"] = PWMLED(settings.mood_led_pin, **common)
        except BaseException:
            for dev in devices.values():
                dev.close()
            raise
        return devices
