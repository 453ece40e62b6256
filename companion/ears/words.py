"""A recognised word with its timing: what recognisers hand to the loop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing inside the utterance (seconds)."""

    word: str
    start_s: float
    end_s: float
    confidence: float = 1.0

