"""Inactivity that means something: counted only while the device runs and listens, judged only on a
synchronised clock, and she is asked by voice before anyone is told.

The watch counts *listening* seconds in her daytime (monotonic time between checks, only while
the microphone is on and the device running) since her last interaction today. Time the device
was off, muted or the night is never counted, so a power cut, an overnight switch-off or a clock
corrected at boot cannot look like inactivity. It is armed by her first interaction ever (a
fresh install says nothing). When the count reaches `inactivity_hours` it asks her, when the
loop is idle: "I haven't heard from you today. Are you all right?" Any answer, a help request,
or a routine acknowledged ends it; only with no answer within `inactivity_grace_min` does the
family get one alert ("needs attention" by default), and her later answer is its all-clear.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Callable

from companion.caregiver.alert import Severity
from companion.caregiver.alerts import AlertService
from companion.caregiver.presence import ClockSync
from companion.clock import Clock
from companion.config import Settings
from companion.language import normalize
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput, TurnRecord
from companion.store.journal import HelpRow, RoutineRow, TurnRow

log = logging.getLogger(__name__)

STATE_KEY = "caregiver.inactivity"
SAVE_COUNT_S = 600.0  # a crash loses at most this much of the count: it never alerts early, only a little late
MAX_STEP_S = 300.0  # a longer gap between checks (the thread stalled, a suspend) counts as this much at most
_INTERACTIONS = {"acknowledged", "checkin_answer"}  # routine_log events that are her answering
QUESTION = "I haven't heard from you today. Are you all right?"
GLAD = "I'm glad you're all right. Thank you for answering."
RESOLVED = "resolved"  # WatchState.alert_id once today's alert had its all-clear
_FINE = re.compile(r"^(?:yes|yeah|yep|i am|i'm (?:fine|ok|okay|all right|alright)|fine|ok|okay|all right|alright|"
                   r"i am (?:fine|ok|okay|all right|alright)|not bad|good)\b")


@dataclass
class WatchState:
    """Persisted across restarts in the store's state table (one small record)."""

    day: str = ""  # her local date the count is for
    quiet_s: float = 0.0  # listening daytime seconds since her last interaction
    armed: bool = False  # she has interacted at least once (a fresh install never alerts)
    last_interaction: str = ""  # ISO UTC
    asked_at: str = ""  # ISO UTC: when she was asked today ('' = not yet)
    alert_id: str = ""  # the alert raised today, if any


class InactivityWatch(BaseSkill):
    """A skill (asks her via poll, hears her answer) plus check(now), run every minute."""

    name = "inactivity"

    def __init__(self, settings: Settings, store: Any, alerts: AlertService, clock: Clock, *,
                 listening: Callable[[], bool] = lambda: True, clock_sync: ClockSync | None = None) -> None:
        self.s = settings.caregiver
        self.household = settings.household
        self.store = store
        self.alerts = alerts
        self.clock = clock
        self.listening = listening
        self.sync = clock_sync or ClockSync()
        self.state = self._load()
        self._mono: float | None = None
        self._asked_mono: float | None = None
        self._want_ask = False
        self._saved_mono = float("-inf")

    # ---------------------------------------------------------------- persistence (small, own functions)

    def _load(self) -> WatchState:
        try:
            raw = self.store.get(STATE_KEY) or {}
            return WatchState(**{k: v for k, v in raw.items() if k in WatchState.__dataclass_fields__})
        except Exception:
            return WatchState()

    def _save(self, count_only: bool = False) -> None:
        """Persist; a mere count update is written at most every SAVE_COUNT_S (the store is rewritten whole)."""
        mono = self.clock.monotonic()
        if count_only and mono - self._saved_mono < SAVE_COUNT_S:
            return
        self._saved_mono = mono
        try:
            self.store.put(STATE_KEY, asdict(self.state))
        except Exception as exc:  # the watch must never stop the companion
            log.error("cannot save the inactivity state: %s", exc)

    def _latest_interaction(self) -> datetime | None:
        """Her newest turn, help request, or routine answer in the journal."""
        try:
            j = self.store.journal
            rows = [j.latest(TurnRow), j.latest(HelpRow), j.latest(RoutineRow, lambda r: r.event in _INTERACTIONS)]
        except Exception as exc:
            log.error("inactivity: cannot read the journal: %s", exc)
            return None
        times = [r.at for r in rows if r is not None]
        return max(times) if times else None

    # ---------------------------------------------------------------- every minute

    def check(self, now: datetime | None = None) -> str | None:
        """Count, ask, or alert; returns the id of an alert raised now, else None."""
        if self.s.inactivity_hours <= 0:
            return None
        now = now or self.clock.now()
        mono = self.clock.monotonic()
        step = 0.0 if self._mono is None else min(max(mono - self._mono, 0.0), MAX_STEP_S)
        self._mono = mono
        self._note_interaction()
        if self.s.require_clock_sync and not self.sync.synchronised():
            return None  # the wall clock may be hours off after boot: neither count nor judge
        local = self.household.local(now)
        today = local.date().isoformat()
        if self.state.day != today:  # a new day: yesterday's count and question are over
            self.state.day, self.state.quiet_s, self.state.asked_at, self.state.alert_id = today, 0.0, "", ""
            self._asked_mono, self._want_ask = None, False
            self._save()
        daytime = self.s.daytime_start_hour <= local.hour < self.s.daytime_end_hour
        if not self.state.armed or not daytime:
            return None
        if self.listening():
            self.state.quiet_s += step
            self._save(count_only=True)
        if self.state.quiet_s < self.s.inactivity_hours * 3600:
            return None
        if not self.state.asked_at:
            self._want_ask = True  # poll() asks her at the next idle moment
            return None
        if self.state.alert_id or self._asked_mono is None:
            return None
        if mono - self._asked_mono < self.s.inactivity_grace_min * 60:
            return None
        return self._alert(local)

    def _note_interaction(self) -> None:
        latest = self._latest_interaction()
        if latest is None or latest.isoformat() <= self.state.last_interaction:
            return
        self._interacted(latest)

    def _interacted(self, at: datetime) -> None:
        """She talked, pressed help or answered a routine: the count starts again."""
        self.state.last_interaction = max(self.state.last_interaction, at.isoformat())
        self.state.armed = True
        self.state.quiet_s = 0.0
        self._want_ask = False
        if self.state.alert_id and self.state.alert_id != RESOLVED:
            self.alerts.resolve(self.state.alert_id, f"{self.alerts.who or 'She'} has answered the companion again "
                                f"(at {self.household.local(at):%H:%M})")
            self.state.alert_id = RESOLVED  # at most one alert a day
        self.state.asked_at = ""  # a new quiet spell later today may be asked about again
        self._asked_mono = None
        self._save()

    def _alert(self, local: datetime) -> str:
        hours = self.state.quiet_s / 3600
        asked = self.household.local(datetime.fromisoformat(self.state.asked_at))
        last = (self.household.local(datetime.fromisoformat(self.state.last_interaction)).strftime("%A %H:%M")
                if self.state.last_interaction else "not yet today")
        who = self.alerts.who or "She"
        severity = Severity.URGENT if self.s.inactivity_severity == "urgent" else Severity.WARNING
        self.state.alert_id = self.alerts.raise_alert(
            "inactivity", f"{who} has not answered the companion today",
            {"explain": f"No interaction for {hours:.1f} hours of daytime while the companion was on and listening "
                        f"(time it was off or muted is not counted). Last interaction: {last}.",
             "listening_hours_without_interaction": round(hours, 1), "last_interaction": last},
            severity=severity, key=f"inactivity:{self.state.day}",
            told_her=f'She was asked at {asked:%H:%M} "{QUESTION}" and did not answer within '
                     f"{self.s.inactivity_grace_min:g} minutes.")
        log.warning("inactivity: no answer to the check-in question; alert %s", self.state.alert_id)
        self._save()
        return self.state.alert_id

    # ---------------------------------------------------------------- the Skill seam

    def poll(self, idle: bool, muted: bool) -> Reply | None:
        """Asks her the question once, when the loop is idle and the microphone on."""
        if not self._want_ask or not idle or muted:
            return None
        self._want_ask = False
        self.state.asked_at = self.clock.now().isoformat()
        self._asked_mono = self.clock.monotonic()
        self._save()
        log.info("inactivity: asking her if she is all right")
        return Reply(QUESTION, intent="inactivity:ask", speak_first="chime",
                     asks=Ask("inactivity", window_s=self.s.inactivity_grace_min * 60))

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her answer to the question (anything she says counts); safety runs before us."""
        self._interacted(turn.at)
        if _FINE.search(normalize(turn.text)):
            return Reply(GLAD, intent="inactivity:answered")
        return None  # anything else goes on to the conversation

    def handle(self, turn: TurnInput) -> Reply | None:
        """Whatever she says is an interaction."""
        self._interacted(turn.at)
        return None

    def after_turn(self, record: TurnRecord) -> None:
        """Every finished turn is an interaction (the store is read too, for other processes)."""
        if record.intent != "inactivity:ask":
            self._interacted(record.at)
