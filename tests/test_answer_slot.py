"""One answer slot: her answer goes to the skill that asked, and nothing sits between a safety question and her answer."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from companion.caregiver.alerts import AlertService
from companion.clock import ManualClock
from companion.config import Settings
from companion.emotion.consent import CONSENT_QUESTION, MoodConsent, MoodConsentSkill
from companion.loop.dialogue import Dialogue
from companion.loop.events import Source
from companion.loop.skills import TurnInput, TurnRecord
from companion.memory.skill import MemorySkill
from companion.routines.scheduler import RoutineScheduler
from companion.safety.skill import SafetySkill
from companion.store.store import Store

START = datetime(2027, 5, 3, 7, 59, tzinfo=timezone.utc)  # 08:59 in London, a Monday
PILL = '[quiet_hours]\nenabled = false\n\n[[medication]]\nname = "blood-pressure tablet"\ntimes = ["09:00"]\n'


class Home:
    """The real skills in the app's order, over one store, routed by the real dialogue (skill turns only)."""

    def __init__(self, tmp_path, mood_mode: str = "ask") -> None:
        routines = tmp_path / "routines.toml"
        routines.write_text(PILL)
        self.settings = Settings().replace(
            routines={"file": str(routines), "timezone": "Europe/London"}, emotion={"mode": mood_mode},
            caregiver={"contacts": ["Susan"]}, memory={"data_dir": str(tmp_path / "data")})
        self.clock = ManualClock(START)
        self.store = Store.open(tmp_path / "data")
        self.alerts = AlertService.from_settings(self.settings, tmp_path / "data", self.clock)
        self.safety = SafetySkill(self.settings, self.store, self.alerts, self.clock)
        self.consent = MoodConsentSkill(MoodConsent(self.store, self.settings.emotion, self.clock))
        self.memory = MemorySkill(self.store, self.settings.memory, self.clock, household=self.settings.household)
        self.routines = RoutineScheduler.from_settings(self.settings, self.store, self.clock)
        # the app's order; the list order must not decide who gets her "yes"
        self.dialogue = Dialogue(None, [self.safety, self.consent, self.memory, self.routines],  # type: ignore[arg-type]
                                 self.clock, self.settings.household)
        self.utterance = 0

    def say(self, text: str):
        """Her turn: (the deterministic reply or None, what is said after it)."""
        self.utterance += 1
        now = self.clock.now()
        turn = TurnInput(text=text, at=now, local_time=self.settings.household.local(now), source=Source.WAKE_WORD)
        reply = self.dialogue.skill_reply(turn)
        _, closing = self.dialogue.framing(turn, self.utterance, reply)
        for skill in self.dialogue.skills:
            skill.after_turn(TurnRecord(text=text, reply=reply.text if reply else "", intent=reply.intent if reply
                                        else None, at=now))
        self.clock.advance(20)
        return reply, closing

    def close(self) -> None:
        self.alerts.close()
        self.store.close()


@pytest.fixture
def home(tmp_path):
    h = Home(tmp_path)
    yield h
    h.close()


def test_her_yes_goes_to_the_skill_that_asked_last_not_the_first_in_the_list(home):
    reply, _ = home.say("I take metformin in the morning")  # memory asks before keeping a health fact
    assert reply.intent == "memory.confirm"
    home.clock.advance(60)  # 09:00: the tablet is due; the routine asks its own question
    announced = home.dialogue.poll(idle=True, muted=False)
    assert announced is not None and "tablet" in announced.text
    reply, _ = home.say("yes")
    assert reply.intent == "routine_ack"  # the routine asked last: her yes is about the tablet
    assert not any(f.get("kind") == "medication" for f in home.store.all("facts"))  # memory did not take it


def test_an_earlier_question_is_answered_when_it_was_the_last_one_asked(home):
    home.clock.advance(60)
    assert home.dialogue.poll(idle=True, muted=False) is not None  # the tablet question
    reply, _ = home.say("I take metformin in the morning")  # she talks about something else: memory asks
    assert reply.intent == "memory.confirm"
    reply, _ = home.say("yes please")
    assert reply.intent == "memory.saved" or reply.intent.startswith("memory.")
    assert home.routines.pending_ack()  # the tablet still waits for its own yes


def test_the_consent_question_never_follows_a_safety_question(home):
    reply, closing = home.say("help I've fallen")  # her first conversation: consent would be due
    assert reply.intent == "safety:fall" and "Are you hurt?" in reply.text
    assert closing == "" and CONSENT_QUESTION not in reply.text
    reply, closing = home.say("no")  # her answer to "Are you hurt?", not to a consent question
    assert reply.intent == "safety:all_right"
    assert home.consent.consent.answer() is None  # nothing was taken as consent


def test_the_consent_question_still_comes_after_an_ordinary_first_turn(home):
    reply, closing = home.say("good morning")
    assert reply is None and closing == CONSENT_QUESTION
    reply, _ = home.say("yes that's fine")
    assert reply.intent == "emotion_consent_answer" and home.consent.consent.answer() is True


def test_nothing_speaks_first_while_a_safety_question_waits(home):
    home.clock.advance(45)  # 08:59:45
    reply, _ = home.say("I've had a fall")
    assert reply.intent == "safety:fall"
    assert home.dialogue.poll(idle=True, muted=False) is None  # 09:00: the tablet waits
    reply, _ = home.say("yes my hip hurts")
    assert reply.intent == "safety:not_all_right"
    assert home.dialogue.poll(idle=True, muted=False) is not None  # now the routine may speak
