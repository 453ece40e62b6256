"""Prosody features on real speech: a changed voice moves the right features the right way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from companion.audio import prosody
from companion.ears.words import Word
from companion.errors import AudioFormatError

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"
NEUTRAL_CLIP = "03-01-01-01-01-01-01.flac"  # Actor 1 (male), neutral, "Kids are talking by the door"


def read_clip(name: str = NEUTRAL_CLIP) -> np.ndarray:
    """A real RAVDESS clip as int16 at 16 kHz (read from the shared data, never copied)."""
    import soundfile as sf

    audio, rate = sf.read(str(RAVDESS / name), dtype="int16")
    assert rate == prosody.SAMPLE_RATE_HZ
    return audio


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return read_clip()


@pytest.fixture(scope="module")
def base(clip):
    return prosody.extract(clip).as_dict()


def test_vector_is_complete_and_plausible(clip):
    f = prosody.extract(clip)
    assert f.vector.shape == (len(prosody.FEATURE_NAMES),)
    assert np.all(np.isfinite(f.vector))
    d = f.as_dict()
    f0_hz = 27.5 * 2 ** (d["f0_st_mean"] / 12)
    assert 80 < f0_hz < 180  # an adult male speaking voice
    assert 0.8 < f.voiced_s < f.duration_s
    assert 0.2 < d["voiced_ratio"] < 0.9
    assert d["hnr_db_mean"] > 3  # clean studio speech is clearly harmonic
    assert f.speaking_rate_wps is None  # no words given


def test_int16_and_float_input_agree(clip):
    a = prosody.extract(clip).vector
    b = prosody.extract(clip.astype(np.float32) / 32768.0).vector
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_other_sample_rates_are_resampled(clip, base):
    at48 = resample_poly(clip.astype(np.float32) / 32768.0, 3, 1)
    d = prosody.extract(at48, sample_rate_hz=48000).as_dict()
    assert abs(d["f0_st_mean"] - base["f0_st_mean"]) < 0.3


def test_pitch_shift_raises_pitch_features(clip, base):
    # resampling by 2^(-4/12) and playing at 16 kHz raises every frequency by 4 semitones
    up = resample_poly(clip.astype(np.float64), 63, 79)  # 63/79 ≈ 2^(-4/12)
    d = prosody.extract(up.astype(np.float32) / 32768.0).as_dict()
    assert 3.0 < d["f0_st_mean"] - base["f0_st_mean"] < 5.0
    assert 3.0 < d["f0_st_p50"] - base["f0_st_p50"] < 5.0
    assert abs(d["f0_st_range"] - base["f0_st_range"]) < 1.5  # the melody is the same, only higher
    assert d["centroid_v_mean"] > base["centroid_v_mean"]


def test_louder_raises_loudness_only(clip, base):
    louder = clip.astype(np.float32) / 32768.0 * 3.0  # +9.5 dB, still not clipping
    assert np.abs(louder).max() < 1.0
    d = prosody.extract(louder).as_dict()
    assert d["loud_mean"] > 1.3 * base["loud_mean"]
    assert d["loud_p80"] > base["loud_p80"]
    assert abs(d["f0_st_mean"] - base["f0_st_mean"]) < 0.2
    assert abs(d["hnr_db_mean"] - base["hnr_db_mean"]) < 0.5
    assert abs(d["alpha_v_mean"] - base["alpha_v_mean"]) < 0.5  # a spectral ratio, so gain-free


def test_faster_speech_has_more_syllables_per_second(clip, base):
    fast = resample_poly(clip.astype(np.float64), 2, 3)  # played 1.5x faster (and higher)
    d = prosody.extract(fast.astype(np.float32) / 32768.0).as_dict()
    assert d["loud_peaks_per_s"] > 1.2 * base["loud_peaks_per_s"]
    assert d["voiced_seg_mean_s"] < base["voiced_seg_mean_s"]


def test_word_timings_give_speaking_rate_and_pauses(clip):
    words = [Word("kids", 0.9, 1.2), Word("are", 1.2, 1.35), Word("talking", 1.35, 1.8), Word("by", 2.6, 2.75), Word("the", 2.75, 2.85), Word("door", 2.85, 3.2)]
    slow = prosody.extract(clip, words=words)
    fast = prosody.extract(clip, words=[Word(w.word, w.start_s / 2, w.end_s / 2) for w in words])
    assert slow.speaking_rate_wps == pytest.approx(6 / 2.3)
    assert slow.pause_ratio == pytest.approx(0.8 / 2.3)
    assert fast.speaking_rate_wps == pytest.approx(2 * slow.speaking_rate_wps)


def test_bad_audio_is_refused_with_a_reason():
    with pytest.raises(AudioFormatError, match="too short"):
        prosody.extract(np.zeros(800, np.int16))
    with pytest.raises(AudioFormatError, match="mono"):
        prosody.extract(np.zeros((16000, 2), np.int16))
    with pytest.raises(AudioFormatError, match="int16 or float"):
        prosody.extract(np.zeros(16000, np.int32))


def test_silence_gives_finite_features():
    rng = np.random.default_rng(0)
    f = prosody.extract((rng.standard_normal(16000) * 1e-4).astype(np.float32))
    assert np.all(np.isfinite(f.vector))
    assert f.voiced_s < 0.2
