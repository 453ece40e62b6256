"""A summary in words: the headline, sections led by what matters (alerts and their outcome,
medication, mood against her usual, talk, check-ins, worries, the device), the plain-text e-mail
part, and the JSON for agencies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from companion.caregiver.summary import Summary

SCHEMA = "companion.summary/1"
EXPERIMENTAL = ("Mood is an experimental signal from her voice and words, compared with her own usual; "
                "it is a hint to check in, never a diagnosis.")


def _n(count: int, word: str) -> str:
    """'1 dose', '2 doses'."""
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Section:
    """A heading and its lines; `level` colours it ("urgent", "warn", "ok", "")."""

    title: str
    lines: tuple[str, ...]
    level: str = ""


def title_of(s: Summary) -> str:
    """'Companion weekly summary for Mary'."""
    kind = "daily" if s.period == "day" else "weekly"
    return f"Companion {kind} summary" + (f" for {s.who}" if s.who else "")


def span_of(s: Summary) -> str:
    """'Mon 06 May – Sun 12 May' or 'Sun 12 May (last 24 hours to 19:00)'."""
    if s.period == "day":
        return f"{s.end:%A %d %B} (the 24 hours to {s.end:%H:%M})"
    return f"{s.start:%a %d %b} – {s.end:%a %d %b}"


def headline(s: Summary) -> tuple[str, str]:
    """(the one line a busy relative reads, its level)."""
    who = s.who or "She"
    urgent = s.urgent_alerts
    if urgent:
        open_ = [a for a in urgent if not a.resolved and not a.acked_by]
        a = (open_ or urgent)[-1]  # one still open first; else the latest
        state = "" if a in open_ else " — all clear" if a.resolved else f" — {a.acked_by} is dealing with it"
        more = f" (and {_n(len(urgent) - 1, 'other urgent alert')})" if len(urgent) > 1 else ""
        return f"Urgent: {a.first_title} on {a.at.astimezone(s.end.tzinfo):%A at %H:%M}{state}{more}.", "urgent"
    if s.help:
        return f"{_n(len(s.help), 'help request')}: {s.help[0]}.", "urgent"
    missed = [m for m in s.medicines if m.missed]
    if missed:
        return "Missed medication: " + "; ".join(f"{m.title} {m.taken} of {m.due} ({m.percent}%)" for m in missed) \
            + ".", "warn"
    if s.conversations == 0:
        off = " The device was off for part of the time." if s.downtime else ""
        return f"No conversations with the companion this {s.period}.{off}", "warn"
    if any(d.mood and "lower" in d.mood for d in s.days):
        return f"{who} seemed lower than usual: {s.mood_text[0].lower() + s.mood_text[1:]}", "warn"
    if s.alerts:
        return f"{_n(len(s.alerts), 'message')} needed attention; all else looks well.", "warn"
    meds = ", took all her medication" if s.medicines else ""
    return f"All looks well: {who} talked {_n(s.conversations, 'time')}{meds}.", "ok"


def sections(s: Summary) -> list[Section]:
    """Every section, most important first; empty ones left out."""
    tz = s.end.tzinfo
    out: list[Section] = []
    alerts = [f"{a.at.astimezone(tz):%a %H:%M} {a.severity.upper() if a.severity == 'urgent' else 'Needs attention' if a.severity == 'warning' else 'Note'}: "
              f"{a.first_title} — {a.outcome(s.end.tzinfo)}." for a in s.alerts]  # type: ignore[arg-type]
    alerts += [f"Help request: {h}." for h in s.help if not s.alerts]
    if alerts:
        out.append(Section("Alerts and what happened", tuple(alerts), "urgent" if s.urgent_alerts else "warn"))
    if s.medicines:
        lines = tuple(f"{m.title}: {m.taken} of {_n(m.due, 'dose')} confirmed ({m.percent}%)"
                      + (f"; missed {', '.join(m.missed)}" if m.missed else "") + "." for m in s.medicines)
        out.append(Section("Medication", lines, "warn" if any(m.missed for m in s.medicines) else "ok"))
    out.append(Section("How she seemed (experimental)", (s.mood_text,),
                       "warn" if any(d.mood and "lower" in d.mood for d in s.days) else ""))
    talk = f"{_n(s.conversations, 'conversation')}, about {s.minutes:.0f} minutes in all"
    if s.usual_per_day:
        usual = s.usual_per_day * (1 if s.period == "day" else 7)
        talk += f"; usually about {usual:.0f} a {s.period}" if usual >= 2 else f"; usually about {usual:.1f} a {s.period}"
    lines = [talk + "."]
    if s.period == "week":
        lines.append("Per day: " + ", ".join(f"{d.day:%a} {d.conversations}" for d in s.days) + ".")
    out.append(Section("Talking with the companion", tuple(lines)))
    if s.checkins:
        lines = []
        for c in s.checkins:
            parts = [f"{day}: {shown}" for day, shown in c.answers]
            if c.unanswered:
                parts.append("no answer on " + ", ".join(c.unanswered))
            lines.append(f"{c.question} — " + "; ".join(parts) + ".")
        out.append(Section("Check-in answers", tuple(lines)))
    if s.concerns:
        lines = []
        for cat, count in s.concerns.items():
            quote = f' e.g. "{s.quotes[cat][0]}"' if s.share_words and s.quotes.get(cat) else ""
            lines.append(f"{cat}: mentioned {_n(count, 'time')}.{quote}")
        out.append(Section("Worries she mentioned", tuple(lines), "warn"))
    people = ("Mentioned " + ", ".join(f"{n} ({k}×)" for n, k in s.people.items()) + "."
              if s.people else "Did not mention family or friends by name.")
    out.append(Section("Family and friends", (people,)))
    device = [f"Off {a:%a %H:%M} – {b:%a %H:%M} (not counted as inactivity)." for a, b in s.downtime]
    if s.delivery_failures:
        device.append(f"{_n(s.delivery_failures, 'delivery attempt')} failed (a receiver could not be reached) and "
                      f"{'was' if s.delivery_failures == 1 else 'were'} retried automatically.")
    out.append(Section("The device", tuple(device or ["Running normally."]), "warn" if s.downtime else ""))
    return out


def footer(s: Summary) -> str:
    """What is and isn't shared, and the mood caveat."""
    share = ("Her own words are included for worries, as she agreed." if s.share_words
             else "Only topics are shared, never her own words (unless the family asks and she agrees).")
    return f"{share} {EXPERIMENTAL}"


def render_text(s: Summary) -> str:
    """The plain-text part of the e-mail."""
    text, _ = headline(s)
    out = [title_of(s), span_of(s) + (f" — {s.where}" if s.where else ""), "", text, ""]
    for sec in sections(s):
        out.append(sec.title.upper())
        out += [f"- {line}" for line in sec.lines]
        out.append("")
    out.append(footer(s))
    return "\n".join(out) + "\n"


def to_json(s: Summary) -> dict[str, Any]:
    """The structured version for agencies (stable keys, ISO times, no free text beyond titles)."""
    return {
        "schema": SCHEMA, "period": s.period, "start": s.start.isoformat(), "end": s.end.isoformat(),
        "person": s.who, "where": s.where, "headline": headline(s)[0], "level": headline(s)[1],
        "alerts": [a.to_dict() for a in s.alerts], "help_requests": s.help,
        "medication": [{"title": m.title, "due": m.due, "taken": m.taken, "adherence_pct": m.percent,
                        "missed": m.missed} for m in s.medicines],
        "mood": {"summary": s.mood_text, "baseline": s.baseline, "readings": s.mood_n, "experimental": True,
                 "days": [{"date": d.day.isoformat(), "valence": d.valence, "words": d.mood} for d in s.days]},
        "engagement": {"conversations": s.conversations, "turns": s.turns, "minutes": s.minutes,
                       "usual_per_day": s.usual_per_day,
                       "days": [{"date": d.day.isoformat(), "conversations": d.conversations, "minutes": d.minutes,
                                 "device_off_minutes": round(d.off_minutes)} for d in s.days]},
        "checkins": [{"question": c.question, "answered": [d for d, _ in c.answers], "unanswered": c.unanswered}
                     for c in s.checkins],
        "worries": s.concerns, "quotes_shared": s.share_words,
        "device": {"off": [[a.isoformat(), b.isoformat()] for a, b in s.downtime],
                   "failed_delivery_attempts": s.delivery_failures},
    }


def render_json(s: Summary) -> str:
    """to_json as text."""
    return json.dumps(to_json(s), ensure_ascii=False, indent=1)
