"""Labelled emotion corpora: loading, feature extraction, training, speaker-independent scoring.

Shared by scripts/train_emotion.py (cross-validation and the shipped weights)
and `companion emotion eval` (scoring the shipped weights on new speakers).
Every figure is speaker-independent: a speaker's clips are never both trained
on and tested on, and a "baseline" for a clip comes from that speaker's
*other* clips only.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from companion.audio import prosody
from companion.emotion.model import (
    AROUSAL_HIGH,
    AROUSAL_LOW,
    CATEGORIES4,
    CATEGORIES8,
    EVERYDAY,
    HEADS,
    MODES,
    TRAINED_HEADS,
    VALENCE_NEGATIVE,
    VALENCE_POSITIVE,
    Baseline,
    EmotionModel,
    fit_head,
)
from companion.errors import AudioFormatError, ConfigError

log = logging.getLogger(__name__)

L2 = 30.0  # ridge strength per unit of (balanced) sample weight; chosen by speaker-wise CV, flat from 10 to 100
FLOOR_FRACTION = 0.1  # baseline std floor, as a fraction of the typical within-speaker std
SYNONYMS = {
    "neu": "neutral", "neutrality": "neutral", "hap": "happy", "happiness": "happy", "joy": "happy",
    "sadness": "sad", "sa": "sad", "ang": "angry", "anger": "angry", "fear": "fearful", "fea": "fearful",
    "afraid": "fearful", "disgusted": "disgust", "dis": "disgust", "surprise": "surprised", "sur": "surprised",
    "ps": "surprised", "calmness": "calm",
}  # other corpora spell the same categories differently


@dataclass(frozen=True)
class Clip:
    """One labelled recording."""

    path: Path
    speaker: str
    emotion: str


def normalise_label(label: str) -> str:
    """A corpus' emotion label as one of the eight categories (or unchanged if unknown)."""
    s = label.strip().lower()
    return SYNONYMS.get(s, s)


def read_labels(directory: Path) -> list[Clip]:
    """Clips listed in DIR/labels.csv (columns file,speaker,emotion; extra columns ignored)."""
    path = directory / "labels.csv"
    if not path.is_file():
        raise ConfigError(f"{path} not found: the directory needs a labels.csv with columns file,speaker,emotion")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "speaker", "emotion"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(sorted(missing))}; need file,speaker,emotion")
        clips = [Clip(directory / r["file"], r["speaker"].strip(), normalise_label(r["emotion"])) for r in reader]
    unknown = sorted({c.emotion for c in clips} - set(CATEGORIES8))
    if unknown:
        log.warning("%s: labels outside the eight categories are ignored: %s", path, ", ".join(unknown))
    return [c for c in clips if c.emotion in CATEGORIES8]


def load_audio(path: Path) -> np.ndarray:
    """A WAV/FLAC/OGG file as float32 mono at 16 kHz (uses the soundfile package)."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioFormatError(f"cannot read audio file {path}: {exc}") from exc
    return prosody.to_float(data.mean(axis=1), rate)


def features(clips: list[Clip], progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, float]:
    """Feature matrix of the clips and the extraction time in ms per second of audio."""
    rows, spent, audio_s = [], 0.0, 0.0
    for i, clip in enumerate(clips):
        audio = load_audio(clip.path)
        t0 = time.perf_counter()
        rows.append(prosody.extract(audio).vector)
        spent += time.perf_counter() - t0
        audio_s += len(audio) / prosody.SAMPLE_RATE_HZ
        if progress:
            progress(i + 1, len(clips))
    return np.stack(rows), 1000.0 * spent / max(audio_s, 1e-9)


def task_targets(emotions: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each head: which clips take part and their target labels."""
    e = np.asarray(emotions)
    both = np.isin(e, AROUSAL_HIGH + AROUSAL_LOW)
    vboth = np.isin(e, VALENCE_POSITIVE + VALENCE_NEGATIVE)
    return {
        "8class": (np.ones(len(e), bool), e),
        "4class": (np.isin(e, CATEGORIES4), e),
        "arousal": (both, np.where(np.isin(e, AROUSAL_HIGH), "high", "low")),
        "valence": (vboth, np.where(np.isin(e, VALENCE_POSITIVE), "positive", "negative")),
    }


def uar(truth: Iterable[str], pred: Iterable[str]) -> float:
    """Unweighted average recall over the classes present in `truth`."""
    t, p = np.asarray(list(truth)), np.asarray(list(pred))
    classes = np.unique(t)
    return float(np.mean([np.mean(p[t == c] == c) for c in classes])) if len(classes) else float("nan")


def baselines(X: np.ndarray, speakers: np.ndarray, min_count: int = 0, emotions: np.ndarray | None = None) -> list[Baseline | None]:
    """For each clip, a baseline from the same speaker's other clips (None if too few).

    With `emotions`, only the speaker's other calm/neutral clips make the
    baseline ("everyday" kind, as in the app); without, all of them ("balanced").
    """
    out: list[Baseline | None] = []
    pool = np.ones(len(X), bool) if emotions is None else np.isin(emotions, EVERYDAY)
    kind = "balanced" if emotions is None else "everyday"
    for i, s in enumerate(speakers):
        others = np.flatnonzero((speakers == s) & (np.arange(len(X)) != i) & pool)
        out.append(Baseline.of(X[others], kind=kind) if len(others) >= max(min_count, 2) else None)
    return out


def everyday_adapter(X: np.ndarray, speakers: np.ndarray, emotions: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How a speaker's calm/neutral statistics relate to all of their clips (median over speakers).

    shift: (mean_all - mean_calm) / std_all; scale: std_all / std_calm, per feature.
    """
    shifts, scales = [], []
    for s in np.unique(speakers):
        mine = speakers == s
        calm = mine & np.isin(emotions, EVERYDAY)
        if calm.sum() < 2:
            continue
        a, c = Baseline.of(X[mine]), Baseline.of(X[calm])
        sd_all, sd_calm = np.maximum(a.std, floor), np.maximum(c.std, floor)
        shifts.append((a.mean - c.mean) / sd_all)
        scales.append(sd_all / sd_calm)
    return np.median(shifts, axis=0), np.median(scales, axis=0)


def baseline_floor(X: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Minimum per-speaker std: a fraction of the median within-speaker std."""
    stds = np.stack([X[speakers == s].std(axis=0) for s in np.unique(speakers)])
    return FLOOR_FRACTION * np.median(stds, axis=0) + 1e-9


def train(X: np.ndarray, speakers: np.ndarray, emotions: np.ndarray, l2: float = L2) -> EmotionModel:
    """Fit cold and baseline heads on these clips."""
    floor = baseline_floor(X, speakers)
    Z = np.stack([b.zscore(x, floor) for b, x in zip(baselines(X, speakers), X)])
    everyday = everyday_adapter(X, speakers, emotions, floor)
    targets = task_targets(emotions)
    scalers, heads = {}, {}
    for mode, F in zip(MODES, (X, Z)):
        mean, std = F.mean(axis=0), F.std(axis=0) + 1e-9
        S = (F - mean) / std
        scalers[mode] = (mean, std)
        heads[mode] = {}
        for h in TRAINED_HEADS:
            sel, y = targets[h]
            heads[mode][h] = fit_head(S[sel], y[sel], HEADS[h], l2)
    return EmotionModel(tuple(prosody.FEATURE_NAMES), scalers, heads, floor, everyday)


def predict_all(model: EmotionModel, X: np.ndarray, bases: list[Baseline | None]) -> dict[str, np.ndarray]:
    """Top class of every head for every clip (vectorised per mode)."""
    out: dict[str, list[str]] = {h: [] for h in HEADS}
    for x, b in zip(X, bases):
        pred = model.predict(x, b)
        for h in HEADS:
            out[h].append(pred.top(h)[0])
    return {h: np.asarray(v) for h, v in out.items()}


def score(preds: dict[str, np.ndarray], emotions: np.ndarray) -> dict[str, float]:
    """UAR of each task for predictions on these clips."""
    res = {}
    for h, (sel, y) in task_targets(emotions).items():
        res[h] = uar(y[sel], preds[h][sel]) if sel.any() else float("nan")
    return res


def evaluate(model: EmotionModel, X: np.ndarray, speakers: np.ndarray, emotions: np.ndarray, min_count: int = 0) -> dict[str, dict[str, float]]:
    """UARs "cold" and "baseline" (baseline from each speaker's other clips)."""
    cold = predict_all(model, X, [None] * len(X))
    base = predict_all(model, X, baselines(X, speakers, min_count))
    return {"cold": score(cold, emotions), "baseline": score(base, emotions)}


def cross_validate(X: np.ndarray, speakers: np.ndarray, emotions: np.ndarray, n_folds: int = 6, l2: float = L2,
                   extra: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> dict[str, dict[str, float]]:
    """Leave-speakers-out CV: UARs pooled over folds for cold, baseline and everyday-baseline use.

    "baseline" judges each clip against all of the speaker's other clips (the
    eval's definition); "everyday" against only their other calm/neutral clips,
    as the app's baseline is built from her ordinary conversation. `extra` are
    channel-perturbed copies (speaker names "<speaker>#augN"); a fold trains on
    those of its training speakers only.
    """
    spk = np.unique(speakers)
    runs = ("cold", "baseline", "everyday")
    preds = {m: {h: np.empty(len(X), dtype=object) for h in HEADS} for m in runs}
    for k in range(n_folds):
        test = np.isin(speakers, spk[k::n_folds])
        Xt, st, et = X[~test], speakers[~test], emotions[~test]
        if extra is not None and len(extra[0]):
            keep = ~np.isin(np.array([s.split("#")[0] for s in extra[1]]), spk[k::n_folds])
            Xt, st, et = np.vstack([Xt, extra[0][keep]]), np.r_[st, extra[1][keep]], np.r_[et, extra[2][keep]]
        model = train(Xt, st, et, l2)
        idx = np.flatnonzero(test)
        for m, bases in (("cold", [None] * len(idx)), ("baseline", baselines(X[idx], speakers[idx])),
                         ("everyday", baselines(X[idx], speakers[idx], emotions=emotions[idx]))):
            p = predict_all(model, X[idx], bases)
            for h in HEADS:
                preds[m][h][idx] = p[h]
    return {m: score({h: v.astype(str) for h, v in preds[m].items()}, emotions) for m in runs}


@dataclass(frozen=True)
class SimulatedRoom:
    """A simulated microphone/room: gain, spectral tilt, band limit and noise (training only)."""

    gain_db: float
    tilt: float  # first-order filter coefficient: >0 thins the voice, <0 muffles it
    lowpass_hz: float
    snr_db: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> "SimulatedRoom":
        """A plausible other recording setup (not the studio the corpus was made in)."""
        return cls(rng.uniform(-12, 6), rng.uniform(-0.6, 0.6), rng.uniform(3400, 7800), rng.uniform(15, 40))

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The clip as heard through this channel (per-clip gain jitter of ±2 dB: she moves)."""
        from scipy.signal import butter, lfilter, sosfilt

        y = lfilter([1.0, -self.tilt], [1.0], x)
        y = sosfilt(butter(6, self.lowpass_hz, fs=prosody.SAMPLE_RATE_HZ, output="sos"), y)
        y = y * 10 ** ((self.gain_db + rng.uniform(-2, 2)) / 20)
        rms = np.sqrt(np.mean(y**2)) + 1e-9
        y = y + rng.standard_normal(len(y)) * rms * 10 ** (-self.snr_db / 20)
        return np.clip(y, -1.0, 1.0).astype(np.float32)


def augmented_features(clips: list[Clip], copies: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of `copies` channel-perturbed versions of every speaker (one channel per pseudo-speaker)."""
    rng = np.random.default_rng(seed)
    rows, spk, emo = [], [], []
    speakers = sorted({c.speaker for c in clips})
    for k in range(copies):
        for s in speakers:
            channel = SimulatedRoom.random(rng)
            for c in (c for c in clips if c.speaker == s):
                rows.append(prosody.extract(channel.apply(load_audio(c.path), rng)).vector)
                spk.append(f"{s}#aug{k}")
                emo.append(c.emotion)
    return np.stack(rows), np.asarray(spk), np.asarray(emo)
