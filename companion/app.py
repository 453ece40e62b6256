"""Wiring: settings → engines, skills and the voice loop (no conversation logic here)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from companion.audio.devices import MicrophoneSource, ResilientSource, SoundDeviceSpeaker
from companion.audio.echo import DoubleTalk, EchoPath
from companion.audio.frames import AudioSource, Speaker
from companion.audio.wav import WavFileSink, WavFileSource
from companion.clock import Clock, SystemClock
from companion.config import Choice, Settings, accept, config_choices, data_dir
from companion.ears.stopword import StopPhraseSpotter
from companion.ears.stt import load_recognizer
from companion.ears.vad import load_vad
from companion.ears.wake import WakeWordDetector
from companion.errors import CompanionError, StoreError
from companion.loop.dialogue import Dialogue
from companion.loop.engine import AudioIO, Components, Engine
from companion.loop.events import State
from companion.loop.intents import InstantIntents
from companion.loop.skills import Skill
from companion.loop.turn import Turn, TurnEvent
from companion.store.journal import HelpRow, MoodRow, RoutineRow, Row, TurnRow
from companion.store.private import prepare_data_dir
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
    """The on-device store in the configured data directory; if it cannot be opened, one that keeps
    nothing on disk (she can still talk and call for help) and the reason, for doctor and the family."""
    try:
        return Store.open(data_dir(settings), generations=settings.memory.generations)
    except StoreError as exc:
        why = f"the store could not be opened, running without memory: {exc}"
        log.error("%s", why)
        return Store.in_memory(why)


def retention(settings: Settings) -> dict[type[Row], timedelta]:
    """How long each journal table keeps its rows."""
    m = settings.memory
    records = timedelta(days=m.records_retention_days)
    return {TurnRow: timedelta(days=m.retention_days), MoodRow: records, HelpRow: records, RoutineRow: records}


def report_store(store: Store, alerts: Any) -> None:
    """Tell the family (once per problem) when memories were damaged, could not be opened, or cannot be written."""
    untold = [r for r in store.recoveries() if not r.told]
    problems = [r.line() for r in untold] + [p for p in (store.health.unavailable, store.health.write_error) if p]
    if not problems:
        return
    try:
        alerts.report_failure("memory store", " | ".join(problems))
        if untold:
            store.mark_told()
    except (OSError, StoreError) as exc:
        log.error("could not tell the family about the store: %s", exc)


class App:
    """A running companion: store, skills, alerts and engine, started and closed together."""

    def __init__(self, settings: Settings, *, source: AudioSource, speaker: Speaker, echo: EchoPath,
                 components: Components | None = None, clock: Clock | None = None, store: Store | None = None,
                 on_turn: Callable[[Turn], None] | None = None, start_alerts: bool = True,
                 config_problem: str | None = None, on_event: Callable[[TurnEvent], None] | None = None) -> None:
        from companion.caregiver.wiring import Caregiving
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
        self.caregiving = Caregiving(settings, data_dir(settings), self.store, self.clock,
                                     listening=lambda: self.engine.conversation.state is not State.MUTED)
        self.alerts = self.caregiving.alerts
        if config_problem:  # running on the last good config: the family is told it needs attention
            self.alerts.report_failure("its configuration file", config_problem)
        self.safety = SafetySkill(settings, self.store, self.alerts, self.clock, understanding=self.understanding)
        self.honesty = HonestySkill.from_settings(settings, self.store, self.clock, self.alerts)
        self.memory = MemorySkill(self.store, settings.memory, self.clock, household=settings.household,
                                  copies=[Path(settings.caregiver.outbox_dir).expanduser()]
                                  if settings.caregiver.outbox_dir else [],
                                  family=self.alerts.recipient_names() if self.alerts.reaches_someone() else None)
        self.mood = MoodSensor.from_settings(settings.emotion, self.store, self.clock)  # a stage, not a skill
        self.mood.warm_up()
        self.mood_consent = MoodConsentSkill(self.mood.consent)
        self.routines = RoutineScheduler.from_settings(
            settings, self.store, self.clock, on_escalation=self.alerts.medication_escalation,
            device_last_seen=self.caregiving.presence.previous_end,
            tell=lambda summary, detail: self.alerts.raise_alert("routines_problem", summary, {"problem": detail},
                                                                 urgent=False))
        self.skills: list[Skill] = []
        dialogue = Dialogue(self.components.llm, self.skills, self.clock, settings.household, mood=self.mood,
                            sentence_filter=check_reply, on_turn=on_turn,
                            understanding=self.components.understanding, settings=settings)
        dialogue.people = PeopleDirectory(self.store, settings)  # who she talks about, and who is alive
        self.engine = Engine(settings, self.components, AudioIO(source, speaker), dialogue, self.style)
        if on_event is not None:
            self.engine.events.add_listener(on_event)
        intents = InstantIntents(self.style, last_reply=lambda: self.engine.last_reply)
        # Safety hears every turn first; her answer to a question goes to the skill that asked it
        # (the dialogue's answer slot), whatever the order here. Closing questions are offered in
        # this order, one at a time: mood consent before quoting consent.
        self.skills.extend([self.safety, self.honesty, self.mood_consent, self.caregiving.consent,
                            self.caregiving.inactivity, self.memory, self.routines, intents])
        report_store(self.store, self.alerts)
        if start_alerts:
            self.caregiving.start(extra_checks=(self.maintain,))

    def maintain(self, now: Any = None) -> None:
        """Every minute, outside turns: write waiting rows; daily, compact the memories and apply retention."""
        try:
            self.store.maintain(retention(self.settings), now)
        except StoreError as exc:  # a full card: rows wait in memory; it is reported below
            log.warning("store upkeep postponed: %s", exc)
        report_store(self.store, self.alerts)

    def mood_sensing(self) -> bool:
        """Is mood sensing on (for the LED)?"""
        return self.mood.active()

    def run(self) -> None:
        """Run the loop until the source ends or stop() is called."""
        self.engine.run()

    def close(self) -> None:
        """Stop the loop, alerts, devices and the store; safe to call twice."""
        self.engine.close()
        self.caregiving.close()
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

    def __call__(self, turn: Turn) -> None:
        row = turn.to_row()
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def run_files(settings: Settings, inputs: Sequence[str | Path], output_dir: str | Path, *, realtime: bool = True,
              components: Components | None = None, store: Store | None = None, clock: Clock | None = None,
              gap_s: float = 1.0, turn_taking: bool = True,
              config_problem: str | None = None,
              on_event: Callable[[TurnEvent], None] | None = None) -> tuple[list[Turn], list[Path]]:
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
              on_turn=writer, config_problem=config_problem, on_event=on_event)
    if turn_taking:
        source.ready = app.engine.awaiting_user
    try:
        app.run()
    finally:
        app.close()
    return app.engine.turns, sink.files


START_RETRY_S = 30.0  # the live service retries this often while her data folder cannot be used


def start_app(choices: Sequence[Choice], build: Callable[[Settings], "App"]) -> tuple["App", Choice, str | None]:
    """Start on the first config the companion can start with; only then is it the last good one.

    A config whose models or channels fail to load falls back to the next
    choice. A data-folder problem (StoreError) falls back only to a choice
    with another data folder (a new data_dir that cannot be used: the last
    good one still holds her data); when every choice shares the folder it is
    raised (the live service waits and retries; never an empty store by surprise).
    Returns the app, the choice it runs on, and the problem to report (None: all good).
    """
    failures: list[str] = []
    choices = list(choices)
    for i, choice in enumerate(choices):
        settings = choice.settings
        outbox = [settings.caregiver.outbox_dir] if settings.caregiver.outbox_dir else []
        try:
            prepare_data_dir(data_dir(settings), extra=outbox)
            app = build(settings)
        except StoreError as exc:
            later = [c for c in choices[i + 1:] if data_dir(c.settings) != data_dir(settings)]
            if not later:
                raise
            # a new data folder that cannot be used: her data is still where the last good config keeps it
            failures.append(f"The companion could not start with {choice.label}: {exc}")
            log.error("%s", failures[-1])
            choices[i + 1:] = later
            continue
        except CompanionError as exc:
            failures.append(f"The companion could not start with {choice.label}: {exc}")
            log.error("%s", failures[-1])
            continue
        accept(choice)
        log.info("started on %s", choice.label)
        problem = "\n".join(p for p in (*failures, choice.problem) if p) or None
        return app, choice, problem
    raise CompanionError("\n".join(failures) or "no configuration to start with")


def start_waiting(config: str | None, build: Callable[[Settings], "App"], *, notifier: Any,
                  stop: threading.Event, retry_s: float = START_RETRY_S) -> tuple["App | None", str | None]:
    """The live service's start: while her data folder cannot be used, say why and retry (no crash loop).

    The config is read again on every try, so a fixed file is picked up.
    Returns (None, None) if `stop` is set while waiting.
    """
    said = ""
    while not stop.is_set():
        try:
            app, _, problem = start_app(config_choices(config), build)
            return app, problem
        except OSError as exc:  # StoreError is one: her data folder cannot be used (yet)
            line = str(exc) if isinstance(exc, StoreError) else f"{exc.strerror or exc}: {exc.filename}"
            if line != said:  # once per distinct problem, not every retry
                log.error("cannot start: %s (retrying every %.0f s)", line, retry_s)
                said = line
            # systemd must not kill and restart us in a loop: report ready-but-waiting, keep the watchdog fed
            notifier.ready(f"Waiting: {line}")
            deadline = retry_s
            while deadline > 0 and not stop.is_set():
                notifier.kick()
                stop.wait(min(5.0, deadline))
                deadline -= 5.0
    return None, None


def run_live(config: str | None = None, *, stop: threading.Event | None = None,
             retry_s: float = START_RETRY_S) -> None:
    """Microphone in, speaker out, buttons and LEDs, until interrupted; devices are reopened if they fail.

    Starts on the last good config when the file is bad, and waits (retrying)
    while her data folder cannot be used.
    """
    from companion.watchdog import Notifier

    notifier = Notifier.from_env()
    echo = EchoPath(0.0)
    stop = stop or threading.Event()

    def build(settings: Settings) -> App:
        source = ResilientSource(lambda: MicrophoneSource(settings.audio.input_device))
        speaker = SoundDeviceSpeaker(settings.audio.output_device, echo)
        return App(settings, source=source, speaker=speaker, echo=echo)

    app, problem = start_waiting(config, build, notifier=notifier, stop=stop, retry_s=retry_s)
    if app is None:
        return
    for note in app.settings.notes:
        log.warning("config %s", note)
    if problem:
        log.error("config problem: %s", problem)
        app.alerts.report_failure("its configuration file", problem)  # the family hears; it runs on
    panel = attach_panel(app)
    app.engine.on_tick = notifier.kick
    notifier.ready("Listening")
    threading.Thread(target=lambda: (stop.wait(), app.engine.stop()), daemon=True).start()
    try:
        app.run()
    finally:
        notifier.stopping()
        panel.close()
        app.close()


def attach_panel(app: App, pin_factory: Any = None):
    """Buttons drive the same events as the voice; LEDs follow the state machine."""
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
                                on_mute=engine.set_muted)
    if panel.muted:
        engine.set_muted(True)  # restored across restarts

    def show(prev: State, cur: State) -> None:
        panel.show(cur, mood_sensing=app.mood_sensing(), reminder_pending=app.routines.pending_ack())

    engine.conversation.add_listener(show)
    return panel
