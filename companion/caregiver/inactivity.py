"""Inactivity watch: no interaction at all during the daytime for N hours → one caregiver alert a day."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from companion.caregiver.alerts import AlertService
from companion.clock import Clock
from companion.config import Settings
from companion.store.journal import HelpRow, RoutineRow, TurnRow
from companion.store.store import Store

log = logging.getLogger(__name__)

_STATE_KEY = "caregiver.inactivity_alerted_on"  # local date of the last inactivity alert
# What counts as her interacting: a conversation turn, the help button, answering a routine.
_ROUTINE_INTERACTIONS = {"acknowledged", "checkin_answer"}


class InactivityWatch:
    """Call check(now) every minute or so (AlertService.start(checks=[watch.check]) does)."""

    def __init__(self, settings: Settings, store: Store, alerts: AlertService, clock: Clock) -> None:
        self.s = settings.caregiver
        self.household = settings.household
        self.store = store
        self.alerts = alerts
        self.clock = clock

    def last_interaction(self) -> datetime | None:
        """The latest time she talked to it, pressed help, or answered a routine."""
        j = self.store.journal
        rows = [j.latest(TurnRow), j.latest(HelpRow), j.latest(RoutineRow, lambda r: r.event in _ROUTINE_INTERACTIONS)]
        times = [r.at for r in rows if r is not None]
        return max(times) if times else None

    def check(self, now: datetime | None = None) -> str | None:
        """Raise the alert if due; returns its id, or None."""
        if self.s.inactivity_hours <= 0:
            return None
        now = now or self.clock.now()
        local = self.household.local(now)
        if not self.s.daytime_start_hour <= local.hour < self.s.daytime_end_hour:
            return None
        today = local.date().isoformat()
        if self.store.get(_STATE_KEY) == today:
            return None
        # Only daytime counts: the night's sleep is not inactivity.
        day_start = local.replace(hour=self.s.daytime_start_hour, minute=0, second=0, microsecond=0)
        since = day_start
        last = self.last_interaction()
        if last is not None and last.astimezone(local.tzinfo) > since:
            since = last.astimezone(local.tzinfo)
        quiet = local - since
        if quiet < timedelta(hours=self.s.inactivity_hours):
            return None
        self.store.put(_STATE_KEY, today)
        hours = quiet.total_seconds() / 3600
        last_text = last.astimezone(local.tzinfo).strftime("%A %H:%M") if last else "never"
        log.warning("inactivity: no interaction for %.1f daytime hours", hours)
        return self.alerts.raise_alert(
            "inactivity", f"No interaction with the companion for {hours:.0f} hours today",
            {"hours_without_interaction": round(hours, 1), "last_interaction": last_text}, urgent=True)
