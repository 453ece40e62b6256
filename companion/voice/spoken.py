"""Speech spoken by the Piper voice as a microphone would hear it: for the demo, the benchmark and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from companion.audio.frames import SAMPLE_RATE, resample
from companion.audio.wav import write_wav
from companion.voice.tts import PiperTTS

DEMO_SCRIPT = [
    "What time is it?",
    "I baked an apple pie this morning.",
    "Could you speak a little slower?",
    "Tell me something cheerful about autumn.",
]


def speak_16k(tts: PiperTTS, text: str, *, length_scale: float = 1.0) -> np.ndarray:
    """Piper speech resampled to the microphone's 16 kHz."""
    return resample(tts.synthesize_all(text, length_scale=length_scale, deterministic=True), tts.rate, SAMPLE_RATE)


def silence(seconds: float) -> np.ndarray:
    """Digital silence at 16 kHz."""
    return np.zeros(int(seconds * SAMPLE_RATE), np.int16)


def utterance(tts: PiperTTS, parts: Sequence[str | float], *, wake: str | None = "Hey Jarvis",
              lead_s: float = 0.5) -> np.ndarray:
    """Audio of: lead silence, the wake phrase, then text pieces; a float in `parts` is a pause in seconds."""
    pieces = [silence(lead_s)]
    if wake:
        pieces += [speak_16k(tts, wake), silence(0.45)]
    for part in parts:
        pieces.append(silence(part) if isinstance(part, (int, float)) else speak_16k(tts, part))
    return np.concatenate(pieces)


def write_script(tts: PiperTTS, directory: Path, script: Sequence[str] = DEMO_SCRIPT) -> list[Path]:
    """One WAV per scripted line (wake word + line), as a microphone would hear them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, line in enumerate(script, 1):
        p = directory / f"user-{i:02d}.wav"
        write_wav(p, utterance(tts, [line]), SAMPLE_RATE)
        paths.append(p)
    return paths

