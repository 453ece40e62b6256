"""Typed events and the conversation state enum shared by every component."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class Event:
    """Base of all events. `at` is monotonic seconds."""

    at: float


@dataclass(frozen=True)
class WakeDetected(Event):
    """The wake word was heard (or the talk button pressed)."""

    source: Source = Source.WAKE_WORD
    name: str = ""
    probability: float = 1.0


@dataclass(frozen=True)
class BargeIn(Event):
    """She interrupted while the companion was speaking."""

    reason: str = "wake_word"  # wake_word | button | stop_word


@dataclass(frozen=True)
class SpeechStarted(Event):
    """Voice activity began after the wake word."""


@dataclass(frozen=True)
class SpeechEnded(Event):
    """The endpointer decided her turn is over."""

    transcript: str = ""
    speech_end_at: float = 0.0


@dataclass(frozen=True)
class NoSpeech(Event):
    """Nobody spoke after the wake word / in the follow-up window."""


@dataclass(frozen=True)
class MuteToggled(Event):
    """The mute button (or a voice command) changed the microphone state."""

    muted: bool = True


@dataclass(frozen=True)
class HelpRequested(Event):
    """She asked for help (long press on the help button, or a safety phrase)."""

    source: str = "button"  # button | voice
    detail: str = ""
    cancel_window_s: float = 10.0


@dataclass(frozen=True)
class HelpCancelled(Event):
    """She cancelled a help request within its cancel window."""

    source: str = "button"


@dataclass(frozen=True)
class Notice(Event):
    """Anything else worth recording (routine due, alert sent, error)."""

    kind: str = ""
    data: dict[str, Any] = field(default_factory=dict)
