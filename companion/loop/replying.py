"""The speaking half of the engine: start a reply (held back or not), notice its first audio and its end, stop it.

`Replying` is mixed into `engine.Engine`; it owns the one reply in flight
(`_job`). Every reply is a `ReplyJob` handed the `Turn` it answers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

import numpy as np

from companion.audio.frames import Speaker
from companion.config import Settings
from companion.loop.conversation import Conversation, Trigger
from companion.loop.dialogue import Dialogue, sentences
from companion.loop.events import Source, State
from companion.loop.listening import Listening, ResumeWindow
from companion.loop.skills import Reply
from companion.loop.turn import FirstAudio, FirstToken, ReplyStarted, Resumed, Turn, TurnDone, TurnEvents
from companion.voice.llm import Generation
from companion.voice.replies import ReplyJob
from companion.voice.tts import VoiceStyle

log = logging.getLogger(__name__)

APOLOGY = "I'm sorry, something went wrong on my side. Let's try that again in a moment."
ECHO_TAIL_S = 1.0  # keep the stricter wake rules this long after playback (detector latency + room echo)
HELD_ECHO_TAIL_S = 0.15  # after a reply has played, a room's echo has died away this much later

TextSource = Callable[[threading.Event], Iterable[str]]


class Replying:
    """Starting, releasing, finishing and interrupting replies (mixed into the Engine)."""

    settings: Settings
    c: Any  # engine.Components (the TTS)
    speaker: Speaker
    dialogue: Dialogue
    conversation: Conversation
    events: TurnEvents
    style: VoiceStyle
    streaming: bool
    _job: ReplyJob | None
    _speaking_until: float
    _resume: ResumeWindow | None
    _listening: Listening | None
    stream_s: float
    gate: Any
    # A reply that finished playing inside the resume window: its turn is recorded (and the state moves
    # on) only once the window closes without her going on. A short acknowledgement can end within a
    # word-finding pause; if she then goes on, it is the same turn, not a new one.
    _held: tuple[ReplyJob, bool] | None = None
    _held_at_s = 0.0  # audio clock when the held reply finished playing

    def post(self, fn: Callable[[], None]) -> None:  # provided by the Engine
        raise NotImplementedError

    def _new_job(self, source: TextSource, turn: Turn, *, llm: bool, **kw) -> ReplyJob:
        """A reply job for this turn, in her voice style (slower and softer when she is low).

        Only the LLM's words pass the sentence filter: skills' words (safety scripts) are spoken as written.
        """
        ls, vol = self.style.for_turn(turn.emotion)
        return ReplyJob(source, self.c.tts, self.speaker, style=(ls, vol),
                        sentence_filter=self.dialogue.sentence_filter if llm else None, pause_ms=self.settings.tts.sentence_pause_ms,
                        streaming=self.streaming, turn=turn, **kw)

    def _poll_skills(self) -> None:
        """Ask proactive skills (routines) whether they have something to say now (the dialogue asks them)."""
        state = self.conversation.state
        reply = self.dialogue.poll(idle=state is State.IDLE, muted=state is State.MUTED)
        if reply is not None and self.conversation.state is State.IDLE:
            self._speak_reply(reply, self._companion_turn(Source.ROUTINE), Trigger.ANNOUNCE)

    def _answer(self, turn: Turn, utterance: object, reply: Reply) -> None:
        """Speak a skill's deterministic reply for a finished turn."""
        turn.intent = reply.intent
        if reply.intent == "stop":
            self._finish_turn(turn, None, "")
            self.conversation.fire(Trigger.DONE)
            return
        text = self.dialogue.framed(reply, turn, utterance)
        self._speak(lambda cancel: sentences(text), turn, hold=False, chime=reply.speak_first == "chime",
                    expect_answer=True)

    def _start_llm(self, turn: Turn, utterance: object, *, hold: bool) -> ReplyJob:
        """Stream an LLM reply into speech (held back from the speaker if speculative)."""
        gen = Generation(on_first_token=lambda ms: self.events.emit(FirstToken(turn, ms, speculative=hold)))
        return self._speak(self.dialogue.llm_source(turn, utterance, gen, framed=not hold), turn, hold=hold, gen=gen)

    def _speak_reply(self, reply: Reply, turn: Turn, trigger: Trigger) -> None:
        """Speak fixed words the companion begins (a routine, an alert confirmation, an apology)."""
        if not self.conversation.fire(trigger):
            return
        turn.intent = reply.intent
        self._speak(lambda cancel: sentences(reply.text), turn, hold=False, chime=reply.speak_first == "chime",
                    expect_answer=reply.expect_answer)

    def _speak(self, source: TextSource, turn: Turn, *, hold: bool, chime: bool = False,
               expect_answer: bool = True, gen: Generation | None = None, change_state: bool = True) -> ReplyJob:
        job = self._new_job(source, turn, llm=gen is not None, hold=hold, chime=chime,
                            on_first_audio=self._on_first_audio if change_state else None,
                            on_done=lambda j: self.post(lambda: self._reply_done(j, expect_answer, gen,
                                                                                 change_state)))
        self.events.emit(ReplyStarted(turn, by_llm=gen is not None, speculative=hold))
        if not hold:
            self._job = job
        return job.start()

    def _on_first_audio(self, job: ReplyJob) -> None:
        """Called on the player thread when the first sample of a reply plays."""
        if not job.released.is_set() or job is not self._job or not isinstance(job.turn, Turn):
            return
        t = job.turn.timings
        if t.speech_end_captured is not None and job.timings.first_played is not None \
                and t.first_audio_after_speech_end_ms is None:
            t.first_audio_after_speech_end_ms = (job.timings.first_played - t.speech_end_captured) * 1000
        t.tts_first_audio_ms = job.timings.tts_first_ms
        self.events.emit(FirstAudio(job.turn, t.first_audio_after_speech_end_ms))
        self.post(lambda: self.conversation.fire(Trigger.SPEAKING))

    def _reply_done(self, job: ReplyJob, expect_answer: bool, gen: Generation | None,
                    change_state: bool = True) -> None:
        if job is not self._job or not isinstance(job.turn, Turn):
            return  # a discarded speculation, an interrupted reply or one she went on over
        self._job = None
        turn = job.turn
        if not change_state:
            self._finish_turn(turn, job)
            return
        self._speaking_until = time.monotonic() + ECHO_TAIL_S
        if gen is not None:
            turn.timings.llm_first_token_ms = gen.first_token_ms
            turn.timings.first_sentence_ms = gen.first_sentence_ms
        turn.timings.tts_first_audio_ms = job.timings.tts_first_ms
        if job.error is not None:
            turn.error = repr(job.error)
            self._finish_turn(turn, job)
            self.conversation.fire(Trigger.ERROR)
            if turn.intent != "error":  # never apologise for a failed apology
                self._apologise()
            return
        if self._resume is not None and self._resume.open(self.stream_s):
            self._held = (job, expect_answer)  # she may yet go on (the window closes in _watch_resume)
            self._held_at_s = self.stream_s
            return
        self._finish_turn(turn, job)
        self.conversation.fire(Trigger.REPLY_DONE if expect_answer else Trigger.DONE)

    def _release_held(self, *, change_state: bool = True) -> None:
        """The resume window closed (or something else happened): the held reply's turn is done."""
        held, self._held = self._held, None
        if held is None:
            return
        job, expect_answer = held
        self._finish_turn(job.turn, job)
        if change_state:
            self.conversation.fire(Trigger.REPLY_DONE if expect_answer else Trigger.DONE)

    # ---------------------------------------------------------------- the resume window

    def _watch_resume(self, block: np.ndarray) -> None:
        """Just after an endpoint, while the reply is prepared, plays or has just played: does she go on?"""
        rw = self._resume
        assert rw is not None
        if not rw.open(self.stream_s):
            self._resume = None
            self._release_held()  # she did not go on: the reply that already played answered her turn
            return
        vad_speech = self.c.vad(block) >= self.settings.vad.threshold
        heard = self.gate.judge(block, vad_speech, learn_room=False, onset=True)  # going on is a new onset
        held = self._held is not None  # the reply has finished playing: nothing plays now
        # once the reply's last echo has died away, her voice needs no double-talk proof
        quiet_since = held and self.stream_s - self._held_at_s >= HELD_ECHO_TAIL_S
        dt = self.c.double_talk  # while it plays: louder than the fixed ratio, or than the learned echo
        echo_ok = quiet_since or dt.her_voice() or dt.above_echo()
        if rw.hear(block, heard.hers, echo_ok=echo_ok, room=heard.room):
            self._resume_turn(rw)

    def _resume_turn(self, rw: ResumeWindow) -> None:
        """She went on: stop the reply, listen again to the same turn, and answer the whole of it."""
        self._resume = None
        self._held = None  # a reply that already played answered half a turn: nothing is recorded
        turn = rw.listening.turn
        log.info("she went on %.0f ms after the endpoint: one turn", (self.stream_s - rw.ended_s) * 1000)
        self._drop_reply()
        self.events.emit(Resumed(turn, (self.stream_s - rw.ended_s) * 1000))
        turn.joined += 1
        turn.speculative_used = False
        self.conversation.fire(Trigger.RESUMED, turn.source)
        self._listening = rw.continued(self.stream_s)

    def _apologise(self) -> None:
        try:
            self._speak_reply(Reply(APOLOGY, "error"), self._companion_turn(Source.COMPANION), Trigger.ANNOUNCE)
        except Exception:
            log.exception("could not even apologise")

    def _companion_turn(self, source: Source) -> Turn:
        """A turn the companion begins (nothing said by her)."""
        now = self.dialogue.clock.now()
        return Turn("", now, self.dialogue.household.local(now), source=source)

    def _interrupt(self) -> None:
        """Barge-in, "stop", mute: stop the reply and record what she heard of it."""
        self._release_held(change_state=False)
        job, self._job = self._job, None
        self._cancel_speculation()
        if job is not None and isinstance(job.turn, Turn):
            job.stop()
            job.turn.interrupted = True
            # keep only the words she actually heard
            self._finish_turn(job.turn, job, " ".join(job.spoken), observed=False)

    def _drop_reply(self) -> None:
        """She went on: the reply in flight answered half a turn; stop it without recording anything."""
        job, self._job = self._job, None
        self._cancel_speculation()
        if job is not None:
            job.stop()

    def _cancel_speculation(self) -> None:  # provided by the Engine
        raise NotImplementedError

    def _finish_turn(self, turn: Turn, job: ReplyJob | None, reply_text: str | None = None, *,
                     observed: bool = True) -> None:
        if reply_text is None:
            reply_text = job.text if job is not None else turn.reply
        self.dialogue.finish(turn, reply_text, observed=observed)
        self.events.emit(TurnDone(turn))

    def _finish_pending_reply(self) -> None:
        """At the end of a file run, let the last reply finish playing."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self._run_pending()
            job = self._job
            if job is None and not self._has_pending():
                break
            if job is not None:
                job.wait(0.1)
        self._release_held()  # no more audio: the resume window is over
        self._cancel_speculation()

    def _run_pending(self) -> None:  # provided by the Engine
        raise NotImplementedError

    def _has_pending(self) -> bool:  # provided by the Engine
        raise NotImplementedError

    def _speaking(self) -> bool:
        return self.conversation.state in (State.SPEAKING, State.THINKING)
