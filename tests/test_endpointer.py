"""End of speech: quick when she has finished, patient when she is looking for a word, deaf to the TV."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from companion.audio.frames import BLOCK_SAMPLES, resample
from companion.config import VadSettings
from companion.ears.endpoint import (
    Completeness,
    Endpointer,
    EndpointEvent,
    final_pitch_slope,
    text_completeness,
)
from companion.ears.level import VoiceGate, level_db
from companion.ears.vad import WebRtcVad
from companion.ears.words import Hypothesis
from companion.loop.listening import Listening, lead_in
from companion.loop.turn import Turn
from companion.voice.spoken import silence, speak_16k

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"


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
    # questions that end in "is", "like" or "to" are finished
    ("could you tell me what time it is", Completeness.COMPLETE),
    ("what's the weather like", Completeness.COMPLETE),
    ("who were you talking to", Completeness.COMPLETE),
    ("do you know where my glasses are", Completeness.COMPLETE),
    # ... but not an infinitive, a statement, or a question cut short
    ("would you like to", Completeness.INCOMPLETE),
    ("what i mean is", Completeness.INCOMPLETE),
    ("the thing is", Completeness.INCOMPLETE),
    ("what is", Completeness.INCOMPLETE),
    ("where's my", Completeness.INCOMPLETE),
    # "what's" and "where's" start questions
    ("what's that", Completeness.COMPLETE),
    ("where's the", Completeness.INCOMPLETE),
])
def test_words_alone(text, expected):
    assert text_completeness(text) is expected


def _pauses(pattern: str, text: str = "yesterday i went") -> list[tuple[float, EndpointEvent]]:
    """Blocks of her voice ("x") or not (".") after a second of speech; the events, timed from its end."""
    ep, block = Endpointer(VadSettings()), np.zeros(BLOCK_SAMPLES, np.int16)
    ep.start()
    for _ in range(31):
        ep.update(block, True, Hypothesis(text))
    events = []
    for i, c in enumerate(pattern):
        event = ep.update(block, c == "x", Hypothesis(text))
        if event not in (EndpointEvent.NONE, EndpointEvent.PAUSED, EndpointEvent.SPECULATE):
            events.append((round((i + 1) * BLOCK_SAMPLES / 16000, 3), event))
        if event is EndpointEvent.ENDED:
            break
    return events


def test_her_soft_words_broken_up_by_the_gate_are_her_going_on():
    """Under a TV only the louder blocks of her soft "...to the" pass the gate: three in ten are her voice."""
    soft = "...x..x...x" + "." * 40
    assert _pauses(soft)[0] == (0.352, EndpointEvent.RESUMED)
    assert EndpointEvent.ENDED not in [e for t, e in _pauses(soft) if t < 0.352 + 0.45]
    # two stray blocks (the TV's loud syllables) are not her: the short silence ends the turn on time
    stray = "...x....x" + "." * 40
    assert [e for _, e in _pauses(stray)] == [EndpointEvent.ENDED]
    assert _pauses(stray)[0][0] <= 0.5
    # nor do her last word's own blocks count towards it: one stray block after them changes nothing
    assert [e for _, e in _pauses("..x" + "." * 40)] == [EndpointEvent.ENDED]


def test_a_low_confidence_last_word_never_takes_the_short_silence():
    ep = Endpointer(VadSettings())
    assert ep.completeness(Hypothesis("i went to the market", last_word_confidence=0.9)) is Completeness.COMPLETE
    assert ep.completeness(Hypothesis("i went to the market", last_word_confidence=0.2)) is Completeness.UNSURE
    assert ep.completeness(Hypothesis("i was talking to my", 0.2)) is Completeness.INCOMPLETE


def _listen(audio: np.ndarray, recognizer, settings: VadSettings | None = None, *, gate: VoiceGate | None = None,
            room: np.ndarray | None = None, her_voice: np.ndarray | None = None):
    """Run the loop's own Listening over `audio`; returns [(stream seconds, event)] and the Listening.

    `room` is heard before listening starts (the room's level, a TV included), `her_voice` as the wake word.
    Decodes are waited for (paced=False), as if the recogniser were instant.
    """
    settings = settings or VadSettings()
    vad, ep = WebRtcVad(settings.aggressiveness), Endpointer(settings)
    gate = gate or VoiceGate()
    for pre in (room, her_voice):
        for i in range(0, 0 if pre is None else len(pre) - BLOCK_SAMPLES + 1, BLOCK_SAMPLES):
            gate.listen_room(pre[i:i + BLOCK_SAMPLES])
    if her_voice is not None:
        gate.heard_wake_word()
    ep.start()
    recognizer.start()
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    lst = Listening(Turn("", now, now), recognizer, ep, paced=False)
    events = []
    for i in range(0, len(audio) - BLOCK_SAMPLES + 1, BLOCK_SAMPLES):
        block = audio[i:i + BLOCK_SAMPLES]
        t = (i + BLOCK_SAMPLES) / 16000
        speech = vad(block) >= settings.threshold
        heard = gate.judge(block, speech, onset=not lst.speaking)
        event = lst.hear(block, heard.hers, t, t, room=heard.room)
        if event not in (EndpointEvent.NONE, EndpointEvent.PAUSED):
            events.append((t, event))
        if event in (EndpointEvent.ENDED, EndpointEvent.NO_SPEECH):
            break
    return events, lst


@pytest.fixture(scope="module")
def recognizer(models):
    return models.recognizer  # the default: Whisper tiny.en


def _trim(audio: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > 300)[0]
    return audio[loud[0]:loud[-1] + 1]


def test_what_time_is_it_ends_quickly_with_a_speculative_start(tts, recognizer):
    speech = _trim(speak_16k(tts, "What time is it?"))
    audio = np.concatenate([silence(0.3), speech, silence(3.0)])
    events, lst = _listen(audio, recognizer)
    kinds = [e for _, e in events]
    assert kinds[0] is EndpointEvent.SPEECH_STARTED
    assert EndpointEvent.SPECULATE in kinds and kinds[-1] is EndpointEvent.ENDED
    speech_end = 0.3 + len(speech) / 16000
    assert events[-1][0] - speech_end < 0.6  # complete words: 450 ms of silence, not the wait for a pause
    assert lst.hypothesis().text == "what time is it"


def test_a_question_ending_in_is_is_not_made_to_wait(tts, recognizer):
    speech = _trim(speak_16k(tts, "Could you tell me what time it is?"))
    events, lst = _listen(np.concatenate([silence(0.3), speech, silence(3.0)]), recognizer)
    assert events[-1][1] is EndpointEvent.ENDED
    assert events[-1][0] - (0.3 + len(speech) / 16000) < 0.6, lst.hypothesis()


def test_a_word_finding_pause_after_an_unfinished_phrase_is_not_a_turn_end(tts, recognizer):
    first, second = speak_16k(tts, "I was talking to my"), speak_16k(tts, "neighbour about the garden.")
    audio = np.concatenate([silence(0.3), first, silence(1.5), second, silence(3.0)])
    events, lst = _listen(audio, recognizer)
    ended_at = [t for t, e in events if e is EndpointEvent.ENDED]
    resume = 0.3 + (len(first) / 16000) + 1.5
    assert ended_at and ended_at[0] > resume  # the turn ended after the second half, not in the pause


def test_she_goes_on_after_a_speculative_start(tts, recognizer):
    first, second = _trim(speak_16k(tts, "I baked a pie.")), _trim(speak_16k(tts, "And then I had a nap."))
    audio = np.concatenate([silence(0.3), first, silence(0.3), second, silence(3.0)])
    kinds = [e for _, e in _listen(audio, recognizer)[0]]
    assert EndpointEvent.SPECULATE in kinds
    assert EndpointEvent.RESUMED in kinds[kinds.index(EndpointEvent.SPECULATE):]  # the speculation is dropped
    assert kinds[-1] is EndpointEvent.ENDED


def test_nobody_speaks_after_the_wake_word(recognizer):
    events, _ = _listen(silence(7.0), recognizer, VadSettings(no_speech_timeout_s=3.0))
    assert events == [(pytest.approx(3.0, abs=0.05), EndpointEvent.NO_SPEECH)]


def test_an_utterance_is_cut_at_the_maximum_length(tts, recognizer):
    speech = np.tile(speak_16k(tts, "and then and then and then"), 4)
    events, _ = _listen(np.concatenate([silence(0.2), speech]), recognizer, VadSettings(max_utterance_s=3.0))
    assert events[-1][1] is EndpointEvent.ENDED and events[-1][0] == pytest.approx(3.25, abs=0.2)


def _ravdess(name: str) -> np.ndarray:
    import soundfile as sf

    audio, rate = sf.read(str(RAVDESS / name), dtype="int16")
    return resample(audio, rate, 16000)


def _at_level(audio: np.ndarray, db: float) -> np.ndarray:
    """Scale to an active-speech RMS of `db` dBFS."""
    active = audio[np.abs(audio) > 0.05 * np.abs(audio).max()].astype(np.float64)
    gain = 10 ** ((db - 20 * np.log10(np.sqrt(np.mean(active ** 2)) / 32768)) / 20)
    return np.clip(audio * gain, -32768, 32767).astype(np.int16)


def test_a_tv_18_db_below_her_voice_does_not_hold_the_turn_open(tts, recognizer):
    """Her (a real RAVDESS actor) over a TV talking on and on 18 dB below her voice."""
    her = _at_level(_trim(_ravdess("03-01-01-01-01-01-13.flac")), -24.0)
    wake = _at_level(_trim(_ravdess("03-01-01-01-02-01-13.flac")), -24.0)[:16000 * 4 // 5]  # her voice: wake word
    tv_talk = np.concatenate([speak_16k(tts, s) for s in (
        "And now the weather for the weekend. Rain is expected in the north, with sunny spells in the south.",
        "Temperatures will stay mild for the time of year, and the wind will ease by Sunday evening.",
        "Back to the studio now for the rest of the evening news and the sport.")])
    tv = _at_level(np.tile(tv_talk, 2), -42.0)  # 18 dB below her
    audio = np.concatenate([silence(0.3), her, silence(4.0)])
    mixed = np.clip(audio.astype(np.int32) + tv[:len(audio)], -32768, 32767).astype(np.int16)
    room = tv[len(audio):len(audio) + 16000 * 3]
    assert level_db(her) - level_db(tv) == pytest.approx(18, abs=3)
    events, lst = _listen(mixed, recognizer, room=room, her_voice=wake)
    ended = [t for t, e in events if e is EndpointEvent.ENDED]
    speech_end = 0.3 + len(her) / 16000
    assert ended and ended[0] - speech_end < 1.2, events  # not held open by the TV
    assert recognizer.finish().text.lower().strip(".").endswith("talking by the door")  # no word of the TV's after
    # without the gate (judging by the VAD alone) the TV would have held it open
    events, _ = _listen(mixed, recognizer, gate=VoiceGate(above_room_db=-99, below_her_db=99))
    assert not [t for t, e in events if e is EndpointEvent.ENDED and t - speech_end < 1.2]


def _tv(tts, db: float) -> np.ndarray:
    talk = np.concatenate([speak_16k(tts, s) for s in (
        "And now the weather for the weekend. Rain is expected in the north, with sunny spells in the south.",
        "Temperatures will stay mild for the time of year, and the wind will ease by Sunday evening.",
        "Back to the studio now for the rest of the evening news and the sport.")])
    return _at_level(np.tile(talk, 2), db)


def test_tv_talk_alone_does_not_open_a_turn(tts, recognizer):
    """The follow-up window after a reply, her voice known, only the TV talking (18 dB below her): no turn."""
    wake = _at_level(_trim(_ravdess("03-01-01-01-02-01-13.flac")), -24.0)[:16000 * 4 // 5]
    tv = _tv(tts, -42.0)
    room, talk = tv[:16000 * 3], tv[16000 * 3:16000 * 13]
    events, lst = _listen(talk, recognizer, VadSettings(no_speech_timeout_s=8.0), room=room, her_voice=wake)
    assert [e for _, e in events] == [EndpointEvent.NO_SPEECH]
    # judged by the VAD alone, the TV opens it
    events, _ = _listen(talk, recognizer, VadSettings(no_speech_timeout_s=8.0), room=room, her_voice=wake,
                        gate=VoiceGate(above_room_db=-99, below_her_db=99))
    assert EndpointEvent.SPEECH_STARTED in [e for _, e in events]


def test_a_tv_that_pauses_and_comes_back_does_not_open_a_turn(tts, recognizer):
    """The TV falls silent for two seconds (between programmes) in the follow-up window, then talks again: no turn.

    The room's level is what it sounded like over the last ~10 s, so a quiet moment does not make
    the TV's next sentence stand 12 dB above "the room" (over the last 3 s it did).
    """
    wake = _at_level(_trim(_ravdess("03-01-01-01-02-01-13.flac")), -24.0)[:16000 * 4 // 5]
    tv = _tv(tts, -42.0)
    room, talk = tv[:16000 * 10], np.concatenate([silence(2.0), tv[:16000 * 6]])  # back at "And now the weather"
    events, _ = _listen(talk, recognizer, VadSettings(no_speech_timeout_s=6.0), room=room, her_voice=wake)
    assert [e for _, e in events] == [EndpointEvent.NO_SPEECH]


def test_her_soft_first_syllable_reaches_the_recogniser(tts, recognizer):
    """A wake word said louder than the words after it: her soft "k" of "kids" is still heard."""
    wake = _at_level(_trim(speak_16k(tts, "Hey Jarvis")), -15.0)
    her = _at_level(_trim(_ravdess("03-01-02-02-01-02-03.flac")), -26.0)
    audio = np.concatenate([silence(0.45), her, silence(2.0)])
    events, lst = _listen(audio, recognizer, room=silence(3.0), her_voice=wake)
    assert EndpointEvent.ENDED in [e for _, e in events]
    assert recognizer.finish().text.lower().strip(".") == "kids are talking by the door"


def test_the_lead_in_starts_after_the_room_last_talked_on_its_own():
    blocks = [np.full(BLOCK_SAMPLES, i, np.int16) for i in range(10)]
    # a TV's talk (3 room-like blocks in a row), then her: soft first sounds with short dips between them
    room = [False, True, True, True, False, True, False, False, True, False]
    assert [int(b[0]) for b in lead_in(blocks, room)] == [4, 5, 6, 7, 8, 9]
    assert len(lead_in(blocks, [False] * 10)) == 10  # a quiet room: the whole lead-in is hers
    assert lead_in(blocks, [True] * 10) == []


def test_falling_and_rising_pitch(tts):
    statement = speak_16k(tts, "I feel a bit tired today.")
    voiced = statement[: np.nonzero(np.abs(statement) > 500)[0][-1]]
    assert final_pitch_slope(voiced) < 0
    rising = (8000 * np.sin(2 * np.pi * np.cumsum(np.linspace(150, 260, 16000)) / 16000)).astype(np.int16)
    assert final_pitch_slope(rising) > 3
    assert final_pitch_slope(silence(1.0)) is None
