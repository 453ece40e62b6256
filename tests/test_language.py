"""The shared words: one normaliser, one sentence splitter, one yes/no parser, times and dates as people say them."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from companion.emotion.consent import consent_answer
from companion.language import day_phrase, normalize, say_date, say_time, say_today, sentences, spoken_time, yes_no
from companion.memory.text import yes_or_no
from companion.routines.speech import classify_answer


def test_normalise_lower_cases_expands_contractions_and_undoes_mishearings():
    assert normalize("I CAN'T breed, hep me!") == "i cannot breathe help me"
    assert normalize("What’s the time?") == "what is the time"


def test_sentences_split_at_the_end_of_each_sentence_only():
    assert list(sentences("Hello there. It's 3.30, isn't it? Yes!")) == ["Hello there.", "It's 3.30, isn't it?", "Yes!"]
    assert list(sentences("   ")) == []


@pytest.mark.parametrize("text, expected", [
    ("yes please", True), ("Oh yes", True), ("that's fine", True), ("go ahead", True), ("I don't mind", True),
    ("no thank you", False), ("well, no", False), ("not really", False), ("I'd rather not", False),
    ("what's on the radio", None), ("", None), ("um", None),
])
def test_one_yes_no_parser(text, expected):
    assert yes_no(text) is expected


def test_each_skill_adds_its_own_words_to_the_same_parser():
    assert yes_no("cancel that") is None and yes_or_no("cancel that") is False  # memory: "cancel" is a no
    assert consent_answer("fine by me") is True  # mood consent: "fine" is a yes
    assert classify_answer("I've taken it") == ("yes", True)  # a medication answer: strong, counts any time
    assert classify_answer("not yet") == ("no", False) and classify_answer("yes") == ("yes", False)
    assert classify_answer("already done") == ("yes", False)


def test_times_and_dates_as_people_say_them():
    assert say_time(datetime(2026, 11, 21, 15, 20)) == "It's three twenty in the afternoon."
    assert say_time(datetime(2026, 11, 21, 9, 5)) == "It's nine oh five in the morning."
    assert say_today(datetime(2026, 11, 21, 9, 5)) == "Today is Saturday, the 21st of November, 2026."
    assert say_date(date(2026, 6, 13)) == "Saturday 13 June" and say_date(date(2026, 6, 13), weekday=False) == "13 June"
    assert spoken_time(time(20, 15), period=True) == "quarter past 8 in the evening"
    now = datetime(2026, 11, 21, 9)
    assert day_phrase(datetime(2026, 11, 22, 9), now) == "tomorrow"
    assert day_phrase(datetime(2026, 12, 3, 9), now) == "on Thursday 3 December"
