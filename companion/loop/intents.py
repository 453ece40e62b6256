"""Instant answers without the LLM: time, date, stop, repeat, slower/faster, louder/quieter."""

from __future__ import annotations

import re

from companion.language import normalize, say_time, say_today
from companion.loop.skills import BaseSkill, Reply, TurnInput
from companion.voice.tts import VoiceStyle

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("stop", re.compile(r"^(?:oh |please |just |now |ok |okay |well |oh do |do )*(stop|stop it|stop talking|be quiet|"
                        r"quiet|quiet please|shush|hush|shut up|go away|leave me alone|leave me be|that is enough|"
                        r"enough|never mind|cancel)(?: please| now| thank you| thanks| will you| for a bit| for a while)*$")),
    ("repeat", re.compile(r"\b(say (that|it) again|repeat (that|it)|what did you say|pardon|"
                          r"come again|i did not (catch|hear) (that|you))\b")),
    ("slower", re.compile(r"\b(slower|slow down|(speak|talk) (more )?slowly|too fast)\b")),
    ("faster", re.compile(r"\b(faster|speed up|(speak|talk) (more )?quickly|too slow)\b")),
    ("louder", re.compile(r"\b(louder|speak up|cannot hear you|too quiet|turn (it )?up)\b")),
    ("quieter", re.compile(r"\b(quieter|softer|too loud|not so loud|turn (it )?down|lower your voice)\b")),
    ("time", re.compile(r"\b(what time is it|what is the time|tell me the time|"
                        r"time is it|have you got the time|what time it is)\b")),
    ("date", re.compile(r"\b(what day is (it|today)|what is the date|today's date|todays date|"
                        r"what date is it|what is today|which day is it)\b")),
]


_QUIET = re.compile(r"\b(?:be quiet|quiet|shush|hush|shut up|go away|leave me|stop talking)\b")


def match_intent(text: str) -> str | None:
    """The instant intent this utterance asks for, or None."""
    t = normalize(text)
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
            return Reply(say_today(turn.local_time), "date")
        if intent == "stop":
            # "be quiet", "go away": stop at once, and the dialogue holds check-ins and questions for a while
            return Reply("", "stop", data={"quiet": bool(_QUIET.search(normalize(turn.text)))})
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
