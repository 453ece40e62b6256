"""The safety skill's side of the caregiver alerts: raise, update, resolve, and what she may be told.

Nothing here may fail the emergency: every call into the alert service is guarded, and a
failure is logged and reported in the status line she hears ("I'm trying to reach Susan"
is only true while an alert is queued). She hears "I've let Susan know" only for an alert
a channel confirmed; this version of the alert service cannot confirm delivery, so she is
told that the companion is trying.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from companion.config import Settings

if TYPE_CHECKING:
    from companion.caregiver.alerts import AlertService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    """What is known about an alert, for the honest line she hears."""

    queued: bool  # the alert service took it
    reaches_someone: bool  # a channel leaves the device (not only the local outbox)
    confirmed: tuple[str, ...] = ()  # contacts whose channel confirmed delivery


class SafetyAlarm:
    """Guarded calls into the AlertService for one emergency at a time."""

    def __init__(self, alerts: "AlertService", settings: Settings) -> None:
        self.alerts = alerts
        self.settings = settings

    def who(self) -> str:
        """The first person she is told about ("Susan", or "your family")."""
        try:
            names = [n for n in self.settings.caregiver.contacts if n.strip()]
            return names[0] if names else "your family"
        except Exception:  # the settings are frozen dataclasses; this is belt and braces
            return "your family"

    def reaches_someone(self) -> bool:
        """Can any channel leave the device?"""
        try:
            return bool(self.alerts.reaches_someone())
        except Exception:
            log.exception("alert service: reaches_someone failed")
            return False

    def raise_(self, kind: str, title: str, detail: dict[str, Any]) -> str:
        """Queue an urgent alert; returns its id, or "" when the alert service failed (logged)."""
        try:
            return str(self.alerts.raise_alert(kind, title, detail, urgent=True))
        except Exception:
            log.exception("safety alert %s could not be queued", kind)
            return ""

    def update(self, alert_id: str, kind: str, title: str, detail: dict[str, Any]) -> str:
        """A new fact about an open emergency (she says she is hurt); returns the id that carries it."""
        return self.raise_("safety:update", title, {**detail, "about_alert": alert_id, "about": kind})

    def resolve(self, alert_id: str, title: str, detail: dict[str, Any]) -> None:
        """The all-clear for an alert (she says it was a false alarm)."""
        try:
            self.alerts.raise_alert("safety:update", title, {**detail, "about_alert": alert_id}, urgent=False)
        except Exception:
            log.exception("safety all-clear for %s could not be queued", alert_id)

    def status(self, alert_id: str) -> Status:
        """Queued? Can it reach anyone? Who confirmed it?"""
        return Status(queued=bool(alert_id), reaches_someone=self.reaches_someone())

    def status_line(self, alert_id: str) -> str:
        """The honest sentence about the alert, for the script."""
        s = self.status(alert_id)
        who = self.who()
        if s.confirmed:
            return f"I've let {_names(list(s.confirmed))} know."
        if s.queued and s.reaches_someone:
            return f"I'm trying to reach {who}. If you can, use the phone or your pendant too."
        return "I can't send messages from here, so please use the phone or your pendant."


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
