"""Instant answers without the LLM: time, date, stop, repeat, slower/faster, louder/quieter."""

from __future__ import annotations

import re
from datetime import datetime

from companion.loop.skills import BaseSkill, Reply, TurnInput
from companion.voice.tts import VoiceStyle

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty"}


def number_words(n: int) -> str:
    """0–59 in words (clock minutes and hours)."""
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else f"-{_ONES[ones]}")


def say_time(t: datetime) -> str:
    """'It's twenty past three in the afternoon.'-style, as people say it."""
    hour12 = t.hour % 12 or 12
    if t.minute == 0:
        clock = f"{number_words(hour12)} o'clock"
    elif t.minute < 10:
        clock = f"{number_words(hour12)} oh {number_words(t.minute)}"
    else:
        clock = f"{number_words(hour12)} {number_words(t.minute)}"
    if t.hour < 12:
        part = "in the morning" if t.hour >= 5 else "at night"
    elif t.hour < 18:
        part = "in the afternoon"
    else:
        part = "in the evening" if t.hour < 22 else "at night"
    if t.hour == 12 and t.minute == 0:
        return "It's twelve noon."
    if t.hour == 0 and t.minute == 0:
        return "It's midnight."
    return f"It's {clock} {part}."


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def say_date(t: datetime) -> str:
    """'Today is Saturday, the 21st of November, 2026.'"""
    return f"Today is {t:%A}, the {_ordinal(t.day)} of {t:%B}, {t.year}."


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("stop", re.compile(r"^(please )?(stop|stop it|stop talking|be quiet|quiet please|shush|hush|"
                        r"that's enough|enough|never mind|cancel)( please| now| thank you| thanks)?$")),
    ("repeat", re.compile(r"\b(say (that|it) again|repeat (that|it)|what did you say|pardon|"
                          r"come again|i didn't (catch|hear) (that|you))\b")),
    ("slower", re.compile(r"\b(slower|slow down|(speak|talk) (more )?slowly|too fast)\b")),
    ("faster", re.compile(r"\b(faster|speed up|(speak|talk) (more )?quickly|too slow)\b")),
    ("louder", re.compile(r"\b(louder|speak up|can't hear you|cannot hear you|too quiet|turn (it )?up)\b")),
    ("quieter", re.compile(r"\b(quieter|softer|too loud|not so loud|turn (it )?down|lower your voice)\b")),
    ("time", re.compile(r"\b(what time is it|what's the time|what is the time|tell me the time|"
                        r"time is it|have you got the time|what time it is)\b")),
    ("date", re.compile(r"\b(what day is (it|today)|what's the date|what is the date|today's date|"
                        r"what date is it|what's today|what is today|which day is it)\b")),
]


def match_intent(text: str) -> str | None:
    """The instant intent this utterance asks for, or None."""
    t = _norm(text)
    if not t or len(t.split()) > 12:  # long sentences are conversation, not commands
        return None
    for name, pattern in _PATTERNS:
        if pattern.search(t):
            return name
    return None


class InstantIntents(BaseSkill):
    """Answers the few things that must be instant and never go to the LLM."""

    name = "intents"

    def __init__(self, style: VoiceStyle, *, last_reply: callable = lambda: "") -> None:
        self.style = style
        self._last_reply = last_reply

    def claims(self, text: str) -> bool:
        """Would this text be answered here? (pure: lets the loop skip a useless speculative LLM run)"""
        return match_intent(text) is not None

    def handle(self, turn: TurnInput) -> Reply | None:
        intent = match_intent(turn.text)
        if intent is None:
            return None
        if intent == "time":
            return Reply(say_time(turn.local_time), "time")
        if intent == "date":
            return Reply(say_date(turn.local_time), "date")
        if intent == "stop":
            return Reply("", "stop")
        if intent == "repeat":
            last = self._last_reply()
            return Reply(last or "I haven't said anything yet.", "repeat")
        changed = self.style.adjust(intent)
        if intent in ("slower", "faster"):
            text = f"All right, I'll speak {'more slowly' if intent == 'slower' else 'a little faster'}."
        else:
            text = f"All right, I'll speak {'louder' if intent == 'louder' else 'more softly'}."
        if not changed:
            text = "That's as far as I can go. " + ("I'm already at my slowest." if intent == "slower" else
                                                    "I'm already at my fastest." if intent == "faster" else
                                                    "I'm already at my loudest." if intent == "louder" else
                                                    "I'm already at my softest.")
        return Reply(text, intent)
