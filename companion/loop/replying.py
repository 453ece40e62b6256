"""The speaking half of the engine: start a reply (held back or not), notice its first audio and its end, stop it.

`Replying` is mixed into `engine.Engine`; it owns the one reply in flight
(`_job`). Every reply is a `ReplyJob` handed the `Turn` it answers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

from companion.audio.frames import Speaker
from companion.config import Settings
from companion.loop.conversation import Conversation, Trigger
from companion.loop.dialogue import Dialogue, sentences
from companion.loop.events import Source, State
from companion.loop.skills import Reply
from companion.loop.turn import FirstAudio, FirstToken, ReplyStarted, Turn, TurnDone, TurnEvents
from companion.voice.llm import Generation
from companion.voice.replies import ReplyJob
from companion.voice.tts import VoiceStyle

log = logging.getLogger(__name__)

APOLOGY = "I'm sorry, something went wrong on my side. Let's try that again in a moment."
ECHO_TAIL_S = 1.0  # keep the stricter wake rules this long after playback (detector latency + room echo)

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
        self._finish_turn(turn, job)
        self.conversation.fire(Trigger.REPLY_DONE if expect_answer else Trigger.DONE)

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
        self._cancel_speculation()

    def _run_pending(self) -> None:  # provided by the Engine
        raise NotImplementedError

    def _has_pending(self) -> bool:  # provided by the Engine
        raise NotImplementedError

    def _speaking(self) -> bool:
        return self.conversation.state in (State.SPEAKING, State.THINKING)
