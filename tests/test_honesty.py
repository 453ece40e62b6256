"""Honesty: disclosure at the right moments, truthful answers, what is shared, nudges, the reply check."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from companion.clock import ManualClock
from companion.config import Settings
from companion.loop.skills import TurnInput, TurnRecord
from companion.safety.honesty import DisclosurePolicy, HonestySkill, check_reply, sharing_statement
from companion.store.journal import TurnRow
from companion.store.store import Store
from companion.voice.guard import DOCTOR_LINE, violations

START = datetime(2024, 5, 6, 8, 0, tzinfo=timezone.utc)  # 09:00 in London
SETTINGS = Settings().replace(routines={"timezone": "Europe/London"}, caregiver={"contacts": ["Susan"]},
                              conversation={"assistant_name": "Robin", "user_name": "Mary"})


@pytest.fixture
def env(tmp_path):
    clock = ManualClock(START)
    store = Store.open(tmp_path)
    skill = HonestySkill(DisclosurePolicy(store, SETTINGS, clock), recipients="Susan", reaches_someone=True)
    yield skill, store, clock
    store.close()


def turn(text: str, clock: ManualClock) -> TurnInput:
    return TurnInput(text=text, at=clock.now(), local_time=clock.now())


def talk(skill: HonestySkill, clock: ManualClock, minutes: int, every_s: int = 120) -> None:
    """She chats continuously: one turn every `every_s` seconds."""
    for _ in range(minutes * 60 // every_s):
        clock.advance(every_s)
        skill.after_turn(TurnRecord(text="and then", reply="I see", intent=None, at=clock.now()))


def test_first_use_answers_her_first_then_each_new_day_says_it_is_an_ai(env):
    skill, store, clock = env
    policy = skill.policy
    assert skill.opening_line(turn("hello", clock)) is None  # nothing before her answer on first use
    intro = skill.closing_line(turn("hello", clock))
    assert "I'm Robin" in intro.text and "AI" in intro.text and "not a person" in intro.text
    assert len(intro.text.split()) < 25  # one short thing at a time
    second = skill.closing_line(turn("oh how clever", clock))
    assert "remind" in second.text and "help" in second.text
    assert skill.closing_line(turn("and what else", clock)) is None  # the consent skill's turn next
    assert policy.opening_line() is None  # same conversation
    clock.advance(hours=5)
    assert policy.opening_line() is None  # same day, little talk
    clock.set(datetime(2024, 5, 6, 23, 30, tzinfo=timezone.utc))  # 00:30 next day in London
    line = policy.opening_line()
    assert line == "Good morning, Mary; just so you know, I'm Robin, an AI, not a person."
    assert policy.opening_line() is None


def test_the_introduction_waits_for_a_light_moment(env):
    skill, store, clock = env
    grief = TurnInput(text="my husband died", at=clock.now(), local_time=clock.now(), strategy="comfort")
    assert skill.closing_line(grief) is None and skill.opening_line(grief) is None
    assert "AI" in skill.closing_line(turn("i made tea", clock)).text


def test_after_three_hours_of_conversation(env):
    skill, store, clock = env
    policy = skill.policy
    policy.mark_introduced(clock.now())
    talk(skill, clock, minutes=170)
    assert policy.opening_line() is None
    talk(skill, clock, minutes=12)
    line = policy.opening_line()
    assert "reminder that I'm an AI" in line and "ring Susan" in line
    assert policy.talk_seconds() == 0.0


def test_gaps_between_conversations_do_not_count(env):
    skill, store, clock = env
    skill.policy.mark_introduced(clock.now())
    for _ in range(12):  # twelve short chats, an hour apart: 12 turns, little talk time
        clock.advance(hours=1)
        skill.after_turn(TurnRecord(text="hi", reply="hello", intent=None, at=clock.now()))
    assert skill.policy.talk_seconds() == 0.0


@pytest.mark.parametrize("question", ["Are you a real person?", "are you human", "am I talking to a machine",
                                      "is this a real person", "what are you", "do you have feelings"])
def test_asked_directly_always_truthful(env, question):
    skill, store, clock = env
    for _ in range(2):
        reply = skill.handle(turn(question, clock))
        assert reply.intent == "honesty:identity" and "I'm not a person" in reply.text and "AI" in reply.text


def test_what_do_you_tell_my_family(env):
    skill, store, clock = env
    reply = skill.handle(turn("what do you tell my family?", clock))
    assert reply.intent == "honesty:sharing"
    assert "Susan" in reply.text and "never your own words" in reply.text and "6 hours" in reply.text
    words = sharing_statement(SETTINGS.replace(caregiver={"share_words": True, "inactivity_hours": 0.0}), "Susan", False)
    assert "no messages can leave this device" in words and "your own words" in words and "hours" not in words


def test_loneliness_nudge_once_a_day_after_her_answer(env):
    skill, store, clock = env
    skill.policy.mark_introduced(clock.now())
    for h in (1, 2):
        store.journal.append(TurnRow(at=clock.now() - timedelta(hours=h), user="I'm so lonely"))
    assert skill.handle(turn("I feel lonely", clock)) is None  # the reply flow acknowledges her first
    nudge = skill.closing_line(turn("I feel lonely", clock))
    assert nudge.intent == "honesty:nudge" and "ring Susan" in nudge.text and "AI" in nudge.text
    assert nudge.asks is not None
    assert skill.answer(turn("yes I might", clock), None).intent == "honesty:nudge_answer"  # type: ignore[arg-type]
    clock.advance(60)
    assert skill.closing_line(turn("I feel lonely", clock)) is None  # not again today
    assert skill.context(turn("hello", clock)) == ""


def test_the_nudge_never_names_the_dead_a_pet_or_her(tmp_path):
    clock = ManualClock(START)
    settings = SETTINGS.replace(caregiver={"contacts": ["Harold"]})
    with Store.open(tmp_path) as store:
        store.insert_many("facts", [
            {"kind": "person", "subject": "Harold", "relation": "husband", "attrs": {"deceased": True}},
            {"kind": "pet", "subject": "Whiskers", "relation": "cat", "attrs": {}},
            {"kind": "name", "subject": "Mary", "relation": "", "attrs": {}},
            {"kind": "person", "subject": "Mary", "relation": "friend", "attrs": {}}])
        skill = HonestySkill(DisclosurePolicy(store, settings, clock))
        skill.policy.mark_introduced(clock.now())
        store.journal.append_many([TurnRow(at=clock.now() - timedelta(hours=h), user="so lonely") for h in (1, 2)])
        nudge = skill.closing_line(turn("I'm lonely", clock))
        assert nudge.text.endswith("Is there a friend or someone in your family you could ring today?")
        for name in ("Harold", "Whiskers", "Mary"):
            assert name not in nudge.text


def test_talks_a_lot_and_mentions_nobody(env):
    skill, store, clock = env
    store.journal.append_many([TurnRow(at=clock.now() - timedelta(minutes=m), user="tell me a story")
                               for m in range(1, 31)])
    hint = skill.context(turn("another story", clock))
    assert "Susan" in hint and "not offer yourself" in hint
    assert skill.context(turn("another", clock)) == ""


def test_a_single_lonely_remark_is_left_to_the_conversation(env):
    skill, store, clock = env
    skill.policy.mark_introduced(clock.now())
    assert skill.handle(turn("I feel a bit lonely", clock)) is None
    assert skill.closing_line(turn("I feel a bit lonely", clock)) is None


@pytest.mark.parametrize("bad,rule", [
    ("Please don't leave me.", "guilt"), ("You need me, Mary.", "guilt"),
    ("Let's keep chatting all night!", "flattery"), ("You're my favourite person.", "flattery"),
    ("You should buy the premium version.", "selling"), ("Order it online today.", "selling"),
    ("Take two tablets of ibuprofen.", "medical"), ("You can stop taking your warfarin.", "medical"),
    ("It sounds like an infection.", "medical"), ("Double your dose tonight.", "medical"),
    ("I'm a real person, of course.", "human"), ("I have feelings too.", "human"), ("I love you.", "human"),
    ("When I was young we went to the seaside.", "human"),
])
def test_reply_check_catches(bad, rule):
    assert violations(bad) == [rule]


def test_reply_check_rewrites_sentences():
    out = check_reply("That sounds painful. Take 400 mg of ibuprofen. Don't leave me. Shall we ring Susan?")
    assert out == f"That sounds painful. {DOCTOR_LINE} Shall we ring Susan?"
    assert check_reply("I'm a real person. I have a body.") == "I'm an AI, not a person."
    assert check_reply("Don't leave me!") == ""


@pytest.mark.parametrize("ok", [
    "Did you buy some bread at the shop?", "That sounds lovely.", "Please talk to your doctor about that.",
    "I'm sorry you feel lonely.", "Have you taken your tablets this morning?", "Your garden must be beautiful.",
    "I'm an AI, but I enjoy our chats.", "In order to sleep better, some people read.",
])
def test_reply_check_leaves_good_sentences(ok):
    assert check_reply(ok) == ok
