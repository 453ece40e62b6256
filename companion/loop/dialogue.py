"""One turn's words: deterministic skill answers, mood, prompt context, framing lines, and what is remembered.

No audio, threads or state machine here: the engine decides *when*; this
decides *what* is said and records what was said.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Callable, Iterator

from companion.clock import Clock, Household
from companion.config import LlmSettings, Settings
from companion.language import clean_typed, cut_at_word, sentences
from companion.loop.events import Source
from companion.loop.responder import ReplyPlan, Responder
from companion.loop.skills import People, Question, Reply, Skill, TurnRecord
from companion.loop.turn import Turn
from companion.understand.reading import Understanding
from companion.voice.llm import Generation, ReplyGenerator

log = logging.getLogger(__name__)

HISTORY_TURNS = 3  # exchanges the LLM sees
TOO_MUCH = "That was a lot — let me take the start of it."  # said when her words had to be cut
NOT_CAUGHT = "Sorry, I didn't catch that. Could you say it again?"
CHARS_PER_TOKEN = 4  # typed text longer than context_tokens × this can never fit: cut at the door
# Said when a skill that hears every turn first (safety) failed and could not say anything itself.
FIRST_SKILL_FAILED = ("I'm having trouble on my side. If you need help, call for help on the phone or press "
                      "your pendant now.")
PLANS_KEPT = 8  # replies planned but not yet finished (a discarded speculation leaves one behind)


class Dialogue:
    """Skills, mood, prompt and memory of the conversation so far."""

    def __init__(self, llm: ReplyGenerator, skills: list[Skill], clock: Clock, household: Household, *,
                 mood: Any | None = None, sentence_filter: Callable[[str], str] | None = None,
                 on_turn: Callable[[Turn], None] | None = None, understanding: Understanding | None = None,
                 settings: Settings | None = None) -> None:
        self.llm = llm
        # the reply flow for turns no skill answers (strategy, banks, one guarded model sentence);
        # without the understanding layer the model answers alone (older tests and tools)
        self.responder = Responder(llm, understanding, settings or Settings()) if understanding is not None else None
        self._plans: dict[int, tuple[ReplyPlan, str]] = {}  # id(turn) → (plan, the words it was made for)
        self.skills = skills  # shared list: the app adds skills after building the engine
        self.clock = clock
        self.household = household
        self.mood = mood  # the mood sensor stage (emotion.sensor.MoodSensor), or None
        self.sentence_filter = sentence_filter
        self.on_turn = on_turn
        self.question: Question | None = None  # the one question waiting for her answer
        self.history: list[tuple[str, str]] = []
        self.last_reply = ""
        self.turns: list[Turn] = []
        self._framing: tuple[object, str, str] | None = None  # once per utterance: these have side effects

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

    def estimate_emotion(self, turn: Turn, *, record: bool) -> None:
        """Mood from voice and words (if she agreed); raw audio is dropped right after."""
        if self.mood is not None:
            try:
                turn.emotion = self.mood.estimate(turn, record=record)
            except Exception:
                log.exception("emotion estimate failed; replying without it")
        turn.discard_audio()  # raw audio is never kept beyond feature extraction

    def claimed(self, text: str) -> bool:
        """Will a skill answer this text? (pure: lets the loop skip a useless speculative LLM run)"""
        return any(_safely(skill, "claims", False, text) for skill in self.skills)

    def skill_reply(self, turn: Turn) -> Reply | None:
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
            if (reply := self._first_reply(skill, turn)) is not None:
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

    def _first_reply(self, skill: Skill, turn: Turn) -> Reply | None:
        """A skill that hears every turn first (safety) never fails into the LLM: its own fallback, or ours."""
        try:
            reply = skill.handle(turn)
        except Exception:
            log.exception("skill %s handle failed; its fallback answers", getattr(skill, "name", skill))
            reply = _safely(skill, "failed", None, turn) or Reply(FIRST_SKILL_FAILED, "error:first_skill", alone=True)
        if reply is not None and reply.asks is not None:
            self.ask(skill.name, reply, turn.at)
        return reply

    def _reply_from(self, skill: Skill, method: str, turn: Turn, *args: Any) -> Reply | None:
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

    def framing(self, turn: Turn, utterance: object, reply: Reply | None = None,
                plan: ReplyPlan | None = None) -> tuple[str, str]:
        """What is said before the reply (AI disclosure) and after it (a question she can answer).

        Computed once per utterance (`utterance` is any object standing for it,
        compared by identity), because saying them is recorded: a discarded
        speculative reply must not use up the day's disclosure. A closing question
        is added only when the reply itself asks nothing and no safety question is
        open: one question at a time.
        """
        if turn.source is Source.FOLLOW_UP or (reply is not None and reply.alone):
            return "", ""
        if self._framing is not None and self._framing[0] is utterance:
            return self._framing[1], self._framing[2]
        if reply is None and plan is None:
            plan = self.plan(turn)
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

    def framed(self, reply: Reply, turn: Turn, utterance: object) -> str:
        """A skill's answer with the opening and closing lines around it."""
        opening, closing = self.framing(turn, utterance, reply)
        return " ".join(x for x in (opening, reply.text, closing) if x)

    def context(self, turn: Turn) -> str:
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

    def plan(self, turn: Turn) -> ReplyPlan | None:
        """The reply plan for this turn's words, made once per words (None without the understanding layer).

        Made before the framing lines, so skills' closing lines see the strategy (no
        introduction or sign-up question after grief, and none at all when backing off).
        """
        if self.responder is None:
            return None
        kept = self._plans.get(id(turn))
        if kept is not None and kept[1] == turn.text:
            return kept[0]
        try:
            plan = self.responder.plan(turn)
        except Exception:  # one bad turn never kills the loop: the model answers alone
            log.exception("reply planning failed; the language model answers alone")
            return None
        turn.strategy = plan.strategy.value
        self._plans[id(turn)] = (plan, turn.text)
        for key in list(self._plans)[:-PLANS_KEPT]:
            del self._plans[key]
        return plan

    def llm_source(self, turn: Turn, utterance: object, gen: Generation, *, framed: bool = True,
                   trimmed: bool = False) -> Callable[[threading.Event], Iterator[str]]:
        """The sentences of a reply no skill gave, as a generator factory for a ReplyJob.

        The acknowledgement from the banks comes first, at once (it also hides the
        model's latency); then at most one guarded question from the model, or the
        bank's follow-up; then a skill's closing line, if one is due.

        `framed=False` (a speculative reply, before her turn is confirmed) leaves out the
        opening and closing lines: asking them has effects (a question now awaits her answer)
        that must not happen before the skills have seen this very turn. `trimmed` says her
        words were cut at the door already (she hears so first).
        """
        plan = self.plan(turn)
        if plan is None:
            return self._model_source(turn, utterance, gen, framed=framed, trimmed=trimmed)
        opening, closing = self.framing(turn, utterance, plan=plan) if framed else ("", "")
        history = self.history[-HISTORY_TURNS:]
        responder = self.responder
        trimmed = trimmed or (self.llm is not None and self.llm.fit(turn.text).trimmed)  # she is told, first

        def source(cancel: threading.Event) -> Iterator[str]:
            yield from sentences(opening)
            if trimmed:
                yield TOO_MUCH
            if not (opening and plan.situation == "greeting"):  # "Good morning, Margaret" is greeting enough
                yield from sentences(plan.ack)
            # one question at a time: a skill's closing line (consent, a nudge) replaces a follow-up question
            # (a follow-up that informs, like "please don't take another one", is still said)
            ask = not (closing and plan.follow_is_question)
            follow = responder.follow_up(plan, turn, history, cancel, gen) if ask else ""
            if responder.asks_model(plan) and ask:
                turn.follow_up = "model" if follow and follow != plan.follow else "bank"
            turn.timings.llm_first_token_ms = gen.first_token_ms
            turn.timings.first_sentence_ms = gen.first_sentence_ms
            if gen.first_token_at is not None and turn.timings.speech_end_captured is not None:
                turn.timings.llm_first_token_after_speech_end_ms = \
                    (gen.first_token_at - turn.timings.speech_end_captured) * 1000
            if cancel.is_set():
                return
            yield from sentences(follow)
            if plan.crisis:
                yield plan.crisis
            yield from sentences(closing)

        return source

    def _model_source(self, turn: Turn, utterance: object, gen: Generation, *, framed: bool,
                      trimmed: bool) -> Callable[[threading.Event], Iterator[str]]:
        """The model alone (no understanding layer: older tests and tools): what the loop did before the reply flow.

        Her words are cut to what the model's context holds (the start is kept) and she hears so first.
        """
        opening, closing = self.framing(turn, utterance) if framed else ("", "")
        fitted = self.llm.fit(turn.text, self.context(turn), self.history[-HISTORY_TURNS:])

        def source(cancel: threading.Event) -> Iterator[str]:
            yield from sentences(opening)
            if trimmed or fitted.trimmed:
                yield TOO_MUCH
            yield from self.llm.stream(fitted.text, context=fitted.context, history=fitted.history, cancel=cancel,
                                       gen=gen)
            if not cancel.is_set():
                yield from sentences(closing)

        return source

    def finish(self, turn: Turn, reply_text: str, *, observed: bool = True) -> None:
        """Record a finished (or interrupted) turn: history, skills' after_turn, the turn log.

        `observed=False` (an interrupted reply) records the turn without history or after_turn.
        """
        turn.reply = reply_text
        if any(t is turn for t in self.turns):
            return
        self.turns.append(turn)
        planned = self._plans.pop(id(turn), None)
        if planned is not None and self.responder is not None and reply_text and observed:
            plan, _ = planned
            self.responder.commit(plan, turn, reply_text)
            if plan.strategy.value == "back_off" and not plan.choice.misheard:
                self.back_off(turn.at)
        if reply_text and turn.intent != "repeat":
            self.last_reply = reply_text
        if observed and turn.text and reply_text and turn.intent is None:
            self.history.append((turn.text, reply_text))
            del self.history[:-2 * HISTORY_TURNS]
        if observed and turn.text:  # a turn she spoke (not one the companion began)
            record = TurnRecord(text=turn.text, reply=reply_text, intent=turn.intent, at=turn.at, emotion=turn.emotion,
                                words=tuple(turn.words), timings_ms=turn.timings.stages_ms(),
                                interrupted=turn.interrupted)
            for skill in self.skills:
                _safely(skill, "after_turn", None, record)
        if self.on_turn:
            try:
                self.on_turn(turn)
            except Exception:
                log.exception("turn logger failed")

    def reply_to_text(self, text: str, audio: Any | None = None) -> Iterator[str]:
        """A typed turn through the same skills and reply flow (`companion chat`, the scenario runner); yields
        reply sentences. `audio` (16 kHz int16) stands for her voice, for the mood stage.

        Odd input never breaks a turn: control characters are dropped, and
        text far beyond what the model can read is cut at the door (she is told).
        """
        raw = text
        tokens = (self.llm.settings if self.llm is not None else LlmSettings()).context_tokens
        text, trimmed = cut_at_word(clean_typed(raw), tokens * CHARS_PER_TOKEN)
        if trimmed:
            log.info("typed input cut at the door: %d → %d characters", len(raw), len(text))
        turn = Turn(text=text, at=self.clock.now(), local_time=self.local_now(), source=Source.TEXT,
                    audio=audio)
        if not any(ch.isalnum() for ch in text):  # nothing but punctuation, symbols or emoji: no words to answer
            turn.intent = "not_caught"
            self.finish(turn, NOT_CAUGHT)
            yield NOT_CAUGHT
            return
        self.estimate_emotion(turn, record=True)
        reply = self.skill_reply(turn)
        gen = Generation()
        if reply is not None:
            turn.intent = reply.intent
            framed = self.framed(reply, turn, turn)
            parts = sentences(f"{TOO_MUCH} {framed}" if trimmed else framed)
        else:
            parts = self.llm_source(turn, turn, gen, trimmed=trimmed)(threading.Event())
        said: list[str] = []
        try:
            check = self.sentence_filter if reply is None else None  # skills' words are spoken as written
            for sentence in parts:
                sentence = check(sentence) if check else sentence
                if sentence:
                    said.append(sentence)
                    yield sentence
        finally:
            parts.close()  # releases the LLM at once, even if the caller stops early
        turn.timings.llm_first_token_ms, turn.timings.first_sentence_ms = gen.first_token_ms, gen.first_sentence_ms
        self.finish(turn, " ".join(said))


def _safely(skill: Skill, method: str, default: Any, *args: Any, **kwargs: Any) -> Any:
    """Call one skill capability; a failing skill is logged and skipped, never stops the turn."""
    try:
        return getattr(skill, method)(*args, **kwargs)
    except Exception:
        log.exception("skill %s %s failed", getattr(skill, "name", skill), method)
        return default
