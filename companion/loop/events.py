"""The conversation state enum and where a turn came from, shared by every component.

What moves the state is `conversation.Trigger`; what happens to a turn is told
by the typed events of `turn` (wake, speech end, transcript, first token, first
audio, done); skills plug in through the `skills.Skill` seam.
"""

from __future__ import annotations

import enum


class State(enum.Enum):
    """Where the conversation is. Only `conversation.Conversation` changes it."""

    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    MUTED = "muted"


class Source(enum.Enum):
    """What started a turn or raised an event."""

    WAKE_WORD = "wake_word"
    BUTTON = "button"
    FOLLOW_UP = "follow_up"
    ROUTINE = "routine"
    TEXT = "text"
    COMPANION = "companion"  # the companion spoke of its own accord (an apology after a failed reply)
