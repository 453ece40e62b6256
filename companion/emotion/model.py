"""The voice emotion classifier: numpy softmax heads over prosody features, and her baseline.

Two sets of heads share one file (companion/emotion/data/emotion_model.npz):
"cold" heads read globally standardised features (any speaker), "baseline"
heads read features z-normalised against the speaker's own running statistics,
which is how a person who knows her hears a change in her voice. The weights
are trained by scripts/train_emotion.py on RAVDESS (CC BY-NC-SA 4.0).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path(__file__).parent / "data" / "emotion_model.npz"

CATEGORIES8 = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
CATEGORIES4 = ("neutral", "happy", "sad", "angry")
AROUSAL_HIGH = ("angry", "happy", "fearful", "surprised")
AROUSAL_LOW = ("sad", "calm", "neutral")
VALENCE_POSITIVE = ("happy", "calm", "surprised")
VALENCE_NEGATIVE = ("sad", "angry", "fearful", "disgust")
HEADS: dict[str, tuple[str, ...]] = {
    "8class": CATEGORIES8,
    "4class": CATEGORIES4,
    "arousal": ("low", "high"),
    "valence": ("negative", "positive"),
}
# arousal and valence are read off the 8-class probabilities: in speaker-wise CV that beat
# dedicated binary heads (valence UAR +0.09, arousal +0.02), the 4-class head beat the 8-class view
TRAINED_HEADS = ("8class", "4class")
MODES = ("cold", "baseline")
BASELINE_KINDS = ("everyday", "balanced")
EVERYDAY = ("neutral", "calm")  # what her ordinary conversation is taken to sound like
STD_FLOOR = 1e-3  # relative: a feature that never varies for her must not blow up the z-score


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Head:
    """One linear softmax classifier: p = softmax(((x - mean) / std) @ W + b)."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_classes)
    bias: np.ndarray  # (n_classes,)

    def proba(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities for standardised features (1-D or 2-D)."""
        return softmax(np.atleast_2d(z) @ self.weights + self.bias)


def fit_head(z: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], l2: float) -> Head:
    """Class-balanced multinomial logistic regression by L-BFGS (training only)."""
    from scipy.optimize import minimize

    y = np.array([classes.index(str(c)) for c in labels])
    n, d = z.shape
    k = len(classes)
    counts = np.bincount(y, minlength=k).astype(float)
    w = (n / (k * np.maximum(counts, 1)))[y]  # balanced: every class weighs the same in total
    onehot = np.eye(k)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[: d * k].reshape(d, k), theta[d * k :]
        logits = z @ W + b
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        f = -np.sum(w * np.sum(onehot * logp, axis=1)) + 0.5 * l2 * np.sum(W**2)
        g = (np.exp(logp) - onehot) * w[:, None]
        return f, np.concatenate([(z.T @ g + l2 * W).ravel(), g.sum(axis=0)])

    res = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    return Head(classes, res.x[: d * k].reshape(d, k), res.x[d * k :])


class Baseline:
    """Running per-speaker feature mean and variance, forgetting slowly after `window` turns.

    `kind` says what the history is made of: "everyday" (her ordinary
    conversation, mostly calm: the app's baseline) or "balanced" (clips of
    every emotion in equal share, as in a corpus: the eval's baseline).
    """

    def __init__(self, n_features: int, window: int = 500, kind: str = "everyday") -> None:
        if kind not in BASELINE_KINDS:
            raise ValueError(f"baseline kind must be one of {BASELINE_KINDS}, got {kind!r}")
        self.kind = kind
        self.count = 0
        self.mean = np.zeros(n_features)
        self.var = np.zeros(n_features)
        self.window = window  # beyond this, old turns fade: her voice may change over months

    def update(self, x: np.ndarray) -> None:
        """Add one utterance's feature vector."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != self.mean.shape:
            raise ValueError(f"baseline has {self.mean.shape[0]} features, got {x.shape}")
        self.count += 1
        # rate 1/n is the exact running (population) mean/variance; capped, it becomes an EMA
        rate = 1.0 / min(self.count, self.window)
        delta = x - self.mean
        self.mean = self.mean + rate * delta
        self.var = (1.0 - rate) * (self.var + rate * delta**2)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation of each feature so far."""
        return np.sqrt(self.var)

    def zscore(self, x: np.ndarray, floor: np.ndarray) -> np.ndarray:
        """Features as deviations from her usual voice (`floor` keeps the scale sane)."""
        return (np.asarray(x) - self.mean) / np.maximum(self.std, floor)

    @classmethod
    def of(cls, rows: np.ndarray, window: int = 500, kind: str = "everyday") -> "Baseline":
        """A baseline built from a stack of past feature vectors."""
        b = cls(np.shape(rows)[1], window, kind)
        for r in rows:
            b.update(r)
        return b

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the store."""
        return {"count": self.count, "mean": self.mean.tolist(), "var": self.var.tolist(), "window": self.window, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any], n_features: int) -> "Baseline":
        """Restore from the store; a baseline of another feature layout starts afresh."""
        b = cls(n_features, int(d.get("window", 500)), str(d.get("kind", "everyday")))
        if len(d.get("mean", ())) != n_features or len(d.get("var", ())) != n_features:
            log.warning("stored voice baseline does not fit the model's %s features: starting afresh", n_features)
            return b
        b.count, b.mean, b.var = int(d["count"]), np.asarray(d["mean"], float), np.asarray(d["var"], float)
        return b


@dataclass(frozen=True)
class VoicePrediction:
    """What the voice alone says: probabilities for each head, and which model said it."""

    probs: dict[str, dict[str, float]]  # head → class → probability
    mode: str  # "cold" or "baseline"

    def top(self, head: str) -> tuple[str, float]:
        """The most likely class of a head, with its probability."""
        p = self.probs[head]
        best = max(p, key=p.__getitem__)
        return best, p[best]


class EmotionModel:
    """Loads the shipped weights and predicts from a prosody feature vector."""

    def __init__(self, feature_names: tuple[str, ...], scalers: dict[str, tuple[np.ndarray, np.ndarray]],
                 heads: dict[str, dict[str, Head]], baseline_floor: np.ndarray,
                 everyday: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.feature_names = feature_names
        self.scalers = scalers  # mode → (mean, std) applied before the heads
        self.heads = heads  # mode → head name → Head
        self.baseline_floor = baseline_floor  # minimum per-speaker std, per feature
        n = len(feature_names)
        # (shift, scale) from a calm everyday baseline to the balanced one the heads were trained on
        self.everyday = everyday if everyday is not None else (np.zeros(n), np.ones(n))

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL_PATH) -> "EmotionModel":
        """Read an .npz written by `save` (numpy only, no pickle)."""
        p = Path(path)
        if not p.is_file():
            raise ModelMissingError(f"emotion model {p} is missing; run `python scripts/train_emotion.py` to rebuild it")
        with np.load(p, allow_pickle=False) as z:
            names = tuple(str(s) for s in z["feature_names"])
            scalers = {m: (z[f"{m}_mean"], z[f"{m}_std"]) for m in MODES}
            heads = {m: {h: Head(tuple(str(c) for c in z[f"classes_{h}"]), z[f"{m}_{h}_W"], z[f"{m}_{h}_b"]) for h in TRAINED_HEADS} for m in MODES}
            floor = z["baseline_floor"]
            everyday = (z["everyday_shift"], z["everyday_scale"])
        from companion.audio.prosody import FEATURE_NAMES

        if names != FEATURE_NAMES:
            raise ModelMissingError(f"emotion model {p} was trained on other features; retrain with scripts/train_emotion.py")
        return cls(names, scalers, heads, floor, everyday)

    def save(self, path: str | Path) -> None:
        """Write the weights as a compressed .npz."""
        arrays: dict[str, np.ndarray] = {"feature_names": np.array(self.feature_names), "baseline_floor": self.baseline_floor,
                                         "everyday_shift": self.everyday[0], "everyday_scale": self.everyday[1]}
        for m in MODES:
            arrays[f"{m}_mean"], arrays[f"{m}_std"] = self.scalers[m]
            for h, head in self.heads[m].items():
                arrays[f"{m}_{h}_W"], arrays[f"{m}_{h}_b"] = head.weights.astype(np.float32), head.bias.astype(np.float32)
                arrays[f"classes_{h}"] = np.array(head.classes)
        np.savez_compressed(path, **arrays)

    def standardise(self, x: np.ndarray, baseline: Baseline | None) -> tuple[np.ndarray, str]:
        """The heads' input for this vector: baseline z-scores when given, else global."""
        if baseline is not None:
            mean, std = baseline.mean, np.maximum(baseline.std, self.baseline_floor)
            if baseline.kind == "everyday":
                # her usual calm voice sits below a balanced mix of emotions and varies less:
                # move and widen it as the training speakers' calm clips relate to all their clips
                shift, scale = self.everyday
                std = std * scale
                mean = mean + shift * std
            x = (x - mean) / std
            mode = "baseline"
        else:
            mode = "cold"
        mean, std = self.scalers[mode]
        return np.clip((x - mean) / std, -8.0, 8.0), mode  # clip: one broken feature must not decide

    def predict(self, x: np.ndarray, baseline: Baseline | None = None) -> VoicePrediction:
        """Probabilities for every head from one feature vector."""
        z, mode = self.standardise(np.asarray(x, dtype=np.float64), baseline)
        probs = {h: dict(zip(head.classes, map(float, head.proba(z)[0]))) for h, head in self.heads[mode].items()}
        p8 = probs["8class"]
        high, low = sum(p8[c] for c in AROUSAL_HIGH), sum(p8[c] for c in AROUSAL_LOW)
        pos, neg = sum(p8[c] for c in VALENCE_POSITIVE), sum(p8[c] for c in VALENCE_NEGATIVE)
        probs["arousal"] = {"low": low / (high + low), "high": high / (high + low)}
        probs["valence"] = {"negative": neg / (pos + neg), "positive": pos / (pos + neg)}
        return VoicePrediction(probs, mode)
