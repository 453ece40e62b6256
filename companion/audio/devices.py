"""Live audio devices through sounddevice (PortAudio), and recovery when a device disappears.

The only module that imports sounddevice. Devices are chosen by name
substring or index; a missing device or library is an AudioDeviceError that
names the fix.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Iterable

import numpy as np

from companion.audio.echo import EchoPath
from companion.audio.frames import BLOCK_SAMPLES, PLAY_BLOCK_S, SAMPLE_RATE, AudioSource, resample
from companion.errors import AudioDeviceError

log = logging.getLogger(__name__)


def _sd():
    """Import sounddevice, turning a missing PortAudio into a clear error."""
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library not found
        raise AudioDeviceError(
            "PortAudio is not installed, so no microphone or speaker can be opened; "
            "install it with: sudo apt-get install libportaudio2"
        ) from exc
    return sounddevice


def find_device(spec: str | int | None, kind: str) -> int | None:
    """Resolve a device name substring or index to an index (None = default)."""
    sd = _sd()
    try:
        devices = sd.query_devices()
    except Exception as exc:  # PortAudio raises its own error types
        raise AudioDeviceError(f"cannot list audio devices: {exc}") from exc
    channels_key = "max_input_channels" if kind == "input" else "max_output_channels"
    usable = [(i, d) for i, d in enumerate(devices) if d[channels_key] > 0]
    if not usable:
        raise AudioDeviceError(
            f"no audio {kind} device found; plug in a USB microphone/speaker and check `arecord -l` / "
            "`aplay -l`; under systemd the service user must be in the 'audio' group "
            "(see `companion doctor`)"
        )
    if spec is None:
        return None
    if isinstance(spec, int):
        if any(i == spec for i, _ in usable):
            return spec
    else:
        for i, d in usable:
            if spec.lower() in d["name"].lower():
                return i
    names = ", ".join(f"{i}: {d['name']}" for i, d in usable)
    raise AudioDeviceError(f"audio {kind} device {spec!r} not found; set [audio] {kind}_device to one of: {names}")


class MicrophoneSource:
    """Live 16 kHz mono int16 capture from sounddevice, in BLOCK_SAMPLES blocks."""

    realtime = True

    def __init__(self, device: str | int | None = None) -> None:
        sd = _sd()
        self._q: "queue.Queue[tuple[bytes, float]]" = queue.Queue(maxsize=200)
        self._error: str | None = None
        self._captured = time.monotonic()
        index = find_device(device, "input")

        def callback(indata, frames, time_info, status):  # runs on PortAudio's thread
            if status.input_overflow:
                log.debug("microphone overflow")
            try:
                # stamped on arrival: the loop may read it later, but her speech ended when it was captured
                self._q.put_nowait((bytes(indata), time.monotonic()))
            except queue.Full:
                pass  # the loop is behind: dropping is better than growing without bound

        try:
            self._stream = sd.RawInputStream(samplerate=SAMPLE_RATE, blocksize=BLOCK_SAMPLES, device=index,
                                             channels=1, dtype="int16", callback=callback,
                                             finished_callback=self._finished)
            self._stream.start()
        except Exception as exc:
            raise AudioDeviceError(f"cannot open microphone {device!r}: {exc}; check [audio] input_device") from exc

    def _finished(self) -> None:
        self._error = "microphone stream stopped"

    def read(self, timeout_s: float = 0.5) -> np.ndarray | None:
        try:
            data, self._captured = self._q.get(timeout=timeout_s)
        except queue.Empty:
            if self._error or not self._stream.active:
                raise AudioDeviceError(self._error or "microphone stream is not active (unplugged?)")
            return None
        return np.frombuffer(data, np.int16)

    def captured_at(self) -> float:
        """When the block just read arrived from the sound card."""
        return self._captured

    def close(self) -> None:
        stream, self._stream = getattr(self, "_stream", None), None
        if stream is not None:
            try:
                stream.close(ignore_errors=True)
            except Exception:  # closing a dead device must not raise
                pass


class ResilientSource:
    """Wraps a source factory: when the device fails, log, back off, reopen.

    The loop keeps running while the microphone is unplugged and resumes by
    itself when it comes back — no restart needed.
    """

    realtime = True

    def __init__(self, factory: Callable[[], AudioSource], *, backoff_s: Iterable[float] = (0.5, 1, 2, 5, 10)) -> None:
        self._factory = factory
        self._backoff = list(backoff_s)
        self._source: AudioSource | None = None
        self._failures = 0
        self._closed = threading.Event()
        self._next_try = 0.0  # monotonic time of the next attempt to reopen
        self._captured = time.monotonic()
        self.reopened = 0  # how many times the device came back

    def read(self, timeout_s: float = 0.5) -> np.ndarray | None:
        """A block, or None while the device is away (so the loop, and its watchdog, keep turning)."""
        if self._closed.is_set():
            raise EOFError("source closed")
        if self._source is None:
            wait = self._next_try - time.monotonic()
            if wait > 0:
                if self._closed.wait(min(wait, timeout_s)):
                    raise EOFError("source closed")
                return None
            try:
                self._source = self._factory()
            except (AudioDeviceError, OSError) as exc:
                self._failed(exc)
                return None
            if self._failures:
                log.warning("audio input is back after %d failure(s)", self._failures)
                self.reopened += 1
            self._failures = 0
        try:
            block = self._source.read(timeout_s)
        except (AudioDeviceError, OSError) as exc:
            self._failed(exc)
            return None
        self._captured = self._source.captured_at() if block is not None else time.monotonic()
        return block

    def captured_at(self) -> float:
        """When the block just read was captured by the device in use."""
        return self._captured

    def _failed(self, exc: BaseException) -> None:
        delay = self._backoff[min(self._failures, len(self._backoff) - 1)]
        self._failures += 1
        log.error("audio input failed (%s); retrying in %.1f s", exc, delay)
        if self._source is not None:
            self._source.close()
            self._source = None
        self._next_try = time.monotonic() + delay

    def close(self) -> None:
        self._closed.set()
        if self._source is not None:
            self._source.close()


class SoundDeviceSpeaker:
    """Live playback through sounddevice at the voice's own sample rate.

    A missing or unplugged speaker never stops the companion: the reply is
    still recorded, the problem is logged with the fix, and the device is
    looked for again at the next reply.
    """

    def __init__(self, device: str | int | None = None, echo: EchoPath | None = None) -> None:
        self._sd = _sd()
        self._spec = device
        self._stream = None
        self._rate = 0
        self._aborted = threading.Event()
        self._failed = False
        self.echo = echo

    def begin(self, rate: int) -> None:
        self._aborted.clear()
        if self._stream is None or rate != self._rate:
            self.close()
            try:
                device = find_device(self._spec, "output")
                self._stream = self._sd.OutputStream(samplerate=rate, channels=1, dtype="int16", device=device)
                self._stream.start()
            except Exception as exc:  # AudioDeviceError, or PortAudio's own errors
                self._stream = None
                if not self._failed:
                    log.error("cannot open the speaker (%s); replies are silent until it is back — "
                              "check [audio] output_device and `companion doctor`", exc)
                self._failed = True
                return
            if self._failed:
                log.warning("speaker is back")
            self._failed = False
            self._rate = rate

    def write(self, samples: np.ndarray) -> None:
        step = max(1, int(PLAY_BLOCK_S * self._rate)) if self._rate else len(samples) or 1
        for i in range(0, len(samples), step):
            if self._aborted.is_set() or self._stream is None:
                return
            piece = samples[i:i + step]
            try:
                self._stream.write(np.ascontiguousarray(piece.reshape(-1, 1)))
            except Exception as exc:
                log.error("speaker failed: %s (unplugged?); trying again at the next reply", exc)
                self._failed = True
                self.close()
                return
            if self.echo:
                self.echo.played(resample(piece, self._rate, SAMPLE_RATE))

    def abort(self) -> None:
        self._aborted.set()
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.start()
            except Exception:  # the device may be gone: it is reopened on the next reply
                self.close()

    def end(self) -> None:
        pass

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close(ignore_errors=True)
            except Exception:
                pass
