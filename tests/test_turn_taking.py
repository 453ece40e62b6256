"""Turn-taking in the whole loop: she goes on after an endpoint, the audio clock, the typed turn events."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from companion.app import run_files
from companion.audio.frames import BLOCK_S
from companion.audio.wav import write_wav
from companion.loop.turn import FirstAudio, ReplyStarted, Resumed, SpeechEnded, Transcribed, TurnDone, Woke
from companion.voice.spoken import silence, speak_16k, utterance


def _wav(tmp_path: Path, name: str, audio: np.ndarray) -> Path:
    p = tmp_path / name
    write_wav(p, audio, 16000)
    return p


def _trim(audio: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > 300)[0]
    return audio[loud[0]:loud[-1] + 1]


def test_she_goes_on_within_1_5_s_of_an_endpoint_and_it_is_one_turn(tmp_path, settings, components, tts):
    """A complete-sounding clause, a 1.2 s pause (the turn ends after 450 ms), then the rest of her thought."""
    first = _trim(speak_16k(tts, "I went to the shops yesterday."))
    second = _trim(speak_16k(tts, "And I bought some lovely apples."))
    audio = np.concatenate([utterance(tts, []), first, silence(1.2), second, silence(2.5)])  # wake word first
    events = []
    turns, files = run_files(settings, [_wav(tmp_path, "r.wav", audio)], tmp_path / "out", realtime=False,
                             components=components, on_event=events.append)
    resumed = [e for e in events if isinstance(e, Resumed)]
    assert resumed and 0 < resumed[0].after_endpoint_ms <= 1500  # she went on soon after the endpoint
    assert len(turns) == 1, [t.text for t in turns]  # one turn, one reply
    t = turns[0]
    assert t.joined == 1
    assert "shops" in t.text and "apples" in t.text, t.text  # the whole of what she said
    assert t.reply and len(files) == 1
    assert [type(e) for e in events if isinstance(e, (Woke, TurnDone))] == [Woke, TurnDone]


def test_she_says_the_same_thing_again_after_an_endpoint_and_nothing_is_lost(tmp_path, settings, components, tts):
    """Whisper folds a repeated sentence into one when it hears both at once: the joined turn keeps both."""
    ask = _trim(speak_16k(tts, "Where are my glasses?"))
    audio = np.concatenate([utterance(tts, []), ask, silence(1.2), ask, silence(2.5)])
    events = []
    turns, _ = run_files(settings, [_wav(tmp_path, "g.wav", audio)], tmp_path / "out", realtime=False,
                         components=components, on_event=events.append)
    assert [e for e in events if isinstance(e, Resumed)] and len(turns) == 1
    assert turns[0].text.lower().count("glasses") == 2, turns[0].text
    assert [w.word.strip(" ?.").lower() for w in turns[0].words].count("glasses") == 2


def test_events_and_timings_are_on_the_audio_clock(tmp_path, settings, components, tts):
    wav = _wav(tmp_path, "t.wav", utterance(tts, ["What time is it?"]))
    events = []
    turns, _ = run_files(settings, [wav], tmp_path / "out", realtime=False, components=components,
                         on_event=events.append)
    kinds = [type(e) for e in events]
    assert kinds == [Woke, SpeechEnded, Transcribed, ReplyStarted, FirstAudio, TurnDone]
    assert all(e.turn is turns[0] for e in events)  # one Turn object from the wake word to the end
    ended = next(e for e in events if isinstance(e, SpeechEnded))
    # counted in microphone blocks, however fast the file was read: at least the 450 ms asked for
    assert 450 <= ended.endpoint_ms < 450 + 2 * BLOCK_S * 1000
    assert round(ended.endpoint_ms / (BLOCK_S * 1000), 6).is_integer()
    assert next(e for e in events if isinstance(e, Transcribed)).engine == "whisper"


def test_its_own_reply_heard_by_the_microphone_is_not_taken_for_her_going_on(tmp_path, settings, components, tts):
    """The reply leaks into the microphone (a plain speaker) right after her endpoint: no false resumption."""
    from companion.app import App
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource

    echo = EchoPath(coupling=0.35)
    source = WavFileSource.from_array(utterance(tts, ["Tell me about the sea."]), realtime=True, echo=echo,
                                      tail_s=4.0)
    sink = WavFileSink(tmp_path / "out", realtime=True, echo=echo)
    app = App(settings, source=source, speaker=sink, echo=echo, components=components, start_alerts=False)
    events = []
    app.engine.events.add_listener(events.append)
    try:
        app.run()
    finally:
        app.close()
    assert not [e for e in events if isinstance(e, Resumed)]
    assert app.engine.turns and app.engine.turns[0].reply and not app.engine.turns[0].interrupted



RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"


@pytest.mark.skipif(os.getloadavg()[0] / (os.cpu_count() or 1) > 1.2,
                    reason="real-time turn-taking on an overloaded machine: when the reply starts depends on the "
                           "recogniser's pace; `companion bench --turn-taking` measures it")
def test_she_goes_on_while_a_short_acknowledgement_plays_and_after_it(tmp_path, settings, components):
    """The bench case that was cut off once the acknowledgement came at once: a real RAVDESS voice, cut at a
    word with a 1.3 s pause. She goes on while the acknowledgement is still in its first 320 ms (before the
    echo level is known) and for a moment after it: still one turn, with every word."""
    from companion.cli.bench_hearing import build_cases, run_cases
    from companion.ears.evaluation import labelled_recordings

    items = [x for x in labelled_recordings(str(RAVDESS)) if x.split == "test"]
    case = next(c for c in build_cases(items, components.tts, components.recognizer, n=6)
                if c.name.startswith("pause 1.29s"))
    row = run_cases(settings, components, [case], tmp_path)[0]
    assert row["turns"] == 1 and not row["cut_off"] and row["resumed"] == 1, row
    assert "door" in row["heard"], row  # the words after the pause are hers, in the same turn
