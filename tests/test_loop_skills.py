"""The skills inside the running loop: mood reaches the prompt and the voice; the AI says it is one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from companion.app import App, run_files
from companion.audio.echo import EchoPath
from companion.audio.wav import WavFileSink, WavFileSource, write_wav
from companion.loop.turn import ReplyStarted, Turn
from companion.store.journal import HelpRow, MoodRow, RoutineRow
from companion.voice.spoken import utterance


def _app(settings, components, tmp_path, clock):
    echo = EchoPath()
    return App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
               speaker=WavFileSink(tmp_path / "out", realtime=False), echo=echo, components=components,
               clock=clock, start_alerts=False)


RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"


def _ravdess(emotion_code: str, actor: int) -> np.ndarray:
    """A strong-intensity RAVDESS clip (real actor, read in place from ../shared)."""
    import soundfile as sf

    name = f"03-01-{emotion_code}-02-01-01-{actor:02d}.flac"
    audio, _ = sf.read(str(RAVDESS / name), dtype="int16")
    return audio


def test_her_mood_reaches_the_prompt_and_the_voice(tmp_path, settings, components, clock):
    settings = settings.replace(emotion={"mode": "on"})
    app = _app(settings, components, tmp_path, clock)
    try:
        engine = app.engine
        sad = Turn("i feel so sad and lonely today", clock.now(), engine.dialogue.local_now())
        sad.audio = _ravdess("04", 2)  # sad
        engine.dialogue.estimate_emotion(sad, record=True)
        happy = Turn("what a wonderful day i am so happy", clock.now(), engine.dialogue.local_now())
        happy.audio = _ravdess("03", 2)  # happy
        engine.dialogue.estimate_emotion(happy, record=True)
        assert sad.audio is None and happy.audio is None  # raw audio dropped once features exist
        assert sad.emotion.valence < 0 < happy.emotion.valence
        assert sad.emotion.prompt_hint() and sad.emotion.prompt_hint() in engine.dialogue.context(sad)
        assert happy.emotion.prompt_hint() and happy.emotion.prompt_hint() in engine.dialogue.context(happy)
        assert sad.emotion.prompt_hint() != happy.emotion.prompt_hint()
        sad_ls, sad_vol = app.style.for_turn(sad.emotion)
        happy_ls, happy_vol = app.style.for_turn(happy.emotion)
        plain_ls, plain_vol = app.style.for_turn(None)
        assert sad_ls > plain_ls and sad_vol < plain_vol  # slower and softer when she is low
        assert happy_ls <= plain_ls and happy_vol >= sad_vol
        rows = app.store.journal.all(MoodRow)
        assert len(rows) == 2 and all(isinstance(r, MoodRow) for r in rows)  # logged for the summaries, no audio
        assert not any("audio" in name for name in rows[0].data())
    finally:
        app.close()


def test_says_it_is_an_ai_at_the_first_conversation_of_each_day(tmp_path, settings, components, tts, clock):
    wavs = []
    for i, line in enumerate(["Tell me about the sea.", "Tell me about the moon."]):
        p = tmp_path / f"{i}.wav"
        write_wav(p, utterance(tts, [line]), 16000)
        wavs.append(p)
    data_settings = settings.replace(emotion={"mode": "off"})
    first, _ = run_files(data_settings, wavs, tmp_path / "day1", realtime=False, components=components, clock=clock)
    # first use ever: her answer first, then who it is (one short thing per turn)
    assert not first[0].reply.startswith("I'm Companion")
    assert "I'm Companion, by the way. I'm not a person: I'm an AI" in first[0].reply
    assert "just so you know, I'm Companion" not in first[1].reply  # not again the same day
    assert "I'm not a person" not in first[1].reply
    clock.advance(timedelta(days=1).total_seconds())
    second, _ = run_files(data_settings, wavs[:1], tmp_path / "day2", realtime=False, components=components,
                          clock=clock)
    assert "just so you know, I'm Companion, an AI, not a person." in second[0].reply  # a new day
    assert Path(tmp_path / "day2" / "reply-001.wav").exists()


def test_a_due_medication_is_announced_by_the_loop_with_a_chime(tmp_path, settings, components, clock):
    routines = tmp_path / "routines.toml"
    routines.write_text('[[medication]]\nname = "blood-pressure tablet"\ndose = "one tablet"\ntimes = ["10:15"]\n')
    settings = settings.replace(routines={"file": str(routines), "timezone": "UTC"})
    echo = EchoPath()
    sink = WavFileSink(tmp_path / "out", realtime=False)
    app = App(settings, source=WavFileSource.from_array(np.zeros(16000 * 3, np.int16), realtime=True, tail_s=0),
              speaker=sink, echo=echo, components=components, clock=clock, start_alerts=False)
    try:
        app.run()
    finally:
        app.close()
    said = [t for t in app.engine.turns if t.intent == "routine"]
    assert said and "blood-pressure tablet" in said[0].reply and said[0].reply.rstrip().endswith("?")
    chime = components.tts.chime().samples
    from companion.audio.wav import read_wav

    spoken = read_wav(sink.files[0])
    from companion.audio.frames import resample

    head = resample(chime, components.tts.rate, 16000)
    assert np.allclose(spoken[:len(head) // 2], head[:len(head) // 2], atol=400)  # it starts with the chime
    from companion.store.store import Store

    with Store.open(tmp_path / "data") as store:
        assert any(r.event == "announced" for r in store.journal.all(RoutineRow))


def test_an_emergency_phrase_gets_the_scripted_answer_and_an_alert_not_the_llm(tmp_path, settings, components, tts,
                                                                              clock):
    p = tmp_path / "fall.wav"
    write_wav(p, utterance(tts, ["Help me, I have fallen and I can't get up."]), 16000)
    settings = settings.replace(emotion={"mode": "off"})
    events = []
    turns, files = run_files(settings, [p], tmp_path / "out", realtime=False, components=components, clock=clock,
                             on_event=events.append)
    assert turns[0].intent and turns[0].intent.startswith("safety:"), turns[0]
    assert "911" in turns[0].reply.replace(" ", "") or "9 1 1" in turns[0].reply
    assert not [e for e in events if isinstance(e, ReplyStarted) and e.by_llm]  # never left to the LLM
    from companion.store.store import Store

    with Store.open(tmp_path / "data") as store:
        (row,) = store.journal.all(HelpRow)  # the help request is recorded, once
        assert row.source == "voice" and row.category in ("fall", "help")
    assert list((tmp_path / "data" / "outbox").glob("*.json")) or list((tmp_path / "data").rglob("outbox/*.json"))
