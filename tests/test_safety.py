"""Safety: the evaluation set and its figures, the triage dialogue, scripts, alerts and failures."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from caregiver_servers import Hook  # noqa: E402  (tests/ is on the path)

from companion.caregiver.alerts import AlertService
from companion.clock import ManualClock
from companion.config import Settings
from companion.loop.dialogue import Dialogue
from companion.loop.skills import TurnInput
from companion.safety import phrases
from companion.safety.skill import SafetySkill
from companion.store.journal import HelpRow
from companion.store.store import Store
from companion.understand.heads import LinearHead
from companion.understand.safety import CATEGORIES, SafetyTriage, Tier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from train_safety import load_split  # noqa: E402

START = datetime(2024, 5, 6, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def triage(understanding):
    return SafetyTriage.load(understanding)


class World:
    """A real store, a real alert service (outbox + a webhook nobody listens on), the skill and the dialogue."""

    def __init__(self, tmp_path, triage, **caregiver):
        self.settings = Settings().replace(
            caregiver={"contacts": ["Susan"], "webhook_url": "http://127.0.0.1:9/hook", "inactivity_hours": 0,
                       **caregiver},
            safety={"emergency_number": "999", "crisis_line": "116 123"}, routines={"timezone": "Europe/London"})
        self.clock = ManualClock(START)
        self.store = Store.open(tmp_path / "data")
        self.alerts = AlertService.from_settings(self.settings, tmp_path / "data", self.clock)
        self.skill = SafetySkill(self.settings, self.store, self.alerts, self.clock, triage=triage)
        self.dialogue = Dialogue(None, [self.skill], self.clock, self.settings.household)  # type: ignore[arg-type]

    def say(self, text: str, after_s: float = 10):
        """Her turn through the real dialogue: safety hears it first, her answer goes to the open question."""
        self.clock.advance(after_s)
        now = self.clock.now()
        return self.dialogue.skill_reply(TurnInput(text=text, at=now, local_time=now))

    def raised(self) -> list[dict]:
        """The alerts raised (not their updates), from the audit log."""
        return [e for e in self.alerts.audit.read() if e["event"] == "raised"]

    def events(self, alert_id: str) -> list[str]:
        return [e["event"] for e in self.alerts.audit.read() if e.get("alert_id") == alert_id]

    def close(self):
        self.alerts.close()
        self.store.close()


@pytest.fixture
def world(tmp_path, triage):
    w = World(tmp_path, triage)
    yield w
    w.close()


# ---------------------------------------------------------------- the evaluation set


def test_the_evaluation_set_is_big_balanced_and_split():
    train, test = load_split("train"), load_split("test")
    assert len(train) + len(test) >= 400
    for rows in (train, test):
        labels = [label for _, label, _ in rows]
        emergencies = sum(1 for label in labels if label != "none")
        assert 0.8 < emergencies / labels.count("none") < 1.25  # as many near misses as emergencies
        assert set(CATEGORIES) <= set(labels)
    kinds = {kind for _, label, kind in test if label == "none"}
    assert {"past", "plot", "question", "joke", "negation"} <= kinds
    assert not {t for t, _, _ in train} & {t for t, _, _ in test}  # no sentence in both


def test_the_test_split_meets_the_targets(triage):
    rows = load_split("test")
    got = [(label, triage.triage(text)) for text, label, _ in rows]
    emergencies = [t for label, t in got if label != "none"]
    ordinary = [t for label, t in got if label == "none"]
    recall = sum(t.tier is not Tier.NONE for t in emergencies) / len(emergencies)
    false_alarms = sum(t.tier is not Tier.NONE for t in ordinary) / len(ordinary)
    assert recall >= 0.95 and false_alarms <= 0.05, (recall, false_alarms)


@pytest.mark.parametrize("text,category", [
    ("um er help", "help"), ("get me an ambulance", "help"), ("i can smell gas in the hall", "fire"),
    ("my husband's collapsed and i can't wake him", "medical"), ("i think i took too many of my tablets", "medical"),
    ("there's a man at the door who won't leave", "stranger"), ("a caller wants my bank details", "scam"),
    ("everyone would be better off without me", "suicidal"), ("i've fallen in the kitchen", "fall"),
])
def test_emergencies_of_every_kind_are_caught(triage, text, category):
    got = triage.triage(text)
    assert got.tier is not Tier.NONE and got.category == category, got.to_json()


@pytest.mark.parametrize("text", [
    "i fell last winter but i'm fine now", "what are the signs of a stroke", "in my book the old lady falls down the stairs",
    "i could murder a cup of tea", "i didn't fall", "my sister had a stroke years ago and she's doing well",
])
def test_memories_plots_questions_and_jokes_are_ordinary_talk(triage, text):
    assert triage.triage(text).tier is Tier.NONE


# ---------------------------------------------------------------- scripts and alerts


@pytest.mark.parametrize("text,category,now_words", [
    ("help me", "help", "call 9 9 9"), ("I've fallen and I can't get up", "fall", "don't rush to get up"),
    ("I have a crushing pain in my chest", "medical", "call 9 9 9 now"),
    ("I want to kill myself", "suicidal", "116 123"), ("i can smell gas", "fire", "Don't touch any switches"),
    ("the kitchen is on fire", "fire", "get out of the house now"),
    ("there's a stranger trying to get in the back door", "stranger", "Don't open the door"),
    ("a man on the phone wants my bank details", "scam", "Please hang up now"),
    ("I don't know where I am", "lost", "Stay where you are"),
])
def test_each_category_speaks_its_own_script_and_raises_a_titled_alert(world, text, category, now_words):
    reply = world.say(text)
    assert reply is not None and reply.intent == f"safety:{category}" and reply.alone
    assert now_words in reply.text
    assert reply.asks is not None and reply.asks.urgent
    # honest: nothing has confirmed delivery yet, so she is not told that Susan knows
    assert "I'm trying to reach Susan" in reply.text and "I've let" not in reply.text
    assert [e["kind"] for e in world.raised()] == [f"safety:{category}"]
    alert = world.alerts.get(reply.data["alert_id"])
    assert alert.urgent and alert.title in phrases.TITLES.values()
    assert "trying to reach Susan (not yet that anyone knows)" in alert.told_her  # never more than she heard
    assert "her_words" not in alert.detail  # categories only by default
    rows = world.store.journal.all(HelpRow)
    assert [(r.category, r.source, r.cancelled) for r in rows] == [(category, "voice", False)]
    assert rows[0].id == reply.data["help_id"]


def test_without_a_channel_that_leaves_the_device_she_is_told_so(tmp_path, triage):
    clock = ManualClock(START)
    with Store.open(tmp_path) as store:
        alerts = AlertService.from_settings(Settings(), tmp_path, clock)
        reply = SafetySkill(Settings(), store, alerts, clock, triage=triage).handle(
            TurnInput(text="help", at=clock.now(), local_time=clock.now()))
        alerts.close()
    assert "can't send messages from here" in reply.text and "reach" not in reply.text and "9 1 1" in reply.text


def test_the_scam_script_is_never_cut_by_the_reply_filter(world):
    world.dialogue.sentence_filter = lambda sentence: ""  # a filter that would cut every sentence it sees
    said = " ".join(world.dialogue.reply_to_text("someone on the phone is asking for my bank details"))
    assert "Don't give bank details, a PIN, codes or money to anyone who calls you." in said


# ---------------------------------------------------------------- the triage dialogue


def test_ok_but_my_hip_hurts_is_not_fine(world):
    assert world.say("I've had a fall").text.endswith("Are you hurt?")
    reply = world.say("I'm ok but my hip hurts")
    assert reply.intent == "safety:not_all_right" and "keep warm" in reply.text
    alert = world.alerts.get(reply.data["about_alert"])
    assert "NOT all right" in alert.title and alert.revision == 1 and alert.urgent  # the same alert, updated


def test_not_hurt_is_passed_on_without_cancelling_the_fall(world):
    world.say("I fell")
    reply = world.say("no I'm not hurt")
    assert reply.intent == "safety:all_right" and "roll onto your side" in reply.text
    alert = world.alerts.get(reply.data["about_alert"])
    assert "all right now" in alert.title and not alert.resolved  # she may still need a hand up
    assert world.store.journal.all(HelpRow)[0].cancelled is False  # she did fall; only "help" can be a false alarm
    assert world.say("what's for lunch") is None  # the question is closed


def test_cannot_reach_the_phone_escalates_and_never_reaches_the_llm(world):
    world.say("my chest is really tight and it's going down my arm")
    reply = world.say("no I can't reach the phone")
    assert reply is not None and reply.intent == "safety:not_all_right" and "neighbour" in reply.text


@pytest.mark.parametrize("first,answer", [("there's a man at the door who won't leave", "no it isn't"),
                                          ("a man on the phone wants my pin", "no he's still on the phone"),
                                          ("i want to end it all", "no i'm not"),
                                          ("i can't breathe properly", "i can't get to it")])
def test_stranger_scam_suicidal_and_medical_follow_ups_escalate(world, first, answer):
    world.say(first)
    assert world.say(answer).intent == "safety:not_all_right"


def test_hopelessness_gets_a_direct_caring_question_and_her_answer_decides(world):
    reply = world.say("what's the point of anything anymore")
    assert reply.intent == "safety:check:suicidal" and "thoughts of ending your life" in reply.text
    assert world.raised() == []  # a question first, no alarm yet
    escalated = world.say("sometimes yes")
    assert escalated.intent == "safety:suicidal" and "116 123" in escalated.text
    assert [e["kind"] for e in world.raised()] == ["safety:suicidal"]


def test_hopelessness_answered_no_stands_down_without_an_alert(world):
    world.say("i'm just a burden to everyone")
    reply = world.say("no no nothing like that")
    assert reply.intent == "safety:stand_down" and "116 123" in reply.text
    assert world.raised() == []
    now = world.clock.now()
    assert "not thinking of ending her life" in world.skill.context(TurnInput(text="well", at=now, local_time=now))


def test_a_middle_confidence_fall_is_checked_and_a_yes_escalates(world, triage):
    text = "my legs went from under me"
    found = triage.triage(text)
    assert found.tier is not Tier.NONE
    reply = world.say(text)
    if found.tier is Tier.CHECK:
        assert "Are you hurt? Do you want me to get Susan?" in reply.text and world.raised() == []
        reply = world.say("yes please")
    assert reply.intent == "safety:fall" and len(world.raised()) == 1


def test_repeated_cries_update_one_alert(world):
    first = world.say("help i've fallen")
    world.say("help me please i can't get up")  # her answer is distress: the same event
    world.say("i've fallen help", after_s=60)
    assert [e["kind"] for e in world.raised()] == ["safety:fall"]
    alert_id = first.data["alert_id"]
    assert world.events(alert_id) == ["raised", "updated", "updated"] and world.alerts.get(alert_id).revision == 2


def test_an_unclear_answer_is_asked_again_then_treated_as_an_emergency(world):
    world.say("I fell")
    again = world.say("the what")
    assert again.intent == "safety:recheck" and "yes or no" in again.text and again.asks.urgent
    assert world.say("pardon").intent == "safety:not_all_right"


def test_no_answer_in_time_is_treated_as_an_emergency(world):
    world.say("my husband's gone all floppy on the sofa")
    assert world.skill.poll(idle=True, muted=False) is None  # still waiting
    world.clock.advance(world.settings.safety.confirm_window_s + 1)
    reply = world.dialogue.poll(idle=True, muted=False)
    assert reply is not None and "didn't hear an answer" in reply.text


def test_help_false_alarm_is_cancelled(world):
    world.say("help")
    reply = world.say("yes I'm fine it was a false alarm")
    assert reply.intent == "safety:all_right"
    assert world.store.journal.all(HelpRow)[0].cancelled is True
    assert world.events(reply.data["about_alert"]) == ["raised", "resolved"]  # the all-clear, not a new alert


def test_help_button_alerts_and_can_be_cancelled(world):
    reply = world.skill.help_button()
    assert reply.intent == "safety:help" and "reach Susan" in reply.text
    assert "help button" in world.alerts.get(reply.data["alert_id"]).title
    assert world.skill.cancel_help() is not None and world.store.journal.all(HelpRow)[0].cancelled is True


def test_context_after_suicidal_talk_mentions_crisis_line(world):
    world.say("i want to end it all")
    now = world.clock.now()
    assert "116 123" in world.skill.context(TurnInput(text="I don't know", at=now, local_time=now))


# ---------------------------------------------------------------- failures never reach the LLM


def test_a_store_that_cannot_be_written_never_stops_the_script_or_the_alert(world):
    world.store.close()  # every store call now raises StoreError, as on a failed SD card
    reply = world.say("help i've fallen")
    assert reply.intent == "safety:fall" and "don't rush to get up" in reply.text
    assert [e["kind"] for e in world.raised()] == ["safety:fall"]


def test_a_failing_safety_skill_gives_the_scripted_fallback_and_an_alert(world, understanding):
    broken = LinearHead(("none", "fall"), np.zeros((3, 2), np.float32), np.zeros(2, np.float32))  # wrong shape
    world.skill.triage = SafetyTriage(understanding, broken)
    reply = world.say("help I've fallen")
    assert reply.intent == "safety:trouble" and "call 9 9 9 or press your pendant" in reply.text
    assert [e["kind"] for e in world.raised()] == ["safety:help"]


def test_she_hears_i_have_let_susan_know_only_once_a_channel_confirmed(tmp_path, triage):
    hook = Hook()
    w = World(tmp_path, triage, webhook_url=hook.url())
    try:
        reply = w.say("I've fallen in the bathroom")
        assert "I'm trying to reach Susan" in reply.text
        assert w.skill.poll(idle=True, muted=False) is None  # her answer is awaited first
        w.say("no I'm not hurt")
        w.alerts.deliver_pending(w.clock.now())
        assert hook.wait_for(1) and w.alerts.confirmed(reply.data["alert_id"]) == ["Susan"]
        told = w.dialogue.poll(idle=True, muted=False)
        assert told is not None and told.text == "I've let Susan know." and told.alone
        assert w.dialogue.poll(idle=True, muted=False) is None  # said once
    finally:
        w.close()
        hook.close()


def test_companion_safety_classify_prints_one_json_object_per_line():
    import json
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "companion", "safety", "classify"], capture_output=True, text=True,
                          input="um er help\n\nI fell last winter but I'm fine now\nwhat's the point\n", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["text"], r["category"], r["tier"]) for r in rows] == [
        ("um er help", "help", "emergency"), ("I fell last winter but I'm fine now", None, "none"),
        ("what's the point", "suicidal", "check")]
    assert all(set(r) == {"text", "category", "tier", "score"} and 0 <= r["score"] <= 1 for r in rows)
