"""Fact patterns on speech-recogniser text (lower case, no punctuation) and typed text."""

from __future__ import annotations

from datetime import date

import pytest

from companion.memory.extract import extract_candidates

TODAY = date(2024, 6, 10)  # a Monday

CASES = [
    ("my daughter susan", [("person", "Susan", "daughter", {})]),
    ("my daughter is called Susan", [("person", "Susan", "daughter", {})]),
    ("susan is my daughter", [("person", "Susan", "daughter", {})]),
    ("I have a cat called Max", [("pet", "Max", "cat", {})]),
    ("my dog's name is rex", [("pet", "Rex", "dog", {})]),
    ("my birthday is the fifth of march", [("birthday", "", "", {"date": "03-05"})]),
    ("i was born on march 5th 1941", [("birthday", "", "", {"date": "03-05", "year": 1941})]),
    ("I don't like loud television", [("dislike", "loud television", "", {})]),
    ("i can't stand cold weather", [("dislike", "cold weather", "", {})]),
    ("i'm going to the doctor on thursday", [("appointment", "the doctor", "", {"date": "2024-06-13"})]),
    ("i've got a dentist appointment tomorrow", [("appointment", "the dentist", "", {"date": "2024-06-11"})]),
    ("my name is margaret", [("name", "Margaret", "", {})]),
    ("call me peggy", [("preferred_name", "Peggy", "", {})]),
    ("i live in harrogate", [("home", "Harrogate", "", {})]),
    ("my grandson tom is 12", [("person", "Tom", "grandson", {"age": 12})]),
    ("my grandson tom is twelve", [("person", "Tom", "grandson", {"age": 12})]),
    ("My son Peter, who lives in Canada, is 55.", [("person", "Peter", "son", {"lives_in": "Canada", "age": 55})]),
    ("my friend joan lives in new york now", [("person", "Joan", "friend", {"lives_in": "New York"})]),
    ("my late husband george", [("person", "George", "husband", {"deceased": True})]),
    ("my daughter is a nurse", [("person", "", "daughter", {"job": "nurse"})]),
    ("i take metformin in the morning", [("medication", "metformin", "", {"timing": "in the morning"})]),
    ("i have arthritis", [("health", "arthritis", "", {})]),
    ("i owe my son twenty pounds", [("money", "", "", {})]),
    ("I really enjoy Frank Sinatra", [("like", "Frank Sinatra", "", {})]),
    ("my favourite colour is blue", [("favourite", "blue", "colour", {})]),
    ("i was born in whitby", [("birthplace", "Whitby", "", {})]),
    ("i love gardening but my knees hurt", [("like", "gardening", "", {})]),
]

NOTHING = ["i would like a cup of tea", "my daughter is lovely", "can you call me a taxi", "i love you",
           "what time is it", "my pin is one two three four", "i like that", "call me back later",
           "i live on my own"]


@pytest.mark.parametrize("text,expected", CASES)
def test_patterns(text: str, expected: list) -> None:
    got = [(c.kind, c.subject, c.relation, {k: v for k, v in c.attrs.items() if k != "when"}) for c in extract_candidates(text, TODAY)]
    assert got == expected


@pytest.mark.parametrize("text", NOTHING)
def test_no_false_facts(text: str) -> None:
    assert extract_candidates(text, TODAY) == []


def test_known_names_get_updates() -> None:
    got = extract_candidates("susan moved to leeds last year", TODAY, {"susan": "Susan"})
    assert [(c.kind, c.subject, c.attrs) for c in got] == [("person", "Susan", {"lives_in": "Leeds"})]
    assert extract_candidates("susan moved to leeds last year", TODAY) == []  # unknown name: not guessed


def test_sensitive_kinds_are_marked() -> None:
    assert [c.sensitive for c in extract_candidates("i take warfarin and my daughter susan helps me", TODAY)] == [False, True]
