"""One turn, from the wake word to the end of the reply, and the typed events the loop emits about it.

A `Turn` is created when the loop starts listening to her (wake word, talk
button, follow-up window) or when it speaks first (a routine, an alert), and
is finished once the reply has been played or interrupted. Skills see it
before the reply (`handle`, `context`); `turns.jsonl` and the benchmark read
it afterwards. Its timings are typed, and the ones about her speech are on the
audio clock: stream seconds of the microphone and the moment a block was
captured, never the moment the loop got round to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Callable, Protocol

import numpy as np

from companion.ears.words import Word
from companion.loop.events import Source

log = logging.getLogger(__name__)

# Strategies for when she is low, worried, unwell or irritated: no introductions or sign-up questions then.
HEAVY_STRATEGIES = frozenset({"comfort", "reassure", "care", "safety_check", "back_off"})


class Mood(Protocol):
    """How she seems to feel, as the loop uses it (the emotion area builds it: `EmotionEstimate`)."""

    def prompt_hint(self) -> str:
        """One line for the LLM prompt ('' for none)."""

    def voice_style(self) -> tuple[float, float]:
        """Multipliers for the voice's (length_scale, volume)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (turns.jsonl, the store)."""


@dataclass
class TurnTimings:
    """What one turn cost, in milliseconds; None until measured."""

    endpoint_ms: float | None = None  # silence waited after her last speech block (audio clock)
    stt_ms: float | None = None  # from the endpoint to the final words
    llm_first_token_ms: float | None = None
    first_sentence_ms: float | None = None
    tts_first_audio_ms: float | None = None
    first_audio_after_speech_end_ms: float | None = None  # her last speech block captured → first reply sample
    llm_first_token_after_speech_end_ms: float | None = None  # her last speech block captured → the model's first token
    required_silence_ms: float | None = None  # what the endpointer was waiting for when it ended the turn
    speech_end_stream_s: float | None = None  # audio clock: microphone stream seconds at the end of her speech
    speech_end_captured: float | None = None  # monotonic time the block that ended her speech was captured

    def stages_ms(self) -> dict[str, float]:
        """The measured stage timings, rounded (for skills and turns.jsonl)."""
        return {f.name: round(v, 1) for f in fields(self)
                if f.name.endswith("_ms") and (v := getattr(self, f.name)) is not None}


@dataclass(eq=False)
class Turn:
    """What she said in one turn, how she said it, what was answered, and what it cost."""

    text: str  # what she said (the recogniser's final words; '' for a turn the companion began)
    at: datetime  # aware, UTC: when her speech ended (when the turn began, until then)
    local_time: datetime  # the same instant in her time zone
    source: Source = Source.WAKE_WORD
    words: list[Word] = field(default_factory=list)
    audio: np.ndarray | None = None  # int16 mono 16 kHz; dropped after features are extracted
    emotion: Mood | None = None  # once the mood stage ran (and she agreed to it)
    reply: str = ""  # what was said back (only the sentences she heard, if interrupted)
    intent: str | None = None  # the skill that answered, None for the reply flow (banks and the LLM)
    strategy: str | None = None  # the reply strategy (understand.strategy), once the reply flow chose one
    follow_up: str = ""  # where the sentence after the acknowledgement came from: "model", "bank" or ""
    engine: str = ""  # the recogniser that heard her
    speculative_used: bool = False  # the reply was started during her trailing silence and kept
    interrupted: bool = False
    joined: int = 0  # times she went on after an endpoint and her words were joined into this turn
    error: str | None = None
    timings: TurnTimings = field(default_factory=TurnTimings)

    @property
    def wake_detected(self) -> bool:
        """Did the wake word start this turn?"""
        return self.source is Source.WAKE_WORD

    @property
    def transcript(self) -> str:
        """Her words, under the name turns.jsonl uses."""
        return self.text

    @property
    def heavy(self) -> bool:
        """Is she low, worried, unwell or irritated this turn? (no introductions or sign-up questions now)"""
        return self.strategy in HEAVY_STRATEGIES

    def discard_audio(self) -> None:
        """Raw audio is never kept: call once features are extracted."""
        self.audio = None

    def to_row(self) -> dict[str, Any]:
        """One line of turns.jsonl."""
        t = self.timings
        row: dict[str, Any] = {
            "wake_detected": self.wake_detected, "transcript": self.text, "reply": self.reply,
            "intent": self.intent, "strategy": self.strategy, "follow_up": self.follow_up,
            "source": self.source.value, "engine": self.engine,
            "speculative_used": self.speculative_used, "interrupted": self.interrupted, "joined": self.joined,
            "emotion": self.emotion.to_dict() if self.emotion is not None else None, "error": self.error,
            "speech_end_stream_s": None if t.speech_end_stream_s is None else round(t.speech_end_stream_s, 3),
        }
        for f in fields(t):
            if f.name.endswith("_ms"):
                v = getattr(t, f.name)
                row[f.name] = None if v is None else round(v, 1)
        return row


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class TurnEvent:
    """Something happened to a turn (observed by tests, the benchmark, logs)."""

    turn: Turn


@dataclass(frozen=True)
class Woke(TurnEvent):
    """The loop started listening to her."""

    source: Source


@dataclass(frozen=True)
class SpeechEnded(TurnEvent):
    """The endpointer decided her turn is over."""

    endpoint_ms: float  # silence waited, on the audio clock
    speech_end_stream_s: float


@dataclass(frozen=True)
class Transcribed(TurnEvent):
    """The final words of her turn."""

    text: str
    engine: str
    stt_ms: float


@dataclass(frozen=True)
class ReplyStarted(TurnEvent):
    """A reply began to be produced (an LLM generation, or a skill's fixed words)."""

    by_llm: bool
    speculative: bool


@dataclass(frozen=True)
class FirstToken(TurnEvent):
    """The LLM produced its first token for this turn's reply."""

    ms: float  # from the start of that generation
    speculative: bool


@dataclass(frozen=True)
class FirstAudio(TurnEvent):
    """The first sample of the reply reached the speaker."""

    after_speech_end_ms: float | None  # on the audio clock; None for turns the companion began


@dataclass(frozen=True)
class Resumed(TurnEvent):
    """She went on soon after an endpoint: the reply was stopped and her words will be joined."""

    after_endpoint_ms: float  # audio clock


@dataclass(frozen=True)
class TurnDone(TurnEvent):
    """The turn is finished and recorded (reply played, interrupted, or failed)."""


class TurnEvents:
    """Listeners for turn events; a failing listener never disturbs the loop."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[TurnEvent], None]] = []

    def add_listener(self, fn: Callable[[TurnEvent], None]) -> None:
        """Call `fn(event)` for every event (from the loop thread or a reply thread)."""
        self._listeners.append(fn)

    def emit(self, event: TurnEvent) -> None:
        """Tell every listener."""
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:
                log.exception("turn event listener failed")
