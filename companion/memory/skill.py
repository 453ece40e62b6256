"""The memory skill: remembers what she tells, recalls it for the prompt, forgets on request."""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from companion.clock import Clock, Household
from companion.config import MemorySettings
from companion.errors import StoreError
from companion.loop.dialogue import CHARS_PER_TOKEN  # one rough size of a token, owned by the dialogue
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput, TurnRecord
from companion.memory import forget
from companion.memory.book import Change, MemoryBook
from companion.memory.extract import Candidate, extract_candidates, has_secret
from companion.memory.model import CLOSENESS, FACTS, Memory, render
from companion.memory.recall import build_context
from companion.memory.text import yes_or_no
from companion.store.journal import TurnRow
from companion.store.store import Store

log = logging.getLogger(__name__)

SUMMARY_SENTENCES = 8
PURGE_KEY = "memory.last_purge"

SUMMARY_RE = re.compile(r"\bwhat (?:do|did|else do) you (?:remember|know) about me\b|\bwhat have you (?:remembered|got) about me\b"
                        r"|\bwhat do you remember\W*$|\bwhat do you know about myself\b")
ABOUT_RE = re.compile(r"\bwhat (?:do|did) you (?:remember|know) about (?P<x>(?!me\b|myself\b)[a-z' ]{2,40}?)\W*$")
FORGET_ALL_RE = re.compile(r"\bforget everything(?: (?:about me|you know|i told you))?\W*$")
FORGET_THAT_RE = re.compile(r"^(?:oh |please |no |actually )*(?:can you |could you |would you )?(?:please )?"
                            r"(?:forget (?:that|it|this|what i (?:just )?said|about (?:that|it))|don't remember that)\b")
FORGET_ABOUT_RE = re.compile(r"\bforget (?:all |everything )?about (?P<x>[a-z' ]{2,40}?)\W*$")
QUESTION_START = ("what", "when", "where", "who", "why", "how", "can", "could", "would", "will", "is", "are", "do",
                  "does", "did", "tell", "play", "set", "remind", "turn", "stop", "shall", "should")
NARRATIVE_RE = re.compile(r"\b(?:went|saw|visited|came|had|was|were|met|called|rang|used to|remember when|when i was|"
                          r"yesterday|last (?:week|night|month|year)|this morning|told|made|baked|won|lost|got|"
                          r"\w{3,}ed)\b")


@dataclass
class Pending:
    """A question she has been asked and not yet answered."""

    action: str  # "remember" | "forget_last" | "forget_about" | "forget_all"
    asked_at: float  # clock.monotonic()
    candidates: list[Candidate] = dataclasses.field(default_factory=list)
    changes: list[Change] = dataclasses.field(default_factory=list)
    plan: forget.Plan | None = None


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if isinstance(v, (str, int, float, bool, type(None)))}
    return None


def looks_like_episode(text: str) -> bool:
    """A personal story worth keeping: first person, narrative, not a question or command."""
    low = text.lower().strip()
    words = low.split()
    if len(words) < 6 or low.endswith("?") or words[0] in QUESTION_START:
        return False
    return bool(re.search(r"\b(?:i|we|my|our)\b", low) and NARRATIVE_RE.search(low))


def _clause(m: Memory | Candidate) -> str:
    """'you take metformin in the morning' (for 'Shall I remember that ...?')."""
    if isinstance(m, Candidate):
        m = Memory(FACTS, 0, m.kind, m.subject, m.relation, m.attrs, m.said)
    text = render(m, you=True).rstrip(".")
    return "y" + text[1:] if text.startswith(("You ", "Your ")) else text


class MemorySkill(BaseSkill):
    """Skill: extract facts after each turn, add relevant memories to the prompt, obey 'forget'."""

    name = "memory"

    def __init__(self, store: Store, settings: MemorySettings, clock: Clock, *,
                 extractor: Callable[[str], list[Candidate]] | None = None, write_turns: bool = True,
                 household: Household | None = None, copies: Sequence[Path] = (), family: str | None = None) -> None:
        self.settings = settings
        self.copies = list(copies)  # folders outside the data dir that hold copies (an outbox elsewhere)
        self.family = family  # who receives messages off the device (None: nothing leaves it)
        self.forgotten: forget.Forgotten | None = None  # undo window, RAM only
        self.household = household or Household()
        self.clock = clock
        self.book = MemoryBook(store, clock)
        self.extractor = extractor if (extractor and self.settings.llm_extract) else None
        self.write_turns = write_turns
        self.pending: Pending | None = None
        self.last_changes: list[Change] = []
        self.purge_expired(clock.now())

    # ---------------------------------------------------------------- the Skill protocol

    def handle(self, turn: TurnInput) -> Reply | None:
        """Answer yes/no to a pending question, 'what do you remember', 'forget ...', or ask before storing health/money."""
        text = turn.text.strip()
        low = re.sub(r"\s+", " ", text.lower().replace("’", "'"))
        if not low:
            return None
        if self.forgotten and forget.UNDO_RE.search(" ".join(re.findall(r"[a-z']+", low))):
            return self._undo()
        if has_secret(low):
            return Reply("Please keep that private. I don't keep PINs, passwords or card numbers, "
                         "and I will never ask you for them.", intent="memory.secret_refused")
        if SUMMARY_RE.search(low):
            return Reply(self.summary(), intent="memory.summary")
        m = ABOUT_RE.search(low)
        if m:
            return Reply(self.summary_about(m.group("x").strip()), intent="memory.about")
        if FORGET_ALL_RE.search(low):
            return self._ask(Pending("forget_all", self.clock.monotonic()),
                             "Shall I forget everything I know about you? I can't undo that.")
        if FORGET_THAT_RE.search(low):
            return self._ask_forget_last()
        m = FORGET_ABOUT_RE.search(low)
        if m:
            return self._ask_forget_about(m.group("x").strip())
        sensitive = [c for c in extract_candidates(text, self._today(turn.local_time), self.book.known_names()) if c.sensitive]
        if sensitive:
            clauses = " and that ".join(_clause(c) for c in sensitive)
            return self._ask(Pending("remember", self.clock.monotonic(), candidates=sensitive),
                             f"Shall I remember that {clauses}?")
        return None

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her yes or no to "Shall I remember/forget ...?"; anything else drops the question."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        answer = yes_or_no(re.sub(r"\s+", " ", turn.text.strip().lower().replace("’", "'")))
        return self._answer(pending, answer) if answer is not None else self.handle(turn)

    def context(self, turn: TurnInput) -> str:
        """Her name, closest family and the memories relevant to what she just said, within the token budget."""
        self.book.sync()
        return build_context(self.book.index, turn.text, turn.at, turn.local_time.date(),
                             self.settings.context_tokens * CHARS_PER_TOKEN, self.settings.recall_count)

    def after_turn(self, record: TurnRecord) -> None:
        """Write the turn and what she told, in one commit; purge old turns daily."""
        try:
            with self.book.store.transaction():  # the turn, its facts and the turn's mood reading: one write
                self._learn(record)
        except StoreError as exc:  # the disk refuses: it stays in memory and is written with the next commit
            log.warning("this turn is kept in memory until the disk can be written: %s", exc)
        self._maybe_purge(record.at)

    def _learn(self, record: TurnRecord) -> None:
        intent = record.intent or ""
        private = intent.startswith(("memory.forget", "memory.forgotten", "memory.secret", "memory.undo")) \
            or has_secret(record.text)
        if self.write_turns:
            self._write_turn(record, private)
        if private or intent.startswith("safety") or (intent.startswith("memory.") and intent != "memory.confirm"):
            return
        today = self._today(record.at)
        cands = [c for c in extract_candidates(record.text, today, self.book.known_names()) if not c.sensitive]
        if self.extractor:
            try:
                cands += [c for c in self.extractor(record.text) if not c.sensitive]
            except Exception:  # an LLM hiccup must not lose the patterns' facts
                log.exception("LLM fact extraction failed; using patterns only")
        changes = [ch for c in cands for ch in self.book.apply(c)]
        if not changes and intent != "memory.confirm" and looks_like_episode(record.text):
            names = self.book.known_names()
            low = record.text.lower()
            words = set(re.findall(r"[a-z0-9'\-]+", low))
            about = [p for k, p in names.items() if (k in words or (" " in k and k in low))
                     and re.search(rf"\b{re.escape(k)}\b", low)]
            mood = _as_dict(record.emotion)
            ep = self.book.add_episode(record.text.strip(), {k: mood[k] for k in ("category", "valence") if k in mood}
                                       if mood else None, about)
            changes = [ep] if ep else []
        if changes:
            self.last_changes = changes
            log.info("remembered %s", ", ".join(ch.memory.key for ch in changes))

    # ---------------------------------------------------------------- her control

    def summary(self) -> str:
        """A short read-back of what is remembered, in the second person, without the LLM."""
        mems = [m for m in self.book.all() if m.table == FACTS]
        if not mems:
            return "I don't know much about you yet. Tell me about yourself, and I'll remember."
        order = {"name": 0, "preferred_name": 1, "home": 2, "birthday": 3, "person": 4, "pet": 5, "like": 6,
                 "favourite": 7, "dislike": 8, "health": 9, "medication": 10, "appointment": 11}
        mems.sort(key=lambda m: (order.get(m.kind, 12), CLOSENESS.get(m.relation, 9), m.id))
        likes = [m.subject for m in mems if m.kind == "like"]
        sentences, liked = [], False
        for m in mems:
            if m.kind == "like":
                if not liked:
                    liked = True
                    joined = likes[0] if len(likes) == 1 else ", ".join(likes[:3][:-1]) + " and " + likes[:3][-1]
                    sentences.append(f"You like {joined}.")
                continue
            if m.kind == "appointment" and m.attrs.get("date") and m.attrs["date"] < self._today(self.clock.now()).isoformat():
                continue
            sentences.append(render(m, you=True, today=self._today(self.clock.now())))
        text = "Here's what I remember. " + " ".join(sentences[:SUMMARY_SENTENCES])
        if len(sentences) > SUMMARY_SENTENCES:
            text += " And a few more things."
        return text + " You can ask me to forget anything."

    def summary_about(self, topic: str) -> str:
        """What is remembered about one person or thing (whole names)."""
        mems = self.book.about(topic)
        if not mems:
            return f"I don't remember anything about {topic}."
        return " ".join(render(m, you=True) for m in mems[:4])

    def profile_name(self) -> str | None:
        """What to call her: the name she asked for, else her name (None if unknown)."""
        self.book.sync()
        by_kind = {m.kind: m.subject for m in self.book.index.memories.values() if m.kind in ("name", "preferred_name")}
        return by_kind.get("preferred_name") or by_kind.get("name")

    def purge_expired(self, now: datetime) -> int:
        """Delete conversation turns older than [memory] retention_days; call at start and daily."""
        removed = self.book.purge_expired(now, self.settings.retention_days)
        self.book.store.put(PURGE_KEY, now.isoformat())
        return removed

    # ---------------------------------------------------------------- internals

    def _today(self, when: datetime) -> date:
        return self.household.today(when)

    def _ask(self, pending: Pending, question: str) -> Reply:
        self.pending = pending
        return Reply(question, intent="memory.confirm" if pending.action == "remember" else "memory.forget_ask",
                     asks=Ask(pending.action, window_s=self.settings.confirm_window_s))

    def _ask_forget_last(self) -> Reply:
        changes = [ch for ch in self.last_changes if self.book.get(ch.memory.key)]
        if not changes:
            latest = self.book.latest()
            if latest is None:
                return Reply("I haven't remembered anything yet, so there's nothing to forget.",
                             intent="memory.forget_nothing")
            changes = [Change(latest, True)]
        what = " and that ".join(_clause(self.book.get(ch.memory.key) or ch.memory) for ch in changes)
        return self._ask(Pending("forget_last", self.clock.monotonic(), changes=changes), f"Shall I forget that {what}?")

    def _ask_forget_about(self, topic: str) -> Reply:
        plan = forget.plan(self.book, topic)
        if plan.empty:
            return Reply(f"I don't have anything about {plan.topic} to forget.", intent="memory.forget_nothing")
        return self._ask(Pending("forget_about", self.clock.monotonic(), plan=plan), plan.question())

    def _undo(self) -> Reply:
        f, self.forgotten = self.forgotten, None
        if f is None or self.clock.monotonic() - f.at > self.settings.undo_window_s:
            return Reply("I'm sorry, it's too late to bring that back.", intent="memory.undo_too_late")
        count = forget.undo(self.book, f)
        what = f"the {count} thing{'s' if count != 1 else ''} about {f.plan.topic}" if count else \
            f"what we said about {f.plan.topic}"
        return Reply(f"All right, I've put back {what}.", intent="memory.undone")

    def _answer(self, p: Pending, yes: bool) -> Reply:
        try:
            return self._carry_out(p, yes)
        except StoreError as exc:
            log.error("could not change the memories: %s", exc)
            return Reply("I'm sorry, I can't change what I remember just now: the memory card is full or "
                         "failing. Please ask me again later.", intent="memory.error")

    def _carry_out(self, p: Pending, yes: bool) -> Reply:
        if p.action == "remember":
            if not yes:
                self.book.forget_turns([c.said for c in p.candidates if c.said])  # her words go too
                return Reply("All right, I won't keep that.", intent="memory.declined")
            changes = [ch for c in p.candidates for ch in self.book.apply(c)]
            if changes:
                self.last_changes = changes
            return Reply("All right, I'll remember that.", intent="memory.remembered")
        if not yes:
            return Reply("All right, I'll keep it.", intent="memory.forget_cancelled")
        if p.action == "forget_last":
            self.book.undo(p.changes)
            self.book.forget_turns([ch.memory.said for ch in p.changes if ch.memory.said])
            self.last_changes = []
        elif p.action == "forget_about" and p.plan is not None:
            self.forgotten = forget.execute(self.book, p.plan, self.clock.monotonic(), self.copies)
            self.last_changes = []
            return Reply(forget.done_line(self.forgotten, self.family, round(self.settings.undo_window_s / 60)),
                         intent="memory.forgotten")
        elif p.action == "forget_all":
            self.book.forget_everything()
            self.last_changes = []
        return Reply("Done. I've forgotten it.", intent="memory.forgotten")

    def _write_turn(self, record: TurnRecord, private: bool) -> None:
        words = record.words
        self.book.store.journal.append(TurnRow(
            at=record.at,
            user="(asked me to forget something)" if private and not has_secret(record.text) else
                 ("(private: not kept)" if private else record.text),
            reply="(confirmed)" if private else record.reply, intent=record.intent,
            emotion=_as_dict(record.emotion),
            duration_s=round(words[-1].end_s - words[0].start_s, 2) if words else None,
            timings_ms=dict(record.timings_ms)), defer=True)  # committed with the transaction

    def _maybe_purge(self, now: datetime) -> None:
        last = self.book.store.get(PURGE_KEY)
        try:
            due = last is None or now - datetime.fromisoformat(last) >= timedelta(days=1)
        except (TypeError, ValueError):
            due = True
        if due:
            try:
                self.purge_expired(now)
            except StoreError as exc:
                log.warning("could not delete old conversation turns: %s", exc)
