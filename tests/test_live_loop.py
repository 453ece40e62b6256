"""The running loop with its buttons (MockFactory pins) and an audio device that fails and comes back."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from companion.app import App, attach_panel
from companion.audio.devices import ResilientSource
from companion.audio.echo import EchoPath
from companion.audio.wav import WavFileSink, WavFileSource
from companion.errors import AudioDeviceError
from companion.loop.events import State
from companion.store.journal import HelpRow
from companion.voice.spoken import silence, utterance

TALK, HELP, MUTE = 17, 27, 22


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


def _wait(cond, timeout_s=10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _press(factory, pin: int, hold_s: float = 0.1) -> None:
    p = factory.pin(pin)
    p.drive_low()  # buttons pull up: pressed = low
    time.sleep(hold_s)
    p.drive_high()


def _start(settings, components, tmp_path, factory, seconds=30.0):
    echo = EchoPath()
    source = WavFileSource.from_array(silence(seconds), realtime=True, echo=echo, tail_s=0)
    sink = WavFileSink(tmp_path / "out", realtime=True, echo=echo)
    app = App(settings, source=source, speaker=sink, echo=echo, components=components, start_alerts=False)
    panel = attach_panel(app, pin_factory=factory)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    return app, panel, thread, sink


def _stop(app, panel, thread):
    app.engine.stop()
    thread.join(10)
    panel.close()
    app.close()


def test_buttons_drive_the_state_machine_and_help_is_recorded(tmp_path, settings, components, factory):
    settings = settings.replace(gpio={"help_hold_s": 0.3})
    app, panel, thread, sink = _start(settings, components, tmp_path, factory)
    try:
        states = []
        app.engine.conversation.add_listener(lambda p, c: states.append(c))
        _press(factory, TALK)
        assert _wait(lambda: app.engine.conversation.state is State.LISTENING)
        assert panel.pattern is not None and panel.pattern.name == "listening"
        # a short press on help does nothing
        _press(factory, HELP, 0.05)
        time.sleep(0.3)
        assert app.store.journal.all(HelpRow) == []
        # a long press raises a help request, which is spoken and recorded
        _press(factory, HELP, 0.5)
        assert _wait(lambda: len(app.store.journal.all(HelpRow)) == 1)
        assert _wait(lambda: any(t.intent and t.intent.startswith("safety") for t in app.engine.turns), 20)
        assert app.alerts.pending(), "the caregiver alert is queued"
        # mute: microphone off, LED shows it; unmute returns to idle
        assert _wait(lambda: app.engine.conversation.state in (State.IDLE, State.LISTENING), 20)
        _press(factory, MUTE)
        assert _wait(lambda: app.engine.conversation.state is State.MUTED)
        assert panel.pattern.name == "muted"
        _press(factory, MUTE)
        assert _wait(lambda: app.engine.conversation.state is State.IDLE)
    finally:
        _stop(app, panel, thread)


def test_mute_survives_a_restart(tmp_path, settings, components, factory):
    app, panel, thread, _ = _start(settings, components, tmp_path, factory, seconds=5)
    try:
        _press(factory, MUTE)
        assert _wait(lambda: app.engine.conversation.state is State.MUTED)
    finally:
        _stop(app, panel, thread)
    factory.reset()
    app, panel, thread, _ = _start(settings, components, tmp_path, factory, seconds=5)
    try:
        assert _wait(lambda: app.engine.conversation.state is State.MUTED)
        _press(factory, TALK)  # muted: the talk button does not open the microphone
        time.sleep(0.3)
        assert app.engine.conversation.state is State.MUTED
    finally:
        _stop(app, panel, thread)


class FlakyMicrophone:
    """A real WAV source that raises like an unplugged USB microphone after `fail_after` blocks."""

    def __init__(self, audio: np.ndarray, fail_after: int) -> None:
        self.inner = WavFileSource.from_array(audio, realtime=False, tail_s=0)
        self.fail_after = fail_after
        self.blocks = 0

    def read(self, timeout_s: float = 0.5):
        self.blocks += 1
        if self.blocks == self.fail_after:
            raise AudioDeviceError("microphone disappeared (test)")
        return self.inner.read(timeout_s)

    def close(self) -> None:
        pass


def test_the_loop_resumes_when_the_microphone_comes_back(tmp_path, settings, components, tts):
    audio = np.concatenate([silence(1.0), utterance(tts, ["What time is it?"]), silence(2.0)])
    opened: list[FlakyMicrophone] = []
    unplugged = {"left": 2}  # the first two reopen attempts find no device

    def open_mic():
        if opened and unplugged["left"] > 0:
            unplugged["left"] -= 1
            raise AudioDeviceError("no audio input device found (test)")
        mic = FlakyMicrophone(audio, fail_after=20 if not opened else 10_000)
        if opened:  # after replugging, continue where the stream was
            mic.inner._pos = opened[0].inner._pos
        opened.append(mic)
        return mic

    source = ResilientSource(open_mic, backoff_s=(0.05, 0.1))
    echo = EchoPath()
    sink = WavFileSink(tmp_path / "out", realtime=False, echo=echo)
    app = App(settings, source=source, speaker=sink, echo=echo, components=components, start_alerts=False)
    try:
        app.run()
    finally:
        app.close()
    assert source.reopened == 1 and len(opened) == 2
    assert [t.intent for t in app.engine.turns] == ["time"]  # the turn after the failure was heard and answered


def test_one_bad_turn_never_kills_the_loop(tmp_path, settings, components, tts):
    """A stage that blows up mid-reply: the loop apologises briefly and answers the next turn."""
    from companion.loop.engine import Engine
    from companion.loop.intents import InstantIntents
    from companion.voice.tts import VoiceStyle

    clips = [utterance(tts, ["Tell me about the sea."]), utterance(tts, ["What time is it?"])]
    calls = {"n": 0}

    def flaky_filter(sentence: str) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in a reply stage (test)")
        return sentence

    settings = settings.replace(vad={"speculate_after_ms": 60_000})  # no speculation: the failing reply is real
    echo = EchoPath()
    source = WavFileSource.from_arrays(clips, realtime=False, tail_s=2.0)
    sink = WavFileSink(tmp_path / "out", realtime=False)
    style = VoiceStyle(settings.tts)
    skills = []
    engine = Engine(settings, components, source=source, speaker=sink, echo=echo, style=style, skills=skills,
                    sentence_filter=flaky_filter)
    skills.append(InstantIntents(style, last_reply=lambda: engine.last_reply))
    source.ready = engine.awaiting_user
    engine.run()
    intents = [t.intent for t in engine.turns]
    assert engine.turns[0].error and "a bug in a reply stage" in engine.turns[0].error
    assert "error" in intents  # the apology was spoken
    assert intents[-1] == "time"  # and the next turn was answered as usual
    assert components.llm._lock.acquire(timeout=1.0), "the failed reply must not keep the LLM locked"
    components.llm._lock.release()
