"""The safety skill's side of the caregiver alerts: raise, update, resolve, and what she may be told.

Built on the alert service's API (caregiver.alerts): `raise_alert` never raises and never
depends on the disk (the alert goes out from memory when the spool cannot be written),
`update=` makes one alert per event, `resolve` is the all-clear, and `confirmed(id)` names
the contacts whose channel confirmed delivery. She hears "I've let Susan know" only then;
until then "I'm trying to reach Susan" and what she can do herself. Every call is guarded all
the same: nothing here may stop the script.
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
    """Guarded calls into the AlertService for the safety skill."""

    def __init__(self, alerts: "AlertService", settings: Settings) -> None:
        self.alerts = alerts
        self.settings = settings

    def who(self) -> str:
        """The first person an urgent alert goes to ("Susan", or "your family")."""
        try:
            return str(self.alerts.first_contact())
        except Exception:
            log.exception("alert service: first_contact failed")
            return "your family"

    def reaches_someone(self) -> bool:
        """Can any channel leave the device?"""
        try:
            return bool(self.alerts.reaches_someone())
        except Exception:
            log.exception("alert service: reaches_someone failed")
            return False

    def raise_(self, kind: str, title: str, detail: dict[str, Any], told_her: str = "") -> str:
        """Queue an urgent alert; returns its id, or "" when even the alert service failed (logged)."""
        try:
            return str(self.alerts.raise_alert(kind, title, detail, urgent=True, told_her=told_her))
        except Exception:
            log.exception("safety alert %s could not be queued", kind)
            return ""

    def update(self, alert_id: str, kind: str, title: str, detail: dict[str, Any], told_her: str = "") -> str:
        """A new revision of the open alert (she says she is hurt; she cried out again): urgent."""
        if not alert_id:
            return self.raise_(kind, title, detail, told_her)
        try:
            return str(self.alerts.raise_alert(kind, title, detail, urgent=True, update=alert_id,
                                               told_her=told_her))
        except Exception:
            log.exception("safety alert %s could not be updated", alert_id)
            return alert_id

    def resolve(self, alert_id: str, title: str, detail: dict[str, Any]) -> None:
        """The all-clear for an alert (she says it was a false alarm): not urgent, ends its escalation."""
        try:
            self.alerts.resolve(alert_id, title, detail)
        except Exception:
            log.exception("safety all-clear for %s could not be queued", alert_id)

    def confirmed(self, alert_id: str) -> tuple[str, ...]:
        """Contacts whose channel confirmed delivery of this alert."""
        if not alert_id:
            return ()
        try:
            return tuple(self.alerts.confirmed(alert_id))
        except Exception:
            log.exception("alert service: confirmed failed")
            return ()

    def status(self, alert_id: str) -> Status:
        """Queued? Can it reach anyone? Who confirmed it?"""
        return Status(queued=bool(alert_id), reaches_someone=self.reaches_someone(),
                      confirmed=self.confirmed(alert_id))

    def status_line(self, alert_id: str) -> str:
        """The honest sentence about the alert, for the script."""
        s = self.status(alert_id)
        if s.confirmed:
            return f"I've let {_names(list(s.confirmed))} know."
        if s.queued and s.reaches_someone:
            return f"I'm trying to reach {self.who()}. If you can, use the phone or your pendant too."
        return "I can't send messages from here, so please use the phone or your pendant."

    def told_her(self, alert_id: str, what: str) -> str:
        """What she was told, for the alert text (never more than she heard)."""
        s = self.status(alert_id) if alert_id else Status(False, self.reaches_someone())
        if s.confirmed:
            heard = f"that {_names(list(s.confirmed))} has been told"
        elif s.reaches_someone:
            heard = f"that the companion is trying to reach {self.who()} (not yet that anyone knows)"
        else:
            heard = "that no message can leave the device"
        return f"{what}; {heard}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
