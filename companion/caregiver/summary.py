"""Wellbeing summaries for caregivers: figures from the store, the most important line first, plain text.

Definitions (so the family can trust the figures):
- a *conversation* is a run of turns less than 10 minutes apart; its minutes are the span from
  its first to its last turn plus 30 s for the last exchange;
- *medication taken* = routine_log "acknowledged" for kind medication, *missed* = "missed";
- *mood* uses the emotion stage's readings (experimental), compared with her own baseline: the
  28 days before the period; with fewer than 10 readings there is no baseline and we say so;
- *concerns* are keyword matches in her own words (pain, sleep, loneliness, confusion, falls).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeVar

from companion.caregiver.alerts import AuditLog
from companion.clock import Clock, Household
from companion.config import Settings
from companion.language import normalize
from companion.memory.people import known_people, mentions
from companion.store.journal import HelpRow, MoodRow, Row, RoutineRow, TurnRow
from companion.store.store import Store

R = TypeVar("R", bound=Row)
MoodTrend = Literal["lower", "brighter", "usual"]

Period = Literal["day", "week"]
CONVERSATION_GAP_S = 10 * 60
CONVERSATION_TAIL_S = 30.0
BASELINE_DAYS = 28
BASELINE_MIN_READINGS = 10
CHART_DAYS = 7

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


@dataclass
class DayStats:
    """One local calendar day, for the charts."""

    day: date
    conversations: int = 0
    turns: int = 0
    minutes: float = 0.0
    valence: float | None = None  # mean of the mood readings (-1..1)
    low_arousal_share: float | None = None  # share of readings with arousal "low"
    routines_done: int = 0
    routines_missed: int = 0
    meds_taken: int = 0
    meds_missed: int = 0


@dataclass
class Summary:
    """Everything a summary page shows, already computed."""

    period: Period
    start: datetime  # local
    end: datetime  # local
    user_name: str
    share_words: bool
    lines: list[str] = field(default_factory=list)  # most important first; lines[0] is the headline
    days: list[DayStats] = field(default_factory=list)
    conversations: int = 0
    turns: int = 0
    minutes: float = 0.0
    mood_n: int = 0
    valence: float | None = None
    low_arousal_share: float | None = None
    baseline: dict[str, float] | None = None  # valence, valence_sd, low_arousal_share, n, conversations_per_day
    mood_categories: dict[str, int] = field(default_factory=dict)
    meds_taken: int = 0
    meds_missed: list[str] = field(default_factory=list)  # "Heart tablet (Tue 08:00)"
    routines_done: int = 0
    routines_missed: int = 0
    checkins: list[str] = field(default_factory=list)
    concerns: dict[str, int] = field(default_factory=dict)
    quotes: dict[str, list[str]] = field(default_factory=dict)  # only when share_words
    help: list[str] = field(default_factory=list)
    help_real: int = 0  # of them, not called off by her as a false alarm
    mood_trend: MoodTrend | None = None  # against her own baseline (None: no baseline or no readings)
    people: dict[str, int] = field(default_factory=dict)
    alerts_sent: int = 0
    delivery_failures: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """The one line a busy relative reads."""
        return self.lines[0] if self.lines else ""


def _within(rows: list[R], start: datetime, end: datetime) -> list[R]:
    return [r for r in rows if start <= r.at < end]


def conversations_of(turns: list[TurnRow]) -> list[list[TurnRow]]:
    """Group time-ordered turns into conversations (gap > 10 min starts a new one)."""
    groups: list[list[TurnRow]] = []
    for t in turns:
        if groups and (t.at - groups[-1][-1].at).total_seconds() <= CONVERSATION_GAP_S:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def conversation_minutes(group: list[TurnRow]) -> float:
    """Span of a conversation plus the last exchange, in minutes."""
    return ((group[-1].at - group[0].at).total_seconds() + CONVERSATION_TAIL_S) / 60


def build_summary(store: Store, settings: Settings, clock: Clock, period: Period,
                  audit: AuditLog | None = None) -> Summary:
    """Compute a day (last 24 h) or week (last 7 days) summary ending now."""
    household = settings.household
    end = household.local(clock.now())
    start = end - (timedelta(days=1) if period == "day" else timedelta(days=7))
    s = Summary(period, start, end, settings.conversation.user_name, settings.caregiver.share_words)
    chart_end = end.date()
    chart_days = [chart_end - timedelta(days=i) for i in range(max(CHART_DAYS, 7) - 1, -1, -1)]
    since = min(start - timedelta(days=BASELINE_DAYS), household.at(chart_days[0], time(0)))  # baseline and charts
    j = store.journal
    turns_all, mood_all = j.between(TurnRow, since, end), j.between(MoodRow, since, end)
    routine_all, help_all = j.between(RoutineRow, since, end), j.between(HelpRow, since, end)
    turns = _within(turns_all, start, end)
    mood = _within(mood_all, start, end)
    routines = _within(routine_all, start, end)
    helps = _within(help_all, start, end)

    groups = conversations_of(turns)
    s.conversations, s.turns = len(groups), len(turns)
    s.minutes = round(sum(conversation_minutes(g) for g in groups), 1)
    _mood(s, mood, _within(mood_all, start - timedelta(days=BASELINE_DAYS), start),
          _within(turns_all, start - timedelta(days=BASELINE_DAYS), start))
    _routines(s, routines, household)
    _concerns_and_people(s, turns, store, settings)
    s.help = [f"{h.title()} — {household.local(h.at):%a %H:%M}"
              f"{' (help button)' if h.source == 'button' else ''}"
              f"{' — she said it was a false alarm' if h.cancelled else ''}" for h in helps]
    s.help_real = sum(1 for h in helps if not h.cancelled)
    if audit is not None:
        _device(s, audit, start, end)
    s.days = [_day_stats(d, turns_all, mood_all, routine_all, household) for d in chart_days]
    s.lines = _lines(s)
    return s


def _valences(rows: list[MoodRow]) -> list[float]:
    return [float(m.valence) for m in rows if isinstance(m.valence, (int, float))]


def _mood(s: Summary, mood: list[MoodRow], base: list[MoodRow], base_turns: list[TurnRow]) -> None:
    vals = _valences(mood)
    s.mood_n = len(vals)
    s.valence = round(statistics.fmean(vals), 2) if vals else None
    ar = [m.arousal for m in mood if m.arousal in ("low", "high")]
    s.low_arousal_share = round(ar.count("low") / len(ar), 2) if ar else None
    for m in mood:
        if m.category:
            s.mood_categories[m.category] = s.mood_categories.get(m.category, 0) + 1
    bvals = _valences(base)
    if len(bvals) >= BASELINE_MIN_READINGS:
        bar = [m.arousal for m in base if m.arousal in ("low", "high")]
        s.baseline = {"valence": round(statistics.fmean(bvals), 2),
                      "valence_sd": round(statistics.pstdev(bvals), 2), "n": float(len(bvals)),
                      "low_arousal_share": round(bar.count("low") / len(bar), 2) if bar else 0.0,
                      "conversations_per_day": round(len(conversations_of(base_turns)) / BASELINE_DAYS, 1)}
    if s.valence is not None and s.baseline is not None:
        diff, sd = s.valence - s.baseline["valence"], max(s.baseline["valence_sd"], 0.1)
        s.mood_trend = "lower" if diff < -sd else "brighter" if diff > sd else "usual"


def _routines(s: Summary, routines: list[RoutineRow], household: Household) -> None:
    for r in routines:
        event, kind = r.event, r.kind
        if event == "acknowledged":
            s.routines_done += 1
            s.meds_taken += kind == "medication"
        elif event == "missed":
            s.routines_missed += 1
            if kind == "medication":
                s.meds_missed.append(f"{r.title or 'medication'} ({household.local(r.due or r.at):%a %H:%M})")
        elif event == "checkin_answer":
            answer = r.detail
            if s.share_words:
                shown = f'"{answer}"'
            else:
                found = [c for c, rx in CONCERNS.items() if rx.search(normalize(answer))]
                shown = "answered" + (f", mentioned {', '.join(found)}" if found else "")
            mood = f" (sounded {r.emotion})" if r.emotion else ""
            s.checkins.append(f"{r.title or 'Check-in'}: {shown}{mood}")


def _concerns_and_people(s: Summary, turns: list[TurnRow], store: Store, settings: Settings) -> None:
    for t in turns:
        norm = normalize(t.user)
        for cat, rx in CONCERNS.items():
            if rx.search(norm):
                s.concerns[cat] = s.concerns.get(cat, 0) + 1
                if s.share_words and len(s.quotes.setdefault(cat, [])) < 3:
                    s.quotes[cat].append(t.user)
    s.people = mentions(" ".join(t.user for t in turns), known_people(store, settings))


def _device(s: Summary, audit: AuditLog, start: datetime, end: datetime) -> None:
    for e in audit.read():
        try:
            t = datetime.fromisoformat(e["at"])
        except (KeyError, TypeError, ValueError):
            continue
        if not start <= t < end:
            continue
        if e.get("event") == "raised" and e.get("kind") != "summary":
            s.alerts_sent += 1
            if e.get("kind") == "companion_failure":
                s.failures.append(str(e.get("why")))
        elif e.get("event") == "send" and str(e.get("result", "")).startswith("failed"):
            s.delivery_failures += 1


def _day_stats(day: date, turns: list[TurnRow], mood: list[MoodRow],
               routines: list[RoutineRow], household: Household) -> DayStats:
    def on_day(rows: list[R]) -> list[R]:
        return [r for r in rows if household.today(r.at) == day]

    ds = DayStats(day)
    dt = on_day(turns)
    groups = conversations_of(dt)
    ds.conversations, ds.turns = len(groups), len(dt)
    ds.minutes = round(sum(conversation_minutes(g) for g in groups), 1)
    vals = _valences(on_day(mood))
    ds.valence = round(statistics.fmean(vals), 2) if vals else None
    ar = [m.arousal for m in on_day(mood) if m.arousal in ("low", "high")]
    ds.low_arousal_share = round(ar.count("low") / len(ar), 2) if ar else None
    for r in on_day(routines):
        if r.event == "acknowledged":
            ds.routines_done += 1
            ds.meds_taken += r.kind == "medication"
        elif r.event == "missed":
            ds.routines_missed += 1
            ds.meds_missed += r.kind == "medication"
    return ds


def mood_phrase(s: Summary) -> str | None:
    """How she seemed against her own baseline (experimental), or None without readings."""
    if s.valence is None:
        return None
    if s.baseline is None or s.mood_trend is None:
        return (f"Mood (experimental): {s.mood_n} readings; not enough history yet for her own baseline, "
                "so no comparison is made.")
    word = {"lower": "lower than usual", "brighter": "brighter than usual", "usual": "about as usual"}[s.mood_trend]
    return (f"Mood (experimental, from voice and words): {word} for her — {s.valence:+.2f} against her usual "
            f"{s.baseline['valence']:+.2f}. A hint to check in, never a diagnosis.")


def _n(count: int, word: str) -> str:
    """"1 dose", "2 doses"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _lines(s: Summary) -> list[str]:
    """Every finding, most important first."""
    who = s.user_name or "she"
    urgent, notable, normal = [], [], []
    if s.help:
        (urgent if s.help_real else notable).append(f"{_n(len(s.help), 'help request')}: " + "; ".join(s.help) + ".")
    if s.meds_missed:
        urgent.append(f"Missed medication: {len(s.meds_missed)} of {_n(len(s.meds_missed) + s.meds_taken, 'dose')} — "
                      + ", ".join(s.meds_missed) + ".")
    for cat in ("falls", "pain", "confusion", "loneliness", "sleep"):
        if s.concerns.get(cat):
            quote = f' e.g. "{s.quotes[cat][0]}"' if s.share_words and s.quotes.get(cat) else ""
            notable.append(f"Mentioned {cat} {_n(s.concerns[cat], 'time')}.{quote}")
    mood = mood_phrase(s)
    if mood and s.mood_trend == "lower":
        notable.append(mood)
    elif mood:
        normal.append(mood)
    if s.failures or s.delivery_failures:
        notable.append(f"Device: {_n(len(s.failures), 'trouble report')}, {_n(s.delivery_failures, 'failed delivery attempt')} "
                       "(retried automatically).")
    per_day = s.baseline["conversations_per_day"] if s.baseline else 0.0
    usual = per_day * (1 if s.period == "day" else 7) if per_day > 0 else None
    talk = f"Talked {_n(s.conversations, 'time')} ({s.turns} turns, about {s.minutes:.0f} min)"
    if usual is not None:
        talk += f"; usually about {usual:.0f} per {s.period}"
    if s.conversations == 0:
        notable.append(f"No conversations with the companion this {s.period}" +
                       (" (the device may be off or muted)." if not s.mood_n else "."))
    else:
        (notable if usual and s.conversations < usual / 2 else normal).append(talk + ".")
    if s.meds_taken and not s.meds_missed:
        normal.append(f"All medication taken ({_n(s.meds_taken, 'dose')}).")
    if s.routines_done or s.routines_missed:
        normal.append(f"Routines: {s.routines_done} done, {s.routines_missed} missed.")
    for c in s.checkins:
        normal.append(f"Check-in — {c}")
    if s.people:
        normal.append("Mentioned: " + ", ".join(f"{n} ({k}×)" for n, k in s.people.items()) + ".")
    else:
        normal.append("Did not mention family or friends by name.")
    normal.append(f"Device: {_n(s.alerts_sent, 'alert')} raised; no problems." if not (s.failures or s.delivery_failures)
                  else f"Device: {_n(s.alerts_sent, 'alert')} raised.")
    if not urgent and not notable:
        headline = f"All looks well: {who[0].upper() + who[1:]} talked {_n(s.conversations, 'time')}"
        headline += ", took all her medication." if s.meds_taken else "."
        return [headline] + normal
    return urgent + notable + normal


def summary_title(s: Summary) -> str:
    """"Companion daily summary for Mary"."""
    kind = "daily" if s.period == "day" else "weekly"
    return f"Companion {kind} summary" + (f" for {s.user_name}" if s.user_name else "")


def render_text(s: Summary) -> str:
    """The plain-text version for e-mail: headline first, then the rest as bullets."""
    title = summary_title(s)
    span = f"{s.start:%a %d %b %H:%M} – {s.end:%a %d %b %H:%M}"
    out = [title, span, "", s.headline, ""] + [f"- {line}" for line in s.lines[1:]]
    share = ("Her own words are included for flagged moments (she agreed)." if s.share_words
             else "Only categories are shared, not her words (her choice; see [caregiver] share_words).")
    out += ["", share, "Mood figures are experimental signals from voice and words, compared with her own "
            "usual; they are not a diagnosis."]
    return "\n".join(out) + "\n"
