"""Speech recognition: one small interface, Vosk (default) and PocketSphinx (offline fallback)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from companion.audio.frames import SAMPLE_RATE
from companion.config import SttSettings, models_dir
from companion.ears.words import Word
from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

FRAME_S = 0.01  # PocketSphinx segment frames are 10 ms


@dataclass(frozen=True)
class Transcript:
    """The final result of one utterance."""

    text: str
    words: list[Word] = field(default_factory=list)


class SpeechRecognizer(Protocol):
    """Streaming recognition of one utterance at a time (16 kHz int16 in)."""

    name: str

    def start(self) -> None:
        """Begin a new utterance, forgetting the previous one."""

    def accept(self, block: np.ndarray) -> None:
        """Feed audio."""

    def partial(self) -> str:
        """Best guess so far (may change)."""

    def finish(self) -> Transcript:
        """End the utterance and return the final words with timings."""

    def close(self) -> None:
        """Free the decoder; safe to call twice."""


class VoskRecognizer:
    """Kaldi streaming recognition through Vosk, with word timings."""

    name = "vosk"

    def __init__(self, model_dir: str | os.PathLike[str]) -> None:
        path = Path(model_dir)
        if not (path / "am").is_dir() and not (path / "final.mdl").exists():
            raise ModelMissingError(
                f"Vosk model directory {path} is missing or incomplete (no am/ inside); "
                "run ./setup.sh to download vosk-model-small-en-us-0.15, or set [stt] engine = \"pocketsphinx\""
            )
        import vosk

        vosk.SetLogLevel(-1)
        self._model = vosk.Model(str(path))
        self._vosk = vosk
        self._rec = None
        self._segments: list[dict] = []
        self._offset_s = 0.0
        self.start()

    def start(self) -> None:
        self._rec = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        self._rec.SetWords(True)
        self._rec.SetPartialWords(True)
        self._segments = []

    def accept(self, block: np.ndarray) -> None:
        if self._rec.AcceptWaveform(block.astype(np.int16).tobytes()):
            # Kaldi found an internal pause: keep the segment, the utterance goes on.
            self._segments.append(json.loads(self._rec.Result()))

    def partial(self) -> str:
        current = json.loads(self._rec.PartialResult()).get("partial", "")
        return " ".join(s.get("text", "") for s in self._segments + [{"text": current}] if s.get("text")).strip()

    def finish(self) -> Transcript:
        self._segments.append(json.loads(self._rec.FinalResult()))
        words = [Word(w["word"], float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
                 for s in self._segments for w in s.get("result", [])]
        text = " ".join(s.get("text", "") for s in self._segments if s.get("text")).strip()
        self.start()
        return Transcript(text, words)

    def close(self) -> None:
        self._rec = None


_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]", "[UM]", "[UH]"}


class PocketSphinxRecognizer:
    """CMU PocketSphinx with the US-English model its wheel bundles: always available offline."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Config, Decoder
        except ImportError as exc:
            raise ModelMissingError("pocketsphinx is not installed; run ./setup.sh") from exc
        config = Config(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._decoder = Decoder(config)
        self._in_utt = False
        self.start()

    def start(self) -> None:
        if self._in_utt:
            self._decoder.end_utt()
        self._decoder.start_utt()
        self._in_utt = True

    def accept(self, block: np.ndarray) -> None:
        self._decoder.process_raw(block.astype(np.int16).tobytes(), False, False)

    def partial(self) -> str:
        hyp = self._decoder.hyp()
        return _clean(hyp.hypstr) if hyp is not None else ""

    def finish(self) -> Transcript:
        self._decoder.end_utt()
        self._in_utt = False
        hyp = self._decoder.hyp()
        words: list[Word] = []
        for seg in self._decoder.seg():
            if seg.word in _FILLERS:
                continue
            words.append(Word(_clean(seg.word), seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S,
                              float(np.exp(min(0.0, seg.prob / 1000.0)))))
        text = _clean(hyp.hypstr) if hyp is not None else ""
        self.start()
        return Transcript(text, words)

    def close(self) -> None:
        if self._in_utt:
            self._decoder.end_utt()
            self._in_utt = False


def _clean(text: str) -> str:
    """Drop alternate-pronunciation markers like 'read(2)' and filler tokens."""
    out = []
    for w in text.split():
        if w in _FILLERS:
            continue
        out.append(w.split("(")[0])
    return " ".join(out)


def find_vosk_model(settings: SttSettings) -> Path | None:
    """The configured Vosk model dir, or one installed by setup.sh, or None."""
    if settings.vosk_model_dir:
        return Path(settings.vosk_model_dir).expanduser()
    base = models_dir()
    candidates = sorted(base.glob("vosk-model*")) if base.is_dir() else []
    return next((c for c in candidates if (c / "am").is_dir()), None)


def load_recognizer(settings: SttSettings) -> SpeechRecognizer:
    """Vosk when a model is installed (or asked for), else PocketSphinx."""
    if settings.engine == "pocketsphinx":
        return PocketSphinxRecognizer()
    model = find_vosk_model(settings)
    if settings.engine == "vosk":
        if model is None:
            raise ModelMissingError(
                f"[stt] engine = \"vosk\" but no Vosk model found in {models_dir()}; run ./setup.sh "
                "(downloads vosk-model-small-en-us-0.15) or set [stt] vosk_model_dir"
            )
        return VoskRecognizer(model)
    if model is not None:
        return VoskRecognizer(model)
    log.info("no Vosk model installed; using PocketSphinx (US English) — run ./setup.sh on a network to get Vosk")
    return PocketSphinxRecognizer()
