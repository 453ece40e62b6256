"""The alert service: what the safety skill, routines, inactivity and the CLI call to reach the family.

The API (stable; the safety skill builds on it):

- `raise_alert(kind, title, detail, severity=..., key=..., update=..., todo=..., told_her=...) -> id`
  **never raises and never depends on the disk.** The alert is queued in memory first; the
  spool files are written best effort. If they cannot be written (read-only or full data dir,
  alerts/ owned by root) delivery is still attempted at once from memory, writing is retried
  on every pass, and a "the device has a problem (cannot save)" alert goes out as soon as any
  channel works. No exception from the alert path reaches the caller.
- `confirmed(id) -> [names]`: the contacts whose channel confirmed delivery (the local outbox
  never counts). `wait_confirmed(id, timeout_s)` waits for the first one; `on_confirmed(fn)`
  calls fn(id, name) from the sending thread. So the safety script says "I'm trying to reach
  Susan" until a channel confirmed, then "I've let Susan know" — never before.
- One ongoing event is one alert: `key="inactivity:2024-05-06"` (or `update=id`) turns a
  repeat into a new *revision* of the same alert (same id, revision + 1), sent to everyone
  who had it. `resolve(id, title)` is the all-clear: not urgent, it updates the original and
  stops its escalation. `acknowledge(id, by)` records who saw it (also from `companion ack`).
- Severity (alert.Severity): URGENT goes to the first contact at once (quiet hours or not) and,
  unacknowledged after `escalate_after_min`, to the next; WARNING ("needs attention") to the
  first contact; INFO to everyone, held in the family's quiet hours. Shared family channels
  (e-mail, webhook) and the outbox get everything.

Delivery is at-least-once with a stable id and revision: a write-ahead "sending" owner in the
spool file, then a `delivered` marker, then the spool file is removed (delivery.py, worker.py).
"""

from __future__ import annotations

import logging
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from companion.caregiver.alert import GUIDANCE, Alert, Severity, alert_text, new_alert_id, short_code
from companion.caregiver.channels import FAMILY, Channel, channels_from_settings, with_last_good_channels
from companion.caregiver.delivery import DISK_ALERT_KEY, ChannelQueue, Delivery, OpenAlert
from companion.caregiver.spool import AuditLog, Spool
from companion.caregiver.worker import Worker
from companion.clock import Clock, Household
from companion.config import CaregiverSettings, Settings

log = logging.getLogger(__name__)

KIND_SEVERITY = {"summary": Severity.INFO, "heartbeat": Severity.INFO, "inactivity": Severity.WARNING,
                 "companion_failure": Severity.WARNING, "missed_medication": Severity.WARNING,
                 "device:cannot_save": Severity.WARNING, "device:spool_file": Severity.WARNING}

__all__ = ["AlertService", "AuditLog", "Severity"]


class AlertService(Worker):
    """Queue alerts for the right channels and deliver them (see the module docstring)."""

    def __init__(self, caregiver: CaregiverSettings, channels: dict[str, Channel], directory: Path,
                 clock: Clock, household: Household | None = None, *, who: str = "", where: str = "",
                 problems: list[str] | tuple[str, ...] = (), owner: bool = False) -> None:
        self.s = caregiver
        self.clock = clock
        self.household = (household or Household()).with_quiet(caregiver.quiet_hours)
        self.who, self.where = who, where
        self.owner = owner  # the running service: escalates and applies acknowledgements
        self.files = Spool(directory)
        self.audit: AuditLog = self.files.audit
        self.channels = channels
        self.queues = {name: ChannelQueue(ch) for name, ch in channels.items()}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._open: dict[str, OpenAlert] = {}
        self._by_key: dict[str, str] = {}
        self._listeners: list[Callable[[Alert], None]] = []
        self._confirm_callbacks: list[Callable[[str, str], None]] = []
        Worker.__init__(self)
        self._load()
        for problem in problems:
            self.raise_alert("companion_failure", "The companion's alert settings need attention",
                             {"explain": problem}, key=f"config:{problem[:60]}")

    @classmethod
    def from_settings(cls, settings: Settings, data_dir: Path, clock: Clock, *, owner: bool = False) -> "AlertService":
        """Channels from [caregiver] (a bad one is skipped and reported, never raised); files under data_dir/alerts."""
        c = settings.caregiver
        outbox = Path(c.outbox_dir).expanduser() if c.outbox_dir else Path(data_dir) / "outbox"
        channels, problems = channels_from_settings(c, outbox)
        channels, problems = with_last_good_channels(c, outbox, Path(data_dir) / "alerts", channels, problems)
        where = c.home_name or f"device {c.device_name or socket.gethostname()}"
        return cls(c, channels, Path(data_dir) / "alerts", clock, settings.household,
                   who=settings.conversation.user_name, where=where, problems=problems, owner=owner)

    # ------------------------------------------------------------------ raising

    def raise_alert(self, kind: str, title: str, detail: dict[str, Any] | None = None, urgent: bool | None = None,
                    *, severity: Severity | None = None, key: str = "", update: str | None = None,
                    todo: str | None = None, told_her: str = "") -> str:
        """Queue an alert (or a new revision of an open one); returns its id. Never raises."""
        if severity is None:
            severity = (Severity.URGENT if urgent else Severity.INFO) if urgent is not None else \
                KIND_SEVERITY.get(kind, Severity.URGENT if kind.startswith("safety:") else Severity.WARNING)
        try:
            now = self.clock.now()
            with self._lock:
                existing = self._open.get(update or "") or self._open.get(self._by_key.get(key, "") if key else "")
                if existing is not None and not existing.alert.resolved:
                    worse = severity if severity.rank < existing.alert.severity.rank else existing.alert.severity
                    alert = existing.alert.revise(now, title=title, detail={**existing.alert.detail, **(detail or {})},
                                                  severity=worse, told_her=told_her or existing.alert.told_her)
                    return self._queue(alert, event="updated")
                alert = Alert(id=new_alert_id(kind, now), kind=kind, severity=severity, title=title,
                              at=now.isoformat(), who=self.who, where=self.where,
                              todo=GUIDANCE.get(kind, "") if todo is None else todo, told_her=told_her,
                              detail=dict(detail or {}), key=key, updated_at=now.isoformat())
                return self._queue(alert, event="raised")
        except Exception:  # the alert path must never fail its caller: keep the bare alert in memory
            log.exception("alert %s: queuing failed; sending from memory", kind)
            return self._queue_in_memory_only(kind, title, detail, severity)

    def resolve(self, alert_id: str, title: str, detail: dict[str, Any] | None = None) -> str:
        """The all-clear: a non-urgent revision of the original alert that ends its escalation."""
        try:
            with self._lock:
                state = self._open.get(alert_id)
                if state is None:
                    return self.raise_alert("all_clear", title, {**(detail or {}), "about_alert": alert_id},
                                            severity=Severity.INFO)
                alert = state.alert.revise(self.clock.now(), title=title, resolved=True,
                                           detail={**state.alert.detail, **(detail or {})})
                return self._queue(alert, event="resolved")
        except Exception:
            log.exception("all-clear for %s failed", alert_id)
            return alert_id

    def report_failure(self, component: str, error: str) -> str | None:
        """The companion is in trouble (cannot start, a part keeps failing): a "needs attention" alert,
        at most one per component per `failure_alert_interval_s`; the same ongoing trouble updates it."""
        now = self.clock.now()
        seen = self.files.read("", "failures.json") or {}
        last = seen.get(component)
        try:
            recent = last and (now - datetime.fromisoformat(last)).total_seconds() < self.s.failure_alert_interval_s
        except (TypeError, ValueError):
            recent = False
        if recent:
            return None
        seen[component] = now.isoformat()
        self.files.save("", "failures.json", seen)
        return self.raise_alert("companion_failure", f"The companion needs attention: {component}",
                                {"component": component, "explain": error[:600]}, severity=Severity.WARNING,
                                key=f"failure:{component}:{now:%Y%m%d%H}")

    def medication_escalation(self, event: dict[str, Any]) -> str:
        """routines' on_escalation: URGENT for medicines marked `escalate = true`, else "needs attention"."""
        title = event.get("title") or event.get("routine_id") or "medication"
        when = event.get("due_local") or event.get("due") or ""
        try:  # "Thursday 08:00" reads better than an ISO date
            when = f"{self.household.local(datetime.fromisoformat(event['due'])):%A %H:%M}"
        except (KeyError, TypeError, ValueError):
            pass
        who = self.who or "She"
        if event.get("device_off"):
            text = f"{who} was not asked about her {title} (due {when}): the companion was off at the time"
        else:
            text = f"{who} has not confirmed taking her {title} (due {when})"
        detail = {k: event[k] for k in ("routine_id", "due_local", "reason", "asked") if k in event}
        detail["explain"] = event.get("reason", "")
        # URGENT only for a dose the family marked `escalate` that she was asked about and did not confirm;
        # a dose the device could not ask about (it was off) is "needs attention" whatever the setting
        severity = Severity.URGENT if event.get("escalate") and not event.get("device_off") else Severity.WARNING
        return self.raise_alert("missed_medication", text, detail, severity=severity,
                                key=f"missed:{event.get('routine_id')}:{event.get('due')}")

    # ------------------------------------------------------------------ who hears what

    def recipient_names(self) -> str:
        """How she hears who was told: "Susan", "Susan and Tom", or "your family"."""
        return _names([n for n in self.s.contacts if n.strip()])

    def first_contact(self) -> str:
        """Who an urgent alert goes to first (for "I'm trying to reach Susan")."""
        names = [n for n in self.s.contacts if n.strip()]
        return names[0] if names else "your family"

    def reaches_someone(self) -> bool:
        """True when a channel leaves the device (not only the local outbox)."""
        return any(not ch.local for ch in self.channels.values())

    def confirmed(self, alert_id: str) -> list[str]:
        """Contact names whose channel confirmed delivery of this alert (any revision)."""
        with self._lock:
            state = self._open.get(alert_id)
            return list(state.confirmed) if state else []

    def wait_confirmed(self, alert_id: str, timeout_s: float) -> list[str]:
        """Block up to timeout_s (real time) until someone confirmed; returns confirmed(alert_id)."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self.confirmed(alert_id)) or self._stop.is_set(), timeout=timeout_s)
            return self.confirmed(alert_id)

    def on_confirmed(self, callback: Callable[[str, str], None]) -> None:
        """callback(alert_id, contact name) whenever a contact is first confirmed for an alert."""
        self._confirm_callbacks.append(callback)

    def add_listener(self, callback: Callable[[Alert], None]) -> None:
        """callback(alert) for every alert and revision queued (MQTT mirrors them)."""
        self._listeners.append(callback)

    def get(self, alert_id: str) -> Alert | None:
        """The newest revision of an open alert (by id or short code)."""
        with self._lock:
            full = self._resolve_ref(alert_id)
            return self._open[full].alert if full else None

    def open_alerts(self) -> list[Alert]:
        """Newest revisions of the alerts still open (not resolved), oldest first."""
        with self._lock:
            return sorted((s.alert for s in self._open.values() if not s.alert.resolved), key=lambda a: a.at)

    def ack_hint(self, alert: Alert) -> str:
        """How to acknowledge, in words, for the channels configured."""
        ways = []
        if self.s.ack_url:
            ways.append(f"open {self.ack_link(alert)}")
        if self.s.mqtt_host:
            ways.append(f'press "Acknowledge" in Home Assistant (or publish "{alert.id}" to the ack topic)')
        ways.append(f"on the device: companion ack {short_code(alert.id)}")
        return "; or ".join(ways)

    def ack_link(self, alert: Alert) -> str:
        """The acknowledgement link (needs [caregiver] ack_url and the ack listener)."""
        from companion.caregiver.acks import ack_token

        return f"{self.s.ack_url.rstrip('/')}/ack/{alert.id}?t={ack_token(self.files.directory, alert.id)}"

    def text_of(self, alert: Alert) -> str:
        """The plain-text message for one revision."""
        return alert_text(alert, self.household, self.ack_hint(alert))

    # ------------------------------------------------------------------ acknowledgement

    def acknowledge(self, ref: str, by: str, via: str = "command") -> Alert | None:
        """Record who saw the alert (ref = id or short code); stops its escalation. None if unknown."""
        with self._lock:
            alert_id = self._resolve_ref(ref)
            if alert_id is None:
                return None
            self.files.save("acks", f"{alert_id}.json", {"by": by, "via": via, "at": self.clock.now().isoformat()})
            return self._apply_ack(alert_id, by, via)

    def _apply_ack(self, alert_id: str, by: str, via: str) -> Alert | None:
        state = self._open.get(alert_id)
        if state is None:
            return None
        if state.alert.acked_by:
            return state.alert
        state.escalate_at = float("inf")
        self.audit.write(at=self.clock.now().isoformat(), event="acknowledged", alert_id=alert_id, by=by, via=via)
        self._queue(state.alert.revise(self.clock.now(), acked_by=by), event="acknowledged")
        return self._open[alert_id].alert

    def _resolve_ref(self, ref: str) -> str | None:
        ref = ref.strip()
        if ref in self._open:
            return ref
        matches = [i for i in self._open if short_code(i) == ref.lower()]
        return matches[0] if len(matches) == 1 else None

    # ------------------------------------------------------------------ queuing (under self._lock)

    def _targets(self, alert: Alert, state: OpenAlert | None) -> set[str]:
        if state is not None and alert.revision:
            return set(state.channels) | {n for n, ch in self.channels.items() if ch.contact == FAMILY or ch.local}
        contacts = [n for n in self.s.contacts if n.strip()]
        reach = len(contacts) if alert.severity is Severity.INFO else 1
        names = set(contacts[:reach])
        return {n for n, ch in self.channels.items() if ch.local or ch.contact == FAMILY or ch.contact in names}

    def _queue(self, alert: Alert, event: str) -> str:
        state = self._open.get(alert.id)
        targets = self._targets(alert, state)
        if state is None:
            state = OpenAlert(alert)
            self._open[alert.id] = state
            if alert.key:
                self._by_key[alert.key] = alert.id
            if alert.urgent and self.s.escalate_after_min > 0:
                state.escalate_at = self.clock.monotonic() + self.s.escalate_after_min * 60
        state.alert = alert
        if alert.resolved or alert.acked_by:
            state.escalate_at = float("inf")
        state.channels |= targets
        saved = self.files.save("open", f"{alert.id}.json", state.to_dict())
        for name in targets:
            d = Delivery(alert, name, due_mono=self.clock.monotonic())
            self.queues[name].deliveries[alert.id] = d
            d.saved = self.files.save("spool", d.file, self._entry(d))
            saved = saved and d.saved
        self.audit.write(at=self.clock.now().isoformat(), event=event, alert_id=alert.id, kind=alert.kind,
                         why=alert.title, severity=alert.severity.value, revision=alert.revision,
                         channels=sorted(targets))
        log.info("alert %s r%d (%s) %s for %s", alert.id, alert.revision, alert.severity.value, event,
                 ", ".join(sorted(targets)))
        if not saved:
            self._disk_trouble()
        self._notify_listeners(alert)
        self.wake()
        return alert.id

    def _queue_in_memory_only(self, kind: str, title: str, detail: dict[str, Any] | None, severity: Severity) -> str:
        """Last resort when the normal path failed: straight into every channel's queue, nothing else."""
        try:
            now = self.clock.now()
            alert = Alert(id=new_alert_id(kind, now), kind=kind, severity=severity, title=title, at=now.isoformat(),
                          who=self.who, where=self.where, todo=GUIDANCE.get(kind, ""), detail=dict(detail or {}))
            for q in self.queues.values():
                q.deliveries[alert.id] = Delivery(alert, q.channel.name)
            self._open.setdefault(alert.id, OpenAlert(alert, channels=set(self.queues)))
            self.wake()
            return alert.id
        except Exception:
            log.exception("alert %s could not even be kept in memory", kind)
            return ""

    def _disk_trouble(self) -> None:
        """Tell the family once (per problem) that the device cannot save; it goes from memory."""
        if DISK_ALERT_KEY in self._by_key and not self._open[self._by_key[DISK_ALERT_KEY]].alert.resolved:
            return
        problem = self.files.problem or "writing failed"
        self.raise_alert(DISK_ALERT_KEY, "The device has a problem: it cannot save (its memory card may be full "
                         "or read-only)", {"explain": problem}, severity=Severity.WARNING, key=DISK_ALERT_KEY)

    def _notify_listeners(self, alert: Alert) -> None:
        for fn in list(self._listeners):
            try:
                fn(alert)
            except Exception:
                log.exception("alert listener failed")

    def _confirm(self, d: Delivery) -> None:
        """A channel delivered: note which contacts that reached."""
        channel = self.channels[d.channel]
        if channel.local:
            return
        if channel.contact == FAMILY:
            with_urls = {n for n, u in zip(self.s.contacts, self.s.contact_urls) if u.strip()}
            names = [n for n in self.s.contacts if n.strip() and n not in with_urls] or ["your family"]
        else:
            names = [channel.contact]
        new = []
        with self._changed:
            state = self._open.get(d.alert.id)
            if state is None:
                return
            for name in names:
                if name not in state.confirmed:
                    state.confirmed.append(name)
                    new.append(name)
            if new:
                self.files.save("open", f"{d.alert.id}.json", state.to_dict())
                self._changed.notify_all()
        for name in new:
            for fn in list(self._confirm_callbacks):
                try:
                    fn(d.alert.id, name)
                except Exception:
                    log.exception("confirmation callback failed")

    @staticmethod
    def _entry(d: Delivery, sending: str = "") -> dict[str, Any]:
        return {"alert": d.alert.to_dict(), "channel": d.channel, "attempts": d.attempts,
                "last_error": d.last_error, "sending": sending}


def _names(names: list[str]) -> str:
    if not names:
        return "your family"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]

