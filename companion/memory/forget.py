"""Forgetting a person or topic: find it as a whole name, say what will go, remove every copy, allow an undo.

"Forget about Ann" forgets the memories and conversations that name Ann — never
Anne, Joanna or Hannah — after she heard what they are. The removed memories stay
in this process's RAM (never on disk) for a few minutes so "undo that" can put
them back; the summaries, outbox copies, audit texts, daily copies and set-aside
files on the device lose the name for good. What was already sent to the family
cannot be recalled, and she is told so.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from companion.memory.book import MemoryBook
from companion.memory.model import Memory, render
from companion.memory.people import ambiguous
from companion.store.journal import TurnRow
from companion.store.scrub import ScrubReport

UNDO_RE = re.compile(r"^(?:oh |no |please |wait |sorry )*(?:can you |could you )?(?:please )?"
                     r"(?:undo(?: that| it| the forgetting)?|bring (?:it|that|them|those|her|him) back|"
                     r"put (?:it|that|them|those|her|him) back|i didn'?t mean (?:it|that|to)|"
                     r"(?:that|it) was a mistake|don'?t forget (?:it|that|them|her|him))\b")
LISTED = 2  # memories read out in the question; the rest are counted


def clause(m: Memory) -> str:
    """'your daughter Susan lives in York' (a memory as the end of a sentence)."""
    text = render(m, you=True).rstrip(".")
    return text[0].lower() + text[1:] if text.startswith(("You ", "Your ", "On ")) else text


@dataclass
class Plan:
    """What "forget about X" would remove."""

    topic: str  # as she can hear it back: "Ann", "your daughter"
    names: list[str]
    memories: list[Memory]
    turns: list[TurnRow]

    @property
    def empty(self) -> bool:
        """Nothing to forget."""
        return not self.memories and not self.turns

    def question(self) -> str:
        """"I'll forget 3 things about Ann: that ..., that ... and 1 more — all right?"."""
        n, k = len(self.memories), len(self.turns)
        listed = [f"that {clause(m)}" for m in self.memories[:LISTED]]
        if n > LISTED:
            listed.append(f"{n - LISTED} more")
        if not n:
            return f"I don't remember anything about {self.topic}, but I'll delete what we said about them — all right?"
        text = f"I'll forget {n} thing{'s' if n != 1 else ''} about {self.topic}: "
        text += "; ".join(listed[:-1]) + "; and " + listed[-1] if len(listed) > 1 else listed[0]
        if k:
            text += f", plus {k} conversation{'s' if k != 1 else ''} that mention {self.topic}"
        return text + " — all right?"


@dataclass
class Forgotten:
    """What one "yes" removed, kept in RAM for the undo window."""

    plan: Plan
    at: float  # clock.monotonic() when it was forgotten
    report: ScrubReport = field(default_factory=ScrubReport)


def plan(book: MemoryBook, topic: str) -> Plan:
    """Memories and turns that name `topic` as a whole name (people resolved through the people model)."""
    names = book.names_for(topic)
    memories = book.about(topic)
    said = topic.strip()
    shown = re.sub(r"^(?:my|our)\s+", "your ", said, flags=re.I)
    for m in memories:
        if m.kind in ("person", "pet") and m.subject.lower() == said.lower():
            shown = m.subject
            break
    else:
        if shown == said and said.islower() and not said.startswith(("the ", "your ")):
            shown = said.title() if len(said.split()) <= 3 else said
    return Plan(shown, names, memories, book.turns_about(names))


def execute(book: MemoryBook, p: Plan, now_s: float, also: Iterable[Path] = ()) -> Forgotten:
    """Remove the memories and turns, then the name from every other copy on the device."""
    current = [m for m in (book.get(x.key) for x in p.memories) if m is not None]
    book.remove(current)
    book.store.journal.remove(TurnRow, [t.id for t in p.turns if t.id is not None])
    words = p.names + [m.subject for m in current if m.kind in ("person", "pet") and m.subject]
    report = book.store.forget_copies([(m.table, m.id) for m in current], words, also=list(also),
                                      exact_case=[w for w in words if ambiguous(w)])
    return Forgotten(dataclasses.replace(p, memories=current), now_s, report)


def undo(book: MemoryBook, f: Forgotten) -> int:
    """Put the memories and conversation turns back (copies elsewhere stay cleaned)."""
    count = book.restore(f.plan.memories)
    book.store.journal.append_many([dataclasses.replace(t, id=None) for t in f.plan.turns])
    book.store.forget_copies([(m.table, m.id) for m in f.plan.memories])  # today's copy holds them again
    return count


def done_line(f: Forgotten, family: str | None, undo_minutes: int) -> str:
    """What she hears after "yes"."""
    n = len(f.plan.memories)
    text = f"Done. I've forgotten {n} thing{'s' if n != 1 else ''} about {f.plan.topic}." if n else \
        f"Done. I've deleted what we said about {f.plan.topic}."
    if f.report.sent and family:
        text += f" Messages already sent to {family} can't be called back."
    return text + f" If that was a mistake, say 'undo that' in the next {undo_minutes} minutes."
