"""One turn's words: deterministic skill answers, mood, prompt context, framing lines, and what is remembered.

No audio, threads or state machine here: the engine decides *when*; this
decides *what* is said and records what was said.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable, Iterator

from companion.clock import Clock, Household
from companion.loop.events import Source
from companion.loop.skills import Reply, Skill, TurnRecord
from companion.loop.turn import Turn
from companion.voice.llm import Generation, ReplyGenerator

log = logging.getLogger(__name__)

HISTORY_TURNS = 3  # exchanges the LLM sees


def sentences(text: str) -> Iterator[str]:
    """Split fixed text into sentences (for speaking one at a time)."""
    for part in re.split(r"(?<=[.!?])\s+", text.strip()):
        if part.strip():
            yield part.strip()


def norm(text: str) -> str:
    """Lower-case words only, to compare transcripts."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


class Dialogue:
    """Skills, mood, prompt and memory of the conversation so far."""

    def __init__(self, llm: ReplyGenerator, skills: list[Skill], clock: Clock, household: Household, *,
                 emotion: Any | None = None, sentence_filter: Callable[[str], str] | None = None,
                 openers: list[Callable[[Turn], str | None]] | None = None,
                 closers: list[Callable[[Turn], str | None]] | None = None,
                 on_turn: Callable[[Turn], None] | None = None) -> None:
        self.llm = llm
        self.skills = skills  # shared list: the app adds skills after building the engine
        self.clock = clock
        self.household = household
        self.emotion = emotion
        self.sentence_filter = sentence_filter
        self.openers = openers if openers is not None else []  # said before the reply (AI disclosure)
        self.closers = closers if closers is not None else []  # said after it, so she can answer (consent)
        self.on_turn = on_turn
        self.history: list[tuple[str, str]] = []
        self.last_reply = ""
        self.turns: list[Turn] = []
        self._framing: tuple[object, str, str] | None = None  # once per utterance: these have side effects

    def local_now(self):
        """Now, in her time zone."""
        return self.household.local(self.clock.now())

    def estimate_emotion(self, turn: Turn, *, record: bool) -> None:
        """Mood from voice and words (if she agreed); raw audio is dropped right after."""
        if self.emotion is not None:
            try:
                turn.emotion = self.emotion.estimate(turn, record=record)
            except Exception:
                log.exception("emotion estimate failed; replying without it")
        turn.discard_audio()  # raw audio is never kept beyond feature extraction

    def claimed(self, text: str) -> bool:
        """Will a skill answer this text? (pure: lets the loop skip a useless speculative LLM run)"""
        return any(getattr(skill, "claims", lambda _: False)(text) for skill in self.skills)

    def skill_reply(self, turn: Turn) -> Reply | None:
        """The first skill that answers deterministically (safety comes first in the list)."""
        for skill in self.skills:
            try:
                reply = skill.handle(turn)
            except Exception:
                log.exception("skill %s failed on %r", getattr(skill, "name", skill), turn.text)
                continue
            if reply is not None:
                return reply
        return None

    def framing(self, turn: Turn, utterance: object) -> tuple[str, str]:
        """What is said before the reply (AI disclosure) and after it (a question she can answer).

        Computed once per utterance (`utterance` is any object standing for it,
        compared by identity), because saying them is recorded: a discarded
        speculative reply must not use up the day's disclosure.
        """
        if turn.source is Source.FOLLOW_UP:
            return "", ""
        if self._framing is not None and self._framing[0] is utterance:
            return self._framing[1], self._framing[2]
        parts = []
        for group in (self.openers, self.closers):
            lines = []
            for fn in group:
                try:
                    text = fn(turn)
                except Exception:
                    log.exception("opening/closing line failed")
                    continue
                if text:
                    lines.append(text)
            parts.append(" ".join(lines))
        self._framing = (utterance, parts[0], parts[1])
        return parts[0], parts[1]

    def framed(self, reply: Reply, turn: Turn, utterance: object) -> str:
        """A skill's answer with the opening and closing lines around it."""
        opening, closing = self.framing(turn, utterance)
        return " ".join(x for x in (opening, reply.text, closing) if x)

    def context(self, turn: Turn) -> str:
        """Everything the LLM should know this turn, after the cached persona: time, memories, mood."""
        t = turn.local_time
        part = "morning" if 5 <= t.hour < 12 else "afternoon" if t.hour < 18 else "evening" if t.hour < 22 else "night"
        lines = [f"It is {t:%A} {part}, {t:%H:%M}."]
        for skill in self.skills:
            try:
                extra = skill.context(turn)
            except Exception:
                log.exception("skill %s context failed", getattr(skill, "name", skill))
                extra = ""
            if extra:
                lines.append(extra.strip())
        hint = getattr(turn.emotion, "prompt_hint", None)
        if callable(hint):
            lines.append(hint())
        return " ".join(lines)

    def llm_source(self, turn: Turn, utterance: object, gen: Generation, *,
                   framed: bool = True) -> Callable[[threading.Event], Iterator[str]]:
        """The sentences of an LLM reply, as a generator factory for a ReplyJob.

        `framed=False` (a speculative reply, before her turn is confirmed) leaves out the
        opening and closing lines: asking them has effects (a question now awaits her answer)
        that must not happen before the skills have seen this very turn.
        """
        opening, closing = self.framing(turn, utterance) if framed else ("", "")
        context = self.context(turn)
        history = self.history[-HISTORY_TURNS:]
        text = turn.text  # the words this reply answers (a speculation's may differ from the final ones)

        def source(cancel: threading.Event) -> Iterator[str]:
            yield from sentences(opening)
            yield from self.llm.stream(text, context=context, history=history, cancel=cancel, gen=gen)
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
                try:
                    skill.after_turn(record)
                except Exception:
                    log.exception("skill %s after_turn failed", getattr(skill, "name", skill))
        if self.on_turn:
            try:
                self.on_turn(turn)
            except Exception:
                log.exception("turn logger failed")

    def reply_to_text(self, text: str) -> Iterator[str]:
        """A typed turn through the same skills and LLM (`companion chat`); yields reply sentences."""
        turn = Turn(text=text, at=self.clock.now(), local_time=self.local_now(), source=Source.TEXT)
        self.estimate_emotion(turn, record=True)
        reply = self.skill_reply(turn)
        gen = Generation()
        if reply is not None:
            turn.intent = reply.intent
            parts = sentences(self.framed(reply, turn, turn))
        else:
            parts = self.llm_source(turn, turn, gen)(threading.Event())
        said: list[str] = []
        try:
            for sentence in parts:
                sentence = self.sentence_filter(sentence) if self.sentence_filter else sentence
                if sentence:
                    said.append(sentence)
                    yield sentence
        finally:
            parts.close()  # releases the LLM at once, even if the caller stops early
        turn.timings.llm_first_token_ms, turn.timings.first_sentence_ms = gen.first_token_ms, gen.first_sentence_ms
        self.finish(turn, " ".join(said))
