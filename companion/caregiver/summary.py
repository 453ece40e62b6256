"""Wellbeing summaries for the family and agencies: the figures, computed once from the store, the
alert audit log and the device's running record. Words are made in summary_text (plain text and
JSON) and summary_html (the e-mail).

Definitions (so the family can trust the figures):
- a *conversation* is a run of turns less than 10 minutes apart; its minutes are the span from
  its first to its last turn plus 30 s for the last exchange;
- *adherence* per medicine = doses confirmed / doses due; a dose due while the device was off
  is "not asked" and is counted as missed, with the reason shown;
- *mood* is the emotion stage's readings (experimental), each day compared with her own usual:
  the 28 days before the period, from at least 10 readings, else no comparison is made;
- *worries* are keyword matches in her own words (pain, sleep, loneliness, confusion, falls),
  leaving out negated ones ("no, I'm not hurt"); her words are quoted only if she agreed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from companion.caregiver.consent import words_may_be_shared
from companion.caregiver.presence import Presence
from companion.caregiver.spool import AuditLog
from companion.caregiver.summary_parts import AlertOutcome, alert_outcomes, concerns_in, mood_sentence, mood_word
from companion.clock import Clock, Household
from companion.config import Settings
from companion.language import normalize
from companion.memory.people import known_people, mentions
from companion.routines.scheduler import NOT_ASKED_DEVICE_OFF
from companion.store.journal import CONVERSATION_GAP_S, HelpRow, MoodRow, R, RoutineRow, TurnRow
from companion.store.store import Store

Period = Literal["day", "week"]
CONVERSATION_TAIL_S = 30.0
BASELINE_DAYS = 28
BASELINE_MIN_READINGS = 10


@dataclass
class DayStats:
    """One local calendar day of the period."""

    day: date
    conversations: int = 0
    turns: int = 0
    minutes: float = 0.0
    valence: float | None = None  # mean of the mood readings (-1..1)
    mood: str | None = None  # in words, against her usual
    meds_taken: int = 0
    meds_missed: int = 0
    off_minutes: float = 0.0  # the device was off


@dataclass
class Medicine:
    """Adherence for one medicine over the period."""

    title: str
    taken: int = 0
    missed: list[str] = field(default_factory=list)  # "Tue 08:00" (+ " (device off)")
    escalate: bool = False

    @property
    def due(self) -> int:
        return self.taken + len(self.missed)

    @property
    def percent(self) -> int:
        return round(100 * self.taken / self.due) if self.due else 100


@dataclass
class Checkin:
    """One check-in question over the period: each day's answer once, and the days with none."""

    question: str
    answers: list[tuple[str, str]] = field(default_factory=list)  # (day label, what is shown)
    unanswered: list[str] = field(default_factory=list)  # day labels


@dataclass
class Summary:
    """Everything a summary shows, already computed."""

    period: Period
    start: datetime  # local
    end: datetime  # local
    who: str
    where: str
    share_words: bool  # the family asked AND she agreed
    days: list[DayStats] = field(default_factory=list)  # the period's days
    trend: list[DayStats] = field(default_factory=list)  # the last 7 days, for the charts
    alerts: list[AlertOutcome] = field(default_factory=list)
    help: list[str] = field(default_factory=list)  # from the help table (also when no channel is set up)
    medicines: list[Medicine] = field(default_factory=list)
    routines_done: int = 0
    routines_missed: int = 0
    checkins: list[Checkin] = field(default_factory=list)
    conversations: int = 0
    turns: int = 0
    minutes: float = 0.0
    usual_per_day: float | None = None  # conversations per day in the 28 days before
    mood_n: int = 0
    baseline: dict[str, float] | None = None  # valence, valence_sd, n
    help_real: int = 0  # help requests not called off by her as a false alarm
    concerns: dict[str, int] = field(default_factory=dict)
    quotes: dict[str, list[str]] = field(default_factory=dict)  # only when share_words
    people: dict[str, int] = field(default_factory=dict)
    downtime: list[tuple[datetime, datetime]] = field(default_factory=list)  # local
    delivery_failures: int = 0

    @property
    def mood_text(self) -> str:
        """Mood in words against her usual."""
        if self.mood_n and self.baseline is None:
            return (f"{self.mood_n} mood readings, but not enough history yet to know her usual, so no "
                    "comparison is made.")
        return mood_sentence([(f"{d.day:%A}", d.mood) for d in self.days])

    @property
    def urgent_alerts(self) -> list[AlertOutcome]:
        return [a for a in self.alerts if a.severity == "urgent"]


def _within(rows: list[R], start: datetime, end: datetime) -> list[R]:
    return sorted((r for r in rows if start <= r.at < end), key=lambda r: r.at)


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


def build_summary(store: Store, settings: Settings, clock: Clock, period: Period, audit: AuditLog | None = None,
                  presence: Presence | None = None) -> Summary:
    """A day (the last 24 h, shown as today) or week (the last 7 local days) ending now."""
    household = settings.household
    end = household.local(clock.now())
    days = 1 if period == "day" else 7
    first_day = end.date() - timedelta(days=days - 1)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=end.tzinfo) if period == "week" \
        else end - timedelta(days=1)
    c = settings.caregiver
    s = Summary(period, start, end, settings.conversation.user_name, c.home_name or c.device_name,
                words_may_be_shared(settings, store))
    before = start - timedelta(days=BASELINE_DAYS)
    j = store.journal
    since = min(before, end - timedelta(days=7))  # her usual, and the daily summary's week of charts
    turns_all, mood_all = j.between(TurnRow, since, end), j.between(MoodRow, since, end)
    routine_all = j.between(RoutineRow, since, end)
    turns, mood = _within(turns_all, start, end), _within(mood_all, start, end)
    routines, helps = _within(routine_all, start, end), j.between(HelpRow, start, end)
    groups = conversations_of(turns)
    s.conversations, s.turns = len(groups), len(turns)
    s.minutes = round(sum(conversation_minutes(g) for g in groups), 1)
    base_turns = _within(turns_all, before, start)
    history_days = (start - base_turns[0].at).days if base_turns else 0
    if history_days >= 7:  # "her usual" needs a week of her own history
        s.usual_per_day = round(len(conversations_of(base_turns)) / history_days, 1)
    _baseline(s, _within(mood_all, before, start), mood)
    s.days = [_day(first_day + timedelta(days=i), turns, mood, routines, s, household) for i in range(days)]
    if period == "week":
        s.trend = s.days
    else:  # the daily summary's charts show the week up to today
        week = end - timedelta(days=7)
        args = (_within(turns_all, week, end), _within(mood_all, week, end), _within(routine_all, week, end))
        s.trend = [_day(end.date() - timedelta(days=6 - i), *args, s, household) for i in range(7)]
    _medicines(s, routines, household)
    _checkins(s, routines, household)
    _worries_and_people(s, turns, store, settings)
    name = settings.conversation.user_name
    s.help = [f"{_named(h.title(), name)} — {household.local(h.at):%a %H:%M}"
              f"{' (help button)' if h.source == 'button' else ''}"
              f"{' — she said it was a false alarm' if h.cancelled else ''}" for h in helps]
    s.help_real = sum(not h.cancelled for h in helps)
    if audit is not None:
        s.alerts, s.delivery_failures = alert_outcomes(audit.read(), start, end)
    if presence is not None:
        s.downtime = [(household.local(a), household.local(b)) for a, b in presence.downtime(start, end)]
        for a, b in s.downtime:
            for d in {id(x): x for x in s.days + s.trend}.values():
                lo = max(a, datetime.combine(d.day, datetime.min.time(), tzinfo=a.tzinfo))
                hi = min(b, datetime.combine(d.day + timedelta(days=1), datetime.min.time(), tzinfo=a.tzinfo))
                d.off_minutes += max(0.0, (hi - lo).total_seconds() / 60)
    return s


def _named(title: str, name: str) -> str:
    """'She may have fallen' -> 'Mary may have fallen'."""
    return name + title[3:] if name and title.startswith("She ") else title


def _baseline(s: Summary, base: list[MoodRow], mood: list[MoodRow]) -> None:
    s.mood_n = sum(m.valence is not None for m in mood)
    vals = [float(m.valence) for m in base if m.valence is not None]
    if len(vals) >= BASELINE_MIN_READINGS:
        s.baseline = {"valence": round(statistics.fmean(vals), 2), "valence_sd": round(statistics.pstdev(vals), 2),
                      "n": float(len(vals))}


def _day(day: date, turns: list[TurnRow], mood: list[MoodRow], routines: list[RoutineRow],
         s: Summary, household: Household) -> DayStats:
    def on_day(rows: list[R]) -> list[R]:
        return [r for r in rows if household.today(r.at) == day]

    ds = DayStats(day)
    groups = conversations_of(on_day(turns))
    ds.conversations, ds.turns = len(groups), sum(len(g) for g in groups)
    ds.minutes = round(sum(conversation_minutes(g) for g in groups), 1)
    vals = [float(m.valence) for m in on_day(mood) if m.valence is not None]
    ds.valence = round(statistics.fmean(vals), 2) if vals else None
    if s.baseline is not None:
        ds.mood = mood_word(ds.valence, s.baseline["valence"], s.baseline["valence_sd"])
    for r in on_day(routines):
        if r.kind == "medication":
            ds.meds_taken += r.event == "acknowledged"
            ds.meds_missed += r.event == "missed"
    return ds


def _medicines(s: Summary, routines: list[RoutineRow], household: Household) -> None:
    meds: dict[str, Medicine] = {}
    for r in routines:
        if r.kind != "medication":
            if r.event in ("acknowledged", "suggested", "message_delivered", "checkin_answer"):
                s.routines_done += 1
            continue
        title = r.title or "medication"
        m = meds.setdefault(title, Medicine(title))
        if r.event == "acknowledged":
            m.taken += 1
        elif r.event == "missed":
            label = f"{household.local(r.due or r.at):%a %H:%M}"
            m.missed.append(label + (" (device off)" if r.detail == NOT_ASKED_DEVICE_OFF else ""))
            s.routines_missed += 1
    s.medicines = sorted(meds.values(), key=lambda m: (m.percent, m.title))


def _checkins(s: Summary, routines: list[RoutineRow], household: Household) -> None:
    asked: dict[tuple[str, date], str] = {}
    answered: dict[tuple[str, date], tuple[str, str | None]] = {}
    for r in routines:
        if r.kind != "checkin":
            continue
        key = (r.title or "Check-in", household.today(r.at))
        if r.event == "announced":
            asked[key] = r.title
        elif r.event == "checkin_answer":
            answered.setdefault(key, (r.detail, r.emotion))
    by_question: dict[str, Checkin] = {}
    for (question, day) in sorted(set(asked) | set(answered), key=lambda k: (k[0], k[1])):
        c = by_question.setdefault(question, Checkin(question))
        label = f"{day:%a}"
        if (question, day) not in answered:
            c.unanswered.append(label)
            continue
        words, emotion = answered[(question, day)]
        worries = sorted(concerns_in(normalize(words)))
        shown = f'"{words}"' if s.share_words else "answered" + (f", mentioned {', '.join(worries)}" if worries else "")
        c.answers.append((label, shown + (f" (sounded {emotion})" if emotion else "")))
    s.checkins = list(by_question.values())


def _worries_and_people(s: Summary, turns: list[TurnRow], store: Store, settings: Settings) -> None:
    for t in turns:
        words = t.user
        for cat in sorted(concerns_in(normalize(words))):
            s.concerns[cat] = s.concerns.get(cat, 0) + 1
            if s.share_words and len(s.quotes.setdefault(cat, [])) < 3:
                s.quotes[cat].append(words)
    s.people = mentions(" ".join(t.user for t in turns), known_people(store, settings))
