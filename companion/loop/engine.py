"""The voice loop: ears (wake word, VAD + level gate, recogniser, endpointer) → skills or LLM → speech.

The engine decides *when*: it reads the microphone, drives the one state
machine, hears her through a `Listening`, ends her turn, keeps the moments
after an endpoint open for her to go on (`ResumeWindow`), and starts, holds
and stops replies (`replying.Replying`). What is said comes from the
`Dialogue`. Everything that happens to a turn is emitted as a typed event.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from companion.audio.echo import DoubleTalk
from companion.audio.frames import BLOCK_S, AudioSource, Speaker
from companion.config import Settings
from companion.ears.endpoint import Endpointer, EndpointEvent
from companion.ears.level import VoiceGate
from companion.ears.stopword import StopPhraseSpotter
from companion.ears.stt import Hypothesis, SpeechRecognizer
from companion.ears.wake import WakeWordDetector
from companion.language import normalize, sentences
from companion.loop.conversation import Conversation, Trigger
from companion.loop.dialogue import Dialogue
from companion.loop.events import Source, State
from companion.loop.listening import Listening, ResumeWindow, Speculation
from companion.loop.replying import Replying
from companion.loop.skills import Reply
from companion.loop.turn import SpeechEnded, Transcribed, Turn, TurnEvents, Woke
from companion.understand.reading import Understanding
from companion.voice.llm import ReplyGenerator
from companion.voice.replies import ReplyJob
from companion.voice.tts import PiperTTS, VoiceStyle

log = logging.getLogger(__name__)

POLL_EVERY_S = 1.0  # how often proactive skills (routines) are asked for announcements


@dataclass
class Components:
    """The engines the loop runs on (each behind its own small interface)."""

    wake: WakeWordDetector
    vad: Callable[[np.ndarray], float]
    recognizer: SpeechRecognizer
    llm: ReplyGenerator
    tts: PiperTTS
    double_talk: DoubleTalk  # her voice or our echo? one check, shared by the wake word and the stop spotter
    stop: StopPhraseSpotter | None = None  # "stop" / "be quiet" while speaking, without the wake word
    understanding: Understanding | None = None  # sentence encoder shared by safety, strategy, intents, recall


@dataclass
class AudioIO:
    """Where her voice comes from and where replies go."""

    source: AudioSource
    speaker: Speaker


class Engine(Replying):
    """Owns the ears loop, the conversation state machine and the reply in flight."""

    def __init__(self, settings: Settings, components: Components, audio: AudioIO, dialogue: Dialogue,
                 style: VoiceStyle) -> None:
        self.settings = settings
        self.c = components
        self.source, self.speaker = audio.source, audio.speaker
        self.style = style
        self.dialogue = dialogue
        self.events = TurnEvents()
        self.conversation = Conversation()
        self.conversation.add_listener(self._on_state)
        self.endpointer = Endpointer(settings.vad)
        self.gate = VoiceGate()
        self._listening: Listening | None = None  # exists while she is speaking
        self._resume: ResumeWindow | None = None  # the moments after an endpoint
        self._job: ReplyJob | None = None
        self._speaking_until = 0.0
        self._stop = threading.Event()
        self._pending: list[Callable[[], None]] = []  # work posted from other threads (buttons, routines)
        self._pending_lock = threading.Lock()
        self._last_poll = 0.0
        self.stream_s = 0.0  # the audio clock: seconds of microphone audio heard
        self._captured = time.monotonic()  # when the latest block was captured
        self.on_tick: Callable[[], None] | None = None  # called every loop iteration (systemd watchdog)
        self.streaming = True  # False = the sequential baseline the benchmark compares against

    @property
    def turns(self) -> list[Turn]:
        """Every finished turn so far (what turns.jsonl holds)."""
        return self.dialogue.turns

    @property
    def last_reply(self) -> str:
        """The last thing said (for "say that again")."""
        return self.dialogue.last_reply

    def reply_to_text(self, text: str):
        """A typed turn (`companion chat`); yields reply sentences."""
        return self.dialogue.reply_to_text(text)

    # ---------------------------------------------------------------- external events (any thread)

    def post(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the loop thread before the next audio block."""
        with self._pending_lock:
            self._pending.append(fn)

    def talk(self) -> None:
        """The talk button: same as the wake word (barge-in while speaking)."""
        self.post(lambda: self._wake(Source.BUTTON))

    def set_muted(self, muted: bool) -> None:
        """Microphone off/on (mute button or voice)."""
        self.post(lambda: self._mute(muted))

    def announce(self, reply: Reply, asked_by: str = "") -> None:
        """Speak first (routines, alert confirmations): waits for the loop thread.

        `asked_by` names the skill whose question the reply ends with, so her answer goes to it.
        """
        def go() -> None:
            self.dialogue.ask(asked_by, reply, self.dialogue.clock.now())
            self._speak_reply(reply, self._companion_turn(Source.ROUTINE), Trigger.ANNOUNCE)
        self.post(go)

    def awaiting_user(self) -> bool:
        """True when nothing is in flight: idle, or a follow-up window in which she hasn't spoken yet."""
        state = self.conversation.state
        if self._job is not None or self._pending:
            return False
        if state is State.IDLE:
            return True
        return (state is State.LISTENING and self.conversation.listening_source is Source.FOLLOW_UP
                and (self._listening is None or not self._listening.speaking))

    def urgent(self, reply: Reply, asked_by: str = "") -> None:
        """Speak now whatever is happening (help button): interrupts a reply; works while muted."""
        def go() -> None:
            self._interrupt()
            self.dialogue.ask(asked_by, reply, self.dialogue.clock.now())
            self._resume = None
            turn = self._companion_turn(Source.BUTTON)
            turn.intent = reply.intent
            if self.conversation.state is State.MUTED:
                # the microphone stays off: speak without leaving MUTED
                self._job = self._speak(lambda cancel: sentences(reply.text), turn, hold=False,
                                        expect_answer=False, change_state=False)
                return
            if self.conversation.state is State.LISTENING:
                self._drop_listening()
                self.conversation.fire(Trigger.NO_SPEECH)
            self._speak_reply(reply, turn, Trigger.ANNOUNCE)
        self.post(go)

    def stop(self) -> None:
        """Ask the loop to finish."""
        self._stop.set()
        if self._job:
            self._job.stop()

    # ---------------------------------------------------------------- the loop

    def run(self) -> None:
        """Read audio until the source ends or stop() is called; never dies on one bad block."""
        while not self._stop.is_set():
            if self.on_tick is not None:
                self.on_tick()
            self._run_pending()
            try:
                block = self.source.read(0.2)
            except EOFError:
                break
            if block is None:
                continue
            self.stream_s += BLOCK_S
            self._captured = self.source.captured_at()
            try:
                self._hear(block)
            except Exception:
                log.exception("error while listening; back to idle")
                self._drop_listening()
                self.conversation.fire(Trigger.ERROR)
        self._finish_pending_reply()

    def _run_pending(self) -> None:
        with self._pending_lock:
            todo, self._pending = self._pending, []
        for fn in todo:
            try:
                fn()
            except Exception:
                log.exception("posted event failed")
        now = time.monotonic()
        if now - self._last_poll >= POLL_EVERY_S:
            self._last_poll = now
            self._poll_skills()

    def _has_pending(self) -> bool:
        return bool(self._pending)

    def _hear(self, block: np.ndarray) -> None:
        state = self.conversation.state
        if state is State.MUTED:
            return  # privacy: a muted microphone is not listened to at all
        self.c.double_talk.observe(block)
        speaking = self._speaking()
        if speaking and self.c.stop is not None and self.c.stop.process(block):
            log.info("stopped by voice")
            self._interrupt()
            self._resume = None
            self.conversation.fire(Trigger.DONE)
            return
        self.c.wake.speaking = speaking or time.monotonic() < self._speaking_until
        # While she talks after the wake word, the detector has nothing to add: skip it (CPU for the reply).
        listening_to_her = state is State.LISTENING and self._listening is not None and self._listening.speaking \
            and self.conversation.listening_source is not Source.FOLLOW_UP  # in follow-up she may say it again
        if not listening_to_her and self.c.wake.process(block) is not None:
            self._wake(Source.WAKE_WORD)
            return
        if speaking and self._resume is not None:
            self._watch_resume(block)
            return
        if self.conversation.state is not State.LISTENING:
            if not speaking:
                self.gate.listen_room(block)  # what the room sounds like without her (a TV included)
            return
        if self._listening is None:
            self._listening = self._begin()
        self._listen(block)

    # ---------------------------------------------------------------- listening

    def _wake(self, source: Source) -> None:
        state = self.conversation.state
        if state is State.MUTED:
            return
        if source is Source.WAKE_WORD:
            self.gate.heard_wake_word()
        else:
            self.gate.forget_her()  # the button: anyone may speak
        if state in (State.SPEAKING, State.THINKING):
            log.info("barge-in (%s)", source.value)
            self._interrupt()
            self._resume = None
            self.conversation.fire(Trigger.BARGE_IN, source)
            return
        self._cancel_speculation()
        self.conversation.fire(Trigger.WAKE, source)

    def _begin(self) -> Listening:
        source = self.conversation.listening_source or Source.WAKE_WORD
        self.endpointer.start(self.settings.conversation.follow_up_s if source is Source.FOLLOW_UP else None)
        self.c.recognizer.start()
        turn = Turn("", self.dialogue.clock.now(), self.dialogue.local_now(), source=source,
                    engine=self.c.recognizer.name)
        self.events.emit(Woke(turn, source))
        return Listening(turn, self.c.recognizer, self.endpointer, paced=self.source.realtime)

    def _listen(self, block: np.ndarray) -> None:
        lst = self._listening
        assert lst is not None
        vad_speech = self.c.vad(block) >= self.settings.vad.threshold
        heard = self.gate.judge(block, vad_speech, onset=not lst.speaking)
        event = lst.hear(block, heard.hers, self.stream_s, self._captured, room=heard.room)
        if event is EndpointEvent.SPECULATE:
            self._speculate(lst)
        elif event is EndpointEvent.RESUMED:
            lst.cancel_speculation()
        elif event is EndpointEvent.NO_SPEECH:
            self._drop_listening()
            self.conversation.fire(Trigger.NO_SPEECH)
        elif event is EndpointEvent.ENDED:
            self._end_of_turn(lst)

    def _drop_listening(self) -> None:
        if self._listening is not None:
            self._listening.cancel_speculation()
        self._listening = None

    def _cancel_speculation(self) -> None:
        if self._listening is not None:
            self._listening.cancel_speculation()

    def _speculate(self, lst: Listening) -> None:
        """She paused after complete-sounding words: start the LLM now, hold its audio back."""
        lst.cancel_speculation()
        text = lst.hypothesis().text
        if not self.streaming or self.dialogue.claimed(text):
            return  # a deterministic answer is coming: no point warming up the LLM
        turn = lst.turn
        turn.text, turn.audio = text, lst.audio()
        self.dialogue.estimate_emotion(turn, record=False)
        lst.speculation = Speculation(normalize(text), self._start_llm(turn, lst, hold=True))

    def _end_of_turn(self, lst: Listening) -> None:
        st, turn = self.endpointer.state, lst.turn
        t0 = time.monotonic()
        result = lst.kept_words(self.c.recognizer.finish())  # Whisper: the decode begun at the pause
        stt_ms = (time.monotonic() - t0) * 1000
        text = f"{lst.prefix} {result.text}".strip()
        last = result.words[-1].confidence if result.words and not self.c.recognizer.streaming else 1.0
        if text and lst.ended_too_early(Hypothesis(text, last_word_confidence=last, settled=True)):
            lst.refeed()
            return  # the final words say she is mid-phrase: keep listening, nothing was played
        self._listening = None
        t = turn.timings
        if lst.speech_end_s is not None:
            t.endpoint_ms = (self.stream_s - lst.speech_end_s) * 1000
        t.speech_end_stream_s, t.speech_end_captured = lst.speech_end_s, lst.speech_end_captured
        t.required_silence_ms, t.stt_ms = float(st.required_silence_ms), stt_ms
        self.events.emit(SpeechEnded(turn, t.endpoint_ms or 0.0, lst.speech_end_s or self.stream_s))
        if not text:
            lst.cancel_speculation()
            self.conversation.fire(Trigger.NO_SPEECH)
            return
        self.events.emit(Transcribed(turn, text, self.c.recognizer.name, stt_ms))
        self.conversation.fire(Trigger.SPEECH_ENDED)
        spec, lst.speculation = lst.speculation, None
        turn.text, turn.engine = text, self.c.recognizer.name
        turn.words = list(result.words) if not lst.prefix else turn.words + list(result.words)
        turn.at, turn.local_time = self.dialogue.clock.now(), self.dialogue.local_now()
        turn.audio = lst.audio()
        self.dialogue.estimate_emotion(turn, record=True)
        self._resume = ResumeWindow(lst, text, self.stream_s)  # she may yet go on
        reply = self.dialogue.skill_reply(turn)
        if reply is not None:
            if spec is not None:
                spec.job.stop()
            self._answer(turn, lst, reply)
            return
        framing = self.dialogue.framing(turn, lst)  # now, after the skills saw her turn (asking has effects)
        if spec is not None and spec.text == normalize(text) and not spec.job.cancel.is_set() and not any(framing):
            turn.speculative_used = True
            self._job = spec.job
            spec.job.release()
            if spec.job.timings.first_played is not None:
                self._on_first_audio(spec.job)
            return
        if spec is not None:
            spec.job.stop()
        self._start_llm(turn, lst, hold=False)

    # ---------------------------------------------------------------- state side effects

    def _on_state(self, prev: State, cur: State) -> None:
        if cur is State.LISTENING:
            self._drop_listening()  # a new utterance begins with the next block
        if cur in (State.IDLE, State.MUTED, State.LISTENING):
            self._release_held(change_state=False)
            self._resume = None
        if cur is State.THINKING and self.c.stop is not None:
            self.c.stop.reset()  # a new reply: nothing heard before it counts

    def _mute(self, muted: bool) -> None:
        if muted:
            self._interrupt()
            self._drop_listening()
            self.conversation.fire(Trigger.MUTE)
        else:
            self.conversation.fire(Trigger.UNMUTE)

    def close(self) -> None:
        """Stop everything; safe to call twice."""
        self.stop()
        self.source.close()
        self.speaker.close()
