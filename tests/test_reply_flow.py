"""The reply flow through the real app: acknowledgement first, the guard replacing what hurts, the dead never
offered as company across sessions, backing off as behaviour, the paced introduction, and mood from a real voice."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from companion.app import App
from companion.audio.echo import EchoPath
from companion.audio.frames import SilentSpeaker
from companion.audio.wav import WavFileSource
from companion.clock import ManualClock
from companion.config import Settings
from companion.language import sentences
from companion.loop.skills import TurnInput
from companion.understand.strategy import Strategy
from companion.voice.llm import Generation
from companion.voice.replies import ReplyJob

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"
START = datetime(2026, 3, 3, 10, 15, tzinfo=timezone.utc)  # a Tuesday, 10:15 in London


def settings_for(tmp_path: Path, **sections) -> Settings:
    base = {"memory": {"data_dir": str(tmp_path / "data")}, "routines": {"timezone": "Europe/London"},
            "conversation": {"assistant_name": "Robin", "user_name": "Margaret"}, "emotion": {"mode": "off"}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return Settings().replace(**base)


def open_app(settings: Settings, components, clock: ManualClock, introduced: bool = True) -> App:
    app = App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False), speaker=SilentSpeaker(),
              echo=EchoPath(), components=components, clock=clock, start_alerts=False)
    if introduced:
        app.honesty.policy.mark_introduced(clock.now())
    return app


def say(app: App, text: str, audio: np.ndarray | None = None) -> tuple[list[str], str]:
    said = list(app.engine.dialogue.reply_to_text(text, audio=audio))
    tl = app.engine.turns[-1]
    return said, tl.strategy or f"intent:{tl.intent}"


def test_a_deceased_person_is_never_offered_as_someone_to_ring_across_sessions(tmp_path, components):
    clock = ManualClock(START)
    settings = settings_for(tmp_path)
    app = open_app(settings, components, clock)
    try:
        said, strategy = say(app, "my husband harold died two years ago")
        assert strategy == "comfort" and "Harold" in " ".join(said)
        say(app, "my daughter is called susan she lives in leeds")
        say(app, "i'm lonely today")
    finally:
        app.close()
    replies = []
    for day in (1, 2, 3):
        clock.advance(hours=24)
        app = open_app(settings, components, clock, introduced=True)
        try:
            for text in ("i'm so lonely", "i miss him", "nobody comes to see me"):
                said, _ = say(app, text)
                replies.append(" ".join(said))
                clock.advance(60)
        finally:
            app.close()
    text = " ".join(replies)
    assert "ring Susan" in text  # the nudge came, and named the living daughter
    for r in replies:
        assert "ring Harold" not in r and "call Harold" not in r and "Margaret today" not in r
    assert any("Harold" in r for r in replies)  # grief about him still uses his name


def test_irritation_shortens_the_next_reply_and_pauses_a_due_check_in(tmp_path, components):
    routines = tmp_path / "routines.toml"
    routines.write_text('[[checkin]]\nquestion = "How are you feeling this morning?"\ntime = "10:30"\n')
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path, routines={"file": str(routines)}), components, clock)
    try:
        said, strategy = say(app, "you're not listening to me")
        assert strategy == "back_off" and len(said) == 1 and "sorry" in said[0].lower()
        assert "?" not in said[0]
        clock.advance(minutes=20)  # 10:35: the check-in is due, but she asked for quiet
        assert app.engine.dialogue.poll(idle=True, muted=False) is None
        clock.advance(minutes=15)  # 10:50: the quiet has passed; the check-in was kept, not lost
        reply = app.engine.dialogue.poll(idle=True, muted=False)
        assert reply is not None and "How are you feeling" in reply.text
    finally:
        app.close()


def test_be_quiet_stops_at_once_and_holds_the_check_in(tmp_path, components):
    routines = tmp_path / "routines.toml"
    routines.write_text('[[checkin]]\nquestion = "Did you sleep well?"\ntime = "10:25"\n')
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path, routines={"file": str(routines)}), components, clock)
    try:
        said, strategy = say(app, "oh be quiet")
        assert said == [] and strategy == "intent:stop"
        clock.advance(minutes=15)
        assert app.engine.dialogue.poll(idle=True, muted=False) is None
    finally:
        app.close()


def test_when_it_misheard_it_says_so_and_asks_her_to_repeat(tmp_path, components):
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path), components, clock)
    try:
        said, strategy = say(app, "that's not what i said")
        assert strategy == "back_off" and "misheard" in " ".join(said) and said[-1].endswith("?")
        assert not app.engine.dialogue.quiet()  # she is asked to repeat: no quiet imposed
    finally:
        app.close()


class TheModelSays:
    """The language model's proposal, fixed: what the guard does with it is what is under test."""

    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        self.asked = 0

    def follow_up(self, strategy, text, ack, **kwargs) -> str:
        self.asked += 1
        return self.sentence


def test_the_guard_replaces_i_think_so_after_a_hopeless_line(tmp_path, components):
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path), components, clock)
    try:
        responder = app.engine.dialogue.responder
        responder.llm = model = TheModelSays("I think so.")
        turn = TurnInput(text="sometimes i think everyone would be better off if i wasn't here", at=clock.now(),
                         local_time=clock.now())
        plan = responder.plan(turn)
        assert plan.strategy.value == "safety_check"
        assert responder.judge("I think so.", plan, turn) == "agreement"
        follow = responder.follow_up(plan, turn, [], threading.Event(), Generation())
        assert model.asked == 0 and follow == plan.follow  # hopelessness is never the model's to answer
        said, _ = say(app, turn.text)
        assert "I think so" not in " ".join(said) and any("matter" in s for s in said)
    finally:
        app.close()


@pytest.mark.parametrize("proposal", ["I'm sorry, you should tell her that.", "I'm sorry to hear that?",
                                      "Are you sad about the wedding in June?"])
def test_the_guard_replaces_sympathy_after_good_news_in_context(tmp_path, components, proposal):
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path), components, clock)
    try:
        responder = app.engine.dialogue.responder
        responder.llm = model = TheModelSays(proposal)
        # good news gets the bank's follow-up only; were the model asked, this is what would happen
        responder.model_strategies = responder.model_strategies | {Strategy.CELEBRATE}
        turn = TurnInput(text="my granddaughter emily is getting married in june", at=clock.now(),
                         local_time=clock.now())
        plan = responder.plan(turn)
        assert plan.strategy.value == "celebrate" and "Emily" in plan.ack
        follow = responder.follow_up(plan, turn, [], threading.Event(), Generation())
        assert model.asked == 1 and follow == plan.follow and follow.endswith("?")  # the bank's, in context
        assert "sorry" not in (plan.ack + " " + follow).lower() and "I'm an AI" not in follow
        responder.llm = TheModelSays("Will Emily's wedding be in the summer?")
        assert responder.follow_up(plan, turn, [], threading.Event(), Generation()) == \
            "Will Emily's wedding be in the summer?"  # a good question on her topic is said
    finally:
        app.close()


def test_the_acknowledgement_plays_before_the_model_starts(tmp_path, components):
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path), components, clock)
    try:
        dialogue = app.engine.dialogue
        turn = TurnInput(text="i made a lemon cake for the church sale", at=clock.now(), local_time=clock.now())
        gen = Generation()
        job = ReplyJob(dialogue.llm_source(turn, turn, gen), components.tts, SilentSpeaker(), style=(1.0, 1.0)).start()
        assert job.wait(60)
        assert turn.strategy == "chat" and job.sentences  # the acknowledgement was said
        assert gen.first_token_at is not None, "the model was asked for its question"
        assert job.timings.first_played is not None and job.timings.first_played < gen.first_token_at
    finally:
        app.close()


def test_the_first_conversation_answers_her_first_then_introduces_itself_step_by_step(tmp_path, components):
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path, emotion={"mode": "ask"}), components, clock, introduced=False)
    try:
        first, _ = say(app, "hello")
        assert first[0].lower().startswith("hello") and any("AI" in s for s in first[1:])
        assert sum(len(s.split()) for s in first) < 40 and not any("voice" in s for s in first)
        second, _ = say(app, "oh how clever")
        assert any("remind" in s for s in second) and not any("voice" in s for s in second)
        third, _ = say(app, "i've just had my breakfast")
        assert any(s.endswith("?") and "voice" in s for s in third)  # the consent question, on the third turn
        answer, strategy = say(app, "yes that's fine")
        assert strategy == "intent:emotion_consent_answer"
    finally:
        app.close()


@pytest.mark.skipif(not RAVDESS.is_dir(), reason="the RAVDESS clips live in ../shared/data/emotion-speech")
def test_mood_on_or_off_changes_the_strategy_when_only_the_voice_carries_the_feeling(tmp_path, components):
    import soundfile as sf

    sad, _ = sf.read(str(RAVDESS / "03-01-04-02-01-01-05.flac"), dtype="int16")  # sad, strong, actor 5
    happy, _ = sf.read(str(RAVDESS / "03-01-03-02-02-01-05.flac"), dtype="int16")  # happy, strong, actor 5
    results = {}
    for mode in ("on", "off"):
        clock = ManualClock(START)
        app = open_app(settings_for(tmp_path / mode, emotion={"mode": mode}), components, clock)
        try:
            results[mode, "sad"] = say(app, "kids are talking by the door", audio=sad.copy())[1]
            clock.advance(hours=1)
            results[mode, "happy"] = say(app, "dogs are sitting by the door", audio=happy.copy())[1]
        finally:
            app.close()
    assert results["off", "sad"] == results["off", "happy"] == "chat"
    assert results["on", "sad"] == "comfort" and results["on", "happy"] == "celebrate"


def test_every_reply_sentence_count_stays_small(tmp_path, components):
    clock = ManualClock(START)
    app = open_app(settings_for(tmp_path), components, clock)
    try:
        for text in ("thank you dear", "will you always be here", "can you order me some biscuits"):
            said, _ = say(app, text)
            assert 1 <= len(list(sentences(" ".join(said)))) <= 3
            clock.advance(60)
    finally:
        app.close()
