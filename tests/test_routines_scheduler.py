"""The scheduler on an injected clock: times, DST, acknowledgements, misses, quiet hours, politeness."""

from __future__ import annotations

from datetime import datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from companion.clock import Household, ManualClock
from companion.loop.dialogue import Dialogue
from companion.loop.skills import Reply, TurnInput, TurnRecord
from companion.routines.scheduler import RoutineScheduler
from companion.store.journal import RoutineRow
from companion.store.store import Store

LONDON = ZoneInfo("Europe/London")
NO_QUIET = '[quiet_hours]\nenabled = false\n'


class Harness:
    """A scheduler on a ManualClock and a real store, driven minute by minute like the voice loop."""

    def __init__(self, tmp_path: Path, text: str, start: datetime, tz=LONDON, **kwargs) -> None:
        self.tmp_path = tmp_path
        self.path = tmp_path / "routines.toml"
        self.path.write_text(text)
        self.clock = ManualClock(start)
        self.store = Store.open(tmp_path / "data")
        self.escalations: list[dict] = []
        self.tz = tz
        self.sched = RoutineScheduler(self.path, self.store, self.clock, Household(tz), reload_check_s=1.0,
                                      on_escalation=self.escalations.append, **kwargs)
        self.said: list[tuple[datetime, Reply]] = []

    def local(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    @property
    def dialogue(self) -> Dialogue:
        """The real dialogue around the current scheduler (rebuilt when a test restarts it); no LLM turns."""
        if getattr(self, "_dialogue_for", None) is not self.sched:
            self._dialogue = Dialogue(None, [self.sched], self.clock, Household(self.tz))  # type: ignore[arg-type]
            self._dialogue_for = self.sched
        return self._dialogue

    def run(self, minutes: int, idle: bool = True, muted: bool = False, answer=None) -> list[tuple[datetime, Reply]]:
        """Poll once a minute; `answer(reply)` plays her response to each announcement."""
        got = []
        for _ in range(minutes):
            reply = self.dialogue.poll(idle=idle, muted=muted)
            if reply is not None:
                got.append((self.local(), reply))
                if answer is not None:
                    answer(reply)
            self.clock.advance(60)
        self.said.extend(got)
        return got

    def say(self, text: str) -> Reply | None:
        """She says something: the dialogue routes it (her answer to our question first), then after_turn()."""
        now = self.clock.now()
        reply = self.dialogue.skill_reply(TurnInput(text=text, at=now, local_time=now.astimezone(self.tz)))
        self.sched.after_turn(TurnRecord(text=text, reply=reply.text if reply else "(llm)",
                                         intent=reply.intent if reply else None, at=now))
        return reply

    def log(self, event: str | None = None) -> list[RoutineRow]:
        return [r for r in self.store.journal.all(RoutineRow) if event is None or r.event == event]


def at(y, mo, d, h=0, mi=0, tz=LONDON) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


@pytest.fixture
def harness(tmp_path):
    made = []

    def make(text, start, **kw):
        h = Harness(tmp_path, text, start, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.store.close()


PILL = '[[medication]]\nname = "heart tablet"\ndose = "one tablet"\ntime = "08:00"\nrepeat_every_minutes = 10\nrepeat_times = 2\n'


def test_voice_acknowledgement_stops_the_repeats(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 7, 55))
    (when, reply), = h.run(6)
    assert when.time() == time(8, 0)
    assert reply.expect_answer and reply.speak_first == "chime" and reply.intent == "routine"
    assert "heart tablet" in reply.text and reply.text.endswith("?")
    assert h.sched.pending_ack()
    ack = h.say("Yes, I took it")
    assert ack is not None and ack.intent == "routine_ack"
    assert not h.sched.pending_ack()
    assert h.run(120) == []
    assert [r.event for r in h.log()] == ["announced", "acknowledged"]
    assert h.escalations == []


def test_not_yet_then_done(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 8, 0))
    h.run(1)
    later = h.say("Not yet, I'm still having breakfast")
    assert later is not None and "10 minutes" in later.text
    (when, again), = h.run(11)
    assert when.time() == time(8, 10) and "Just checking" in again.text
    assert h.say("done").intent == "routine_ack"
    assert [r.event for r in h.log()] == ["announced", "repeated", "acknowledged"]


def test_an_unrelated_yes_later_is_not_an_acknowledgement(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 8, 0))
    h.run(2)
    assert h.say("What's the weather like?") is None  # the LLM answers that
    assert h.say("yes please") is None  # a yes to something else
    assert h.sched.pending_ack()
    assert h.say("I've taken my tablet now").intent == "routine_ack"  # clear words count any time


def test_no_acknowledgement_repeats_then_records_a_missed_dose_and_escalates(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 7, 59))
    said = h.run(60)
    assert [w.time() for w, _ in said] == [time(8, 0), time(8, 10), time(8, 20)]
    assert [r.event for r in h.log()] == ["announced", "repeated", "repeated", "missed", "escalated"]
    missed = h.log("missed")[0]
    assert missed.due == at(2027, 5, 3, 8, 0)
    assert missed.at.astimezone(LONDON).time() == time(8, 30)
    (event,) = h.escalations
    assert event["kind"] == "medication" and event["title"] == "heart tablet (one tablet)"
    assert event["due_local"] == "2027-05-03 08:00" and event["asked"] == 3
    assert not h.sched.pending_ack()


def test_talk_button_acknowledges(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 8, 0))
    assert h.sched.acknowledge_button() is None  # nothing waiting: the button means "talk"
    h.run(1)
    reply = h.sched.acknowledge_button()
    assert reply is not None and "heart tablet" in reply.text
    assert h.log("acknowledged")[0].detail == "by button"


QUIET = ('[quiet_hours]\nfrom = "22:00"\nuntil = "07:00"\n'
         '[[medication]]\nname = "night pill"\ntime = "23:00"\n'
         '[[medication]]\nname = "insulin"\ntime = "23:30"\nurgent = true\n'
         '[[activity]]\nsuggest = "Time for bed?"\ntime = "22:30"\n')


def test_quiet_hours_hold_non_urgent_speech_until_morning(harness):
    h = harness(QUIET, at(2027, 5, 3, 21, 0))
    answers = lambda r: h.say("yes I took it") if r.expect_answer else None  # noqa: E731
    said = h.run(11 * 60, answer=answers)
    times = [(w.strftime("%d %H:%M"), r.data["kinds"]) for w, r in said]
    assert times == [("03 23:30", ["medication"]), ("04 07:00", ["activity", "medication"])]
    assert "insulin" in said[0][1].text
    assert "night pill" in said[1][1].text and "Time for bed?" in said[1][1].text


def test_a_routine_due_mid_conversation_waits_for_the_turn_to_end(harness):
    h = harness(NO_QUIET + '[[checkin]]\nquestion = "How did you sleep?"\ntime = "08:00"\n', at(2027, 5, 3, 7, 58))
    assert h.run(7, idle=False) == []
    (when, reply), = h.run(3)
    assert when.time() == time(8, 5) and reply.text == "How did you sleep?" and reply.expect_answer


def test_missed_while_muted_is_said_after_unmute_if_still_relevant(harness):
    text = NO_QUIET + ('[[checkin]]\nquestion = "How did you sleep?"\ntime = "08:00"\n'
                       '[[activity]]\nsuggest = "A glass of water?"\ntime = "08:00"\n')
    h = harness(text, at(2027, 5, 3, 7, 59))
    assert h.run(62, muted=True) == []  # muted until 09:01
    (when, reply), = h.run(2)
    assert when.time() == time(9, 1)
    assert reply.text == "How did you sleep?"  # the water suggestion is 30 minutes stale: dropped
    assert h.log("suggested") == []


def test_checkin_answer_is_recorded(harness):
    h = harness(NO_QUIET + '[[checkin]]\nquestion = "How did you sleep?"\ntime = "09:00"\n', at(2027, 5, 3, 9, 0))
    h.run(1)
    assert "How did you sleep?" in h.sched.context(TurnInput("", h.clock.now(), h.local()))
    assert h.say("Not very well, my back hurts") is None  # goes through the normal conversation
    (doc,) = h.log("checkin_answer")
    assert doc.detail == "Not very well, my back hurts" and doc.kind == "checkin"
    h.say("And what is for lunch?")
    assert len(h.log("checkin_answer")) == 1


def test_several_due_at_once_make_one_announcement(harness):
    text = NO_QUIET + PILL + ('[[message]]\nfrom = "Susan"\ntext = "Hello Mum!"\ntime = "08:00"\n'
                              '[[reminder]]\nwhat = "the window cleaner comes today"\ntime = "08:00"\n'
                              '[[checkin]]\nquestion = "How did you sleep?"\ntime = "08:00"\n')
    h = harness(text, at(2027, 5, 3, 8, 0))
    (_, first), = h.run(1)
    assert first.text.startswith("Susan left you a message: Hello Mum!")
    assert "A reminder: the window cleaner comes today." in first.text
    assert first.text.endswith("Have you taken it?")  # one question at a time: medication first
    assert "How did you sleep?" not in first.text
    h.say("yes")
    (_, second), = h.run(1)
    assert second.text == "How did you sleep?"


def test_message_for_the_next_conversation_is_said_once_even_after_restart(harness, tmp_path):
    text = NO_QUIET + '[[message]]\nfrom = "Susan"\ntext = "I will call on Sunday."\n'
    h = harness(text, at(2027, 5, 3, 10, 0))
    assert h.run(30) == []  # not out of the blue: after her next chat
    h.say("Good morning")
    (_, reply), = h.run(1)
    assert reply.text == "Before I forget. Susan left you a message: I will call on Sunday."
    assert not reply.expect_answer
    h.sched = RoutineScheduler(h.path, h.store, h.clock, Household(LONDON))  # restart on the same store
    h.say("Hello again")
    assert h.run(60) == []
    assert len(h.log("message_delivered")) == 1


def test_restart_catches_up_a_recent_medication_but_not_a_handled_one(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 8, 30))
    (when, _), = h.run(1)  # the Pi was rebooting at 08:00; still relevant at 08:30
    assert when.time() == time(8, 30)
    h.say("yes I took it")
    h.sched = RoutineScheduler(h.path, h.store, h.clock, Household(LONDON))
    assert h.run(30) == []


def test_broken_edit_keeps_the_old_routines_and_reports_line_and_field(harness):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 7, 0))
    h.run(2)
    broken = NO_QUIET + PILL.replace('time = "08:00"', 'time = "8.00"') + 'colour = "blue"\n'
    h.path.write_text(broken)
    h.run(2)
    status = h.sched.status()
    assert "still using the last good version" in status
    assert "line 6: [[medication]] 'heart tablet', time '8.00'" in status
    assert "line 9" in status and "colour" in status
    (when, _), = h.run(60, answer=lambda r: h.say("yes"))
    assert when.time() == time(8, 0)  # the old 08:00 routine still fired
    h.path.write_text("[[medication]\nname = \n")  # not even TOML
    h.run(2)
    assert "line 1" in h.sched.status()
    h.path.write_text(NO_QUIET + PILL.replace("08:00", "09:30"))
    h.run(2)
    assert "problems" not in h.sched.status()
    (when, _), = h.run(90)
    assert when.time() == time(9, 30)


def test_missing_or_unconfigured_file_never_crashes(harness, tmp_path):
    h = harness(NO_QUIET + PILL, at(2027, 5, 3, 7, 0))
    h.path.unlink()
    h.run(2)
    assert "does not exist" in h.sched.status()
    nothing = RoutineScheduler(None, h.store, h.clock, Household(LONDON))
    assert nothing.poll(idle=True, muted=False) is None
    assert "no routines file" in nothing.status()


def test_escalation_hook_errors_are_contained(harness):
    h = harness(NO_QUIET + PILL.replace("repeat_times = 2", "repeat_times = 0"), at(2027, 5, 3, 8, 0))

    def boom(event):
        raise RuntimeError("mail server down")

    h.sched.on_escalation = boom
    h.run(15)
    assert len(h.log("escalated")) == 1


def test_from_settings_uses_the_config_and_a_bad_time_zone_is_refused_at_the_door(tmp_path):
    import pytest

    from companion.config import Settings
    from companion.errors import ConfigError

    path = tmp_path / "routines.toml"
    path.write_text(PILL)  # no [quiet_hours] in the file: the main config's apply
    settings = Settings().replace(routines={"file": str(path), "timezone": "Europe/London",
                                            "quiet_from": "07:30", "quiet_until": "09:00"})
    clock = ManualClock(at(2027, 5, 3, 7, 59))
    with Store.open(tmp_path / "data") as store:
        sched = RoutineScheduler.from_settings(settings, store, clock)
        assert sched.household.zone == LONDON and "1 medication" in sched.status()
        replies = []
        for _ in range(70):
            replies.append(sched.poll(idle=True, muted=False))
            clock.advance(60)
        got = [r for r in replies if r is not None]
        assert len(got) == 1 and replies.index(got[0]) == 61  # held by the config's quiet hours until 09:00
        with pytest.raises(ConfigError, match="'London' is not a known time zone"):
            settings.replace(routines={"timezone": "London"})  # never reaches the scheduler


def test_a_bare_yes_long_after_the_question_is_not_taken_as_an_acknowledgement(harness):
    h = harness(NO_QUIET + PILL.replace("repeat_every_minutes = 10", "repeat_every_minutes = 30"),
                at(2027, 5, 3, 8, 0))
    h.run(1)  # asked at 08:00; she did not answer within the follow-up window
    h.clock.advance(minutes=10)
    assert h.say("yes, what's the weather like?") is None
    assert h.sched.pending_ack()


def test_a_dose_due_during_an_outage_is_recorded_as_not_asked_device_off(tmp_path):
    text = NO_QUIET + '[[medication]]\nname = "heart tablet"\ntime = "08:00"\nescalate = true\n' \
                      '[[medication]]\nname = "vitamin D"\ntime = "09:00"\n'
    start = datetime(2024, 5, 6, 15, 0, tzinfo=timezone.utc)  # 16:00 London: back after a power cut
    last_seen = datetime(2024, 5, 6, 5, 30, tzinfo=timezone.utc)  # 06:30: the device went off
    h = Harness(tmp_path, text, start, device_last_seen=last_seen)
    h.run(1)
    missed = h.log("missed")
    assert [(d.title, d.detail) for d in missed] == [("heart tablet", "not asked: device off"),
                                                            ("vitamin D", "not asked: device off")]
    assert [(e["title"], e["escalate"], e["device_off"]) for e in h.escalations] == [
        ("heart tablet", True, True), ("vitamin D", False, True)]
    h.sched = RoutineScheduler(h.path, h.store, h.clock, Household(LONDON), device_last_seen=last_seen,
                               on_escalation=h.escalations.append)
    h.run(1)
    assert len(h.log("missed")) == 2 and len(h.escalations) == 2  # recorded once, also after another restart
