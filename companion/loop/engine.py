"""The voice loop: ears (wake word, VAD, STT, endpointer) → skills or LLM → speech, with barge-in."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from companion.audio.echo import DoubleTalk, EchoPath
from companion.audio.frames import BLOCK_S, AudioSource, Speaker
from companion.clock import Clock, SystemClock
from companion.config import Settings
from companion.ears.stopword import StopPhraseSpotter
from companion.ears.stt import SpeechRecognizer
from companion.ears.vad import Endpointer, EndpointEvent
from companion.ears.wake import WakeWordDetector
from companion.language import normalize, sentences
from companion.loop.conversation import Conversation, Trigger
from companion.loop.dialogue import Dialogue, TurnLog
from companion.loop.events import Source, State
from companion.loop.skills import Reply, Skill, TurnInput
from companion.understand.reading import Understanding
from companion.voice.llm import Generation, ReplyGenerator
from companion.voice.replies import ReplyJob
from companion.voice.tts import PiperTTS, VoiceStyle

log = logging.getLogger(__name__)

APOLOGY = "I'm sorry, something went wrong on my side. Let's try that again in a moment."
ECHO_TAIL_S = 1.0  # keep the stricter wake rules this long after playback (detector latency + room echo)
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


class Engine:
    """Owns the ears loop, the conversation state machine and the reply in flight."""

    def __init__(self, settings: Settings, components: Components, *, source: AudioSource, speaker: Speaker,
                 echo: EchoPath, style: VoiceStyle, skills: list[Skill] | None = None, clock: Clock | None = None,
                 on_turn: Callable[[TurnLog], None] | None = None,
                 mood: Any | None = None, sentence_filter: Callable[[str], str] | None = None) -> None:
        self.settings = settings
        self.c = components
        self.source = source
        self.speaker = speaker
        self.echo = echo
        self.style = style
        self.skills: list[Skill] = skills if skills is not None else []  # shared: the app adds skills later
        self.clock = clock or SystemClock()
        self.sentence_filter = sentence_filter
        self.dialogue = Dialogue(components.llm, self.skills, self.clock, settings.household, mood=mood,
                                 sentence_filter=sentence_filter, on_turn=on_turn,
                                 understanding=components.understanding, settings=settings)
        self._utt_id = 0
        self.conversation = Conversation()
        self.conversation.add_listener(self._on_state)
        self.endpointer = Endpointer(settings.vad)
        self._job: ReplyJob | None = None
        self._spec: tuple[str, ReplyJob, TurnLog, TurnInput] | None = None
        self._listen_epoch = 0
        self._ears_epoch = -1
        self._utt_audio: list[np.ndarray] = []
        self._silence_held: list[np.ndarray] = []
        self._partial = ""
        self._speech_end_wall: float | None = None
        self._speaking_until = 0.0
        self._stop = threading.Event()
        self._pending: list[Callable[[], None]] = []  # work posted from other threads (buttons, routines)
        self._pending_lock = threading.Lock()
        self._last_poll = 0.0
        self._current_log: TurnLog | None = None
        self.stream_s = 0.0
        self.on_tick: Callable[[], None] | None = None  # called every loop iteration (systemd watchdog)
        self.streaming = True  # False = the sequential baseline the benchmark compares against

    @property
    def turns(self) -> list[TurnLog]:
        """Every finished turn so far (what turns.jsonl holds)."""
        return self.dialogue.turns

    @property
    def last_reply(self) -> str:
        """The last thing said (for "say that again")."""
        return self.dialogue.last_reply

    def reply_to_text(self, text: str):
        """A typed turn (`companion chat`); yields reply sentences."""
        self._utt_id += 1
        return self.dialogue.reply_to_text(text, self._utt_id)

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
            self.dialogue.ask(asked_by, reply, self.clock.now())
            self._speak_reply(reply, TurnLog(wake_detected=False, source=Source.ROUTINE.value), None,
                              Trigger.ANNOUNCE)
        self.post(go)

    def awaiting_user(self) -> bool:
        """True when nothing is in flight: idle, or a follow-up window in which she hasn't spoken yet."""
        state = self.conversation.state
        if self._job is not None or self._pending:
            return False
        if state is State.IDLE:
            return True
        return (state is State.LISTENING and self.conversation.listening_source is Source.FOLLOW_UP
                and self.endpointer.state.speech_start_s is None)

    def urgent(self, reply: Reply, asked_by: str = "") -> None:
        """Speak now whatever is happening (help button): interrupts a reply; works while muted."""
        def go() -> None:
            self._interrupt()
            self.dialogue.ask(asked_by, reply, self.clock.now())
            tl = TurnLog(wake_detected=False, source=Source.BUTTON.value, intent=reply.intent)
            if self.conversation.state is State.MUTED:
                # the microphone stays off: speak without leaving MUTED
                self._job = self._speak(lambda cancel: sentences(reply.text), tl, None, hold=False,
                                        expect_answer=False, change_state=False)
                return
            if self.conversation.state is State.LISTENING:
                self._abandon_listening()
                self.conversation.fire(Trigger.NO_SPEECH)
            self._speak_reply(reply, tl, None, Trigger.ANNOUNCE)
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
            try:
                self._hear(block)
            except Exception:
                log.exception("error while listening; back to idle")
                self._abandon_listening()
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

    def _poll_skills(self) -> None:
        state = self.conversation.state
        reply = self.dialogue.poll(idle=state is State.IDLE, muted=state is State.MUTED)
        if reply is not None and self.conversation.state is State.IDLE:
            self._speak_reply(reply, TurnLog(wake_detected=False, source=Source.ROUTINE.value), None,
                              Trigger.ANNOUNCE)

    def _hear(self, block: np.ndarray) -> None:
        state = self.conversation.state
        if state is State.MUTED:
            return  # privacy: a muted microphone is not listened to at all
        self.c.double_talk.observe(block)
        speaking = state in (State.SPEAKING, State.THINKING)
        if speaking and self.c.stop is not None and self.c.stop.process(block):
            log.info("stopped by voice")
            self._interrupt()
            self.conversation.fire(Trigger.DONE)
            return
        self.c.wake.speaking = speaking or time.monotonic() < self._speaking_until
        # While she talks after the wake word, the detector has nothing to add: skip it (CPU for the reply).
        listening_to_her = state is State.LISTENING and self.endpointer.state.speech_start_s is not None \
            and self._ears_epoch == self._listen_epoch \
            and self.conversation.listening_source is not Source.FOLLOW_UP  # in follow-up she may say it again
        if not listening_to_her and self.c.wake.process(block) is not None:
            self._wake(Source.WAKE_WORD)
            return
        if self.conversation.state is not State.LISTENING:
            return
        if self._ears_epoch != self._listen_epoch:
            self._begin_utterance()
        self._listen(block)

    # ---------------------------------------------------------------- listening

    def _wake(self, source: Source) -> None:
        state = self.conversation.state
        if state is State.MUTED:
            return
        if state in (State.SPEAKING, State.THINKING):
            log.info("barge-in (%s)", source.value)
            self._interrupt()
            self.conversation.fire(Trigger.BARGE_IN, source)
            return
        self._cancel_speculation()
        self.conversation.fire(Trigger.WAKE, source)

    def _begin_utterance(self) -> None:
        self._ears_epoch = self._listen_epoch
        self._utt_id += 1
        follow_up = self.conversation.listening_source is Source.FOLLOW_UP
        self.endpointer.start(self.settings.conversation.follow_up_s if follow_up else None)
        self.c.recognizer.start()
        self._silence_held: list[np.ndarray] = []
        self._partial = ""
        self._utt_audio = []
        self._speech_end_wall = None
        self._current_log = TurnLog(wake_detected=self.conversation.listening_source is Source.WAKE_WORD,
                                    source=(self.conversation.listening_source or Source.WAKE_WORD).value)

    def _listen(self, block: np.ndarray) -> None:
        prob = self.c.vad(block)
        speech = prob >= self.settings.vad.threshold
        if speech or self.endpointer.state.speech_start_s is None:
            for held in self._silence_held:  # she went on: the recogniser gets the pause it skipped
                self.c.recognizer.accept(held)
            self._silence_held = []
            self.c.recognizer.accept(block)
            self._partial = self.c.recognizer.partial()
        else:
            # Trailing silence: the words cannot change, so spare the CPU for the speculative reply.
            self._silence_held.append(block)
        self._utt_audio.append(block)
        partial = self._partial
        event = self.endpointer.update(block, prob, partial)
        if speech:
            self._speech_end_wall = time.monotonic()
        if event is EndpointEvent.SPECULATE:
            self._speculate(partial)
        elif event is EndpointEvent.RESUMED:
            self._cancel_speculation()
        elif event is EndpointEvent.NO_SPEECH:
            self._cancel_speculation()
            self._abandon_listening()
            self.conversation.fire(Trigger.NO_SPEECH)
        elif event is EndpointEvent.ENDED:
            self._end_of_turn()

    def _abandon_listening(self) -> None:
        self._utt_audio = []
        self._ears_epoch = -1

    def _make_turn(self, text: str, words: list | None = None) -> TurnInput:
        audio = np.concatenate(self._utt_audio) if self._utt_audio else None
        return TurnInput(text=text, at=self.clock.now(), local_time=self.dialogue.local_now(),
                         source=self.conversation.listening_source or Source.WAKE_WORD, words=list(words or []),
                         audio=audio)

    def _speculate(self, partial: str) -> None:
        """She paused after complete-sounding words: start the LLM now, hold its audio back."""
        self._cancel_speculation()
        if not self.streaming or self.dialogue.claimed(partial):
            return  # a deterministic answer is coming: no point warming up the LLM
        turn = self._make_turn(partial)
        tl = TurnLog(wake_detected=bool(self._current_log and self._current_log.wake_detected),
                     source=turn.source.value)
        self.dialogue.estimate_emotion(turn, tl, record=False)
        self._spec = (normalize(partial), self._start_llm(turn, tl, hold=True), tl, turn)

    def _cancel_speculation(self) -> None:
        if self._spec is not None:
            _, job, _, _ = self._spec
            job.stop()
            self._spec = None

    def _end_of_turn(self) -> None:
        tl = self._current_log or TurnLog(wake_detected=False)
        st = self.endpointer.state
        ended_at = time.monotonic()
        speech_end = self._speech_end_wall or ended_at
        tl.endpoint_ms = (ended_at - speech_end) * 1000
        t0 = time.monotonic()
        result = self.c.recognizer.finish()
        tl.stt_ms = (time.monotonic() - t0) * 1000
        tl.transcript = result.text
        tl.speech_end_stream_s = self.stream_s - (ended_at - speech_end)
        tl.timings_extra["required_silence_ms"] = float(st.required_silence_ms)
        self._abandon_listening_keep_audio()
        if not result.text.strip():
            self._cancel_speculation()
            self._utt_audio = []
            self.conversation.fire(Trigger.NO_SPEECH)
            return
        self.conversation.fire(Trigger.SPEECH_ENDED)
        spec, self._spec = self._spec, None
        turn = self._make_turn(result.text, result.words)
        self._utt_audio = []
        tl.timings_extra["speech_end_wall"] = speech_end
        self.dialogue.estimate_emotion(turn, tl, record=True)
        reply = self.dialogue.skill_reply(turn)
        if reply is not None:
            if spec is not None:
                spec[1].stop()
            self._answer(turn, tl, reply)
            return
        if spec is not None and spec[0] == normalize(result.text) and not spec[1].cancel.is_set():
            _, job, spec_log, _ = spec
            for key in ("endpoint_ms", "stt_ms", "transcript", "speech_end_stream_s", "wake_detected", "source",
                        "timings_extra", "emotion"):
                setattr(spec_log, key, getattr(tl, key))
            spec_log.speculative_used = True
            job.turn = turn  # type: ignore[attr-defined]
            self._job = job
            job.release()
            if job.timings.first_played is not None:
                self._on_first_audio(job)
            return
        if spec is not None:
            spec[1].stop()
        self._start_llm(turn, tl, hold=False)

    def _abandon_listening_keep_audio(self) -> None:
        self._ears_epoch = -1

    # ---------------------------------------------------------------- replying

    def _answer(self, turn: TurnInput, tl: TurnLog, reply: Reply) -> None:
        """Speak a skill's deterministic reply for a finished turn."""
        tl.intent = reply.intent
        if reply.intent == "stop":
            self.dialogue.finish(tl, turn, "")
            self.conversation.fire(Trigger.DONE)
            return
        text = self.dialogue.framed(reply, turn, self._utt_id)
        self._speak(lambda cancel: sentences(text), tl, turn, hold=False, chime=reply.speak_first == "chime",
                    expect_answer=True)

    def _start_llm(self, turn: TurnInput, tl: TurnLog, *, hold: bool) -> ReplyJob:
        """Stream an LLM reply into speech (held back from the speaker if speculative)."""
        gen = Generation()
        return self._speak(self.dialogue.llm_source(turn, tl, self._utt_id, gen), tl, turn, hold=hold, gen=gen)

    def _speak_reply(self, reply: Reply, tl: TurnLog, turn: TurnInput | None, trigger: Trigger) -> None:
        if not self.conversation.fire(trigger):
            return
        tl.intent = reply.intent
        self._speak(lambda cancel: sentences(reply.text), tl, turn, hold=False, chime=reply.speak_first == "chime",
                    expect_answer=reply.expect_answer)

    def _speak(self, source, tl: TurnLog, turn: TurnInput | None, *, hold: bool, chime: bool = False,
               expect_answer: bool = True, gen: Generation | None = None, change_state: bool = True) -> ReplyJob:
        ls, vol = self.style.for_turn(turn.emotion if turn else None)
        job = ReplyJob(source, self.c.tts, self.speaker, style=(ls, vol), chime=chime, hold=hold,
                       sentence_filter=self.sentence_filter, pause_ms=self.settings.tts.sentence_pause_ms,
                       streaming=self.streaming,
                       on_first_audio=self._on_first_audio if change_state else None,
                       on_done=lambda j: self.post(lambda: self._reply_done(j, tl, getattr(j, "turn", turn),
                                                                            expect_answer, gen, change_state)))
        job.tl = tl  # type: ignore[attr-defined]
        if not hold:
            self._job = job
        return job.start()

    def _on_first_audio(self, job: ReplyJob) -> None:
        """Called on the player thread when the first sample of a reply plays."""
        if not job.released.is_set() or job is not self._job:
            return
        tl: TurnLog = job.tl  # type: ignore[attr-defined]
        speech_end = tl.timings_extra.get("speech_end_wall")
        if speech_end is not None and job.timings.first_played is not None and tl.first_audio_after_speech_end_ms is None:
            tl.first_audio_after_speech_end_ms = (job.timings.first_played - speech_end) * 1000
        tl.tts_first_audio_ms = job.timings.tts_first_ms
        self.post(lambda: self.conversation.fire(Trigger.SPEAKING))

    def _reply_done(self, job: ReplyJob, tl: TurnLog, turn: TurnInput | None, expect_answer: bool,
                    gen: Generation | None, change_state: bool = True) -> None:
        if job is not self._job:
            return  # a discarded speculation or an interrupted reply
        self._job = None
        if not change_state:
            self._finish_turn(tl, turn, job)
            return
        self._speaking_until = time.monotonic() + ECHO_TAIL_S
        if gen is not None:
            tl.llm_first_token_ms = gen.first_token_ms
            tl.first_sentence_ms = gen.first_sentence_ms
        tl.tts_first_audio_ms = job.timings.tts_first_ms
        if job.error is not None:
            tl.error = repr(job.error)
            self._finish_turn(tl, turn, job)
            self.conversation.fire(Trigger.ERROR)
            if tl.intent != "error":  # never apologise for a failed apology
                self._apologise()
            return
        self._finish_turn(tl, turn, job)
        self.conversation.fire(Trigger.REPLY_DONE if expect_answer else Trigger.DONE)

    def _apologise(self) -> None:
        try:
            self._speak_reply(Reply(APOLOGY, "error"), TurnLog(wake_detected=False), None, Trigger.ANNOUNCE)
        except Exception:
            log.exception("could not even apologise")

    def _interrupt(self) -> None:
        job, self._job = self._job, None
        self._cancel_speculation()
        if job is not None:
            job.stop()
            tl: TurnLog = job.tl  # type: ignore[attr-defined]
            tl.interrupted = True
            # keep only the words she actually heard
            tl.reply = " ".join(job.spoken)
            self._finish_turn(tl, None, job, reply_text=tl.reply)

    def _finish_turn(self, tl: TurnLog, turn: TurnInput | None, job: ReplyJob | None,
                     reply_text: str | None = None) -> None:
        if reply_text is None:
            reply_text = job.text if job is not None else tl.reply
        self.dialogue.finish(tl, turn, reply_text)

    def _finish_pending_reply(self) -> None:
        """At the end of a file run, let the last reply finish playing."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self._run_pending()
            job = self._job
            if job is None and not self._pending:
                break
            if job is not None:
                job.wait(0.1)
        self._cancel_speculation()

    # ---------------------------------------------------------------- prompt context

    # ---------------------------------------------------------------- state side effects

    def _on_state(self, prev: State, cur: State) -> None:
        if cur is State.LISTENING:
            self._listen_epoch += 1
        if cur is State.THINKING and self.c.stop is not None:
            self.c.stop.reset()  # a new reply: nothing heard before it counts

    def _mute(self, muted: bool) -> None:
        if muted:
            self._interrupt()
            self._abandon_listening()
            self.conversation.fire(Trigger.MUTE)
        else:
            self.conversation.fire(Trigger.UNMUTE)

    def close(self) -> None:
        """Stop everything; safe to call twice."""
        self.stop()
        self.source.close()
        self.speaker.close()
