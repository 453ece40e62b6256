"""Drive a MemorySkill the way the voice loop does: the dialogue routes her turn → (context) → after_turn."""

from __future__ import annotations

import weakref
from datetime import datetime, timezone

from companion.clock import Household, ManualClock
from companion.loop.dialogue import Dialogue
from companion.loop.skills import Reply, TurnInput, TurnRecord
from companion.memory.skill import MemorySkill

_DIALOGUES: "weakref.WeakKeyDictionary[MemorySkill, Dialogue]" = weakref.WeakKeyDictionary()

START = datetime(2024, 6, 10, 9, 0, tzinfo=timezone.utc)  # a Monday


def turn(text: str, clock: ManualClock) -> TurnInput:
    return TurnInput(text=text, at=clock.now(), local_time=clock.now())


def say(skill: MemorySkill, text: str, clock: ManualClock) -> tuple[Reply | None, str]:
    """One turn; returns (deterministic reply or None, the memory context the LLM would get)."""
    t = turn(text, clock)
    dialogue = _DIALOGUES.get(skill)
    if dialogue is None:  # the real dialogue (its answer slot) without an LLM: no LLM turn is taken here
        dialogue = _DIALOGUES[skill] = Dialogue(None, [skill], clock, Household())  # type: ignore[arg-type]
    reply = dialogue.skill_reply(t)
    context = "" if reply else skill.context(t)
    skill.after_turn(TurnRecord(text=text, reply=reply.text if reply else "How lovely.",
                                intent=reply.intent if reply else None, at=t.at))
    clock.advance(30)
    return reply, context
