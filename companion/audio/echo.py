"""Echo and double-talk: how much of our own playback the microphone hears, and whether she is talking over it."""

from __future__ import annotations

import threading
import time

import numpy as np

from companion.audio.frames import SAMPLE_RATE


class EchoPath:
    """What the speaker plays, as the microphone would hear it.

    The speaker reports each block it plays; the wake word's double-talk check
    reads the recent playback level, and file sources mix the echo in (to test
    that the companion's own voice does not wake it).
    """

    def __init__(self, coupling: float = 0.0, delay_s: float = 0.02) -> None:
        self.coupling = coupling
        self._delay = int(delay_s * SAMPLE_RATE)
        self._buf = np.zeros(0, np.int16)
        self._lock = threading.Lock()
        self._levels: list[tuple[float, float]] = []  # (monotonic time, peak abs level)

    def played(self, samples16k: np.ndarray) -> None:
        """Called by the speaker for each block played (16 kHz)."""
        peak = float(np.max(np.abs(samples16k.astype(np.int32)))) if len(samples16k) else 0.0
        now = time.monotonic()
        with self._lock:
            self._levels.append((now, peak))
            self._levels = [x for x in self._levels if now - x[0] < 2.0]
            if self.coupling > 0:
                if len(self._buf) == 0:
                    self._buf = np.zeros(self._delay, np.int16)
                self._buf = np.concatenate([self._buf, samples16k])

    def recent_peak(self, window_s: float = 1.0) -> float:
        """Peak playback level (int16 units) over the last `window_s` seconds."""
        now = time.monotonic()
        with self._lock:
            return max((p for t, p in self._levels if now - t <= window_s), default=0.0)

    def mix_into(self, block: np.ndarray) -> np.ndarray:
        """Add the pending echo to a microphone block (file sources only)."""
        if self.coupling <= 0:
            return block
        with self._lock:
            n = min(len(block), len(self._buf))
            if n == 0:
                return block
            echo, self._buf = self._buf[:n], self._buf[n:]
        out = block.astype(np.int32)
        out[:n] += (echo.astype(np.float32) * self.coupling).astype(np.int32)
        return np.clip(out, -32768, 32767).astype(np.int16)


class DoubleTalk:
    """Is the microphone hearing her, or only the echo of our own voice? (Geigel-style check)

    Keeps the microphone's peak over the last second, because detectors decide
    a little after the word ends, and compares it with the loudest sample the
    speaker played over the same second.
    """

    WINDOW_S = 1.0

    def __init__(self, echo: EchoPath | None, ratio: float) -> None:
        self.echo = echo
        self.ratio = ratio  # her voice must be louder than ratio × what we played
        self._peaks: list[float] = []

    def observe(self, block: np.ndarray) -> None:
        """Feed every microphone block (cheap)."""
        self._peaks.append(float(np.max(np.abs(block.astype(np.int32)))) if len(block) else 0.0)
        keep = max(1, int(self.WINDOW_S * SAMPLE_RATE / max(1, len(block))))
        del self._peaks[:-keep]

    def her_voice(self) -> bool:
        """True unless what the microphone heard can be explained by the echo."""
        echo_peak = self.echo.recent_peak(self.WINDOW_S) if self.echo else 0.0
        return echo_peak <= 0 or max(self._peaks, default=0.0) >= self.ratio * echo_peak

