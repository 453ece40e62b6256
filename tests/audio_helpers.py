"""Helpers for tests that check audio."""

from __future__ import annotations

import numpy as np


def speech_fraction(samples: np.ndarray, rate: int) -> float:
    """Share of 10 ms frames WebRTC's VAD calls speech (after resampling to 16 kHz)."""
    from companion.audio.frames import resample
    from companion.ears.vad import WebRtcVad

    audio = resample(samples, rate, 16000)
    vad = WebRtcVad(2)
    votes = [vad(audio[i:i + 512]) for i in range(0, len(audio) - 512, 512)]
    return float(np.mean(votes)) if votes else 0.0
