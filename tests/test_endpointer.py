"""End of speech: quick when she has finished, patient when she is looking for a word."""

from __future__ import annotations

import numpy as np
import pytest

from companion.audio.frames import BLOCK_SAMPLES
from companion.config import VadSettings
from companion.ears.stt import PocketSphinxRecognizer
from companion.ears.vad import Completeness, Endpointer, EndpointEvent, WebRtcVad, final_pitch_slope, text_completeness
from companion.voice.spoken import silence, speak_16k


@pytest.mark.parametrize("text,expected", [
    ("what time is it", Completeness.COMPLETE),
    ("i baked an apple pie this morning", Completeness.COMPLETE),
    ("i went to the shop and", Completeness.INCOMPLETE),
    ("i was talking to my", Completeness.INCOMPLETE),
    ("yesterday i saw the", Completeness.INCOMPLETE),
    ("well um", Completeness.INCOMPLETE),
    ("hello", Completeness.UNSURE),
    ("i was talking to mike", Completeness.UNSURE),  # "my" misheard: wait long enough for a pause
    ("is it", Completeness.COMPLETE),
    ("", Completeness.UNSURE),
])
def test_words_alone(text, expected):
    assert text_completeness(text) is expected


def _run(audio: np.ndarray, settings: VadSettings, recognizer) -> list[tuple[float, EndpointEvent]]:
    vad, ep = WebRtcVad(settings.aggressiveness), Endpointer(settings)
    ep.start()
    recognizer.start()
    events = []
    for i in range(0, len(audio) - BLOCK_SAMPLES + 1, BLOCK_SAMPLES):
        block = audio[i:i + BLOCK_SAMPLES]
        recognizer.accept(block)
        event = ep.update(block, vad(block), recognizer.partial())
        if event is not EndpointEvent.NONE:
            events.append(((i + BLOCK_SAMPLES) / 16000, event))
        if event in (EndpointEvent.ENDED, EndpointEvent.NO_SPEECH):
            break
    return events


@pytest.fixture(scope="module")
def recognizer():
    return PocketSphinxRecognizer()


def test_a_finished_question_ends_quickly_with_a_speculative_start(tts, recognizer):
    speech = speak_16k(tts, "What time is it?")
    audio = np.concatenate([silence(0.3), speech, silence(3.0)])
    events = _run(audio, VadSettings(), recognizer)
    kinds = [e for _, e in events]
    assert kinds[0] is EndpointEvent.SPEECH_STARTED
    assert EndpointEvent.SPECULATE in kinds and kinds[-1] is EndpointEvent.ENDED
    speech_end = 0.3 + len(speech) / 16000
    ended_at = events[-1][0]
    assert ended_at - speech_end < 0.8  # complete words: 450 ms of silence, not the 2.2 s for a pause


def test_a_word_finding_pause_after_an_unfinished_phrase_is_not_a_turn_end(tts, recognizer):
    first, second = speak_16k(tts, "I was talking to my"), speak_16k(tts, "neighbour about the garden.")
    audio = np.concatenate([silence(0.3), first, silence(1.5), second, silence(3.0)])
    events = _run(audio, VadSettings(), recognizer)
    ended_at = [t for t, e in events if e is EndpointEvent.ENDED]
    resume = 0.3 + (len(first) / 16000) + 1.5
    assert ended_at and ended_at[0] > resume  # the turn ended after the second half, not in the pause


def _trim(audio: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > 300)[0]
    return audio[loud[0]:loud[-1] + 1]


def test_she_goes_on_after_a_speculative_start(tts, recognizer):
    first, second = _trim(speak_16k(tts, "I baked a pie.")), _trim(speak_16k(tts, "And then I had a nap."))
    audio = np.concatenate([silence(0.3), first, silence(0.3), second, silence(3.0)])
    kinds = [e for _, e in _run(audio, VadSettings(), recognizer)]
    assert EndpointEvent.SPECULATE in kinds and EndpointEvent.RESUMED in kinds
    assert kinds.index(EndpointEvent.RESUMED) > kinds.index(EndpointEvent.SPECULATE)
    assert kinds[-1] is EndpointEvent.ENDED


def test_nobody_speaks_after_the_wake_word(recognizer):
    events = _run(silence(7.0), VadSettings(no_speech_timeout_s=3.0), recognizer)
    assert events == [(pytest.approx(3.0, abs=0.05), EndpointEvent.NO_SPEECH)]


def test_an_utterance_is_cut_at_the_maximum_length(tts, recognizer):
    speech = np.tile(speak_16k(tts, "and then and then and then"), 4)
    events = _run(np.concatenate([silence(0.2), speech]), VadSettings(max_utterance_s=3.0), recognizer)
    assert events[-1][1] is EndpointEvent.ENDED and events[-1][0] == pytest.approx(3.25, abs=0.2)


def test_falling_and_rising_pitch(tts):
    statement = speak_16k(tts, "I feel a bit tired today.")
    voiced = statement[: np.nonzero(np.abs(statement) > 500)[0][-1]]
    assert final_pitch_slope(voiced) < 0
    t = np.arange(16000) / 16000
    rising = (8000 * np.sin(2 * np.pi * np.cumsum(np.linspace(150, 260, 16000)) / 16000)).astype(np.int16)
    assert final_pitch_slope(rising) > 3
    assert final_pitch_slope(silence(1.0)) is None
    del t
