"""Wellbeing summaries from a synthetic week made with the real store and an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from companion.caregiver.alerts import AlertService
from companion.caregiver.summary import build_summary, render_text
from companion.caregiver.summary_html import render_html
from companion.cli.caregiver import write_summary
from companion.clock import ManualClock
from companion.config import Settings
from companion.store.journal import FACTS, HelpRow, MoodRow, RoutineRow, TurnRow
from companion.store.store import Store

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2024, 5, 6, tzinfo=LONDON)
NOW = datetime(2024, 5, 12, 20, 0, tzinfo=LONDON)  # Sunday evening, when the timer runs


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return (MONDAY + timedelta(days=day, hours=hour, minutes=minute)).astimezone(timezone.utc)


def make_history(store: Store) -> None:
    """Mon..Sun: (day % 3) + 1 conversations of 3 turns 2 min apart; a bad Sunday."""
    turns, mood, routines = [], [], []
    for day in range(7):
        for k in range(day % 3 + 1):
            for j in range(3):
                text = "tell me about the garden"
                if day == 6 and j == 0:
                    text = "I feel lonely today and my back hurts"
                if day == 2 and j == 1:
                    text = "I spoke to Susan yesterday"
                if day == 5 and j == 2 and k == 0:
                    text = "Tom came round with cake"
                turns.append(TurnRow(at=local(day, 10 + 3 * k, 2 * j), user=text, reply="ok", duration_s=3.0))
        for hour in (11, 15):
            bad = day == 6
            mood.append(MoodRow(at=local(day, hour), arousal="low" if bad else "high", valence=-0.5 if bad else 0.3,
                                category="sad" if bad else "neutral", source="voice+words"))
        if day in (3, 6):
            routines.append(RoutineRow(at=local(day, 9, 30), routine_id="heart", kind="medication", event="missed",
                                       title="Heart tablet", detail="no confirmation", due=local(day, 8)))
            routines.append(RoutineRow(at=local(day, 9, 30), routine_id="heart", kind="medication",
                                       event="escalated", title="Heart tablet", due=local(day, 8)))
        else:
            routines.append(RoutineRow(at=local(day, 8, 5), routine_id="heart", kind="medication",
                                       event="acknowledged", title="Heart tablet", detail="by voice", due=local(day, 8)))
    routines.append(RoutineRow(at=local(6, 9), routine_id="sleep", kind="checkin", event="checkin_answer",
                               title="How did you sleep?", detail="I slept badly", emotion="sad"))
    for d in range(1, 36):  # her usual: the five weeks before
        mood.append(MoodRow(at=local(-d, 12), arousal="high", valence=0.2 if d % 2 else 0.4, category="neutral"))
    store.journal.append_many(turns + mood + routines)
    store.journal.append(HelpRow(at=local(6, 14), source="voice", category="fall", detail="i fell"))
    store.insert(FACTS, {"kind": "person", "subject": "Tom", "relation": "grandson", "said": "Tom is my grandson"})


@pytest.fixture
def setup(tmp_path):
    settings = Settings().replace(caregiver={"contacts": ["Susan"]}, routines={"timezone": "Europe/London"},
                                  conversation={"user_name": "Mary"}, memory={"data_dir": str(tmp_path)})
    store = Store.open(tmp_path)
    make_history(store)
    yield settings, store, ManualClock(NOW)
    store.close()


def test_day_summary_matches_the_history(setup):
    settings, store, clock = setup
    s = build_summary(store, settings, clock, "day")
    assert (s.conversations, s.turns, s.minutes) == (1, 3, 4.5)
    assert s.meds_taken == 0 and s.meds_missed == ["Heart tablet (Sun 08:00)"]
    assert s.concerns == {"loneliness": 1, "pain": 1}
    assert s.help == ["She may have fallen — Sun 14:00"]
    assert s.checkins == ["How did you sleep?: answered, mentioned sleep (sounded sad)"]
    assert s.valence == -0.5 and s.low_arousal_share == 1.0
    assert s.baseline["valence"] == pytest.approx(0.3, abs=0.02)
    assert s.headline == "1 help request: She may have fallen — Sun 14:00."
    assert s.lines[1] == "Missed medication: 1 of 1 dose — Heart tablet (Sun 08:00)."
    text = render_text(s)
    assert text.splitlines()[0] == "Companion daily summary for Mary"
    assert "lower than usual" in text and "never a diagnosis" in text
    assert "back hurts" not in text and "slept badly" not in text  # categories only by default


def test_week_summary_matches_the_history(setup):
    settings, store, clock = setup
    s = build_summary(store, settings, clock, "week")
    assert (s.conversations, s.turns, s.minutes) == (13, 39, 58.5)
    assert s.meds_taken == 5 and s.meds_missed == ["Heart tablet (Thu 08:00)", "Heart tablet (Sun 08:00)"]
    assert s.routines_done == 5 and s.routines_missed == 2
    assert s.people == {"Susan": 3, "Tom": 1}
    assert [d.conversations for d in s.days] == [1, 2, 3, 1, 2, 3, 1]
    assert [d.minutes for d in s.days] == [4.5, 9.0, 13.5, 4.5, 9.0, 13.5, 4.5]
    assert [(d.meds_taken, d.meds_missed) for d in s.days] == [(1, 0)] * 3 + [(0, 1)] + [(1, 0)] * 2 + [(0, 1)]
    assert [d.valence for d in s.days] == [0.3] * 6 + [-0.5]
    assert s.valence == pytest.approx((12 * 0.3 - 2 * 0.5) / 14, abs=0.01)


def test_quiet_day_headline_is_reassuring(tmp_path):
    settings = Settings().replace(routines={"timezone": "Europe/London"})
    with Store.open(tmp_path) as store:
        store.journal.append(TurnRow(at=local(6, 10), user="lovely weather", duration_s=2.0))
        store.journal.append(RoutineRow(at=local(6, 8, 5), kind="medication", event="acknowledged", title="Heart"))
        s = build_summary(store, settings, ManualClock(NOW), "day")
    assert s.headline == "All looks well: She talked 1 time, took all her medication."


def test_share_words_quotes_flagged_moments(setup):
    settings, store, clock = setup
    s = build_summary(store, settings.replace(caregiver={"share_words": True}), clock, "day")
    text = render_text(s)
    assert '"I feel lonely today and my back hurts"' in text and '"I slept badly"' in text


def test_html_is_self_contained_with_charts(setup):
    settings, store, clock = setup
    html = render_html(build_summary(store, settings, clock, "week"))
    assert html.count("<svg") == 5 and "<script" not in html.lower()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "experimental" in html and "her usual" in html


def test_cli_writes_and_sends(setup, tmp_path):
    settings, store, clock = setup
    html_path, text_path, alert_id, headline = write_summary(settings, "day", tmp_path / "out", clock, send=True)
    assert html_path.read_text().startswith("<!doctype html>") and headline in text_path.read_text()
    outbox = tmp_path / "outbox"
    assert (outbox / f"{alert_id}.html").exists()
    audit = AlertService.from_settings(settings, tmp_path, clock).audit.read()
    assert any(e.get("kind") == "summary" and e.get("result") == "delivered" for e in audit)


def test_a_silent_day_is_not_all_well(tmp_path):
    with Store.open(tmp_path) as store:
        s = build_summary(store, Settings(), ManualClock(NOW), "day")
    assert s.headline == "No conversations with the companion this day (the device may be off or muted)."
