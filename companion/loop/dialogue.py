"""One turn's words: deterministic skill answers, mood, prompt context, framing lines, and what is remembered.

No audio, threads or state machine here: the engine decides *when*; this
decides *what* is said and records what was said.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from companion.clock import Clock, Household
from companion.config import Settings
from companion.language import sentences
from companion.loop.events import Source
from companion.loop.responder import Plan, Responder
from companion.loop.skills import People, Question, Reply, Skill, TurnInput, TurnRecord
from companion.understand.reading import Understanding
from companion.voice.llm import Generation, ReplyGenerator

log = logging.getLogger(__name__)

HISTORY_TURNS = 3  # exchanges the LLM sees
PLANS_KEPT = 8  # replies planned but not yet finished (a discarded speculation leaves one behind)
TIMING_KEYS = ("endpoint_ms", "stt_ms", "llm_first_token_ms", "first_sentence_ms", "tts_first_audio_ms",
               "first_audio_after_speech_end_ms")


@dataclass
class TurnLog:
    """Everything measured about one turn (what `run --input` writes to turns.jsonl)."""

    wake_detected: bool
    transcript: str = ""
    reply: str = ""
    intent: str | None = None
    strategy: str | None = None  # the reply strategy, when no skill answered
    follow_up: str = ""  # where the sentence after the acknowledgement came from: "model", "bank" or ""
    source: str = "wake_word"
    speculative_used: bool = False
    interrupted: bool = False
    emotion: dict[str, Any] | None = None
    endpoint_ms: float | None = None
    stt_ms: float | None = None
    llm_first_token_ms: float | None = None
    first_sentence_ms: float | None = None
    tts_first_audio_ms: float | None = None
    first_audio_after_speech_end_ms: float | None = None
    llm_first_token_wall: float | None = None  # time.monotonic() of the model's first token (for the benchmark)
    speech_end_stream_s: float | None = None
    error: str | None = None
    timings_extra: dict[str, float] = field(default_factory=dict)


def timings(tl: TurnLog) -> dict[str, float]:
    """The measured stage timings of a turn, rounded."""
    return {k: round(v, 1) for k in TIMING_KEYS if (v := getattr(tl, k)) is not None}


class Dialogue:
    """Skills, mood, prompt and memory of the conversation so far."""

    def __init__(self, llm: ReplyGenerator, skills: list[Skill], clock: Clock, household: Household, *,
                 mood: Any | None = None, sentence_filter: Callable[[str], str] | None = None,
                 on_turn: Callable[[TurnLog], None] | None = None, understanding: Understanding | None = None,
                 settings: Settings | None = None) -> None:
        self.llm = llm
        # the reply flow for turns no skill answers (strategy, banks, one guarded model sentence);
        # without the understanding layer the model answers alone (older tests and tools)
        self.responder = Responder(llm, understanding, settings or Settings()) if understanding is not None else None
        self._plans: dict[int, tuple[Plan, TurnInput]] = {}
        self.skills = skills  # shared list: the app adds skills after building the engine
        self.clock = clock
        self.household = household
        self.mood = mood  # the mood sensor stage (emotion.sensor.MoodSensor), or None
        self.sentence_filter = sentence_filter
        self.on_turn = on_turn
        self.question: Question | None = None  # the one question waiting for her answer
        self.history: list[tuple[str, str]] = []
        self.last_reply = ""
        self.turns: list[TurnLog] = []
        self._framing: tuple[int, str, str] | None = None  # once per utterance: these have side effects

    def local_now(self):
        """Now, in her time zone."""
        return self.household.local(self.clock.now())

    @property
    def people(self) -> People | None:
        """Who she talks about, from memory (the app plugs memory.directory in)."""
        return self.responder.people if self.responder is not None else None

    @people.setter
    def people(self, people: People | None) -> None:
        if self.responder is not None:
            self.responder.people = people

    def quiet(self) -> bool:
        """Is she owed some quiet now (after "be quiet" or irritation)?"""
        return self.responder is not None and self.responder.quiet(self.clock.now())

    def back_off(self, at: datetime) -> None:
        """She asked for quiet: no check-ins or non-urgent questions for the configured while."""
        if self.responder is None:
            return
        until = self.responder.start_quiet(at)
        log.info("backing off: no check-ins or non-urgent questions until %s", until.isoformat())
        for skill in self.skills:
            _safely(skill, "hold_proactive", None, until)

    def estimate_emotion(self, turn: TurnInput, tl: TurnLog, *, record: bool) -> None:
        """Mood from voice and words (if she agreed); raw audio is dropped right after."""
        if self.mood is not None:
            try:
                turn.emotion = self.mood.estimate(turn, record=record)
            except Exception:
                log.exception("emotion estimate failed; replying without it")
        turn.discard_audio()  # raw audio is never kept beyond feature extraction
        if turn.emotion is not None and hasattr(turn.emotion, "to_dict"):
            tl.emotion = turn.emotion.to_dict()

    def claimed(self, text: str) -> bool:
        """Will a skill answer this text? (pure: lets the loop skip a useless speculative LLM run)"""
        return any(_safely(skill, "claims", False, text) for skill in self.skills)

    def skill_reply(self, turn: TurnInput) -> Reply | None:
        """The deterministic answer to this turn, if any skill has one.

        Order: skills that hear every turn first (safety: an emergency outranks
        any question), then the skill whose question is open (her answer goes to
        whoever asked, not to whichever skill is listed first), then the rest.
        The question is used up by this turn either way.
        """
        question, self.question = self.question, None
        if question is not None and not question.open_at(turn.at):
            question = None
        first = [s for s in self.skills if getattr(s, "first", False)]
        for skill in first:
            if (reply := self._reply_from(skill, "handle", turn)) is not None:
                return reply
        if question is not None:
            owner = next((s for s in self.skills if s.name == question.skill), None)
            if owner is not None and (reply := self._reply_from(owner, "answer", turn, question)) is not None:
                return reply
        for skill in self.skills:
            if skill not in first and (reply := self._reply_from(skill, "handle", turn)) is not None:
                if reply.intent == "stop" and reply.data.get("quiet"):
                    self.back_off(turn.at)  # "be quiet", "go away": stop now, and stay quiet for a while
                return reply
        return None

    def _reply_from(self, skill: Skill, method: str, turn: TurnInput, *args: Any) -> Reply | None:
        reply = _safely(skill, method, None, turn, *args)
        if reply is not None and reply.asks is not None:
            self.ask(skill.name, reply, turn.at)
        return reply

    def ask(self, skill_name: str, reply: Reply, at: datetime) -> None:
        """Hold `reply`'s question for her next turn, unless an urgent (safety) question is still open."""
        if reply.asks is None:
            return
        held = self.question
        if held is not None and held.ask.urgent and held.skill != skill_name and held.open_at(at):
            return  # nothing may sit between a safety question and her answer
        self.question = Question(skill_name, reply.asks, at)

    def urgent_question_open(self) -> bool:
        """Is a safety question waiting for her answer?"""
        q = self.question
        return q is not None and q.ask.urgent and q.open_at(self.clock.now())

    def poll(self, *, idle: bool, muted: bool) -> Reply | None:
        """Something a skill wants to say first (a routine that is due); never while a safety question is open."""
        if self.urgent_question_open():
            return None
        for skill in self.skills:
            reply = _safely(skill, "poll", None, idle=idle, muted=muted)
            if reply is not None:
                self.ask(skill.name, reply, self.clock.now())
                return reply
        return None

    def framing(self, turn: TurnInput, utterance: int, reply: Reply | None = None,
                plan: Plan | None = None) -> tuple[str, str]:
        """What is said before the reply (AI disclosure) and after it (a question she can answer).

        Computed once per utterance, because saying them is recorded (a
        discarded speculative reply must not use up the day's disclosure). A
        closing question is added only when the reply itself asks nothing and no
        safety question is open: one question at a time.
        """
        if turn.source is Source.FOLLOW_UP:
            return "", ""
        if self._framing is not None and self._framing[0] == utterance:
            return self._framing[1], self._framing[2]
        if plan is not None and not plan.framed:
            return "", ""  # backing off or a safety check: one thing only (the disclosure waits for the next turn)
        opening = " ".join(x for s in self.skills if (x := _safely(s, "opening_line", None, turn)))
        closing = ""
        if (reply is None or reply.asks is None) and not self.urgent_question_open() and not self.quiet():
            for skill in self.skills:
                line = _safely(skill, "closing_line", None, turn)
                if line is not None:
                    closing = line.text
                    self.ask(skill.name, line, turn.at)
                    break
        self._framing = (utterance, opening, closing)
        return opening, closing

    def framed(self, reply: Reply, turn: TurnInput, utterance: int) -> str:
        """A skill's answer with the opening and closing lines around it."""
        opening, closing = self.framing(turn, utterance, reply)
        return " ".join(x for x in (opening, reply.text, closing) if x)

    def context(self, turn: TurnInput) -> str:
        """Everything the LLM should know this turn, after the cached persona: time, memories, mood."""
        t = turn.local_time
        part = "morning" if 5 <= t.hour < 12 else "afternoon" if t.hour < 18 else "evening" if t.hour < 22 else "night"
        lines = [f"It is {t:%A} {part}, {t:%H:%M}."]
        for skill in self.skills:
            extra = _safely(skill, "context", "", turn)
            if extra:
                lines.append(extra.strip())
        hint = getattr(turn.emotion, "prompt_hint", None)
        if callable(hint):
            lines.append(hint())
        return " ".join(lines)

    def llm_source(self, turn: TurnInput, tl: TurnLog, utterance: int,
                   gen: Generation) -> Callable[[threading.Event], Iterator[str]]:
        """The sentences of a reply no skill gave (framed), as a generator factory for a ReplyJob.

        The acknowledgement from the banks comes first, at once (it also hides the
        model's latency); then at most one guarded question from the model, or the
        bank's follow-up; then a skill's closing line, if one is due.
        """
        plan = None
        if self.responder is not None:
            try:
                plan = self.responder.plan(turn)
            except Exception:  # one bad turn never kills the loop: the model answers alone
                log.exception("reply planning failed; the language model answers alone")
        if plan is None:
            return self._model_source(turn, tl, utterance, gen)
        tl.strategy = turn.strategy = plan.strategy.value  # skills' closing lines see it (no sign-ups after grief)
        self._plans[id(tl)] = (plan, turn)
        for key in list(self._plans)[:-PLANS_KEPT]:
            del self._plans[key]
        opening, closing = self.framing(turn, utterance, plan=plan)
        history = self.history[-HISTORY_TURNS:]
        responder = self.responder

        def source(cancel: threading.Event) -> Iterator[str]:
            yield from sentences(opening)
            if not (opening and plan.situation == "greeting"):  # "Good morning, Margaret" is greeting enough
                yield from sentences(plan.ack)
            # one question at a time: a skill's closing line (consent, a nudge) replaces a follow-up question
            # (a follow-up that informs, like "please don't take another one", is still said)
            ask = not (closing and plan.follow_is_question)
            follow = responder.follow_up(plan, turn, history, cancel, gen) if ask else ""
            if responder.asks_model(plan) and ask:
                tl.follow_up = "model" if follow and follow != plan.follow else "bank"
            tl.llm_first_token_ms = gen.first_token_ms
            tl.llm_first_token_wall = gen.first_token_at
            tl.first_sentence_ms = gen.first_sentence_ms
            if cancel.is_set():
                return
            yield from sentences(follow)
            if plan.crisis:
                yield plan.crisis
            yield from sentences(closing)

        return source

    def _model_source(self, turn: TurnInput, tl: TurnLog, utterance: int,
                      gen: Generation) -> Callable[[threading.Event], Iterator[str]]:
        """The model alone (no understanding layer): what the loop did before the reply flow."""
        opening, closing = self.framing(turn, utterance)
        context = self.context(turn)
        history = self.history[-HISTORY_TURNS:]

        def source(cancel: threading.Event) -> Iterator[str]:
            yield from sentences(opening)
            yield from self.llm.stream(turn.text, context=context, history=history, cancel=cancel, gen=gen)
            tl.llm_first_token_ms = gen.first_token_ms
            tl.first_sentence_ms = gen.first_sentence_ms
            if not cancel.is_set():
                yield from sentences(closing)

        return source

    def finish(self, tl: TurnLog, turn: TurnInput | None, reply_text: str) -> None:
        """Record a finished (or interrupted) turn: history, skills' after_turn, the turn log."""
        tl.reply = reply_text
        if tl in self.turns:
            return
        self.turns.append(tl)
        planned = self._plans.pop(id(tl), None)
        if planned is not None and self.responder is not None and turn is not None and reply_text:
            plan, _ = planned
            self.responder.commit(plan, turn, reply_text)
            if plan.strategy.value == "back_off" and not plan.choice.misheard:
                self.back_off(turn.at)
        speech_end = tl.timings_extra.get("speech_end_wall")
        if tl.llm_first_token_wall is not None and speech_end is not None:
            tl.timings_extra["llm_first_token_after_speech_end_ms"] = (tl.llm_first_token_wall - speech_end) * 1000
        if reply_text and tl.intent != "repeat":
            self.last_reply = reply_text
        if turn is not None and tl.transcript and reply_text and tl.intent is None:
            self.history.append((tl.transcript, reply_text))
            del self.history[:-2 * HISTORY_TURNS]
        if turn is not None:
            record = TurnRecord(text=turn.text, reply=reply_text, intent=tl.intent, at=turn.at, emotion=turn.emotion,
                                words=tuple(turn.words), timings_ms=timings(tl), interrupted=tl.interrupted)
            for skill in self.skills:
                _safely(skill, "after_turn", None, record)
        if self.on_turn:
            try:
                self.on_turn(tl)
            except Exception:
                log.exception("turn logger failed")

    def reply_to_text(self, text: str, utterance: int, audio: Any | None = None) -> Iterator[str]:
        """A typed turn through the same skills and reply flow (`companion chat`, the scenario runner); yields
        reply sentences. `audio` (16 kHz int16) stands for her voice, for the mood stage."""
        turn = TurnInput(text=text, at=self.clock.now(), local_time=self.local_now(), source=Source.TEXT, audio=audio)
        tl = TurnLog(wake_detected=False, source=Source.TEXT.value, transcript=text)
        self.estimate_emotion(turn, tl, record=True)
        reply = self.skill_reply(turn)
        if reply is not None:
            tl.intent = reply.intent
            parts = sentences(self.framed(reply, turn, utterance))
        else:
            parts = self.llm_source(turn, tl, utterance, Generation())(threading.Event())
        said: list[str] = []
        try:
            for sentence in parts:
                sentence = self.sentence_filter(sentence) if self.sentence_filter else sentence
                if sentence:
                    said.append(sentence)
                    yield sentence
        finally:
            parts.close()  # releases the LLM at once, even if the caller stops early
        self.finish(tl, turn, " ".join(said))


def _safely(skill: Skill, method: str, default: Any, *args: Any, **kwargs: Any) -> Any:
    """Call one skill capability; a failing skill is logged and skipped, never stops the turn."""
    try:
        return getattr(skill, method)(*args, **kwargs)
    except Exception:
        log.exception("skill %s %s failed", getattr(skill, "name", skill), method)
        return default
