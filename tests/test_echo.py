"""Her voice or our own echo: the echo coupling is learned from every moment of playback, even while she talks."""

from __future__ import annotations

import numpy as np
import pytest

from companion.audio.echo import DoubleTalk, EchoPath
from companion.audio.frames import BLOCK_S, BLOCK_SAMPLES
from companion.voice.spoken import speak_16k


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def _at_peak(audio: np.ndarray, db: float) -> np.ndarray:
    return (audio.astype(np.float64) * (10 ** (db / 20) * 32767 / np.abs(audio).max())).astype(np.int16)


def _blocks(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i:i + BLOCK_SAMPLES] for i in range(0, len(audio) - BLOCK_SAMPLES + 1, BLOCK_SAMPLES)]


def _play(reply: np.ndarray, her: np.ndarray, coupling: float, dt: DoubleTalk, clock: Clock) -> list[bool]:
    """Play `reply` while the microphone hears its echo (one block late) plus `her`; above_echo per block."""
    out, last = [], np.zeros(BLOCK_SAMPLES, np.int16)
    for i, (played, voice) in enumerate(zip(_blocks(reply), _blocks(her))):
        clock.t = i * BLOCK_S
        dt.echo.played(played)
        mic = np.clip(last * coupling + voice.astype(np.float64), -32768, 32767).astype(np.int16)
        last = played.astype(np.float64)
        dt.observe(mic)
        out.append(dt.above_echo())
    return out


def test_the_coupling_is_learned_while_she_talks_over_half_the_reply(tts):
    clock = Clock()
    reply = _at_peak(speak_16k(tts, "It is lovely to hear from you. Shall I tell you what is on today, "
                                    "or would you rather have a little music?"), -1.0)
    her = np.zeros_like(reply)
    words = _at_peak(speak_16k(tts, "No, no, I wanted to ask you about my daughter's visit."), -8.0)
    start = len(reply) // 2
    her[start:start + len(words)] = words[:len(reply) - start]
    dt = DoubleTalk(EchoPath(monotonic=clock), ratio=2.0)
    above = _play(reply, her, 0.05, dt, clock)
    assert dt.coupling_db == pytest.approx(20 * np.log10(0.05), abs=4)  # -26 dB, her voice did not raise it
    first = start // BLOCK_SAMPLES
    assert not any(above[8:first - 1])  # our own echo alone is never taken for her
    voiced = [a for a, b in zip(above[first:], _blocks(her)[first:]) if np.abs(b).max() > 0.3 * np.abs(words).max()]
    assert np.mean(voiced) > 0.9  # her loud syllables stand clearly above it
    assert not dt.her_voice()  # the fixed Geigel ratio alone would not have heard her over the reply


def test_a_new_speaker_learns_its_coupling_anew(tts):
    clock = Clock()
    reply = _at_peak(speak_16k(tts, "Good morning. It is a bright day today."), -1.0)
    dt = DoubleTalk(EchoPath(monotonic=clock), ratio=2.0)
    _play(reply, np.zeros_like(reply), 0.0, dt, clock)  # no echo at all (a file run, a headset)
    assert dt.coupling_db < -60
    dt.echo = EchoPath(monotonic=clock)  # a loudspeaker next to the microphone
    assert dt.coupling_db is None
    above = _play(reply, np.zeros_like(reply), 0.5, dt, clock)
    assert dt.coupling_db == pytest.approx(20 * np.log10(0.5), abs=4)
    echoed = [a for a, b in zip(above[1:], _blocks(reply)) if np.abs(b).max() > 1000]  # the microphone hears it
    assert len(echoed) > 50 and not any(echoed)  # its loud echo is not her
