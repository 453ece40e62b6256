"""What recognisers hand to the loop: words with timings, a final transcript, a hypothesis so far."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing inside the utterance (seconds)."""

    word: str
    start_s: float
    end_s: float
    confidence: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """The final result of one utterance."""

    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Hypothesis:
    """What the recogniser makes of her words so far, and how far to trust the last one."""

    text: str
    last_word_confidence: float = 1.0  # Whisper: the word's probability; streaming: 1.0 once stable, else 0.0
    settled: bool = False  # the final text for all audio so far (a non-streaming decode finished)
    pending: bool = False  # a decode of all audio so far is under way: the words are not known yet
