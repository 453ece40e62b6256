"""The daily heartbeat, for families who want it: "All well: Mary last talked to the companion at 18:40."

With `[caregiver] heartbeat_at = "19:00"` one INFO message a day says the companion is running
and when she was last heard; it also says plainly when she has not talked to it today, or when
something is waiting to be sent. Silence from the heartbeat itself is a sign too: the device is off.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from companion.caregiver.alert import Severity
from companion.caregiver.alerts import AlertService
from companion.clock import Clock
from companion.config import Settings
from companion.store.journal import TurnRow

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "caregiver.heartbeat_sent_on"


class Heartbeat:
    """check(now) every minute; sends at most one heartbeat per local day, at or after heartbeat_at."""

    def __init__(self, settings: Settings, store: Any, alerts: AlertService, clock: Clock) -> None:
        self.at = settings.caregiver.heartbeat_at
        self.household = settings.household
        self.who = settings.conversation.user_name or "She"
        self.store = store
        self.alerts = alerts
        self.clock = clock

    def _last_heard(self) -> datetime | None:
        try:
            last = self.store.journal.latest(TurnRow)
        except Exception:
            return None
        return last.at if last is not None else None

    def check(self, now: datetime | None = None) -> str | None:
        """Send today's heartbeat if it is time; returns its alert id."""
        if self.at is None:
            return None
        now = now or self.clock.now()
        local = self.household.local(now)
        today = local.date().isoformat()
        if local.time() < self.at or self.store.get(HEARTBEAT_KEY) == today:
            return None
        self.store.put(HEARTBEAT_KEY, today)
        last = self._last_heard()
        if last is not None and self.household.today(last) == local.date():
            text = f"All well: {self.who} last talked to the companion at {self.household.local(last):%H:%M}"
        elif last is not None:
            text = (f"The companion is running; {self.who} has not talked to it today "
                    f"(last on {self.household.local(last):%A at %H:%M})")
        else:
            text = "The companion is running"
        waiting = len(self.alerts.pending())
        detail = {"explain": f"{waiting} message(s) still waiting to be sent."} if waiting else {}
        log.info("heartbeat: %s", text)
        return self.alerts.raise_alert("heartbeat", text, detail, severity=Severity.INFO, todo="")
