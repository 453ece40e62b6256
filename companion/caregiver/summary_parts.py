"""Pieces of a summary that need care: worries in her words (negations are not worries), mood in
words against her own usual, and what became of each alert (from the alert audit log)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from companion.clock import Household

CONCERNS: dict[str, re.Pattern[str]] = {
    "pain": re.compile(r"\b(?:pain|painful|hurts?|hurting|aches?|aching|sore|headache)\b"),
    "sleep": re.compile(r"\b(?:cannot sleep|could not sleep|did not sleep|slept (?:badly|poorly)|awake all night|"
                        r"no sleep|insomnia|so tired|exhausted|bad night)\b"),
    "loneliness": re.compile(r"\b(?:lonely|alone|no one (?:visits|calls|comes)|nobody (?:visits|calls|comes|cares)|"
                             r"miss (?:my|him|her|them))\b"),
    "confusion": re.compile(r"\b(?:confused|muddled|forgot|forgetting|cannot remember|do not remember|"
                            r"what day is it|lost track)\b"),
    "falls": re.compile(r"\b(?:fell(?! asleep| in love| for)|fallen|a fall|tripped|slipped|dizzy|wobbly|unsteady)\b"),
}
# A worry said with a negation just before it is not a worry: "no I'm not hurt", "not lonely at all".
_NEGATION = re.compile(r"\b(?:no|not|never|nothing|without|nor|hardly|neither)\b(?:\W+\w+){0,3}\W*$")
_CLAUSE = re.compile(r"[.,;!?]|\b(?:but|just|although|though|except|however|only)\b")


def concerns_in(text: str) -> set[str]:
    """The worry categories in one normalised utterance, leaving out negated mentions."""
    found: set[str] = set()
    for clause in _CLAUSE.split(text):
        for cat, rx in CONCERNS.items():
            for m in rx.finditer(clause):
                if not _NEGATION.search(clause[:m.start()]):
                    found.add(cat)
                    break
    return found


# ---------------------------------------------------------------- mood in words

MOOD_WORDS = ("much lower than usual", "a bit lower than usual", "about as usual", "brighter than usual")


def mood_word(valence: float | None, usual: float, sd: float) -> str | None:
    """One day's mood against her own usual, in words (None without readings)."""
    if valence is None:
        return None
    z = (valence - usual) / max(sd, 0.1)
    if z <= -1.5:
        return MOOD_WORDS[0]
    if z <= -0.75:
        return MOOD_WORDS[1]
    if z >= 0.75:
        return MOOD_WORDS[3]
    return MOOD_WORDS[2]


def days_phrase(days: list[str]) -> str:
    """'Tuesday', 'Tuesday and Wednesday', 'Monday, Tuesday and Friday'."""
    return days[0] if len(days) == 1 else ", ".join(days[:-1]) + " and " + days[-1]


def mood_sentence(words: list[tuple[str, str | None]]) -> str:
    """'A bit lower than usual on Tuesday and Wednesday; about as usual on the other days.'"""
    with_data = [(d, w) for d, w in words if w]
    if not with_data:
        return "No mood readings (mood sensing may be off, or she has not agreed to it)."
    off_usual = [w for w in MOOD_WORDS if w != "about as usual" and any(x == w for _, x in with_data)]
    if not off_usual:
        return "About as usual for her" + (" every day." if len(with_data) > 1 else ".")
    if len(with_data) == 1:
        return with_data[0][1][0].upper() + with_data[0][1][1:] + " for her."
    parts = [f"{w} on {days_phrase([d for d, x in with_data if x == w])}" for w in off_usual]
    usual = [d for d, w in with_data if w == "about as usual"]
    text = "; ".join(parts)
    if usual:
        text += "; about as usual on the other days"
    return text[0].upper() + text[1:] + "."


# ---------------------------------------------------------------- alerts and what became of them


@dataclass
class AlertOutcome:
    """One alert of the period and its outcome, for the top of the summary."""

    id: str
    kind: str
    severity: str
    title: str  # the newest title
    first_title: str
    at: datetime
    delivered_to: list[str] = field(default_factory=list)  # channel recipients that confirmed
    acked_by: str = ""
    resolved: str = ""  # the all-clear's words
    escalated_to: list[str] = field(default_factory=list)
    failed_attempts: int = 0

    def outcome(self, household: Household) -> str:
        """'acknowledged by Tom; all clear: she said she was all right' ..."""
        parts = []
        if self.escalated_to:
            parts.append("escalated to " + ", ".join(self.escalated_to))
        if self.acked_by:
            parts.append(f"acknowledged by {self.acked_by}")
        if self.resolved:
            parts.append(f"all clear: {self.resolved}")
        if not parts:
            parts.append("delivered, not acknowledged" if self.delivered_to else "not delivered yet")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "severity": self.severity, "title": self.first_title,
                "latest": self.title, "at": self.at.isoformat(), "delivered_to": self.delivered_to,
                "acknowledged_by": self.acked_by, "all_clear": self.resolved, "escalated_to": self.escalated_to}


NOT_REPORTED = {"summary", "heartbeat"}


def alert_outcomes(entries: list[dict[str, Any]], start: datetime, end: datetime) -> tuple[list[AlertOutcome], int]:
    """Alerts first raised in [start, end) with their outcome, and the count of failed send attempts."""
    out: dict[str, AlertOutcome] = {}
    failures = 0
    for e in entries:
        try:
            at = datetime.fromisoformat(e["at"])
        except (KeyError, TypeError, ValueError):
            continue
        alert_id, event = str(e.get("alert_id", "")), e.get("event")
        if event == "raised" and start <= at < end and e.get("kind") not in NOT_REPORTED:
            out[alert_id] = AlertOutcome(alert_id, str(e.get("kind")), str(e.get("severity", "")),
                                         str(e.get("why")), str(e.get("why")), at)
            continue
        a = out.get(alert_id)
        if event == "send" and start <= at < end and str(e.get("result", "")).startswith("failed"):
            failures += 1
        if a is None:
            continue
        if event == "updated":
            a.title = str(e.get("why"))
        elif event == "resolved":
            a.resolved = str(e.get("why"))
        elif event == "acknowledged" and e.get("by"):
            a.acked_by = str(e["by"])
        elif event == "escalated" and e.get("to"):
            a.escalated_to.append(str(e["to"]))
        elif event == "send" and str(e.get("result", "")).startswith("delivered") and e.get("channel") != "outbox":
            if e.get("to") and str(e["to"]) not in a.delivered_to:
                a.delivered_to.append(str(e["to"]))
    return sorted(out.values(), key=lambda a: a.at), failures
