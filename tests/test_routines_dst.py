"""A week of examples/routines.toml across the spring clock change, and DST edge cases."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from test_routines_scheduler import NO_QUIET, Harness, at

from companion.routines.file import Routine

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "routines.toml"


def label(r: Routine, stage: str) -> str:
    words = r.text("name") or r.text("question") or r.text("with") or r.text("what") or r.text("suggest") or r.text("from")
    return words + (" [notice]" if stage == "notice" else "")


def expected_week() -> dict[tuple[date, str], set[str]]:
    """The example file's schedule, written out by hand from its comments."""
    want: dict[tuple[date, str], set[str]] = defaultdict(set)
    for n in range(8):  # Wed 24 March .. Wed 31 March 2027; clocks go forward on Sun 28
        d = date(2027, 3, 24) + timedelta(days=n)
        wd = d.weekday()
        want[d, "08:00"].add("blood-pressure tablet")
        if wd in (0, 2, 4):
            want[d, "08:00"].add("vitamin D")
        want[d, "09:00"].add("Good morning! How did you sleep?")
        if wd == 2:
            want[d, "10:00"].add("the physiotherapist [notice]")
        if wd == 3:
            want[d, "10:00"].add("the physiotherapist")
        if wd >= 5:
            want[d, "10:30"].add("Would you like some music? Just ask me to play something.")
        want[d, "11:00"].add("How about a glass of water?")
        want[d, "12:30"].add("it's lunchtime. There is soup in the fridge")
        if wd < 5:
            want[d, "15:00"].add("It's a good moment for a short walk, if you feel like it.")
        want[d, "16:00"].add("How about a glass of water?")
        if wd < 5:
            want[d, "18:30"].add("How has your day been?")
        if wd == 0:
            want[d, "19:00"].add("the bins go out [notice]")
        if wd == 1:
            want[d, "19:00"].add("the bins go out")
        want[d, "20:00"].add("blood-pressure tablet")
    want[date(2027, 3, 30), "12:30"].add("Dr. Patel [notice]")  # 2 hours before 14:30
    want[date(2027, 3, 30), "14:30"].add("Dr. Patel")
    want[date(2027, 3, 28), "17:00"].add("Tom")
    want[date(2027, 3, 24), "08:01"].add("Susan")  # right after her first conversation (the 08:00 "yes")
    return want


def test_a_week_of_the_example_fires_every_routine_at_its_local_time_across_dst(tmp_path):
    h = Harness(tmp_path, EXAMPLE.read_text(), at(2027, 3, 24))
    by_id = {r.id: r for r in h.sched.routines}

    def answer(reply):
        if "medication" in reply.data["kinds"]:
            assert h.say("yes, I took them").intent == "routine_ack"
        elif "checkin" in reply.data["kinds"]:
            assert h.say("Fine, thank you") is None

    said = h.run(8 * 24 * 60, answer=answer)
    got: dict[tuple[date, str], set[str]] = defaultdict(set)
    for when, reply in said:
        for rid, stage in zip(reply.data["routine_ids"], reply.data["stages"]):
            got[when.date(), f"{when:%H:%M}"].add(label(by_id[rid], stage))
        assert reply.speak_first == "chime"
        assert time(7, 30) <= when.time() < time(22, 0)  # quiet hours held
    assert dict(got) == dict(expected_week())
    # 08:00 stays 08:00 on the wall clock while UTC moves by an hour
    pills = {w.date(): w.astimezone(timezone.utc).hour for w, r in said
             if w.time() == time(8, 0)}
    assert pills[date(2027, 3, 27)] == 8 and pills[date(2027, 3, 28)] == 7
    assert h.log("missed") == [] and h.escalations == []
    assert len(h.log("message_delivered")) == 2
    assert len(h.log("checkin_answer")) == 8 + 6  # mornings + weekday evenings
    assert {r.routine_id for r in h.log()} == set(by_id)


DAILY = NO_QUIET + ('[[activity]]\nsuggest = "Night owl?"\ntime = "01:30"\n'
                    '[[checkin]]\nquestion = "Good morning?"\ntime = "08:00"\n')


def run_days(tmp_path, start) -> list[tuple[datetime, str]]:
    h = Harness(tmp_path, DAILY, start)
    said = h.run(2 * 24 * 60, answer=lambda r: h.say("fine"))
    h.store.close()
    return [(w, r.text) for w, r in said]


def test_autumn_repeated_hour_fires_once_and_8_stays_8(tmp_path):
    said = run_days(tmp_path, at(2026, 10, 24))  # clocks go back at 02:00 BST on Sun 25 October
    night = [w for w, text in said if text == "Night owl?"]
    assert [(w.strftime("%d %H:%M"), w.utcoffset()) for w in night] == [
        ("24 01:30", timedelta(hours=1)), ("25 01:30", timedelta(hours=1))]  # the first 01:30, once
    morning = [w for w, text in said if text == "Good morning?"]
    assert [(w.strftime("%d %H:%M"), w.astimezone(timezone.utc).hour) for w in morning] == [
        ("24 08:00", 7), ("25 08:00", 8)]


def test_spring_skipped_time_happens_when_the_clocks_allow(tmp_path):
    said = run_days(tmp_path, at(2027, 3, 27))  # 01:00 → 02:00 on Sun 28 March: 01:30 never happens
    night = [w.strftime("%d %H:%M") for w, text in said if text == "Night owl?"]
    assert night == ["27 01:30", "28 02:30"]
    morning = [w.strftime("%d %H:%M") for w, text in said if text == "Good morning?"]
    assert morning == ["27 08:00", "28 08:00"]


def test_other_time_zone(tmp_path):
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    h = Harness(tmp_path, DAILY, datetime(2027, 3, 13, tzinfo=ny), tz=ny)  # US clocks change on 14 March
    said = h.run(2 * 24 * 60, answer=lambda r: h.say("fine"))
    morning = [w.astimezone(timezone.utc).hour for w, r in said if r.text == "Good morning?"]
    assert morning == [13, 12]
    h.store.close()
