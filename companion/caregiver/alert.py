"""One caregiver alert as a typed value, and the words a person reads: who, where, what, when,
what to do now, and how to acknowledge.

An alert has a stable id for its whole life. Repeats of the same ongoing event (the same
dedupe `key`) and its all-clear are *revisions* of that one alert: receivers see the same
id with a higher `revision`, so they can replace what they showed instead of piling up.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from companion.clock import Household


class Severity(str, enum.Enum):
    """How loudly an alert is sent.

    URGENT: at once, quiet hours or not; the first contact, then the next after
    `escalate_after_min` without an acknowledgement. WARNING ("needs attention"): at
    once to the first contact, no escalation. INFO (all-clears, summaries, heartbeat):
    to every contact, held during the family's quiet hours.
    """

    URGENT = "urgent"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 is sent first."""
        return {"urgent": 0, "warning": 1, "info": 2}[self.value]


# What the person receiving it should do now, per kind (the raiser may give its own).
GUIDANCE = {
    "safety:fall": "Call her now. If she does not answer or says she is hurt, call the emergency number "
                   "or go round; do not ask her to get up quickly.",
    "safety:medical": "Call the emergency number for her if nobody has yet, then call her.",
    "safety:suicidal": "Call her now and stay on the phone with her; if you think she is in danger, "
                       "call the emergency number.",
    "safety:help": "Call her now. If she does not answer, call the emergency number or go round.",
    "safety:lost": "Call her now and talk her through where she is; go round if she sounds unsure.",
    "safety:stranger": "Call her now; if someone is trying to get in, call the emergency number.",
    "safety:scam": "Call her now; she may be on the phone with a scammer. Her bank can block cards.",
    "missed_medication": "Call her and ask whether she took it; do not suggest a double dose unless "
                         "her doctor said so.",
    "inactivity": "Call her to check she is all right; if she does not answer, ask someone nearby to look in.",
    "companion_failure": "Nothing urgent for her; the companion itself needs a look (see the details). "
                         "Until then it may not hear her.",
    "device:cannot_save": "The companion cannot save to its memory card (full or failing). Alerts still go "
                          "out, but please check the device soon: `companion doctor`.",
    "device:spool_file": "Nothing urgent for her: one queued message could not be read and was set aside. "
                         "Check the device's alerts folder when convenient.",
}


def _slug(kind: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "alert"


def new_alert_id(kind: str, now: datetime) -> str:
    """'20240506T090000Z-safety-fall-3fa2b1c4': sortable, readable, unique."""
    return f"{now:%Y%m%dT%H%M%S}Z-{_slug(kind)}-{uuid.uuid4().hex[:8]}"


def short_code(alert_id: str) -> str:
    """The last 8 characters: what a person types to acknowledge ("companion ack 3fa2b1c4")."""
    return alert_id.rsplit("-", 1)[-1]


@dataclass(frozen=True)
class Alert:
    """One event the family should know about, in every revision the same id."""

    id: str
    kind: str  # "safety:fall", "missed_medication", "inactivity", "summary", ...
    severity: Severity
    title: str  # what happened, in words ("Mary may have fallen")
    at: str  # ISO UTC: when it happened (first raised)
    who: str = ""  # her name
    where: str = ""  # home / device name
    todo: str = ""  # what to do now
    told_her: str = ""  # what she was told about this alert ("" = nothing)
    detail: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # dedupe key of the ongoing event ("" = none)
    revision: int = 0  # 0 = first message; each update adds one
    updated_at: str = ""  # ISO UTC of this revision
    resolved: bool = False  # the all-clear: nothing more to do
    acked_by: str = ""  # who acknowledged it ("" = nobody yet)

    @property
    def urgent(self) -> bool:
        """Sent at once whatever the hour, and escalated until acknowledged."""
        return self.severity is Severity.URGENT and not self.resolved and not self.acked_by

    def revise(self, now: datetime, **changes: Any) -> "Alert":
        """The next revision of this alert (same id)."""
        return replace(self, revision=self.revision + 1, updated_at=now.isoformat(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what webhooks and the outbox get)."""
        d = asdict(self)
        d["severity"] = self.severity.value
        d["urgent"] = self.urgent
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Alert":
        """Back from to_dict (also reads the old spool format); raises ValueError/KeyError if malformed."""
        if "severity" in d:
            severity = Severity(d["severity"])
        else:
            severity = Severity.URGENT if d.get("urgent") else Severity.INFO
        title = d.get("title") or d.get("summary")
        if not isinstance(d["id"], str) or not isinstance(title, str):
            raise ValueError("alert without an id or title")
        datetime.fromisoformat(d["at"])
        return cls(id=d["id"], kind=str(d["kind"]), severity=severity, title=title, at=d["at"],
                   who=str(d.get("who", "")), where=str(d.get("where", "")), todo=str(d.get("todo", "")),
                   told_her=str(d.get("told_her", "")), detail=dict(d.get("detail") or {}), key=str(d.get("key", "")),
                   revision=int(d.get("revision", 0)), updated_at=str(d.get("updated_at", "")),
                   resolved=bool(d.get("resolved", False)), acked_by=str(d.get("acked_by", "")))


# ---------------------------------------------------------------- the words


def subject_of(alert: Alert) -> str:
    """E-mail subject / push title: severity, who, what."""
    if alert.kind == "summary":
        return alert.title[:150]
    if alert.resolved:
        prefix = "[Companion] All clear: "
    elif alert.urgent:
        prefix = "[Companion] URGENT: " if not alert.revision else "[Companion] URGENT (update): "
    elif alert.revision:
        prefix = "[Companion] Update: "
    elif alert.severity is Severity.WARNING:
        prefix = "[Companion] Needs attention: "
    else:
        prefix = "[Companion] "
    where = f" ({alert.where})" if alert.where else ""
    return (prefix + alert.title + where)[:150]


def alert_text(alert: Alert, household: Household, ack_hint: str = "") -> str:
    """The plain-text message: who, where, what, when, what to do now, how to acknowledge."""
    detail = alert.detail
    if alert.kind == "summary" and detail.get("text"):
        return str(detail["text"])
    when = household.local(datetime.fromisoformat(alert.at))
    lines = [subject_of(alert).removeprefix("[Companion] "), ""]
    lines.append(f"Who: {alert.who or 'the person using the companion'}")
    if alert.where:
        lines.append(f"Where: {alert.where}")
    lines.append(f"When: {when:%A %d %B %Y, %H:%M} ({when.tzname()})")
    if alert.revision and alert.updated_at:
        upd = household.local(datetime.fromisoformat(alert.updated_at))
        lines.append(f"Updated: {upd:%A %H:%M}")
    lines.append(f"What happened: {alert.title}")
    if detail.get("her_words"):
        lines.append(f'Her words: "{detail["her_words"]}"')
    for label, key in (("Note", "note"), ("Details", "explain")):
        if detail.get(key):
            lines.append(f"{label}: {detail[key]}")
    if alert.resolved:
        lines.append("What to do now: nothing more is needed.")
    elif alert.todo:
        lines.append(f"What to do now: {alert.todo}")
    if alert.told_her:
        lines.append(f"What she was told: {alert.told_her}")
    if alert.acked_by:
        lines.append(f"Acknowledged by: {alert.acked_by}")
    elif ack_hint and not alert.resolved and alert.severity is not Severity.INFO:
        lines.append(f"To acknowledge: {ack_hint}")
    lines += ["", f"Alert id: {alert.id} (revision {alert.revision}; the same id and revision means the same "
                  "message)", "Sent by Companion from her device."]
    return "\n".join(lines) + "\n"
