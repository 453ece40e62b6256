"""The whole loop on real models: Piper-made WAVs in, reply WAVs out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import speech_fraction

from companion.app import App, run_files
from companion.audio.echo import EchoPath
from companion.audio.wav import WavFileSink, WavFileSource, read_wav, write_wav
from companion.loop.events import State
from companion.loop.intents import say_time
from companion.loop.skills import Reply
from companion.loop.turn import FirstToken, ReplyStarted
from companion.voice.spoken import silence, speak_16k, utterance


def _wav(tmp_path: Path, name: str, audio: np.ndarray) -> Path:
    p = tmp_path / name
    write_wav(p, audio, 16000)
    return p


def test_wake_word_question_gets_a_spoken_llm_reply(tmp_path, settings, components, tts):
    wav = _wav(tmp_path, "q.wav", utterance(tts, ["Tell me a story about a garden."]))
    turns, files = run_files(settings, [wav], tmp_path / "out", realtime=False, components=components)
    assert len(turns) == 1
    t = turns[0]
    assert t.wake_detected
    assert {"story", "garden"} <= set(t.transcript.split()), t.transcript
    assert t.intent is None and t.strategy == "chat" and t.reply  # answered by the reply flow, not a skill
    # the model is asked for its one question unless a closing line (the introduction) takes its place;
    # where its question was spoken, its timing is in the turn
    assert t.follow_up in ("model", "bank", "")
    assert t.follow_up != "model" or t.timings.llm_first_token_ms is not None
    assert len(files) == 1
    reply = read_wav(files[0])
    assert len(reply) > 16000 * 0.8  # at least most of a second of speech
    assert speech_fraction(reply, 16000) > 0.4
    rows = [json.loads(line) for line in (tmp_path / "out" / "turns.jsonl").read_text().splitlines()]
    assert rows[0]["transcript"] == t.transcript
    for key in ("wake_detected", "transcript", "reply", "intent", "strategy", "endpoint_ms", "stt_ms", "llm_first_token_ms",
                "first_sentence_ms", "tts_first_audio_ms", "first_audio_after_speech_end_ms"):
        assert key in rows[0]


def test_what_time_is_it_is_answered_without_the_llm(tmp_path, settings, components, tts, clock):
    wav = _wav(tmp_path, "t.wav", utterance(tts, ["What time is it?"]))
    events = []
    turns, files = run_files(settings, [wav], tmp_path / "out", realtime=False, components=components, clock=clock,
                             on_event=events.append)
    assert [t.intent for t in turns] == ["time"]
    assert say_time(clock.now().astimezone()) in turns[0].reply
    assert turns[0].timings.llm_first_token_ms is None
    assert not [e for e in events if isinstance(e, ReplyStarted) and e.by_llm]  # the LLM evaluated nothing
    assert not [e for e in events if isinstance(e, FirstToken)]
    assert speech_fraction(read_wav(files[0]), 16000) > 0.4


def test_speech_without_the_wake_word_does_not_wake_it(tmp_path, settings, components, tts):
    wav = _wav(tmp_path, "n.wav", utterance(tts, ["What time is it? I wonder what we will have for dinner."], wake=None))
    turns, files = run_files(settings, [wav], tmp_path / "out", realtime=False, components=components)
    assert turns == [] and files == []


def _app(settings, components, source, sink, echo, clock=None):
    return App(settings, source=source, speaker=sink, echo=echo, components=components, clock=clock,
               start_alerts=False)


def test_its_own_voice_saying_the_wake_word_does_not_wake_it(tmp_path, settings, components):
    """The reply (with "Hey Jarvis" in it) leaks into the microphone, as on a plain speaker."""
    echo = EchoPath(coupling=0.35)
    source = WavFileSource.from_array(silence(12.0), realtime=True, echo=echo, tail_s=0)
    sink = WavFileSink(tmp_path / "out", realtime=True, echo=echo)
    app = _app(settings, components, source, sink, echo)
    states: list[State] = []
    app.engine.conversation.add_listener(lambda prev, cur: states.append(cur))
    app.engine.announce(Reply("Hey Jarvis, hey Jarvis. Did you know people call me by that name? Hey Jarvis! "
                              "Please don't stop talking to me. Stop by any time.", "test", expect_answer=False))
    try:
        app.run()
    finally:
        app.close()
    assert State.SPEAKING in states
    assert app.engine.turns and not app.engine.turns[0].interrupted  # played to the end
    assert State.LISTENING not in states  # never woke, never barged in
    assert components.wake.suppressed >= 1  # the detector heard itself and refused
    assert components.stop.suppressed >= 1  # and so did the stop-phrase spotter


LONG_REPLY = ("Autumn is a lovely season. The leaves turn red and gold. The air smells of wood smoke. "
              "The days grow shorter and the evenings cosier. It is a good time for soup and stories.")


def _talk_over_a_long_reply(tmp_path, settings, components, tts, words: str, after_s: float):
    """She says `words` while the ~10 s LONG_REPLY plays (its echo leaks into the mic at 0.2)."""
    echo = EchoPath(coupling=0.2)
    source = WavFileSource.from_array(silence(2.5), realtime=True, echo=echo, tail_s=0)
    source.extend(np.concatenate([speak_16k(tts, words), silence(after_s)]))
    sink = WavFileSink(tmp_path / "out", realtime=True, echo=echo)
    app = _app(settings, components, source, sink, echo)
    app.engine.announce(Reply(LONG_REPLY, "test", expect_answer=False))
    try:
        app.run()
    finally:
        app.close()
    history = [(p.value, t.value, n.value) for p, t, n in app.engine.conversation.history]
    return app, sink, history


def test_barge_in_stops_playback_and_listens(tmp_path, settings, components, tts):
    app, sink, history = _talk_over_a_long_reply(tmp_path, settings, components, tts, "Hey Jarvis", 6.0)
    assert ("speaking", "barge_in", "listening") in history
    turn = app.engine.turns[0]
    assert turn.interrupted
    assert turn.reply != LONG_REPLY  # only the sentences she heard are kept
    played_s = len(read_wav(sink.files[0])) / 16000
    assert played_s < 6.0, played_s  # stopped at the wake word, not after the ~10 s reply


def test_wrong_format_wav_is_converted_or_rejected_clearly(tmp_path, tts):
    import wave

    stereo = tmp_path / "stereo44k.wav"
    audio = speak_16k(tts, "Hello there.")
    from companion.audio.frames import resample

    hi = resample(audio, 16000, 44100)
    with wave.open(str(stereo), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.repeat(hi, 2).tobytes())
    converted = read_wav(stereo)
    assert abs(len(converted) - len(audio)) < 200  # same duration at 16 kHz mono

    from companion.errors import AudioFormatError

    with pytest.raises(AudioFormatError, match=r"stereo44k\.wav: got 44100 Hz, 2 channel\(s\), 16-bit; need 16 kHz mono"):
        read_wav(stereo, convert=False)
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    with pytest.raises(AudioFormatError, match=r"notes\.wav: not a PCM WAV file .*need 16 kHz mono 16-bit"):
        WavFileSource([bogus])


def test_cli_run_with_files_writes_replies_and_turns(tmp_path, tts):
    wav = _wav(tmp_path, "a.wav", utterance(tts, ["What is today's date?"]))
    out = tmp_path / "out"
    env = {**__import__("os").environ, "XDG_DATA_HOME": str(tmp_path / "d")}
    proc = subprocess.run([sys.executable, "-m", "companion", "run", "--input", str(wav), "--output-dir", str(out),
                           "--fast"], capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "turns.jsonl").read_text().splitlines()]
    assert rows[0]["intent"] == "date" and rows[0]["wake_detected"] is True
    assert (out / "reply-001.wav").exists()


def test_voice_speed_and_volume_changes_persist(tmp_path, settings, components, tts):
    wav = _wav(tmp_path, "s.wav", utterance(tts, ["Please speak more slowly."]))
    turns, _ = run_files(settings, [wav], tmp_path / "out", realtime=False, components=components)
    assert turns[0].intent == "slower"
    from companion.store.store import Store
    from companion.voice.tts import VoiceStyle

    with Store.open(tmp_path / "data") as store:
        style = VoiceStyle(settings.tts, store)
    assert style.length_scale == pytest.approx(settings.tts.length_scale + 0.15)


def test_a_missing_model_names_the_file_and_the_fix(tmp_path, tts):
    from companion.config import LlmSettings, TtsSettings
    from companion.errors import ModelMissingError
    from companion.voice.llm import find_model
    from companion.voice.tts import find_voice

    with pytest.raises(ModelMissingError, match=r"nothing\.gguf not found \(\[llm\] model_path\); run \./setup\.sh"):
        find_model(LlmSettings(model_path=str(tmp_path / "nothing.gguf")))
    with pytest.raises(ModelMissingError, match=r"alba\.onnx not found \(\[tts\] voice\).*voices/README\.md"):
        find_voice(TtsSettings(voice=str(tmp_path / "alba.onnx")))
    broken = tmp_path / "half.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)  # a download cut short
    from companion.voice.llm import ReplyGenerator

    with pytest.raises(ModelMissingError, match=r"cannot load LLM .*half\.gguf.*complete GGUF"):
        ReplyGenerator.load(LlmSettings(model_path=str(broken)))
    # through the command line: a clear message and exit status 2, no traceback
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[llm]\nmodel_path = "{tmp_path / "nothing.gguf"}"\n')
    wav = _wav(tmp_path, "a.wav", utterance(tts, ["Hello."]))
    proc = subprocess.run([sys.executable, "-m", "companion", "--config", str(cfg), "run", "--input", str(wav),
                           "--output-dir", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"{cfg}:2: [llm] model_path: '{tmp_path / 'nothing.gguf'}' does not exist" in proc.stderr
    assert "run ./setup.sh" in proc.stderr and "Traceback" not in proc.stderr


def test_chat_answers_typed_lines(tmp_path):
    env = {**__import__("os").environ, "XDG_DATA_HOME": str(tmp_path / "d")}
    proc = subprocess.run([sys.executable, "-m", "companion", "chat"], input="what time is it\nI made a cake today\n",
                          capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Companion: ")]
    assert any(line.startswith("Companion: It's ") and line.endswith(("morning.", "afternoon.", "evening.", "night.",
                                                                         "noon.", "midnight."))
               for line in lines), proc.stdout
    assert len(lines) >= 3  # the disclosure, the time, and an LLM reply to the cake


def test_saying_stop_while_it_speaks_stops_it_without_the_wake_word(tmp_path, settings, components, tts):
    app, sink, history = _talk_over_a_long_reply(tmp_path, settings, components, tts, "Stop talking.", 5.0)
    # stopped, and not listening: she asked for quiet (on a loaded machine the reply may still be
    # in its first sentence's synthesis when she says it: stopping then is the same behaviour)
    assert ("speaking", "done", "idle") in history or ("thinking", "done", "idle") in history
    assert app.engine.turns[0].interrupted
    assert len(read_wav(sink.files[0])) / 16000 < 6.0
