"""Wiring: settings → engines, skills and the voice loop (no conversation logic here)."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

from companion.audio.devices import MicrophoneSource, ResilientSource, SoundDeviceSpeaker
from companion.audio.echo import DoubleTalk, EchoPath
from companion.audio.frames import AudioSource, Speaker
from companion.audio.wav import WavFileSink, WavFileSource
from companion.clock import Clock, SystemClock
from companion.config import Settings, data_dir
from companion.ears.stopword import StopPhraseSpotter
from companion.ears.stt import load_recognizer
from companion.ears.vad import load_vad
from companion.ears.wake import WakeWordDetector
from companion.loop.dialogue import TurnLog
from companion.loop.engine import Components, Engine
from companion.loop.intents import InstantIntents
from companion.loop.skills import Skill
from companion.store.store import Store
from companion.understand.reading import Understanding
from companion.voice.llm import ReplyGenerator
from companion.voice.tts import PiperTTS, VoiceStyle, find_voice

log = logging.getLogger(__name__)


def load_components(settings: Settings, echo: EchoPath, *, warm_up: bool = True) -> Components:
    """Load every model the loop needs; errors name the missing model and the fix."""
    double_talk = DoubleTalk(echo, settings.wake.echo_ratio)
    wake = WakeWordDetector(settings.wake, double_talk)
    vad = load_vad(settings.vad)
    recognizer = load_recognizer(settings.stt)
    tts = PiperTTS.load(find_voice(settings.tts))
    stop = StopPhraseSpotter(double_talk)
    understanding = Understanding.load()
    llm = ReplyGenerator.load(settings.llm, settings.conversation.assistant_name)
    if warm_up:
        seconds = llm.warm_up()
        log.info("persona prefix evaluated in %.2f s (cached for every turn)", seconds)
    return Components(wake=wake, vad=vad, recognizer=recognizer, llm=llm, tts=tts, double_talk=double_talk,
                      stop=stop, understanding=understanding)


def open_store(settings: Settings) -> Store:
    """The on-device store in the configured data directory."""
    return Store.open(data_dir(settings))


class App:
    """A running companion: store, skills, alerts and engine, started and closed together."""

    def __init__(self, settings: Settings, *, source: AudioSource, speaker: Speaker, echo: EchoPath,
                 components: Components | None = None, clock: Clock | None = None, store: Store | None = None,
                 on_turn: Callable[[TurnLog], None] | None = None, start_alerts: bool = True) -> None:
        from companion.caregiver.alerts import AlertService
        from companion.caregiver.inactivity import InactivityWatch
        from companion.emotion.consent import MoodConsentSkill
        from companion.emotion.sensor import MoodSensor
        from companion.memory.directory import PeopleDirectory
        from companion.memory.skill import MemorySkill
        from companion.routines.scheduler import RoutineScheduler
        from companion.safety.honesty import HonestySkill, check_reply
        from companion.safety.skill import SafetySkill

        self.settings = settings
        self.clock = clock or SystemClock()
        self._own_store = store is None
        self.store = store if store is not None else open_store(settings)
        self.components = components or load_components(settings, echo)
        self.components.double_talk.echo = echo  # detectors compare against this run's speaker
        if self.components.understanding is None:
            self.components.understanding = Understanding.load()
        self.understanding = self.components.understanding
        self.style = VoiceStyle(settings.tts, self.store)
        self.alerts = AlertService.from_settings(settings, data_dir(settings), self.clock)
        self.safety = SafetySkill(settings, self.store, self.alerts, self.clock)
        self.honesty = HonestySkill.from_settings(settings, self.store, self.clock, self.alerts)
        self.memory = MemorySkill(self.store, settings.memory, self.clock, household=settings.household)
        self.mood = MoodSensor.from_settings(settings.emotion, self.store, self.clock)  # a stage, not a skill
        self.mood.warm_up()
        self.mood_consent = MoodConsentSkill(self.mood.consent)
        self.routines = RoutineScheduler.from_settings(settings, self.store, self.clock,
                                                       on_escalation=self.alerts.medication_escalation)
        self.skills: list[Skill] = []
        self.engine = Engine(settings, self.components, source=source, speaker=speaker, echo=echo, style=self.style,
                             skills=self.skills, clock=self.clock, on_turn=on_turn,
                             sentence_filter=check_reply, mood=self.mood)
        self.engine.dialogue.people = PeopleDirectory(self.store, settings)  # who she talks about, and who is alive
        intents = InstantIntents(self.style, last_reply=lambda: self.engine.last_reply)
        # Safety hears every turn first; her answer to a question goes to the skill that asked it
        # (the dialogue's answer slot), whatever the order here.
        self.skills.extend([self.safety, self.honesty, self.mood_consent, self.memory, self.routines, intents])
        if start_alerts:
            self.alerts.start(checks=[InactivityWatch(settings, self.store, self.alerts, self.clock).check])

    def mood_sensing(self) -> bool:
        """Is mood sensing on (for the LED)?"""
        return self.mood.active()

    def run(self) -> None:
        """Run the loop until the source ends or stop() is called."""
        self.engine.run()

    def close(self) -> None:
        """Stop the loop, alerts, devices and the store; safe to call twice."""
        self.engine.close()
        self.alerts.close()
        if self._own_store:
            self.store.close()


# ---------------------------------------------------------------- file runs


class TurnsWriter:
    """Appends one JSON object per turn to DIR/turns.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self._lock = threading.Lock()

    def __call__(self, tl: TurnLog) -> None:
        row = {k: v for k, v in asdict(tl).items() if k != "timings_extra"}
        row.update({k: round(v, 1) for k, v in tl.timings_extra.items() if k != "speech_end_wall"})
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def run_files(settings: Settings, inputs: Sequence[str | Path], output_dir: str | Path, *, realtime: bool = True,
              components: Components | None = None, store: Store | None = None, clock: Clock | None = None,
              gap_s: float = 1.0, turn_taking: bool = True) -> tuple[list[TurnLog], list[Path]]:
    """Feed WAV files through the whole loop; write reply-NNN.wav and turns.jsonl to output_dir.

    With `turn_taking` each file starts only once the companion has finished
    answering the previous one, as a person waits for a reply.
    """
    out = Path(output_dir)
    echo = EchoPath(settings.audio.echo_coupling)
    source = WavFileSource(inputs, realtime=realtime, echo=echo, gap_s=gap_s)
    sink = WavFileSink(out, realtime=realtime, echo=echo)
    writer = TurnsWriter(out / "turns.jsonl")
    app = App(settings, source=source, speaker=sink, echo=echo, components=components, store=store, clock=clock,
              on_turn=writer)
    if turn_taking:
        source.ready = app.engine.awaiting_user
    try:
        app.run()
    finally:
        app.close()
    return app.engine.turns, sink.files


def run_live(settings: Settings, *, stop: threading.Event | None = None) -> None:
    """Microphone in, speaker out, buttons and LEDs, until interrupted; devices are reopened if they fail."""
    from companion.watchdog import Notifier

    notifier = Notifier.from_env()
    echo = EchoPath(0.0)
    source = ResilientSource(lambda: MicrophoneSource(settings.audio.input_device))
    speaker = SoundDeviceSpeaker(settings.audio.output_device, echo)
    app = App(settings, source=source, speaker=speaker, echo=echo)
    panel = attach_panel(app)
    app.engine.on_tick = notifier.kick
    notifier.ready("Listening")
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), app.engine.stop()), daemon=True).start()
    try:
        app.run()
    finally:
        notifier.stopping()
        panel.close()
        app.close()


def attach_panel(app: App, pin_factory: Any = None):
    """Buttons drive the same events as the voice; LEDs follow the state machine."""
    from companion.loop.events import State
    from companion.panel import Panel

    engine = app.engine

    def talk() -> None:
        if app.routines.pending_ack():
            reply = app.routines.acknowledge_button()
            if reply is not None:
                engine.announce(reply, asked_by=app.routines.name)
                return
        engine.talk()

    def help_requested() -> None:
        engine.urgent(app.safety.help_button(), asked_by=app.safety.name)

    def help_cancelled() -> None:
        reply = app.safety.cancel_help()
        if reply is not None:
            engine.urgent(reply)

    panel = Panel.from_settings(app.settings.gpio, pin_factory=pin_factory, store=app.store, clock=app.clock,
                                on_talk=talk, on_help=help_requested, on_help_cancel=help_cancelled,
                                on_mute=engine.set_muted, record_help=False)
    if panel.muted:
        engine.set_muted(True)  # restored across restarts

    def show(prev: State, cur: State) -> None:
        panel.show(cur, mood_sensing=app.mood_sensing(), reminder_pending=app.routines.pending_ack())

    engine.conversation.add_listener(show)
    return panel
