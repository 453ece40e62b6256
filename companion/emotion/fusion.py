"""How she seems to feel: voice and words fused into one estimate, and how the reply should resonate.

The voice (emotion_model) is best at arousal, the words (VADER plus explicit
statements such as "I feel lonely") at valence. An explicit statement wins
over weak acoustic evidence. The estimate tells the LLM how to respond and the
TTS how to sound; it never makes the companion claim feelings of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from companion.emotion.model import CATEGORIES4, CATEGORIES8, VoicePrediction

STRONG_VOICE = 0.6  # voice confidence at or above which an explicit statement does not replace the category
TEXT_VALENCE_WEIGHT = 0.7  # share of valence taken from clear words (the rest from the voice)
TEXT_SENTIMENT_FULL = 0.3  # |VADER compound| at which the words get their full weight
WORD_CATEGORY_GAIN = 2.0  # how strongly word sentiment reweights the voice's categories
STATED_SHARE = 0.75  # probability an explicit statement gets when it wins
MIN_HINT_CONFIDENCE = 0.4  # below this the reply is not steered (a wrong guess does more harm)

# sign of each category's valence: words with a sentiment favour the categories that agree
CATEGORY_VALENCE = {"neutral": 0, "calm": 0, "happy": 1, "surprised": 1, "sad": -1, "angry": -1, "fearful": -1, "disgust": -1}
TO_FOUR = {"neutral": "neutral", "calm": "neutral", "happy": "happy", "surprised": "happy", "sad": "sad", "angry": "angry", "disgust": "angry"}
# what an explicit statement implies: (valence, probability of high arousal)
STATED = {
    "sad": (-0.7, 0.2), "happy": (0.8, 0.65), "fearful": (-0.6, 0.85), "angry": (-0.7, 0.85),
    "disgust": (-0.6, 0.6), "calm": (0.4, 0.15), "surprised": (0.3, 0.85),
}
FEELING_WORDS = {
    "sad": "lonely|alone|sad|down|low|depressed|miserable|unhappy|blue|heartbroken|gloomy|empty|hopeless|upset|tearful",
    "happy": "happy|glad|delighted|thrilled|cheerful|joyful|wonderful|great|fantastic|excited|pleased|over the moon",
    "fearful": "scared|afraid|frightened|terrified|worried|anxious|nervous|panicky|panicking|uneasy|fearful|on edge",
    "angry": "angry|furious|annoyed|irritated|cross|mad|fed up|sick of|sick and tired|frustrated|livid",
    "disgust": "disgusted|revolted|sickened",
    "calm": "calm|relaxed|peaceful|at peace|content",
    "surprised": "surprised|amazed|astonished|shocked",
}
_FRAME = r"\b(?:i am|i'm|im|i feel|i felt|i'm feeling|i am feeling|feeling|i've been|i have been|i get|i got|makes me|made me|i was)\b"
_GAP = r"((?:\s+(?!and\b|but\b)[\w']+){0,3}?)"  # up to three words between: "so", "really", "a bit", "not"
_NEGATION = re.compile(r"\b(?:not|never|no longer|hardly)\b|n't\b")
# words that also mean other things ("I'm low on milk", "down to the shops", "mad about roses")
_AMBIGUOUS = re.compile(r"^(?:down|low|blue|empty|alone|mad|cross|great)$")
_NOT_FEELING_NEXT = re.compile(r"\s+(?:on|to|in|of|the|a|an|my|for|about|into)\b")
_PATTERNS = [(cat, re.compile(_FRAME + _GAP + r"\s+(" + words + r")\b")) for cat, words in FEELING_WORDS.items()]
_MISSING = re.compile(r"\bi (?:really |so )?miss (?:him|her|them|my|you)\b")


def stated_feeling(text: str) -> str | None:
    """The category she states outright ("I feel lonely" → sad), or None."""
    t = " " + re.sub(r"[^\w' ]+", " ", text.lower().replace("’", "'")) + " "
    for cat, pattern in _PATTERNS:
        for m in pattern.finditer(t):
            if _AMBIGUOUS.match(m.group(2)) and _NOT_FEELING_NEXT.match(t, m.end()):
                continue
            if _NEGATION.search(m.group(1) or ""):
                if cat in ("happy", "calm"):
                    return "sad"  # "I'm not happy" states a low mood; "not scared" states nothing
                continue
            return cat
    return "sad" if _MISSING.search(t) else None


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def text_sentiment(text: str) -> float:
    """VADER compound score of the transcript, -1 (negative) .. 1 (positive)."""
    return float(_vader().polarity_scores(text)["compound"]) if text.strip() else 0.0


@dataclass(frozen=True)
class EmotionEstimate:
    """One turn's mood estimate (a guess: it steers tone, never asserts her feelings)."""

    at: datetime
    arousal: str  # "low" or "high"
    arousal_p: float  # confidence in `arousal`, 0.5..1
    valence: float  # -1 (negative) .. 1 (positive)
    category: str  # one of CATEGORIES8
    confidence: float
    category4: str  # one of CATEGORIES4
    confidence4: float
    text_sentiment: float | None  # VADER compound of the transcript
    source: str  # "voice+words" or "words"
    stated: str | None = None  # category she stated in words, if any
    voice_mode: str | None = None  # "cold" or "baseline" (None when words only)
    probs: dict[str, float] = field(default_factory=dict, compare=False)  # fused 8-class probabilities

    def to_dict(self) -> dict[str, Any]:
        """The `mood` table document (JSON-safe)."""
        return {
            "at": self.at.isoformat(), "arousal": self.arousal, "arousal_p": round(self.arousal_p, 3),
            "valence": round(self.valence, 3), "category": self.category, "confidence": round(self.confidence, 3),
            "category4": self.category4, "confidence4": round(self.confidence4, 3),
            "text_sentiment": None if self.text_sentiment is None else round(self.text_sentiment, 3),
            "source": self.source,
        }

    def _stance(self) -> str:
        """How the reply should resonate: comfort, calm, back_off, share_joy, check_in or none."""
        if self.stated is None and self.confidence < MIN_HINT_CONFIDENCE:
            return "check_in" if self.valence < -0.4 else "none"
        cat = self.category
        if cat == "sad":
            return "comfort"
        if cat == "fearful":
            return "calm"
        if cat in ("angry", "disgust"):
            return "back_off"
        if cat in ("happy", "surprised") and self.valence > -0.2:
            return "share_joy"
        return "check_in" if self.valence < -0.3 else "none"

    def prompt_hint(self) -> str:
        """A line for the LLM prompt: how she seems and how to answer ('' when nothing to say)."""
        guidance = {
            "comfort": "She seems sad or low. Be warm and gentle: acknowledge how she feels in simple words, "
            "listen more than you advise, don't rush to cheer her up; if it fits, mention someone she could talk to.",
            "calm": "She seems worried or anxious. Answer calmly and slowly, in short reassuring sentences, "
            "one thing at a time; don't add anything new to worry about.",
            "back_off": "She seems irritated. Keep it short and calm, don't argue and don't match her tone, "
            "don't be chirpy; acknowledge it and offer to leave it for now.",
            "share_joy": "She seems cheerful. Share her joy warmly: show interest in what pleased her and let her tell more.",
            "check_in": "She may be a little low. Check in gently with one kind question, without pushing.",
        }.get(self._stance())
        if not guidance:
            return ""
        return f"[Mood, a guess from her voice and words] {guidance} Never claim feelings of your own; don't tell her how she feels."

    def voice_style(self) -> tuple[float, float]:
        """(length_scale multiplier, volume multiplier) for TTS: slower and softer when she is low or anxious."""
        return {
            "comfort": (1.12, 0.88),
            "calm": (1.15, 0.88),
            "back_off": (1.05, 0.92),  # calm and a little quieter, never louder back
            "check_in": (1.05, 0.95),
            "share_joy": (0.97, 1.0),
        }.get(self._stance(), (1.0, 1.0))


def _normalise(p: dict[str, float]) -> dict[str, float]:
    total = sum(p.values()) or 1.0
    return {k: v / total for k, v in p.items()}


def _lift(p: dict[str, float], cls: str, share: float = STATED_SHARE) -> dict[str, float]:
    """Give `cls` at least `share` of the probability, scaling the others down in proportion."""
    if p[cls] >= share:
        return p
    rest = 1.0 - p[cls]
    return {c: share if c == cls else v * (1.0 - share) / rest for c, v in p.items()}


def _reweight(probs: dict[str, float], sentiment: float) -> dict[str, float]:
    """Shift category probabilities toward the valence the words express."""
    import math

    return _normalise({c: p * math.exp(WORD_CATEGORY_GAIN * sentiment * CATEGORY_VALENCE[c]) for c, p in probs.items()})


def fuse(at: datetime, text: str, voice: VoicePrediction | None) -> EmotionEstimate:
    """Combine the voice prediction (or None) with the words of the same turn."""
    sentiment = text_sentiment(text)
    stated = stated_feeling(text)
    w_text = TEXT_VALENCE_WEIGHT * min(1.0, abs(sentiment) / TEXT_SENTIMENT_FULL)
    if voice is not None:
        p_high = voice.probs["arousal"]["high"]
        # neutral and calm voices pull toward 0 instead of being forced positive or negative
        v_voice = sum(p * CATEGORY_VALENCE[c] for c, p in voice.probs["8class"].items())
        p8 = _reweight(voice.probs["8class"], sentiment * min(1.0, abs(sentiment) / TEXT_SENTIMENT_FULL))
        p4 = _reweight(voice.probs["4class"], sentiment * min(1.0, abs(sentiment) / TEXT_SENTIMENT_FULL))
        valence = w_text * sentiment + (1.0 - w_text) * v_voice
    else:
        # words alone: neutral unless the words carry a clear sentiment
        p_high, valence = 0.5, sentiment
        lean = "happy" if sentiment >= 0.5 else "sad" if sentiment <= -0.5 else "neutral"
        strength = 0.4 + 0.3 * min(1.0, abs(sentiment))
        p8 = {c: (strength if c == lean else (1 - strength) / 7) for c in CATEGORIES8}
        p4 = {c: (strength if c == lean else (1 - strength) / 3) for c in CATEGORIES4}
    if stated is not None:
        heard = voice.top("8class") if voice is not None else (stated, 0.0)
        if heard[1] < STRONG_VOICE or heard[0] == stated:
            # the words win: she said it outright and the voice does not clearly say otherwise
            p8 = _lift(p8, stated)
            if stated in TO_FOUR:
                p4 = _lift(p4, TO_FOUR[stated])
        s_val, s_high = STATED[stated]
        valence = 0.7 * s_val + 0.3 * valence
        if voice is None or abs(p_high - 0.5) < 0.25:
            p_high = 0.5 * p_high + 0.5 * s_high if voice is not None else s_high
    cat, cat4 = max(p8, key=p8.__getitem__), max(p4, key=p4.__getitem__)
    arousal = "high" if p_high > 0.5 else "low"  # no evidence either way (words only): calm
    return EmotionEstimate(
        at=at, arousal=arousal, arousal_p=max(p_high, 1 - p_high), valence=max(-1.0, min(1.0, valence)),
        category=cat, confidence=p8[cat], category4=cat4, confidence4=p4[cat4],
        text_sentiment=sentiment if text.strip() else None, source="voice+words" if voice is not None else "words",
        stated=stated, voice_mode=voice.mode if voice is not None else None, probs=p8,
    )
