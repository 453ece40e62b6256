"""The reply strategy for a turn: from her words (a trained head on the shared encoder), her voice
(the mood estimate, when she consented) and the conversation so far.

The head is a class-balanced softmax over the sentence embedding and hashed
words, optionally mixed with a vote of the nearest labelled examples (the
training script's cross-validation chose the head alone); it is trained by
scripts/train_strategy.py on tests/data/strategy/train.tsv and shipped in
understand/data/. A few cues that must never be missed (thanks, "that's not what
I said", passive hopelessness) are kept small here; emergency phrases belong to
the safety triage, which runs before the strategy is ever asked.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from companion.understand.heads import DATA_DIR, ExemplarBank, LinearHead
from companion.understand.reading import Reading, Understanding

HEAD_PATH = DATA_DIR / "strategy_head.npz"
EXEMPLARS_PATH = DATA_DIR / "strategy_exemplars.npz"
BOW_DIM = 4096  # hashed word and word-pair counts appended to the embedding
NEIGHBOURS = 5  # nearest labelled examples that vote
KNN_WEIGHT = 0.4  # share of the neighbours' vote, when the head file does not say (training chooses it by CV)
VOICE_MIN_CONFIDENCE = 0.45  # a voice estimate below this does not change the strategy
CONTINUE_WINDOW_S = 180.0  # a short reply this soon after an emotional turn continues its strategy
UNSURE = 0.45  # below this the words alone do not decide a short reply


class Strategy(str, Enum):
    """How to answer her this turn."""

    COMFORT = "comfort"  # grief, sadness, loneliness
    REASSURE = "reassure"  # worry
    CARE = "care"  # unwell, not an emergency: sympathy, and who can help
    SAFETY_CHECK = "safety_check"  # hopelessness: the safety triage's; never answered by the LLM
    CELEBRATE = "celebrate"  # good news, pride
    THANKS = "thanks"  # she thanks it
    BACK_OFF = "back_off"  # irritation with it
    REORIENT = "reorient"  # confusion
    INVITE_STORY = "invite_story"  # reminiscing
    CHAT = "chat"  # small talk
    ABOUT_ITSELF = "about_itself"  # questions about the companion: answered honestly
    DECLINE = "decline"  # selling, medical advice: kindly declined


# strategies whose feeling carries over to a short answer in the same conversation
CONTINUING = frozenset({Strategy.COMFORT, Strategy.REASSURE, Strategy.CARE, Strategy.SAFETY_CHECK,
                        Strategy.CELEBRATE, Strategy.INVITE_STORY})
# what a clear voice means when the words carry no feeling (mood estimate categories)
VOICE_STRATEGY = {"sad": Strategy.COMFORT, "happy": Strategy.CELEBRATE, "surprised": Strategy.CELEBRATE,
                  "fearful": Strategy.REASSURE}

# Cues that must never be missed. Kept small: the head does the rest.
_THANKS = re.compile(r"^(?:oh |well |um |er |that is |that was |ok |okay |lovely |right )*(?:thank you|thanks|thank u|ta|"
                     r"cheers|much obliged|many thanks)\b(?!.*\b(?:but|not|no)\b)")
_MISHEARD = re.compile(r"\b(?:that is not what i (?:said|meant|asked)|i (?:did not|never) say (?:that|it)|"
                       r"you misheard|you heard (?:me )?wrong|i said \w+ not\b|that is not what i asked)\b")
_HOPELESS = re.compile(
    r"\bbetter off (?:without me|dead|if i (?:was|were) (?:not|gone|dead))\b|\bwhat is the (?:point|use) (?:of|in) "
    r"(?:anything|me|going on|living|carrying on|it all)\b|\b(?:a|such a) burden\b|\bwaiting to (?:go|die)\b|"
    r"\b(?:not|never) wake up\b|\bnothing (?:left )?to live for\b|\b(?:tired|sick) of (?:living|life|being alive)\b|"
    r"\b(?:do not|no longer) want to (?:be here|live|go on)\b|\bnobody needs me\b|\bno one needs me\b|"
    r"\b(?:nobody|no one) would (?:even )?(?:notice|miss me|care)\b|\bgiving up on (?:everything|life)\b|"
    r"\bno point (?:in )?(?:carrying on|going on|living)\b|\bhad enough of (?:life|living)\b")
GOODBYE = re.compile(r"^(?:oh |well |right |ok |okay |thanks |thank you |love |dear )*(?:good ?night|night night|nighty night|"
                     r"bye|bye bye|goodbye|cheerio|ta ta|ta ra|see you|i am off to bed|i am going to bed|off to bed now|"
                     r"sleep well|speak to you|talk to you)(?: \w+){0,3}$")
HER_APOLOGY = re.compile(r"\bsorry (?:to|for|i am) (?:be(?:ing)? (?:a|such a) (?:nuisance|pain|bother|burden on you)|"
                     r"bother(?:ing)? you|going on|moaning|rambling|keeping you|taking up your time)\b")
# Insults aimed at the companion are irritation with it ("you're useless you are"), never hopelessness.
_AT_IT = re.compile(r"^(?:oh |well |honestly |god )*you (?:are |really are )?(?:so |such an? |an? |bloody |completely |"
                    r"just |absolutely )?(?:useless|stupid|hopeless|rubbish|daft|thick|no good|no use|pointless|"
                    r"a waste of (?:space|time|money)|an idiot|a nuisance|annoying|getting on my nerves)\b")
# Asking it to buy, order or fetch something: declined kindly (it never makes purchases).
_PURCHASE = re.compile(r"\b(?:can|could|will|would) you (?:please )?(?:buy|order|get|fetch|send) me\b|"
                       r"\b(?:buy|order) me\b|\bcan you (?:buy|order)\b")
_SHORT_WORDS = 5  # a reply this short ("yes he was", "forty years") leans on the conversation
_MODERATE_WORDS = 10  # after grief, a reply this short that only sounds like chat is still about the loss
CLEAR_IRRITATION = 0.7  # a short answer after grief is irritation only when the words are this sure


@dataclass(frozen=True)
class VoiceMood:
    """What the mood stage heard in her voice this turn (only when she consented)."""

    category: str  # one of the emotion model's 8 categories
    confidence: float


@dataclass(frozen=True)
class Recent:
    """A strategy chosen earlier in this conversation, and how long ago."""

    strategy: Strategy
    seconds_ago: float


@dataclass(frozen=True)
class StrategyChoice:
    """The strategy for this turn and why."""

    strategy: Strategy
    confidence: float
    basis: str  # "words" | "cue" | "voice" | "conversation"
    words: Strategy  # what the words alone said
    misheard: bool = False  # back off because it got her words wrong: say so and ask her to repeat
    probs: dict[str, float] = field(default_factory=dict, compare=False)


def bag_of_words(norm: str, dim: int = BOW_DIM) -> np.ndarray:
    """Hashed counts of the words and word pairs, unit length: the head sees "used to" and "thank you" directly."""
    words = norm.split()
    v = np.zeros(dim, np.float32)
    for gram in words + [f"{a}_{b}" for a, b in zip(words, words[1:])]:
        v[zlib.crc32(gram.encode()) % dim] += 1.0
    n = float(np.linalg.norm(v))
    return v / n if n else v


def strategy_features(reading: Reading, bow_weight: float) -> np.ndarray:
    """What the head reads: the sentence embedding, then (scaled) hashed words."""
    if not bow_weight:
        return reading.vector
    return np.concatenate([reading.vector, bow_weight * bag_of_words(reading.norm)])


class StrategyModel:
    """The trained head and exemplar vote over one utterance, plus the voice and conversation rules."""

    def __init__(self, head: LinearHead, exemplars: ExemplarBank | None, knn_weight: float = KNN_WEIGHT,
                 bow_weight: float = 0.0) -> None:
        self.head = head
        self.exemplars = exemplars
        self.knn_weight = knn_weight
        self.bow_weight = bow_weight
        self.labels = tuple(Strategy(label) for label in head.labels)

    @classmethod
    def load(cls, head: Path = HEAD_PATH, exemplars: Path = EXEMPLARS_PATH) -> "StrategyModel":
        """The shipped head and exemplars (ModelMissingError names the fix if absent)."""
        linear = LinearHead.load(head)
        with np.load(head, allow_pickle=False) as z:
            knn = float(z["knn_weight"]) if "knn_weight" in z.files else KNN_WEIGHT
            bow = float(z["bow_weight"]) if "bow_weight" in z.files else 0.0
        bank = ExemplarBank.load(exemplars) if knn > 0 else None  # cross-validation may choose the head alone
        return cls(linear, bank, knn_weight=knn, bow_weight=bow)

    def save(self, head: Path = HEAD_PATH, exemplars: Path = EXEMPLARS_PATH) -> None:
        """Write the head (with the neighbours' and the words' weights) and, when they vote, the exemplars."""
        np.savez_compressed(head, labels=np.array(self.head.labels), weights=self.head.weights,
                            bias=self.head.bias, knn_weight=np.array(self.knn_weight),
                            bow_weight=np.array(self.bow_weight))
        if self.knn_weight > 0 and self.exemplars is not None:
            self.exemplars.save(exemplars)
        elif exemplars.exists():
            exemplars.unlink()

    def word_probs(self, reading: Reading) -> dict[Strategy, float]:
        """p(strategy | words): the head's softmax mixed with the nearest examples' similarity-weighted vote."""
        head = self.head.probs(strategy_features(reading, self.bow_weight))
        vote = {s: 0.0 for s in self.labels}
        w = self.knn_weight
        if not w or self.exemplars is None:
            return {s: head[s.value] for s in self.labels}
        near = self.exemplars.nearest(reading.vector, k=NEIGHBOURS)
        total = sum(max(sim, 0.0) for sim, _, _ in near) or 1.0
        for sim, label, _ in near:
            vote[Strategy(label)] += max(sim, 0.0) / total
        return {s: (1 - w) * head[s.value] + w * vote[s] for s in self.labels}

    def from_words(self, reading: Reading) -> StrategyChoice:
        """The strategy her words alone ask for (what the evaluation measures)."""
        probs = self.word_probs(reading)
        best = max(probs, key=probs.__getitem__)
        norm = reading.norm
        named = {k.value: round(v, 3) for k, v in probs.items()}
        if _MISHEARD.search(norm):
            return StrategyChoice(Strategy.BACK_OFF, 1.0, "cue", best, misheard=True, probs=named)
        if _AT_IT.search(norm):
            return StrategyChoice(Strategy.BACK_OFF, 1.0, "cue", best, probs=named)
        if _PURCHASE.search(norm):
            return StrategyChoice(Strategy.DECLINE, 1.0, "cue", best, probs=named)
        if _HOPELESS.search(norm):
            return StrategyChoice(Strategy.SAFETY_CHECK, 1.0, "cue", best, probs=named)
        if GOODBYE.search(norm):  # "night night", "bye for now": a goodbye, whatever the words sound like
            return StrategyChoice(Strategy.CHAT, 1.0, "cue", best, probs=named)
        if HER_APOLOGY.search(norm):  # "sorry to be a nuisance" needs reassuring, not a safety check
            return StrategyChoice(Strategy.REASSURE, 1.0, "cue", best, probs=named)
        if _THANKS.search(norm) and len(norm.split()) <= 12:
            return StrategyChoice(Strategy.THANKS, 1.0, "cue", best, probs=named)
        return StrategyChoice(best, probs[best], "words", best, probs=named)

    def choose(self, reading: Reading, voice: VoiceMood | None = None,
               recent: list[Recent] | None = None) -> StrategyChoice:
        """Words first; a clear voice when the words carry no feeling; the conversation for short replies."""
        choice = self.from_words(reading)
        if choice.basis == "cue":
            return choice
        words = len(reading.norm.split())
        last = next((r for r in (recent or []) if r.seconds_ago <= CONTINUE_WINDOW_S), None)
        if last is not None and last.strategy in CONTINUING and self._carries_on(choice, last.strategy, words):
            return StrategyChoice(last.strategy, choice.confidence, "conversation", choice.words, probs=choice.probs)
        if voice is not None and choice.strategy is Strategy.CHAT and voice.confidence >= VOICE_MIN_CONFIDENCE:
            heard = VOICE_STRATEGY.get(voice.category)
            if heard is not None:
                return StrategyChoice(heard, voice.confidence, "voice", choice.words, probs=choice.probs)
        return choice

    @staticmethod
    def _carries_on(choice: StrategyChoice, last: Strategy, words: int) -> bool:
        """Does this answer carry on the feeling of the turn before?

        A short answer ("yes he was", "forty years") does, unless its words clearly
        say something of their own. After grief or hopelessness a somewhat longer
        one does too when its words only sound like chat, a memory or news
        ("fifty two years we were married" is still about him), and a short answer
        is irritation only when the words say so clearly.
        """
        heavy = last in (Strategy.COMFORT, Strategy.SAFETY_CHECK)
        if choice.strategy is Strategy.SAFETY_CHECK:
            return False
        if choice.strategy is Strategy.BACK_OFF:
            return heavy and words <= _SHORT_WORDS and choice.confidence < CLEAR_IRRITATION
        if words <= _SHORT_WORDS and (choice.strategy is Strategy.CHAT or choice.confidence < UNSURE):
            return True
        return heavy and words <= _MODERATE_WORDS and choice.strategy in (
            Strategy.CHAT, Strategy.INVITE_STORY, Strategy.CELEBRATE)


def shared_model(understanding: Understanding) -> StrategyModel:
    """The strategy head, loaded once per Understanding and shared: the reply flow chooses with it, and
    safety triage asks it for a second opinion."""
    if understanding.strategy_model is None:
        understanding.strategy_model = StrategyModel.load()
    return understanding.strategy_model
