"""Safety triage: is this an emergency, which kind, and how sure are we?

One utterance → a Triage: a category (fall, medical, suicidal, fire, stranger, scam,
lost, help — or None), a tier (EMERGENCY: script and alert at once; CHECK: one
short direct question first; NONE: ordinary talk) and a score (the probability that
it is not ordinary talk). Made from three things, all on the device:

- the sentence embedding of the words (understand.encoder, all-MiniLM-L6-v2),
- the emergency words of understand.emergency_words (broad, per category), and
- the cues of understand.rules (past, reported, question, denial, joke, now ...),

weighed by one linear head trained by scripts/train_safety.py on the labelled train
split (tests/data/safety/train.tsv + the red-team list) and shipped in
understand/data/. The thresholds between tiers were chosen there by
cross-validation on the train split; the test split is only ever evaluated
(scripts/eval_safety.py). An exemplar bank of the training sentences names the
closest labelled example, for logs and for `companion safety classify`.

"hopeless" is a class of its own (what's the point, I'm a burden): it is reported as
category "suicidal" with tier CHECK, so she is asked a caring, direct question and
her answer decides.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from companion.errors import ModelMissingError
from companion.language import normalize
from companion.understand import emergency_words
from companion.understand.heads import DATA_DIR, ExemplarBank, LinearHead
from companion.understand.reading import Understanding
from companion.understand.rules import Cues, clauses, read_cues, strip_fillers
from companion.understand.strategy import shared_model

log = logging.getLogger(__name__)

# Most serious first: when two are equally likely, the more serious one answers.
CATEGORIES = ("suicidal", "medical", "fall", "fire", "stranger", "scam", "lost", "help")
HOPELESS = "hopeless"  # a label of the head, reported as category "suicidal", tier CHECK
NONE = "none"
HEAD_FILE = DATA_DIR / "safety_head.npz"
BANK_FILE = DATA_DIR / "safety_bank.npz"
SETTINGS_FILE = DATA_DIR / "safety.json"
# A CHECK with no fresh emergency word stands down when the strategy head is at least this sure of everyday talk.
SECOND_OPINION_CONFIDENCE = 0.6
# Emergency-word groups that name a feeling ("frightened", "something terrible", "a nuisance"), not an event:
# they do not stop the second opinion (fall, fire, medical, lost, stranger, scam and suicidal words do).
SOFT_WORDS = frozenset({"help", "hopeless"})  # thresholds chosen by the training script
TRAINED_BY = "scripts/train_safety.py"
EMBEDDING_SCALE = 3.0  # unit-length embeddings next to 0/1 word and cue features: chosen by cross-validation


class Tier(str, Enum):
    """What the safety skill does with an utterance."""

    EMERGENCY = "emergency"  # the category's script and an alert, at once
    CHECK = "check"  # one short direct question; her answer escalates or stands down
    NONE = "none"  # ordinary talk


@dataclass(frozen=True)
class Thresholds:
    """Score limits between the tiers (probability that the utterance is not ordinary talk)."""

    check: float = 0.5
    emergency: float = 0.8


@dataclass(frozen=True)
class Triage:
    """The safety reading of one utterance."""

    text: str
    norm: str  # normalised, fillers removed: what the head saw
    category: str | None
    tier: Tier
    score: float  # 0..1: how likely this is not ordinary talk
    hopeless: bool = False  # passive hopelessness rather than a stated wish to die
    cues: Cues = field(default_factory=Cues)
    words: dict[str, str] = field(default_factory=dict)  # category → the emergency words heard
    nearest: tuple[float, str, str] | None = None  # the closest labelled example: (cosine, label, text)

    @property
    def urgent(self) -> bool:
        """Anything but ordinary talk."""
        return self.tier is not Tier.NONE

    def to_json(self) -> dict[str, object]:
        """The stable shape printed by `companion safety classify`."""
        return {"text": self.text, "category": self.category, "tier": self.tier.value, "score": round(self.score, 3)}


def prepare(text: str) -> str:
    """The words as the head reads them: normalised, contractions spelled out, fillers gone."""
    return strip_fillers(normalize(text))


def triage_features(vector: np.ndarray, norm: str) -> tuple[np.ndarray, Cues, dict[str, str]]:
    """The head's input: the embedding, the utterance's cues, its emergency words, and its *fresh* words.

    Emergency words are fresh when the clause they are in has no discounting cue: in "I'm not
    hurt but I can't get up" the fall words of the second clause are fresh, in "I fell last
    winter" they are not. The head learns, per category, how much a discounted word still counts.
    """
    cues = read_cues(norm)
    found = emergency_words.matches(norm)
    fresh: dict[str, str] = {}
    parts = [(part, read_cues(part)) for part in clauses(norm)]
    for i, (part, part_cues) in enumerate(parts):
        resolved_later = any(later.resolved for _, later in parts[i + 1:])
        if (part_cues.discounting() or resolved_later) and not cues.cry:
            continue
        for category, words in emergency_words.matches(part).items():
            fresh.setdefault(category, words)
    x = np.concatenate([vector.astype(np.float32) * EMBEDDING_SCALE, cues.vector(), emergency_words.vector(found),
                        emergency_words.vector(fresh)])
    return x, cues, fresh


class SafetyTriage:
    """The trained safety head over the shared Understanding (loaded once with it)."""

    def __init__(self, understanding: Understanding, head: LinearHead, bank: ExemplarBank | None = None,
                 thresholds: Thresholds = Thresholds()) -> None:
        self.understanding = understanding
        self.head = head
        self.bank = bank
        self.thresholds = thresholds

    @classmethod
    def load(cls, understanding: Understanding, directory: Path = DATA_DIR) -> "SafetyTriage":
        """The shipped head, exemplar bank and thresholds (ModelMissingError names the fix)."""
        head = LinearHead.load(directory / HEAD_FILE.name)
        bank = ExemplarBank.load(directory / BANK_FILE.name) if (directory / BANK_FILE.name).is_file() else None
        try:
            limits = json.loads((directory / SETTINGS_FILE.name).read_text(encoding="utf-8"))
            thresholds = Thresholds(float(limits["check"]), float(limits["emergency"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelMissingError(f"{directory / SETTINGS_FILE.name} is missing or unreadable ({exc}); "
                                    f"it ships with the package, or run {TRAINED_BY}") from exc
        return cls(understanding, head, bank, thresholds)

    def triage(self, text: str) -> Triage:
        """Category, tier and score of one utterance."""
        norm = prepare(text)
        if not norm:
            return Triage(text, norm, None, Tier.NONE, 0.0)
        vector = self.understanding.encoder.encode(norm)
        x, cues, found = triage_features(vector, norm)
        probs = self.head.probs(x)
        score = 1.0 - probs.get(NONE, 0.0)
        label = max((k for k in probs if k != NONE), key=lambda k: (probs[k], -_rank(k)))
        nearest = self.bank.nearest(vector, k=1)[0] if self.bank is not None else None
        hopeless = label == HOPELESS
        category = "suicidal" if hopeless else label
        if score >= self.thresholds.emergency and not hopeless:
            tier = Tier.EMERGENCY
        elif score >= self.thresholds.check:
            tier = Tier.CHECK
        else:
            tier = Tier.NONE
        if tier is Tier.CHECK and not set(found) - SOFT_WORDS and not cues.cry and self._everyday(text):
            tier = Tier.NONE  # no emergency word, and the strategy head reads everyday talk: no question
        if cues.cry and not cues.request:
            # "help", "help me", "um er help": a bare cry is always an emergency, however the head scores it
            if tier is Tier.NONE:
                category = "fire" if "fire" in norm.split() else "help"
            tier, score = Tier.EMERGENCY, max(score, 0.95)
        return Triage(text, norm, category if tier is not Tier.NONE else None, tier, score, hopeless and
                      tier is not Tier.NONE, cues, found, nearest)


    def _everyday(self, text: str) -> bool:
        """A second opinion for the CHECK tier, from the reply-strategy head (trained on other data: everyday
        talk, irritation with the device, questions about it): does it confidently read anything but
        hopelessness? Then "go away" or "are you a man or a woman" is not asked about thoughts of ending
        her life. Only used when no fresh emergency word names an event (SOFT_WORDS name feelings)."""
        try:
            choice = shared_model(self.understanding).from_words(self.understanding.read(text))
        except Exception:  # noqa: BLE001 - without the second opinion, the safety head alone decides
            log.exception("strategy head unavailable: the safety check stands")
            return False
        return choice.strategy.value != "safety_check" and choice.confidence >= SECOND_OPINION_CONFIDENCE


def _rank(label: str) -> int:
    return CATEGORIES.index(label) if label in CATEGORIES else len(CATEGORIES)
