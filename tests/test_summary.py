"""Wellbeing summaries from a synthetic week made with the real store and an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from companion.caregiver.summary import build_summary
from companion.caregiver.summary_html import render_html
from companion.caregiver.summary_text import headline, render_json, render_text, to_json
from companion.cli.caregiver import write_summary
from companion.clock import ManualClock
from companion.config import Settings
from companion.store.journal import FACTS, HelpRow, MoodRow, RoutineRow, TurnRow
from companion.store.store import Store

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2024, 5, 6, tzinfo=LONDON)
NOW = datetime(2024, 5, 12, 20, 0, tzinfo=LONDON)  # Sunday evening, when the timer runs


def local(day: int, hour: int, minute: int = 0) -> str:
    return (MONDAY + timedelta(days=day, hours=hour, minutes=minute)).astimezone(timezone.utc).isoformat()


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
                turns.append({"at": local(day, 10 + 3 * k, 2 * j), "user": text, "reply": "ok", "intent": None,
                              "emotion": None, "duration_s": 3.0, "timings_ms": {}})
        for hour in (11, 15):
            bad = day == 6
            mood.append({"at": local(day, hour), "arousal": "low" if bad else "high", "valence": -0.5 if bad else 0.3,
                         "category": "sad" if bad else "neutral", "source": "voice+words"})
        if day in (3, 6):
            routines.append({"at": local(day, 9, 30), "routine_id": "heart", "kind": "medication", "event": "missed",
                             "title": "Heart tablet", "detail": "no confirmation", "due": local(day, 8)})
            routines.append({"at": local(day, 9, 30), "routine_id": "heart", "kind": "medication",
                             "event": "escalated", "title": "Heart tablet", "detail": "", "due": local(day, 8)})
        else:
            routines.append({"at": local(day, 8, 5), "routine_id": "heart", "kind": "medication",
                             "event": "acknowledged", "title": "Heart tablet", "detail": "by voice", "due": local(day, 8)})
    for day in range(7):
        routines.append({"at": local(day, 9), "routine_id": "sleep", "kind": "checkin", "event": "announced",
                         "title": "How did you sleep?", "detail": ""})
    routines.append({"at": local(5, 9, 1), "routine_id": "sleep", "kind": "checkin", "event": "checkin_answer",
                     "title": "How did you sleep?", "detail": "very well thank you", "emotion": "happy"})
    routines.append({"at": local(6, 9, 1), "routine_id": "sleep", "kind": "checkin", "event": "checkin_answer",
                     "title": "How did you sleep?", "detail": "I slept badly", "emotion": "sad"})
    routines.append({"at": local(4, 21), "routine_id": "vitd", "kind": "medication", "event": "missed",
                     "title": "vitamin D", "detail": "not asked: device off", "due": local(4, 20)})
    for day in (0, 1, 2, 3, 5, 6):
        routines.append({"at": local(day, 20, 2), "routine_id": "vitd", "kind": "medication", "event": "acknowledged",
                         "title": "vitamin D", "detail": "by voice", "due": local(day, 20)})
    turns.append({"at": local(2, 16), "user": "no I'm not hurt just shaken", "reply": "ok"})
    for d in range(1, 36):  # her usual: the five weeks before
        mood.append({"at": local(-d, 12), "arousal": "high", "valence": 0.2 if d % 2 else 0.4, "category": "neutral"})
    store.journal.append_many([TurnRow.from_dict(d) for d in turns])
    store.journal.append_many([MoodRow.from_dict(d) for d in mood])
    store.journal.append_many([RoutineRow.from_dict(d) for d in routines])
    store.journal.append(HelpRow.from_dict({"at": local(6, 14), "source": "voice", "category": "fall", "detail": "i fell"}))
    store.insert(FACTS, {"kind": "person", "subject": "Tom", "relation": "grandson", "said": "Tom is my grandson"})


@pytest.fixture
def setup(tmp_path):
    settings = Settings().replace(caregiver={"contacts": ["Susan"]}, routines={"timezone": "Europe/London"},
                                  conversation={"user_name": "Mary"}, memory={"data_dir": str(tmp_path)})
    store = Store.open(tmp_path)
    make_history(store)
    yield settings, store, ManualClock(NOW)
    store.close()



def test_week_leads_with_what_matters_and_lists_each_check_in_once(setup):
    settings, store, clock = setup
    s = build_summary(store, settings, clock, "week")
    assert (s.conversations, s.turns) == (13, 40)  # the "not hurt" remark joins Wednesday's third chat
    assert [(m.title, m.taken, m.due, m.percent) for m in s.medicines] == [("Heart tablet", 5, 7, 71),
                                                                         ("vitamin D", 5, 6, 83)]
    assert s.medicines[1].missed == ["Fri 20:00 (device off)"]
    assert [d.conversations for d in s.days] == [1, 2, 3, 1, 2, 3, 1]
    assert [d.mood for d in s.days] == ["about as usual"] * 6 + ["much lower than usual"]
    assert s.mood_text == "Much lower than usual on Sunday; about as usual on the other days."
    [checkin] = s.checkins
    assert checkin.answers == [("Sat", "answered (sounded happy)"), ("Sun", "answered, mentioned sleep (sounded sad)")]
    assert checkin.unanswered == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    text = render_text(s)
    assert text.count("How did you sleep?") == 1
    assert headline(s) == ("1 help request: Mary may have fallen — Sun 14:00.", "urgent")
    order = [line for line in text.splitlines() if line.isupper()]
    assert order[:3] == ["ALERTS AND WHAT HAPPENED", "MEDICATION", "HOW SHE SEEMED (EXPERIMENTAL)"]


def test_negations_are_not_worries(setup):
    from companion.caregiver.summary_parts import concerns_in

    settings, store, clock = setup
    s = build_summary(store, settings, clock, "week")
    assert s.concerns == {"loneliness": 1, "pain": 1}  # "no I'm not hurt just shaken" is not pain
    assert concerns_in("no i am not hurt just shaken") == set()
    assert concerns_in("i am not lonely at all but my knee aches") == {"pain"}
    assert concerns_in("i did not sleep a wink") == {"sleep"}
    assert concerns_in("never felt dizzy in my life") == set()


def test_her_words_are_quoted_only_when_the_family_asked_and_she_agreed(setup):
    from companion.caregiver.consent import QUOTE_CONSENT_KEY

    settings, store, clock = setup
    asked = settings.replace(caregiver={"share_words": True})
    assert "back hurts" not in render_text(build_summary(store, asked, clock, "day"))  # she has not agreed
    store.put(QUOTE_CONSENT_KEY, {"answer": "yes", "at": clock.now().isoformat(), "how": "asked"})
    text = render_text(build_summary(store, asked, clock, "day"))
    assert '"I feel lonely today and my back hurts"' in text and '"I slept badly"' in text
    assert "back hurts" not in render_text(build_summary(store, settings, clock, "day"))  # family did not ask


def test_html_is_email_safe_with_inline_png_charts(setup):
    settings, store, clock = setup
    html, images = render_html(build_summary(store, settings, clock, "week"))
    assert "<style" not in html and "<svg" not in html and "<script" not in html.lower() and "grid" not in html
    assert 'src="cid:talk@companion"' in html and 'src="cid:mood@companion"' in html
    assert set(images) == {"talk@companion", "mood@companion"}
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
    assert "http://" not in html and "https://" not in html
    assert "max-width:600px" in html and "font-size:16px" in html  # one column, phone-sized text
    page, _ = render_html(build_summary(store, settings, clock, "week"), inline_images=True)
    assert page.count("data:image/png;base64,") == 2


def test_png_writer_makes_a_valid_image():
    import struct
    import zlib

    import numpy as np

    from companion.caregiver.charts import png_bytes

    rgb = np.zeros((3, 2, 3), dtype=np.uint8)
    rgb[1, 1] = (255, 0, 0)
    png = png_bytes(rgb)
    width, height = struct.unpack(">II", png[16:24])
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert (width, height) == (2, 3) and len(raw) == 3 * (1 + 2 * 3)
    assert raw[7 + 1 + 3:7 + 1 + 6] == b"\xff\x00\x00"  # row 1: filter byte, pixel 0, then pixel 1


def test_json_for_agencies(setup):
    settings, store, clock = setup
    data = to_json(build_summary(store, settings, clock, "week"))
    assert data["schema"] == "companion.summary/1" and data["person"] == "Mary"
    assert data["medication"][0] == {"title": "Heart tablet", "due": 7, "taken": 5, "adherence_pct": 71,
                                     "missed": ["Thu 08:00", "Sun 08:00"]}
    assert data["checkins"][0]["unanswered"] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert render_json(build_summary(store, settings, clock, "day")).startswith("{")


def test_cli_writes_and_sends_with_inline_charts(setup, tmp_path):
    from caregiver_servers import Smtp

    settings, store, clock = setup
    smtp = Smtp()
    try:
        mail = settings.replace(caregiver={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_starttls": False,
                                           "smtp_from": "mary.companion@example.org", "smtp_to": ["susan@example.org"]})
        html_path, text_path, alert_id, line = write_summary(mail, "week", tmp_path / "out", clock, send=True)
    finally:
        smtp.close()
    assert html_path.read_text().startswith("<!doctype html>") and line in text_path.read_text()
    assert (tmp_path / "out" / html_path.name.replace(".html", ".json")).exists()
    [msg] = smtp.messages
    import email

    parsed = email.message_from_bytes(msg.content)
    types = [p.get_content_type() for p in parsed.walk()]
    assert "text/plain" in types and "text/html" in types and types.count("image/png") == 2
    assert "application/json" in types
    cids = {p["Content-ID"] for p in parsed.walk() if p.get_content_type() == "image/png"}
    assert cids == {"<talk@companion>", "<mood@companion>"}


def test_a_silent_day_is_not_all_well(tmp_path):
    with Store.open(tmp_path) as store:
        s = build_summary(store, Settings(), ManualClock(NOW), "day")
    assert headline(s) == ("No conversations with the companion this day.", "warn")


def test_quiet_day_headline_is_reassuring(tmp_path):
    settings = Settings().replace(routines={"timezone": "Europe/London"}, conversation={"user_name": "Mary"})
    with Store.open(tmp_path) as store:
        store.journal.append(TurnRow.from_dict({"at": local(6, 10), "user": "lovely weather", "duration_s": 2.0}))
        store.journal.append(RoutineRow.from_dict({"at": local(6, 8, 5), "kind": "medication", "event": "acknowledged",
                                                 "title": "Heart"}))
        s = build_summary(store, settings, ManualClock(NOW), "day")
    assert headline(s) == ("All looks well: Mary talked 1 time, took all her medication.", "ok")
