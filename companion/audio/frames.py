"""Audio as the loop sees it: 16 kHz mono int16 blocks, chunks that say what they are, format
conversion, and the source and speaker interfaces (WAV files: audio.wav; devices: audio.devices)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # Hz: what wake word, VAD and STT all expect
SAMPLE_WIDTH = 2  # bytes (int16)
BLOCK_SAMPLES = 512  # 32 ms blocks: three 10 ms VAD frames (+ carry); wake word and STT take any size
BLOCK_S = BLOCK_SAMPLES / SAMPLE_RATE
PLAY_BLOCK_S = 0.04  # playback is written in 40 ms pieces so barge-in stops it quickly

FORMAT_HINT = "16 kHz mono 16-bit PCM WAV (convert with: sox IN -r 16000 -c 1 -b 16 OUT.wav)"


@dataclass(frozen=True)
class AudioChunk:
    """Mono int16 samples that say what they are."""

    samples: np.ndarray  # int16
    rate: int  # Hz

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


# ---------------------------------------------------------------- conversion


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float [-1, 1] or any int array → int16."""
    if samples.dtype == np.int16:
        return samples
    if np.issubdtype(samples.dtype, np.floating):
        return (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    info = np.iinfo(samples.dtype)
    return (samples.astype(np.float64) / max(abs(info.min), info.max) * 32767).astype(np.int16)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of int16 mono audio."""
    if rate_in == rate_out or len(samples) == 0:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    out = resample_poly(samples.astype(np.float32), rate_out // g, rate_in // g)
    return np.clip(out, -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------- echo path


# ---------------------------------------------------------------- sources


class AudioSource(Protocol):
    """A stream of 16 kHz mono int16 blocks of BLOCK_SAMPLES."""

    realtime: bool  # blocks arrive at the pace they are captured (a microphone); False: as fast as read

    def read(self, timeout_s: float = 0.5) -> np.ndarray | None:
        """Next block; None on timeout. Raises EOFError when a file source ends."""

    def captured_at(self) -> float:
        """Monotonic time at which the last sample of the block just read was captured (the audio clock)."""

    def close(self) -> None:
        """Stop capturing; safe to call twice."""


# ---------------------------------------------------------------- sinks


class Speaker(Protocol):
    """Plays mono int16 audio; `write` blocks until the samples are played."""

    def begin(self, rate: int) -> None:
        """Start one reply (a new file for file sinks)."""

    def write(self, samples: np.ndarray) -> None:
        """Play samples at the rate given to begin(); blocks for their duration."""

    def abort(self) -> None:
        """Stop at once, dropping anything buffered (barge-in)."""

    def end(self) -> None:
        """Finish the reply (close the file, drain the device)."""

    def close(self) -> None:
        """Release the device; safe to call twice."""


class SilentSpeaker:
    """A speaker nobody hears: text chat without --speak, read-through scenarios, tests of the words."""

    def begin(self, rate: int) -> None: ...
    def write(self, samples: np.ndarray) -> None: ...
    def abort(self) -> None: ...
    def end(self) -> None: ...
    def close(self) -> None: ...
