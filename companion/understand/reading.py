"""One reading of an utterance, made once and shared: the words normalised and their sentence embedding.

Safety triage, the reply strategy, instant intents and memory recall all start
from the same Reading; each adds its own trained head and rules on top
(understand.heads). The encoder is loaded once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.language import normalize
from companion.understand.encoder import SentenceEncoder


@dataclass(frozen=True)
class Reading:
    """What she said, ready for the heads: as heard, normalised, and embedded."""

    text: str
    norm: str  # language.normalize(text): lower case, contractions expanded, known mishearings undone
    vector: np.ndarray  # unit-length sentence embedding of `norm`

    def similarity(self, other: "Reading") -> float:
        """Cosine similarity of two readings."""
        return float(self.vector @ other.vector)


class Understanding:
    """The shared layer: turns text into Readings with one encoder (and its cache)."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.strategy_model = None  # understand.strategy.shared_model loads the strategy head here, once

    @classmethod
    def load(cls) -> "Understanding":
        """With the packaged all-MiniLM-L6-v2 encoder; ModelMissingError names the fix if it is absent."""
        return cls(SentenceEncoder.load())

    def read(self, text: str) -> Reading:
        """The reading of one utterance (the embedding is cached: reading the same words again is free)."""
        norm = normalize(text)
        return Reading(text, norm, self.encoder.encode(norm))
