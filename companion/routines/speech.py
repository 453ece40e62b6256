"""The words of routine announcements: short, warm, one question at most."""

from __future__ import annotations

import re
from datetime import datetime

from companion.language import day_phrase, normalize, spoken_time, yes_no
from companion.routines.file import Routine

# Acknowledgements, on normalised text ("haven't" is "have not"). Specific negations are checked
# first ("I haven't taken it" contains "taken"), then clear yeses, then the shared yes/no parser.
_NOT_YET = re.compile(r"\b(not yet|have not|did not|forgot|in a (minute|moment|bit)|later)\b")
_STRONG_YES = re.compile(r"\b(took|taken|had (it|them|my)|done that|swallowed)\b")
_DONE = re.compile(r"\b(done|did|i have|already|finished)\b")


def classify_answer(text: str) -> tuple[str, bool]:
    """('yes'|'no'|'', strong) for an answer to 'have you taken it?'.

    strong = says "took/taken", so it counts even when it is not the reply to our question.
    """
    t = normalize(text)
    if _NOT_YET.search(t):
        return "no", False
    if _STRONG_YES.search(t):
        return "yes", True
    answer = yes_no(t)
    if answer is True or (answer is None and _DONE.search(t)):
        return "yes", False
    if answer is False:
        return "no", False
    return "", False


def _appointment(r: Routine) -> str:
    who, what, where = r.text("with"), r.text("what"), r.text("where")
    words = f"you see {who}" if who else f"you have {what}"
    if who and what:
        words += f" for {what}"
    return words + (f", at {where}" if where else "")


def sentence(r: Routine, stage: str, event_local: datetime, now_local: datetime) -> str:
    """The non-question part for one routine (medication and check-in questions come separately)."""
    if r.kind == "message":
        sender = r.text("from")
        lead = f"{sender} left you a message" if sender else "There is a message for you from your family"
        return f"{lead}: {_end(r.text('text'))}"
    if r.kind == "activity":
        return _end(r.text("suggest"))
    when = f"{day_phrase(event_local, now_local)} at {spoken_time(event_local.time(), period=True)}"
    if r.kind == "reminder":
        if stage == "notice":
            return f"A reminder for {when}: {_end(r.text('what'))}"
        return f"A reminder: {_end(r.text('what'))}"
    if r.kind == "appointment":
        if stage == "notice":
            return f"Just so you know: {when} {_appointment(r)}."
        return f"It's time for your appointment: {_appointment(r)}."
    return ""


def medication_words(meds: list[Routine], repeat: bool) -> str:
    """'It's time for your X, one tablet. Have you taken it?' (several medicines in one sentence)."""
    names = [m.text("name") + (f", {m.text('dose')}" if m.text("dose") else "") for m in meds]
    # each medicine in its own short sentence, so doses don't run together
    listed = ". And your ".join(names)
    if len(meds) == 1 and meds[0].text("question"):
        question = _end(meds[0].text("question"), "?")
        return question if repeat else f"It's time for your {listed}. {question}"
    pronoun = "it" if len(meds) == 1 else "them"
    if repeat:
        plain = " and ".join(m.text("name") for m in meds)
        return f"Just checking: have you taken your {plain} yet?"
    return f"It's time for your {listed}. Have you taken {pronoun}?"


def combine(parts: list[str], question: str, before_i_forget: bool) -> str:
    """Join sentences into one announcement, the question last."""
    text = " ".join(p for p in parts if p)
    if before_i_forget and text:
        text = "Before I forget. " + text
    return f"{text} {question}".strip()


def _end(text: str, mark: str = ".") -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + mark
