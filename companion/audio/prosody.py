"""Prosody features of one utterance (eGeMAPS-style functionals), numpy/scipy only.

The frame-level descriptors follow eGeMAPS (Eyben et al., 2016): pitch in
semitones, loudness, jitter, shimmer, harmonics-to-noise ratio, spectral slope,
alpha ratio, Hammarberg index, H1-H2, spectral flux and MFCCs, plus voiced /
unvoiced segment statistics. Jitter and shimmer are measured between
consecutive 10 ms frames rather than single glottal cycles: an approximation
that is cheap and moves the same way. Word timings, when the recognizer gives
them, add speaking rate and pause ratio (kept apart from the classifier's
vector because the training corpus has no word timings).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from companion.errors import AudioFormatError

SAMPLE_RATE_HZ = 16000
HOP = 160  # 10 ms at 16 kHz
WIN = 400  # 25 ms spectral window
NFFT = 512
PITCH_RATE_HZ = 8000  # pitch is tracked on a 2x decimated signal: 4x cheaper autocorrelation
PITCH_HOP = 80  # 10 ms at 8 kHz
PITCH_WIN = 320  # 40 ms: two periods of a 50 Hz voice
PITCH_NFFT = 1024  # >= 2 * PITCH_WIN - 1, so the autocorrelation is linear, not circular
F0_MIN_HZ = 55.0
F0_MAX_HZ = 500.0
VOICING_THRESHOLD = 0.5  # normalised autocorrelation peak above which a frame is voiced
SILENCE_DB = 40.0  # frames this far below the loudest frame count as pause
N_MEL = 26
N_MFCC = 12
LOW_BINS = 49  # FFT bins up to 1.5 kHz
MIN_SAMPLES = 1600  # 100 ms: shorter input has no meaningful prosody

PAUSE_GAP_S = 0.25  # a gap between words longer than this is a pause


@dataclass(frozen=True)
class ProsodyFeatures:
    """One utterance's feature vector plus word-timing measures when known."""

    vector: np.ndarray  # float64, len(FEATURE_NAMES)
    duration_s: float
    voiced_s: float  # seconds of voiced speech: short turns give weak evidence
    speaking_rate_wps: float | None = None  # words per second of speech span
    pause_ratio: float | None = None  # share of the speech span spent in pauses

    def as_dict(self) -> dict[str, float]:
        """Named features (for logs and debugging)."""
        return dict(zip(FEATURE_NAMES, map(float, self.vector)))


def _names() -> tuple[str, ...]:
    names: list[str] = []
    for p in ("f0_st", "loud"):
        names += [f"{p}_mean", f"{p}_std", f"{p}_p20", f"{p}_p50", f"{p}_p80", f"{p}_range"]
        names += [f"{p}_rise_mean", f"{p}_rise_std", f"{p}_fall_mean", f"{p}_fall_std"]
    names += ["jitter_mean", "jitter_std", "shimmer_db_mean", "shimmer_db_std", "hnr_db_mean", "hnr_db_std"]
    for p in ("alpha", "hammarberg", "slope0_500", "slope500_1500", "flux", "centroid"):
        names += [f"{p}_v_mean", f"{p}_v_std", f"{p}_uv_mean"]
    names += ["h1h2_mean", "h1h2_std"]
    for i in range(1, N_MFCC + 1):
        names += [f"mfcc{i}_v_mean", f"mfcc{i}_v_std", f"mfcc{i}_uv_mean", f"dmfcc{i}_std"]
    names += ["loud_peaks_per_s", "voiced_segments_per_s", "voiced_seg_mean_s", "voiced_seg_std_s"]
    names += ["unvoiced_seg_mean_s", "unvoiced_seg_std_s", "voiced_ratio", "pause_ratio_acoustic"]
    return tuple(names)


FEATURE_NAMES: tuple[str, ...] = _names()


def to_float(audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """int16 or float mono audio at any rate → float32 in [-1, 1] at 16 kHz."""
    a = np.asarray(audio)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise AudioFormatError(f"expected mono audio (1-D array), got shape {a.shape}; mix down to one channel")
    if a.dtype == np.int16:
        x = a.astype(np.float32) / 32768.0
    elif np.issubdtype(a.dtype, np.floating):
        x = a.astype(np.float32, copy=False)
    else:
        raise AudioFormatError(f"expected int16 or float audio samples, got {a.dtype}")
    if sample_rate_hz != SAMPLE_RATE_HZ:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(SAMPLE_RATE_HZ, int(sample_rate_hz))
        x = resample_poly(x, SAMPLE_RATE_HZ // g, int(sample_rate_hz) // g).astype(np.float32)
    return x


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """Overlapping frames as a strided view (no copy)."""
    n = 1 + max(0, (len(x) - win) // hop)
    return np.lib.stride_tricks.as_strided(x, shape=(n, win), strides=(x.strides[0] * hop, x.strides[0]), writeable=False)


@lru_cache(maxsize=4)
def _tables() -> dict[str, np.ndarray]:
    """Windows, filterbanks and regression weights, built once."""
    from scipy.fft import dct

    freqs = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE_HZ)
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    imel = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = imel(np.linspace(mel(50.0), mel(7600.0), N_MEL + 2))
    fb = np.zeros((len(freqs), N_MEL))
    for j in range(N_MEL):
        lo, mid, hi = edges[j], edges[j + 1], edges[j + 2]
        fb[:, j] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    dctm = dct(np.eye(N_MEL), type=2, norm="ortho", axis=0)[1 : N_MFCC + 1].T  # (N_MEL, N_MFCC)

    def slope_weights(lo: float, hi: float) -> np.ndarray:
        m = (freqs >= lo) & (freqs <= hi)
        w = np.zeros(len(freqs))
        f = freqs[m] - freqs[m].mean()
        w[m] = f / np.sum(f**2) * 1000.0  # dB per kHz
        return w

    pw = np.hanning(PITCH_WIN)
    wac = np.fft.irfft(np.abs(np.fft.rfft(pw, PITCH_NFFT)) ** 2)[: PITCH_WIN]
    return {
        "freqs": freqs,
        "win": np.hamming(WIN).astype(np.float32),
        "fb": fb.astype(np.float32),
        "dct": dctm.astype(np.float32),
        "slope_lo": slope_weights(0.0, 500.0)[:LOW_BINS].astype(np.float32),
        "slope_hi": slope_weights(500.0, 1500.0)[:LOW_BINS].astype(np.float32),
        "pwin": pw.astype(np.float32),
        "pwin_ac": (wac / wac[0]).astype(np.float32),
        "lo1k": ((freqs >= 50) & (freqs < 1000)).astype(np.float32),
        "hi1k": ((freqs >= 1000) & (freqs < 5000)).astype(np.float32),
        "b2k": freqs < 2000,
        "b2_5k": (freqs >= 2000) & (freqs < 5000),
    }


def track_pitch(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F0 (Hz, 0 when unvoiced) and voicing strength per 10 ms frame of 16 kHz audio."""
    from scipy import fft as sfft
    from scipy.signal import medfilt, resample_poly

    t = _tables()
    y = resample_poly(x, 1, 2).astype(np.float32)
    if len(y) < PITCH_WIN:
        y = np.pad(y, (0, PITCH_WIN - len(y)))
    fr = _frames(y, PITCH_WIN, PITCH_HOP)
    fr = (fr - fr.mean(axis=1, keepdims=True)) * t["pwin"]
    spec = sfft.rfft(fr, PITCH_NFFT, axis=1)
    ac = sfft.irfft(spec.real**2 + spec.imag**2, axis=1)[:, :PITCH_WIN]
    energy = ac[:, :1] + 1e-12
    # Boersma (1993): dividing by the window's own autocorrelation removes the taper's bias
    lag_lo, lag_hi = int(PITCH_RATE_HZ / F0_MAX_HZ), int(PITCH_RATE_HZ / F0_MIN_HZ)
    r = (ac[:, lag_lo : lag_hi + 2] / energy) / t["pwin_ac"][lag_lo : lag_hi + 2]
    lags = np.arange(lag_lo, lag_hi + 2)
    # a small octave cost prefers the shorter of two near-equal peaks (avoids halving F0)
    score = r[:, 1:-1] - 0.02 * np.log2(lags[1:-1] / lag_lo)
    k = np.argmax(score, axis=1) + 1
    rows = np.arange(len(k))
    a, b, c = r[rows, k - 1], r[rows, k], r[rows, k + 1]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    lag = lags[k] + np.clip(shift, -0.5, 0.5)
    strength = np.clip(b - 0.25 * denom * shift, 0.0, 0.999)
    db = 10 * np.log10(energy[:, 0])
    voiced = (strength > VOICING_THRESHOLD) & (db > db.max() - SILENCE_DB + 10)
    # a voiced run shorter than 30 ms is an onset or noise artefact, not a pitch period train
    voiced &= np.convolve(voiced, np.ones(3), "same") >= 2
    f0 = np.where(voiced, PITCH_RATE_HZ / lag, 0.0)
    if voiced.sum() >= 3:
        # fold octave jumps back toward the utterance's median, then smooth single-frame spikes
        med = np.median(f0[voiced])
        ratio = f0[voiced] / med
        f0v = np.where(ratio > 1.8, f0[voiced] / 2, np.where(ratio < 0.55, f0[voiced] * 2, f0[voiced]))
        f0[voiced] = np.clip(f0v, F0_MIN_HZ, F0_MAX_HZ)
        f0s = medfilt(f0, 5)
        f0 = np.where(voiced & (f0s > 0), f0s, f0)
    return f0, np.where(voiced, strength, 0.0)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for frames × bins by bins [× k], single-threaded."""
    return np.einsum("ij,j...->i...", a, b, optimize=False)


def _stats(v: np.ndarray) -> tuple[float, float]:
    return (float(v.mean()), float(v.std())) if len(v) else (0.0, 0.0)


def _contour(v: np.ndarray, cont: np.ndarray, max_step: float) -> list[float]:
    """mean, std, p20, p50, p80, range, rising/falling slope (per s) mean and std."""
    if len(v) < 2:
        return [0.0] * 10
    p20, p50, p80 = np.percentile(v, [20, 50, 80])
    d = np.diff(v)[cont]
    d = d[np.abs(d) < max_step] * 100.0  # per second (10 ms frames); bigger steps are tracking errors
    rise, fall = d[d > 0], -d[d < 0]
    return [float(v.mean()), float(v.std()), p20, p50, p80, p80 - p20, *_stats(rise), *_stats(fall)]


def _segments(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (s) of runs of True and of False in a frame mask."""
    if not len(mask):
        return np.zeros(0), np.zeros(0)
    edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [len(mask)]])
    lengths = np.diff(bounds) * (HOP / SAMPLE_RATE_HZ)
    starts = mask[bounds[:-1]]
    return lengths[starts], lengths[~starts]


def word_timing(words: Sequence[object]) -> tuple[float | None, float | None]:
    """Speaking rate (words/s) and pause ratio from recognised words with start_s/end_s."""
    spans = [(float(w.start_s), float(w.end_s)) for w in words if getattr(w, "end_s", 0) > getattr(w, "start_s", 0)]
    if len(spans) < 2:
        return None, None
    spans.sort()
    total = spans[-1][1] - spans[0][0]
    if total <= 0:
        return None, None
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:])]
    paused = sum(g for g in gaps if g > PAUSE_GAP_S)
    return len(spans) / total, paused / total


def extract(audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ, words: Sequence[object] = ()) -> ProsodyFeatures:
    """The feature vector of one utterance (int16 or float mono; resampled to 16 kHz if needed)."""
    x = to_float(audio, sample_rate_hz)
    if len(x) < MIN_SAMPLES:
        raise AudioFormatError(f"utterance too short for prosody: {len(x) / SAMPLE_RATE_HZ:.3f} s < 0.1 s")
    x = x - x.mean()
    t = _tables()
    f0, strength = track_pitch(x)

    # spectral frames, aligned with the pitch frames (both 10 ms hops from sample 0)
    # offset so each 25 ms spectral frame is centred on its 40 ms pitch frame
    fr = _frames(x[(2 * PITCH_WIN - WIN) // 2 :], WIN, HOP)
    n = min(len(fr), len(f0))
    fr, f0, strength = fr[:n], f0[:n], strength[:n]
    from scipy import fft as sfft

    cspec = sfft.rfft((fr - fr.mean(axis=1, keepdims=True)) * t["win"], NFFT, axis=1)
    power = cspec.real**2 + cspec.imag**2 + 1e-10
    spec = np.sqrt(power)
    # einsum, not @: BLAS would spread these small products over threads, which costs more than it saves
    mel = _dot(power, t["fb"])
    loud = np.sum(mel**0.3, axis=1)  # Zwicker-style: summed compressed band energy
    logmel = np.log(mel + 1e-8)
    mfcc = _dot(logmel, t["dct"])
    pdb = 10 * np.log10(power[:, :LOW_BINS])  # slopes and harmonics only need < 1.5 kHz
    frame_db = 10 * np.log10(power.sum(axis=1))
    speech = frame_db > frame_db.max() - SILENCE_DB
    voiced = f0 > 0
    unvoiced = speech & ~voiced

    alpha = 10 * np.log10(_dot(power, t["lo1k"]) / (_dot(power, t["hi1k"]) + 1e-10) + 1e-10)
    hamm = 10 * np.log10(power[:, t["b2k"]].max(axis=1) / power[:, t["b2_5k"]].max(axis=1))
    s_lo, s_hi = _dot(pdb, t["slope_lo"]), _dot(pdb, t["slope_hi"])
    norm = spec / (spec.sum(axis=1, keepdims=True) + 1e-10)
    flux = np.r_[0.0, np.sum(np.diff(norm, axis=0) ** 2, axis=1)]
    centroid = _dot(norm, t["freqs"].astype(np.float32)) / 1000.0

    # harmonics: jitter/shimmer from consecutive voiced frames, HNR from the autocorrelation peak
    cont = voiced[1:] & voiced[:-1]
    period = np.where(voiced, 1.0 / np.maximum(f0, 1.0), 0.0)
    jitter = np.abs(np.diff(period))[cont] / (0.5 * (period[1:] + period[:-1]))[cont]
    amp_db = 10 * np.log10(np.maximum(np.max(fr**2, axis=1), 1e-10))
    shimmer = np.abs(np.diff(amp_db))[cont]
    r = strength[voiced]
    hnr = 10 * np.log10(r / (1 - r))
    bins = np.rint(f0[voiced] / (SAMPLE_RATE_HZ / NFFT)).astype(int)
    pv = pdb[voiced]
    rows = np.arange(len(bins))
    h1h2 = pv[rows, np.clip(bins, 0, LOW_BINS - 1)] - pv[rows, np.clip(2 * bins, 0, LOW_BINS - 1)]

    f0_st = 12 * np.log2(f0[voiced] / 27.5)  # semitones above A0, as eGeMAPS
    vcont = cont[voiced[:-1]][: max(0, len(f0_st) - 1)]
    feats: list[float] = _contour(f0_st, vcont, 2.0)
    sl = loud[speech]
    feats += _contour(sl, (speech[1:] & speech[:-1])[speech[:-1]][: max(0, len(sl) - 1)], np.inf)
    feats += [*_stats(jitter), *_stats(shimmer), *_stats(hnr)]
    for lld in (alpha, hamm, s_lo, s_hi, flux, centroid):
        feats += [*_stats(lld[voiced]), _stats(lld[unvoiced])[0]]
    feats += [*_stats(h1h2)]
    dm = np.diff(mfcc, axis=0) if n > 1 else np.zeros((1, N_MFCC))
    mv, muv = mfcc[voiced], mfcc[unvoiced]
    for i in range(N_MFCC):
        feats += [*_stats(mv[:, i]), _stats(muv[:, i])[0], float(dm[:, i].std())]

    dur = len(x) / SAMPLE_RATE_HZ
    from scipy.signal import find_peaks

    idx = np.flatnonzero(speech)
    lo, hi = (int(idx[0]), int(idx[-1]) + 1) if len(idx) else (0, n)
    span_s = max((hi - lo) * HOP / SAMPLE_RATE_HZ, 0.1)  # silence before and after her speech is not hers
    smooth = np.convolve(loud, np.ones(5) / 5, "same")[lo:hi]  # 50 ms: one peak per syllable nucleus
    peaks, _ = find_peaks(smooth, prominence=0.1 * (np.ptp(smooth) + 1e-9), distance=8) if hi - lo > 2 else ((), None)
    vseg, useg = _segments(voiced[lo:hi])
    _, pauses = _segments(speech[lo:hi])
    feats += [len(peaks) / span_s, len(vseg) / span_s, *_stats(vseg), *_stats(useg[useg < 1.0] if len(useg) else useg)]
    feats += [float(voiced[lo:hi].mean()) if hi > lo else 0.0, float(pauses[pauses >= PAUSE_GAP_S].sum() / span_s)]

    rate, pause = word_timing(words)
    vec = np.nan_to_num(np.asarray(feats, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return ProsodyFeatures(vec, dur, float(voiced.sum()) * HOP / SAMPLE_RATE_HZ, rate, pause)
