"""Safety layer: the red-team list, scripted replies, alerts and the help table."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from safety_redteam import HELD_OUT, REDTEAM

from companion.caregiver.alerts import AlertService
from companion.clock import ManualClock
from companion.config import Settings
from companion.language import normalize
from companion.loop.dialogue import Dialogue
from companion.loop.skills import TurnInput
from companion.safety.phrases import CATEGORIES, SafetyDetector
from companion.safety.skill import SafetySkill
from companion.store.journal import HelpRow
from companion.store.store import Store

START = datetime(2024, 5, 6, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(tmp_path):
    """A real store, a real alert service (outbox + a webhook nobody listens on) and the skill."""
    settings = Settings().replace(
        caregiver={"contacts": ["Susan"], "webhook_url": "http://127.0.0.1:9/hook"},
        safety={"emergency_number": "999", "crisis_line": "116 123"},
        routines={"timezone": "Europe/London"})
    clock = ManualClock(START)
    store = Store.open(tmp_path / "data")
    alerts = AlertService.from_settings(settings, tmp_path / "data", clock)
    skill = SafetySkill(settings, store, alerts, clock)
    dialogue = Dialogue(None, [skill], clock, settings.household)  # type: ignore[arg-type]  # no LLM turns here

    def say(text: str):
        """Her turn through the real dialogue: safety hears it first, her answer goes to the open question."""
        return dialogue.skill_reply(turn(text, clock))

    yield skill, store, alerts, clock, say
    alerts.close()
    store.close()


def turn(text: str, clock: ManualClock) -> TurnInput:
    return TurnInput(text=text, at=clock.now(), local_time=clock.now())


def test_redteam_list_is_big_and_mixed():
    assert len(REDTEAM) >= 60
    kinds = {e for _, e, _ in REDTEAM}
    assert set(CATEGORIES) <= kinds and None in kinds
    assert sum(1 for _, e, _ in REDTEAM if e is None) >= 25  # negations and idioms, not only true cases


@pytest.mark.parametrize("text,expected,why", REDTEAM + HELD_OUT, ids=[t for t, _, _ in REDTEAM + HELD_OUT])
def test_redteam_phrase(text, expected, why):
    got = SafetyDetector(extra_help_numbers=("911",)).detect(text)
    assert (got.category if got else None) == expected, why


def test_normalize_undoes_asr_garbles():
    assert normalize("I FAIL DOWN, chess pains!") == "i fell down chest pain"
    assert normalize("i cant breed") == "i cannot breathe"
    assert normalize("Hep me") == "help me"


def test_configured_emergency_number_is_a_help_phrase():
    assert SafetyDetector(extra_help_numbers=("112",)).detect("please ring 112").category == "help"
    assert SafetyDetector(extra_help_numbers=("112",)).detect("ring 112") is not None


@pytest.mark.parametrize("category,text", [
    ("help", "help me"), ("fall", "I've fallen and I can't get up"), ("medical", "chess pain"),
    ("suicidal", "I want to die"), ("lost", "I don't know where I am"),
    ("stranger", "there's a stranger at the door"), ("scam", "a man on the phone wants my bank details"),
])
def test_each_category_speaks_its_script_and_alerts(world, category, text):
    skill, store, alerts, clock, say = world
    reply = say(text)
    assert reply is not None and reply.intent == f"safety:{category}"
    assert "9 9 9" in reply.text  # the configured emergency number, read digit by digit
    assert "I've let Susan know." in reply.text
    assert reply.expect_answer
    if category == "suicidal":
        assert "116 123" in reply.text
    rows = store.journal.all(HelpRow)
    assert [(r.category, r.source, r.cancelled) for r in rows] == [(category, "voice", False)]
    assert rows[0].id == reply.data["help_id"] and rows[0].at == clock.now()
    queued = alerts.pending()
    assert {e["channel"] for e in queued} == {"outbox", "webhook"}
    assert {e["alert"]["id"] for e in queued} == {reply.data["alert_id"]}
    assert all(e["alert"]["urgent"] and e["alert"]["kind"] == f"safety:{category}" for e in queued)
    # Categories only by default: her words are not in the alert.
    assert all("her_words" not in e["alert"]["detail"] for e in queued)
    counts = alerts.deliver_pending(clock.now())
    assert counts["sent"] == 1 and counts["failed"] == 1  # outbox written; nobody listens on port 9
    outbox = list((store.path.parent / "outbox").glob("*.txt"))
    assert len(outbox) == 1 and "URGENT" in outbox[0].read_text()


@pytest.mark.parametrize("text", [t for t, e, _ in REDTEAM if e is None])
def test_negations_and_idioms_pass_to_the_conversation(world, text):
    skill, store, alerts, clock, say = world
    assert say(text) is None
    assert store.journal.all(HelpRow) == [] and alerts.pending() == []


def test_share_words_puts_her_words_in_the_alert(tmp_path):
    settings = Settings().replace(caregiver={"share_words": True})
    clock = ManualClock(START)
    with Store.open(tmp_path) as store:
        alerts = AlertService.from_settings(settings, tmp_path, clock)
        SafetySkill(settings, store, alerts, clock).handle(turn("I fell in the hall", clock))
        assert alerts.pending()[0]["alert"]["detail"]["her_words"] == "i fell in the hall"


def test_without_remote_channels_it_does_not_claim_someone_was_told(tmp_path):
    clock = ManualClock(START)
    with Store.open(tmp_path) as store:
        alerts = AlertService.from_settings(Settings(), tmp_path, clock)
        reply = SafetySkill(Settings(), store, alerts, clock).handle(turn("help", clock))
        assert "I've let" not in reply.text and "no way to send messages" in reply.text
        assert "9 1 1" in reply.text


def test_fall_confirmation_not_hurt(world):
    skill, store, alerts, clock, say = world
    first = say("I fell")
    assert "Are you hurt?" in first.text
    clock.advance(20)
    reply = say("no I'm not hurt")
    assert reply.intent == "safety:all_right" and "Susan" in reply.text
    # the all-clear is a non-urgent revision of the fall alert, not a new urgent one
    queued = [e["alert"] for e in alerts.pending() if e["channel"] == "outbox"]
    assert [(a["kind"], a["revision"], a["resolved"], a["urgent"]) for a in queued] == [("safety:fall", 1, True, False)]
    assert store.journal.all(HelpRow)[0].cancelled is False  # she did fall; only "help" can be a false alarm
    clock.advance(20)
    assert say("what's for lunch") is None  # the question is closed


def test_fall_confirmation_hurt_escalates(world):
    skill, store, alerts, clock, say = world
    say("i've had a fall")
    reply = say("yes my hip hurts")
    assert reply.intent == "safety:not_all_right" and "9 9 9" in reply.text
    queued = [e["alert"] for e in alerts.pending() if e["channel"] == "outbox"]
    assert len(queued) == 1 and queued[0]["revision"] == 1 and queued[0]["urgent"]
    assert "NOT" in queued[0]["title"] and queued[0]["kind"] == "safety:fall"  # the same alert, updated


def test_help_false_alarm_is_cancelled(world):
    skill, store, alerts, clock, say = world
    say("help")
    reply = say("yes I'm fine it was a false alarm")
    assert reply.intent == "safety:all_right"
    assert store.journal.all(HelpRow)[0].cancelled is True


def test_answer_after_the_window_is_ordinary_talk(world):
    skill, store, alerts, clock, say = world
    say("I fell")
    clock.advance(600)
    assert say("no") is None


def test_help_button_alerts_and_speaks(world):
    skill, store, alerts, clock, say = world
    reply = skill.help_button()
    assert reply.intent == "safety:help" and "I've let Susan know." in reply.text
    assert store.journal.all(HelpRow)[0].source == "button"
    assert "help button" in alerts.pending()[0]["alert"]["title"]
    cancelled = skill.cancel_help()
    assert cancelled is not None and store.journal.all(HelpRow)[0].cancelled is True


def test_context_after_suicidal_talk_mentions_crisis_line(world):
    skill, store, alerts, clock, say = world
    say("i want to end it all")
    clock.advance(60)
    assert "116 123" in skill.context(turn("I don't know", clock))
    clock.advance(3600)
    assert skill.context(turn("hello", clock)) == ""
