"""Speech recognition: one small interface; Whisper (ears.whisper), Vosk (streaming, the Pi) and PocketSphinx.

`load_recognizer` picks: Vosk when setup.sh installed its English model (the
Pi's streaming recogniser), else Whisper tiny.en (always installed, accurate),
else PocketSphinx, the last resort that ships its own model.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from companion.audio.frames import SAMPLE_RATE
from companion.config import SttSettings, models_dir
from companion.ears.words import Hypothesis, Transcript, Word
from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

SPHINX_FRAME_S = 0.01  # PocketSphinx segment frames are 10 ms
STABLE_BLOCKS = 3  # a streaming partial's last word must survive this many blocks (~100 ms) to be trusted


class SpeechRecognizer(Protocol):
    """Recognition of one utterance at a time (16 kHz int16 in)."""

    name: str
    streaming: bool  # True: words arrive while she speaks; False: decoded when she pauses (Whisper)

    def start(self) -> None:
        """Begin a new utterance, forgetting the previous one."""

    def accept(self, block: np.ndarray) -> None:
        """Feed audio."""

    def settle(self) -> None:
        """She paused: a non-streaming recogniser starts decoding (streaming ones need nothing)."""

    def hypothesis(self) -> Hypothesis:
        """Best guess so far (may change), with the trust in its last word."""

    def partial(self) -> str:
        """The text of `hypothesis()`."""

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until a decode started by `settle` is done (runs without real-time pacing)."""

    def finish(self) -> Transcript:
        """End the utterance and return the final words with timings."""

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """A whole recording (any length) at once."""

    def close(self) -> None:
        """Free the decoder; safe to call twice."""


class StreamingRecognizer:
    """What streaming recognisers share: the partial after every block, and how long its last word held."""

    name = "streaming"
    streaming = True

    def _decode_partial(self) -> str:
        raise NotImplementedError

    def _reset_partial(self) -> None:
        self._partial = ""
        self._held = 0  # blocks the partial's last word has stayed the same

    def _update_partial(self) -> None:
        text = self._decode_partial()
        last = text.split()[-1:] or [""]
        self._held = self._held + 1 if last == (self._partial.split()[-1:] or [""]) else 0
        self._partial = text

    def settle(self) -> None:
        return None  # the words are already there

    def wait(self, timeout_s: float | None = None) -> None:
        return None

    def hypothesis(self) -> Hypothesis:
        return Hypothesis(self._partial, last_word_confidence=1.0 if self._held >= STABLE_BLOCKS else 0.0)

    def partial(self) -> str:
        return self._partial

    def transcribe(self, audio: np.ndarray) -> Transcript:
        self.start()  # subclasses provide start, accept and finish
        for i in range(0, len(audio), 512):
            self.accept(audio[i:i + 512])
        return self.finish()


class VoskRecognizer(StreamingRecognizer):
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
        self._reset_partial()

    def accept(self, block: np.ndarray) -> None:
        if self._rec.AcceptWaveform(block.astype(np.int16).tobytes()):
            # Kaldi found an internal pause: keep the segment, the utterance goes on.
            self._segments.append(json.loads(self._rec.Result()))
        self._update_partial()

    def _decode_partial(self) -> str:
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


class PocketSphinxRecognizer(StreamingRecognizer):
    """CMU PocketSphinx with the US-English model its wheel bundles: the last resort, always available."""

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
        self._reset_partial()

    def accept(self, block: np.ndarray) -> None:
        self._decoder.process_raw(block.astype(np.int16).tobytes(), False, False)
        self._update_partial()

    def _decode_partial(self) -> str:
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
            words.append(Word(_clean(seg.word), seg.start_frame * SPHINX_FRAME_S, (seg.end_frame + 1) * SPHINX_FRAME_S,
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


def recognizer_choice(settings: SttSettings) -> str:
    """Which recogniser `load_recognizer` builds: the configured one, else Vosk if installed, else Whisper."""
    if settings.engine != "auto":
        return settings.engine
    return "vosk" if find_vosk_model(settings) is not None else "whisper"


def load_recognizer(settings: SttSettings) -> SpeechRecognizer:
    """Vosk when its model is installed (or asked for), else Whisper, else PocketSphinx (the last resort)."""
    choice = recognizer_choice(settings)
    if choice == "pocketsphinx":
        return PocketSphinxRecognizer()
    if choice == "vosk":
        model = find_vosk_model(settings)
        if model is None:
            raise ModelMissingError(
                f"[stt] engine = \"vosk\" but no Vosk model found in {models_dir()}; run ./setup.sh "
                "(downloads vosk-model-small-en-us-0.15) or set [stt] vosk_model_dir"
            )
        return VoskRecognizer(model)
    from companion.ears.whisper import WhisperRecognizer

    if settings.engine == "whisper":
        return WhisperRecognizer.load(settings)
    try:
        return WhisperRecognizer.load(settings)
    except ModelMissingError as exc:
        log.warning("%s; falling back to PocketSphinx (much less accurate)", exc)
        return PocketSphinxRecognizer()
