"""Echo and double-talk: how much of our own playback the microphone hears, and whether she is talking over it."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

import numpy as np

from companion.audio.frames import SAMPLE_RATE


class EchoPath:
    """What the speaker plays, as the microphone would hear it.

    The speaker reports each block it plays; the wake word's double-talk check
    reads the recent playback level, and file sources mix the echo in (to test
    that the companion's own voice does not wake it).
    """

    def __init__(self, coupling: float = 0.0, delay_s: float = 0.02, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.coupling = coupling
        self._monotonic = monotonic
        self._delay = int(delay_s * SAMPLE_RATE)
        self._buf = np.zeros(0, np.int16)
        self._lock = threading.Lock()
        self._levels: list[tuple[float, float]] = []  # (monotonic time, peak abs level)

    def played(self, samples16k: np.ndarray) -> None:
        """Called by the speaker for each block played (16 kHz)."""
        peak = float(np.max(np.abs(samples16k.astype(np.int32)))) if len(samples16k) else 0.0
        now = self._monotonic()
        with self._lock:
            self._levels.append((now, peak))
            self._levels = [x for x in self._levels if now - x[0] < 2.0]
            if self.coupling > 0:
                if len(self._buf) == 0:
                    self._buf = np.zeros(self._delay, np.int16)
                self._buf = np.concatenate([self._buf, samples16k])

    def recent_peak(self, window_s: float = 1.0) -> float:
        """Peak playback level (int16 units) over the last `window_s` seconds."""
        now = self._monotonic()
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


ECHO_WINDOW_S = 0.25  # playback and microphone peaks are compared over this window (covers the echo's delay)
COUPLING_BLOCKS = 600  # ~19 s of playback: how much of it sets the learned echo coupling
COUPLING_MIN_BLOCKS = 8  # ~250 ms of playback before the coupling is trusted
COUPLING_PERCENTILE = 20  # her voice only ever raises the ratio: a low percentile is the echo's own
MIN_PLAYED_PEAK = 300.0  # int16: quieter playback explains no echo (~ -40 dBFS)
ABOVE_ECHO_DB = 10.0  # her voice over the reply: this far above what the echo could make it


def _db(peak: float) -> float:
    return 20.0 * float(np.log10(max(peak, 1.0) / 32768.0))


class DoubleTalk:
    """Is the microphone hearing her, or only the echo of our own voice?

    Two checks. `her_voice` is Geigel's: the microphone's peak over the last
    second against the loudest sample the speaker played over the same second
    times a fixed ratio (detectors decide a little after the word ends).
    `above_echo` learns how loud our playback really arrives (the coupling:
    microphone peak over playback peak, both over the last 250 ms, a low
    percentile of every moment of playback so far, because her voice only ever
    adds to it) and asks whether the microphone is clearly above that now.
    """

    WINDOW_S = 1.0

    def __init__(self, echo: EchoPath | None, ratio: float) -> None:
        self.ratio = ratio  # her voice must be louder than ratio × what we played
        self._peaks: list[float] = []
        self._coupling: deque[float] = deque(maxlen=COUPLING_BLOCKS)
        self._window_blocks = 8
        self.echo = echo

    @property
    def echo(self) -> EchoPath | None:
        """The playback path compared against (another speaker, another room: the coupling is learned anew)."""
        return self._echo

    @echo.setter
    def echo(self, echo: EchoPath | None) -> None:
        self._echo = echo
        self._coupling.clear()

    def observe(self, block: np.ndarray) -> None:
        """Feed every microphone block (cheap); while our playback is audible, learn its coupling."""
        self._peaks.append(float(np.max(np.abs(block.astype(np.int32)))) if len(block) else 0.0)
        keep = max(1, int(self.WINDOW_S * SAMPLE_RATE / max(1, len(block))))
        del self._peaks[:-keep]
        self._window_blocks = max(1, int(ECHO_WINDOW_S * SAMPLE_RATE / max(1, len(block))))
        played = self.echo.recent_peak(ECHO_WINDOW_S) if self.echo else 0.0
        if played >= MIN_PLAYED_PEAK:
            self._coupling.append(_db(self._mic_peak()) - _db(played))

    def _mic_peak(self) -> float:
        return max(self._peaks[-self._window_blocks:], default=0.0)

    @property
    def coupling_db(self) -> float | None:
        """How much quieter than it was played our own voice reaches the microphone; None until learned."""
        if len(self._coupling) < COUPLING_MIN_BLOCKS:
            return None
        return float(np.percentile(self._coupling, COUPLING_PERCENTILE))

    def her_voice(self) -> bool:
        """True unless what the microphone heard can be explained by the echo."""
        echo_peak = self.echo.recent_peak(self.WINDOW_S) if self.echo else 0.0
        return echo_peak <= 0 or max(self._peaks, default=0.0) >= self.ratio * echo_peak

    def above_echo(self) -> bool:
        """Is the microphone, now, clearly louder than the echo of what we play (by the learned coupling)?"""
        played = self.echo.recent_peak(ECHO_WINDOW_S) if self.echo else 0.0
        if played < MIN_PLAYED_PEAK:
            return True  # nothing audible was played: there is no echo to explain it
        coupling = self.coupling_db
        if coupling is None:
            return False  # not learned yet: only the Geigel check can tell
        return _db(self._mic_peak()) >= _db(played) + coupling + ABOVE_ECHO_DB
