"""WAV files in and out: read (with conversion), write, and a file source and sink for the loop."""

from __future__ import annotations

import logging
import threading
import time
import wave
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from companion.audio.echo import EchoPath
from companion.audio.frames import (
    BLOCK_SAMPLES,
    FORMAT_HINT,
    PLAY_BLOCK_S,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    resample,
    to_int16,
)
from companion.errors import AudioFormatError

log = logging.getLogger(__name__)


def read_wav(path: str | Path, *, convert: bool = True) -> np.ndarray:
    """Read a WAV as 16 kHz mono int16, converting rate/channels/width if allowed.

    Raises AudioFormatError naming the file, what it holds and what is needed.
    """
    p = Path(path)
    try:
        with wave.open(str(p), "rb") as w:
            rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
            raw = w.readframes(frames)
    except FileNotFoundError:
        raise AudioFormatError(f"{p}: no such file") from None
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"{p}: not a PCM WAV file ({exc}); need {FORMAT_HINT}") from exc
    got = f"{rate} Hz, {channels} channel(s), {8 * width}-bit"
    if (rate, channels, width) != (SAMPLE_RATE, 1, SAMPLE_WIDTH) and not convert:
        raise AudioFormatError(f"{p}: got {got}; need {FORMAT_HINT}")
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.int16) - 128) << 8
    elif width == 2:
        data = np.frombuffer(raw, "<i2")
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        data = ((b[:, 2].astype(np.int32) << 24 | b[:, 1].astype(np.int32) << 16 | b[:, 0].astype(np.int32) << 8) >> 16).astype(np.int16)
    elif width == 4:
        data = (np.frombuffer(raw, "<i4") >> 16).astype(np.int16)
    else:
        raise AudioFormatError(f"{p}: got {got}, which cannot be converted; need {FORMAT_HINT}")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate < 8000:
        raise AudioFormatError(f"{p}: got {got}; a rate below 8 kHz is too low for speech; need {FORMAT_HINT}")
    if rate != SAMPLE_RATE:
        log.info("converting %s from %s to 16 kHz mono 16-bit", p, got)
    return resample(np.ascontiguousarray(data), rate, SAMPLE_RATE)


def read_audio(path: str | Path) -> np.ndarray:
    """A WAV or FLAC (or any format libsndfile reads) as 16 kHz mono int16, converted from any rate."""
    p = Path(path)
    if p.suffix.lower() == ".wav":
        return read_wav(p)
    if not p.is_file():
        raise AudioFormatError(f"{p}: no such file")
    import soundfile as sf

    try:
        data, rate = sf.read(str(p), dtype="int16", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioFormatError(f"{p}: not an audio file this can read ({exc}); use WAV or FLAC") from exc
    mono = data.mean(axis=1).astype(np.int16) if data.shape[1] > 1 else data[:, 0]
    if rate < 8000:
        raise AudioFormatError(f"{p}: {rate} Hz is too low for speech; need 16 kHz or more")
    return resample(np.ascontiguousarray(mono), rate, SAMPLE_RATE)


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 samples as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(rate)
        w.writeframes(to_int16(samples).tobytes())


class WavFileSource:
    """Feeds WAV files as if they came from the microphone.

    With `realtime=True` blocks arrive at the pace a microphone would deliver
    them, so timings (end of speech → first reply audio) mean what they say.
    `gap_s` of silence is inserted after each file; `tail_s` after the last.
    """

    def __init__(self, paths: Sequence[str | Path], *, realtime: bool = True, gap_s: float = 1.0,
                 tail_s: float = 3.0, echo: EchoPath | None = None,
                 ready: Callable[[], bool] | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        self.realtime = realtime
        self.echo = echo
        self.ready = ready  # turn-taking: the next file starts only when ready() (she waits for the reply)
        self._files = [read_wav(p) for p in self.paths]  # all checked before anything is played
        self._gap = np.zeros(int(gap_s * SAMPLE_RATE), np.int16)
        self._tail = int(tail_s * SAMPLE_RATE)
        self._next = 0
        self._audio = np.zeros(0, np.int16)
        self._pos = 0
        self._delivered = 0
        self.file_starts_s: list[float] = []  # stream time at which each file began
        self._t0: float | None = None
        self._captured = 0.0
        self._closed = threading.Event()

    @classmethod
    def from_array(cls, samples: np.ndarray, **kw: object) -> "WavFileSource":
        """A source over in-memory 16 kHz int16 samples (no file needed)."""
        return cls.from_arrays([samples], **kw)

    @classmethod
    def from_arrays(cls, clips: Sequence[np.ndarray], **kw: object) -> "WavFileSource":
        """Several in-memory utterances, played one after the other like several files."""
        src = cls([], **kw)  # type: ignore[arg-type]
        src._files = [c.astype(np.int16) for c in clips]
        return src

    @property
    def position_s(self) -> float:
        """Seconds of audio delivered so far."""
        return self._delivered / SAMPLE_RATE

    def extend(self, samples: np.ndarray) -> None:
        """Append audio to the stream (tests: speak while the companion talks)."""
        self._audio = np.concatenate([self._audio, samples.astype(np.int16)])

    def _refill(self) -> bool:
        """Queue the next file (after the gap), or the tail; False when everything was played."""
        if self._next < len(self._files):
            if self.ready is not None and not self.ready():
                self._audio = np.concatenate([self._audio, np.zeros(BLOCK_SAMPLES, np.int16)])
                return True
            self._audio = np.concatenate([self._audio, self._files[self._next], self._gap])
            self.file_starts_s.append((self._delivered + len(self._audio) - self._pos - len(self._files[self._next])
                                       - len(self._gap)) / SAMPLE_RATE)
            self._next += 1
            return True
        if self._tail > 0:
            self._audio = np.concatenate([self._audio, np.zeros(self._tail, np.int16)])
            self._tail = 0
            return True
        if self.ready is not None and not self.ready():  # let the last reply finish
            self._audio = np.concatenate([self._audio, np.zeros(BLOCK_SAMPLES, np.int16)])
            return True
        return False

    def read(self, timeout_s: float = 0.5) -> np.ndarray | None:
        if self._closed.is_set():
            raise EOFError("source closed")
        if self._pos >= len(self._audio) and not self._refill():
            raise EOFError("end of input files")
        if self.realtime:
            if self._t0 is None:
                self._t0 = time.monotonic()
            due = self._t0 + (self._delivered + BLOCK_SAMPLES) / SAMPLE_RATE
            wait = due - time.monotonic()
            if wait > 0:
                if self._closed.wait(wait):
                    raise EOFError("source closed")
            self._captured = due  # a microphone would have delivered it then, however late the loop reads it
        else:
            self._captured = time.monotonic()
        block = self._audio[self._pos:self._pos + BLOCK_SAMPLES]
        self._pos += BLOCK_SAMPLES
        self._delivered += BLOCK_SAMPLES
        if self._pos > 10 * SAMPLE_RATE:  # drop what was played so appending stays cheap
            self._audio, self._pos = self._audio[self._pos:], 0
        if len(block) < BLOCK_SAMPLES:
            block = np.concatenate([block, np.zeros(BLOCK_SAMPLES - len(block), np.int16)])
        return self.echo.mix_into(block) if self.echo else block

    def captured_at(self) -> float:
        """When the block just read would have been captured (real time), or was read (fast runs)."""
        return self._captured

    def close(self) -> None:
        self._closed.set()


class WavFileSink:
    """Writes each reply to DIR/reply-NNN.wav; with realtime=True it takes as long as playing would."""

    def __init__(self, directory: str | Path, *, realtime: bool = True, echo: EchoPath | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.realtime = realtime
        self.echo = echo
        self.files: list[Path] = []
        self._parts: list[np.ndarray] = []
        self._rate = SAMPLE_RATE
        self._aborted = threading.Event()

    def begin(self, rate: int) -> None:
        self._rate = rate
        self._parts = []
        self._aborted.clear()

    def write(self, samples: np.ndarray) -> None:
        step = max(1, int(PLAY_BLOCK_S * self._rate))
        t0 = time.monotonic()
        for i in range(0, len(samples), step):
            if self._aborted.is_set():
                return
            piece = samples[i:i + step]
            self._parts.append(piece)
            if self.echo:
                self.echo.played(resample(piece, self._rate, SAMPLE_RATE))
            if self.realtime:
                due = t0 + (i + len(piece)) / self._rate
                delay = due - time.monotonic()
                if delay > 0 and self._aborted.wait(delay):
                    return

    def abort(self) -> None:
        self._aborted.set()

    def end(self) -> None:
        if not self._parts:
            return
        path = self.directory / f"reply-{len(self.files) + 1:03d}.wav"
        write_wav(path, np.concatenate(self._parts), self._rate)
        self.files.append(path)
        self._parts = []

    def close(self) -> None:
        self._aborted.set()

