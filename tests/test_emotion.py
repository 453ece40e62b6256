"""Mood from voice and words: the shipped model, her baseline, fusion, consent and resonance."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from companion.audio import prosody
from companion.cli.emotion import add_commands, run_eval
from companion.clock import Household, ManualClock
from companion.config import Settings
from companion.emotion.consent import CONSENT_QUESTION, MoodConsent, MoodConsentSkill, consent_answer, mood_command
from companion.emotion.fusion import EmotionEstimate, fuse, stated_feeling
from companion.emotion.model import CATEGORIES4, CATEGORIES8, EmotionModel, VoicePrediction
from companion.emotion.sensor import MoodSensor
from companion.loop.dialogue import Dialogue
from companion.loop.skills import TurnInput
from companion.store.journal import MoodRow
from companion.store.store import Store

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def clip_name(actor: int, emotion: int, statement: int = 1, repetition: int = 1, intensity: int = 1) -> str:
    """RAVDESS file name: modality-channel-emotion-intensity-statement-repetition-actor."""
    return f"03-01-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}.flac"


ANGRY, SAD, HAPPY, NEUTRAL = 5, 4, 3, 1


def read(name: str) -> np.ndarray:
    import soundfile as sf

    audio, _ = sf.read(str(RAVDESS / name), dtype="int16")
    return audio


@pytest.fixture(scope="module")
def model() -> EmotionModel:
    return EmotionModel.load()


def settings(**emotion) -> Settings:
    s = Settings()
    return dataclasses.replace(s, emotion=dataclasses.replace(s.emotion, **emotion))


def turn(text: str, audio: np.ndarray | None = None, at: datetime = T0) -> TurnInput:
    return TurnInput(text=text, at=at, local_time=at, audio=audio)


def sensor(store, cfg: Settings, clock, model=None) -> MoodSensor:
    """The mood stage as the app builds it: her consent over the store, the voice model."""
    return MoodSensor(MoodConsent(store, cfg.emotion, clock), model)


class Conversation:
    """The mood stage and the consent skill, her turns routed by the real dialogue (no LLM turns here)."""

    def __init__(self, store, cfg: Settings, clock) -> None:
        self.clock = clock
        self.sensor = sensor(store, cfg, clock)
        self.skill = MoodConsentSkill(self.sensor.consent)
        self.dialogue = Dialogue(None, [self.skill], clock, Household())  # type: ignore[arg-type]
        self.utterance = 0

    def closing(self) -> str:
        """What is said after the reply to a new conversation's first turn (the consent question, or '')."""
        self.utterance += 1
        return self.dialogue.framing(turn("hello", at=self.clock.now()), self.utterance)[1]

    def say(self, text: str):
        """Her turn through the dialogue: the skill's Reply, or None."""
        return self.dialogue.skill_reply(turn(text, at=self.clock.now()))


# ---------------------------------------------------------------- the model on real clips


def test_model_loads_and_separates_angry_from_sad_voices(model):
    for actor in (3, 8, 15):  # two men and a woman
        angry = model.predict(prosody.extract(read(clip_name(actor, ANGRY, intensity=2))).vector)
        sad = model.predict(prosody.extract(read(clip_name(actor, SAD, intensity=2))).vector)
        assert angry.mode == "cold"
        assert set(angry.probs["8class"]) == set(CATEGORIES8) and set(angry.probs["4class"]) == set(CATEGORIES4)
        assert sum(angry.probs["8class"].values()) == pytest.approx(1.0)
        assert angry.probs["arousal"]["high"] > 0.5  # strong anger is unmistakable
        assert angry.probs["arousal"]["high"] > sad.probs["arousal"]["high"] + 0.3
        assert angry.top("8class")[0] == "angry" and sad.top("8class")[0] != "angry"


def test_missing_model_names_the_fix(tmp_path):
    from companion.errors import ModelMissingError

    with pytest.raises(ModelMissingError, match="train_emotion.py"):
        EmotionModel.load(tmp_path / "nope.npz")


# ---------------------------------------------------------------- her baseline


def test_baseline_builds_persists_across_restarts_and_is_used(tmp_path, model):
    clips = [read(clip_name(2, e, s, r)) for e in (NEUTRAL, 2) for s in (1, 2) for r in (1, 2)][:6]
    cfg = settings(mode="on", baseline_min_utterances=5)
    with Store.open(tmp_path) as store:
        skill = sensor(store, cfg, ManualClock(T0), model=model)
        modes = []
        for audio in clips[:5]:
            t = turn("well I went to the shops this morning", audio)
            est = skill.estimate(t)
            assert t.audio is None  # raw audio dropped once features exist
            modes.append(est.voice_mode)
        assert modes == ["cold"] * 5  # not enough of her yet: the speaker-independent model
    with Store.open(tmp_path) as store:  # a restart: a new store and a new skill
        skill = sensor(store, cfg, ManualClock(T0), model=model)
        assert "5 utterances, in use" in skill.status()
        est = skill.estimate(turn("and then I had a cup of tea", clips[5]))
        assert est.voice_mode == "baseline"
        assert len(store.journal.all(MoodRow)) == 6


def test_her_calm_everyday_voice_as_baseline_is_not_heard_as_emotional(tmp_path, model):
    # her history is ordinary calm talk (not a balanced mix of acted emotions): judged against it,
    # another calm utterance must stay calm/neutral and low-arousal, and an angry one still angry
    history = [read(clip_name(13, e, s, r)) for e in (NEUTRAL, 2) for s in (1, 2) for r in (1, 2)]
    with Store.open(tmp_path) as store:
        skill = sensor(store, settings(mode="on", baseline_min_utterances=6), ManualClock(T0), model=model)
        for audio in history[:7]:
            skill.estimate(turn("", audio))
        calm = skill.estimate(turn("", history[7]))
        angry = skill.estimate(turn("", read(clip_name(13, ANGRY, intensity=2))))
    assert calm.voice_mode == angry.voice_mode == "baseline"
    assert calm.category in ("neutral", "calm") and calm.arousal == "low"
    assert angry.category == "angry" and angry.arousal == "high"


def test_speculative_estimates_are_not_logged_or_learned(tmp_path, model):
    with Store.open(tmp_path) as store:
        skill = sensor(store, settings(mode="on"), ManualClock(T0), model=model)
        assert skill.estimate(turn("I went out", read(clip_name(4, NEUTRAL)))).source == "voice+words"
        assert skill.estimate(turn("I went out", read(clip_name(4, NEUTRAL))), record=False) is not None
        assert len(store.journal.all(MoodRow)) == 1
        assert "1 utterances" in skill.status()


# ---------------------------------------------------------------- words and voice


def test_explicit_statements_are_recognised():
    assert stated_feeling("I feel so lonely since Tom died") == "sad"
    assert stated_feeling("Oh I'm so happy, they're coming on Sunday!") == "happy"
    assert stated_feeling("I'm scared of falling again") == "fearful"
    assert stated_feeling("I'm fed up with this weather") == "angry"
    assert stated_feeling("I'm not happy about it") == "sad"
    assert stated_feeling("I'm not scared") is None
    assert stated_feeling("I'm low on milk") is None
    assert stated_feeling("What time is it?") is None


def test_clear_words_beat_a_weak_voice(model):
    voice = model.predict(prosody.extract(read(clip_name(5, NEUTRAL))).vector)
    sad = fuse(T0, "I feel so lonely, nobody calls me any more", voice)
    happy = fuse(T0, "I'm so happy, my grandson visited today!", voice)
    assert (sad.category, sad.category4) == ("sad", "sad")
    assert (happy.category, happy.category4) == ("happy", "happy")
    assert sad.valence < -0.3 < 0.3 < happy.valence
    assert sad.source == "voice+words" and sad.stated == "sad"


def test_a_clear_voice_keeps_its_category_but_words_still_move_valence():
    probs8 = {c: 0.02 for c in CATEGORIES8} | {"angry": 0.86}
    voice = VoicePrediction({"8class": probs8, "4class": {"neutral": 0.05, "happy": 0.05, "sad": 0.05, "angry": 0.85},
                             "arousal": {"low": 0.1, "high": 0.9}, "valence": {"negative": 0.8, "positive": 0.2}}, "baseline")
    plain = fuse(T0, "the bus was late", voice)
    stated = fuse(T0, "I'm so happy", voice)
    assert plain.category == stated.category == "angry"
    assert stated.valence > plain.valence
    assert stated.arousal == "high" and stated.arousal_p == pytest.approx(0.9)


def test_words_alone_when_there_is_no_audio(tmp_path):
    with Store.open(tmp_path) as store:
        skill = sensor(store, settings(mode="on"), ManualClock(T0))
        est = skill.estimate(turn("I'm worried about the operation"))
        assert est.source == "words" and est.category == "fearful"
        (rec,) = store.journal.all(MoodRow)
        assert isinstance(rec, MoodRow) and rec.category == "fearful" and rec.valence is not None
        assert rec.source == "words" and rec.at == T0


# ---------------------------------------------------------------- resonance


def test_sad_and_happy_turns_steer_prompt_and_voice_differently():
    sad, happy = fuse(T0, "I feel so sad and lonely", None), fuse(T0, "I'm so happy today!", None)
    assert "comfort" in sad.prompt_hint() or "gentle" in sad.prompt_hint()
    assert "joy" in happy.prompt_hint()
    assert sad.prompt_hint() != happy.prompt_hint()
    ls_sad, vol_sad = sad.voice_style()
    ls_happy, vol_happy = happy.voice_style()
    assert ls_sad > 1.0 >= ls_happy and vol_sad < 1.0 <= vol_happy  # slower and softer when she is low
    for est in (sad, happy, fuse(T0, "I'm furious with them", None), fuse(T0, "I'm scared", None)):
        assert "never claim feelings" in est.prompt_hint().lower()


def test_anger_is_not_mirrored():
    angry = fuse(T0, "I'm fed up, leave me alone", None)
    assert "short" in angry.prompt_hint() and "don't match her tone" in angry.prompt_hint()
    assert angry.voice_style()[1] < 1.0  # never louder back
    neutral = fuse(T0, "the post came at ten", None)
    assert neutral.prompt_hint() == "" and neutral.voice_style() == (1.0, 1.0)


def test_estimate_reaches_the_tts_style_and_prompt(tmp_path):
    from companion.voice.tts import VoiceStyle  # the lead's TTS reads voice_style() from the turn's emotion

    with Store.open(tmp_path) as store:
        skill = sensor(store, settings(mode="on"), ManualClock(T0))
        t = turn("I feel so lonely today")
        skill.estimate(t)
        assert isinstance(t.emotion, EmotionEstimate)
        style = VoiceStyle(Settings().tts)
        ls, vol = style.for_turn(t.emotion)
        assert ls > style.length_scale and vol < style.volume
        assert "sad" in t.emotion.prompt_hint()


# ---------------------------------------------------------------- consent


@pytest.mark.parametrize("text, command", [
    ("Stop listening to my mood", "off"), ("please don't read my mood any more", "off"),
    ("I don't want you to track my feelings", "off"), ("you can read my mood again", "on"),
    ("OK, start listening to my mood again", "on"), ("I don't mind you reading my mood", "on"),
    ("are you listening to my mood?", "status"), ("my mood is terrible today", None),
    ("stop the music", None), ("I'm in a good mood", None),
])
def test_mood_commands(text, command):
    assert mood_command(text) == command


@pytest.mark.parametrize("text, answer", [("Yes, that's fine", True), ("Okay", True), ("no problem", True),
                                          ("No thank you", False), ("I'd rather not", False), ("what's the weather", None)])
def test_consent_answers(text, answer):
    assert consent_answer(text) is answer


def test_first_conversation_asks_then_her_answer_and_opt_out_persist(tmp_path):
    clock = ManualClock(T0)
    audio = read(clip_name(6, HAPPY))
    with Store.open(tmp_path) as store:
        talk = Conversation(store, settings(mode="ask"), clock)
        assert talk.sensor.estimate(turn("hello", audio.copy())) is None  # nothing sensed before she agrees
        assert talk.closing() == CONSENT_QUESTION
        reply = talk.say("yes, that's all right")
        assert reply is not None and reply.intent == "emotion_consent_answer"
        assert talk.closing() == ""  # answered: never asked again
        assert talk.sensor.estimate(turn("hello", audio.copy())) is not None
        off = talk.say("Could you stop listening to my mood please")
        assert off is not None and off.intent == "emotion_consent_off"
        t = turn("hello", audio.copy())
        assert talk.sensor.estimate(t) is None and t.audio is None
    with Store.open(tmp_path) as store:
        talk = Conversation(store, settings(mode="ask"), clock)
        assert talk.sensor.estimate(turn("hello again", audio.copy())) is None  # her no survives a restart
        assert talk.sensor.status().startswith("off") and "no (voice" in talk.sensor.status()
        assert talk.say("you can read my mood again").intent == "emotion_consent_on"
        assert talk.sensor.estimate(turn("hello again", audio.copy())) is not None
        assert len(store.journal.all(MoodRow)) == 2


def test_unanswered_question_does_not_hijack_the_conversation(tmp_path):
    with Store.open(tmp_path) as store:
        clock = ManualClock(T0)
        talk = Conversation(store, settings(mode="ask", consent_asks_max=2), clock)
        assert talk.closing() == CONSENT_QUESTION
        assert talk.say("what's on the radio tonight") is None
        assert talk.say("yes") is None  # a later "yes" answers something else
        assert talk.sensor.consent.answer() is None
        clock.advance(hours=2)
        assert talk.closing() == ""  # not again the same day
        clock.advance(hours=22)
        assert talk.closing() == CONSENT_QUESTION
        clock.advance(days=2)
        assert talk.closing() == ""  # asked twice: we stop asking


def test_mode_off_and_mode_on(tmp_path):
    with Store.open(tmp_path) as store:
        off = Conversation(store, settings(mode="off"), ManualClock(T0))
        assert off.closing() == "" and off.sensor.estimate(turn("I'm so sad")) is None
        assert "switched off" in off.say("you can read my mood again").text
        on = Conversation(store, settings(mode="on"), ManualClock(T0))
        assert on.closing() == "" and on.sensor.estimate(turn("I'm so sad")) is not None


# ---------------------------------------------------------------- the eval command


def test_eval_cli_on_real_clips(tmp_path, capsys):
    rows = [(clip_name(a, e, s), f"Actor_{a:02d}", name) for a in (11, 12) for e, name in
            ((ANGRY, "angry"), (SAD, "sad"), (HAPPY, "happy"), (NEUTRAL, "neutral")) for s in (1, 2)]
    with (tmp_path / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "speaker", "emotion", "note"])
        for name, spk, emo in rows:
            w.writerow([str(RAVDESS / name), spk, emo, "x"])
    out = tmp_path / "eval.json"
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["emotion", "eval", str(tmp_path), "--json", str(out)])
    assert args.func is run_eval
    assert args.func(args, settings(baseline_min_utterances=5)) == 0
    res = json.loads(out.read_text())
    assert set(res["uar"]) == {"cold", "baseline"}
    for mode in ("cold", "baseline"):
        assert set(res["uar"][mode]) == {"8class", "4class", "arousal", "valence"}
        assert all(0.0 <= v <= 1.0 for v in res["uar"][mode].values())
    assert res["uar"]["cold"]["arousal"] >= 0.75  # angry/happy vs sad/neutral, normal intensity
    assert res["feature_ms_per_audio_s"] > 0
    assert "baseline" in capsys.readouterr().out
