"""Caregiver alerts: an on-disk spool, retry with back-off in a worker thread, and an append-only audit log.

Delivery is at-least-once with an idempotency key: every alert has an id; each (alert, channel)
pair is one spool file; after a successful send a "delivered" marker is written atomically
before the spool file is deleted, so a crash between the two never sends twice. A crash in
the instant between the server accepting and the marker being written can resend; the id is in
the webhook header/body and the e-mail Message-ID so receivers can drop the duplicate.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

from companion.caregiver.channels import Channel, ChannelError, atomic_write, channels_from_settings
from companion.clock import Clock, Household
from companion.config import CaregiverSettings, Settings

log = logging.getLogger(__name__)

WORKER_MAX_SLEEP_S = 30.0  # the worker looks at the spool at least this often
PERIODIC_CHECK_S = 60.0  # how often start(checks=...) callables run (inactivity watch)


class AuditLog:
    """Append-only JSON lines: what was sent, to whom, when, why, and the result."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, **entry: Any) -> None:
        """Append one entry durably."""
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def read(self) -> list[dict[str, Any]]:
        """Every entry (a corrupt last line from a power cut is skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


class AlertService:
    """Queue alerts on disk for every channel and deliver them, retrying until they go through."""

    def __init__(self, caregiver: CaregiverSettings, channels: dict[str, Channel], directory: Path,
                 clock: Clock, household: Household | None = None) -> None:
        self.s = caregiver
        self.channels = channels
        self.clock = clock
        # her zone, with the family's quiet hours for messages that can wait
        self.household = (household or Household()).with_quiet(caregiver.quiet_hours)
        self.spool = directory / "spool"
        self.delivered = directory / "delivered"
        for d in (self.spool, self.delivered):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.audit = AuditLog(directory / "audit.jsonl")
        self._failures_path = directory / "failures.json"
        self._pass_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._checks: list[Callable[[datetime], Any]] = []

    @classmethod
    def from_settings(cls, settings: Settings, data_dir: Path, clock: Clock) -> "AlertService":
        """Channels from [caregiver]; spool, delivered markers and audit.jsonl under data_dir/alerts."""
        c = settings.caregiver
        outbox = Path(c.outbox_dir).expanduser() if c.outbox_dir else Path(data_dir) / "outbox"
        return cls(c, channels_from_settings(c, outbox, settings.household), Path(data_dir) / "alerts", clock,
                   settings.household)

    # ------------------------------------------------------------------ what others call

    def raise_alert(self, kind: str, summary: str, detail: dict[str, Any] | None = None,
                    urgent: bool = True) -> str:
        """Queue an alert for every channel (durably, before returning) and wake the worker; returns its id."""
        now = self.clock.now()
        safe_kind = re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "alert"
        alert_id = f"{now:%Y%m%dT%H%M%S}Z-{safe_kind}-{uuid.uuid4().hex[:8]}"
        alert = {"id": alert_id, "kind": kind, "summary": summary, "detail": dict(detail or {}),
                 "urgent": urgent, "at": now.isoformat()}
        for name in self.channels:
            entry = {"alert": alert, "channel": name, "attempts": 0, "next_at": now.isoformat(), "last_error": ""}
            atomic_write(self._spool_path(alert_id, name), json.dumps(entry, ensure_ascii=False))
        self.audit.write(at=now.isoformat(), event="raised", alert_id=alert_id, kind=kind, why=summary,
                         urgent=urgent, channels=list(self.channels))
        log.info("alert %s queued for %s", alert_id, ", ".join(self.channels))
        self._wake.set()
        return alert_id

    def report_failure(self, component: str, error: str) -> str | None:
        """The loop calls this on repeated errors; at most one alert per component per interval."""
        now = self.clock.now()
        try:
            seen = json.loads(self._failures_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            seen = {}
        last = seen.get(component)
        if last and (now - datetime.fromisoformat(last)).total_seconds() < self.s.failure_alert_interval_s:
            return None
        seen[component] = now.isoformat()
        atomic_write(self._failures_path, json.dumps(seen))
        return self.raise_alert("companion_failure", f"The companion is having trouble ({component})",
                                {"component": component, "error": error[:300]}, urgent=True)

    def medication_escalation(self, event: dict[str, Any]) -> str:
        """Hook for routines' on_escalation: a missed dose becomes an urgent alert."""
        title = event.get("title") or event.get("routine_id") or "medication"
        when = event.get("due_local") or event.get("due") or ""
        detail = {k: event[k] for k in ("routine_id", "due_local", "reason", "asked") if k in event}
        return self.raise_alert("missed_medication", f"Missed medication: {title} (due {when})".strip(),
                                detail, urgent=True)  # the issue: escalations go out at once, quiet hours or not

    def recipient_names(self) -> str:
        """How she hears who was told: "Susan", "Susan and Tom", or "your family"."""
        names = [n for n in self.s.contacts if n.strip()]
        if not names:
            return "your family"
        if len(names) == 1:
            return names[0]
        return ", ".join(names[:-1]) + " and " + names[-1]

    def reaches_someone(self) -> bool:
        """True when a channel leaves the device (e-mail or webhook), not only the local outbox."""
        return any(name != "outbox" for name in self.channels)

    # ------------------------------------------------------------------ delivery

    def pending(self) -> list[dict[str, Any]]:
        """Every queued (alert, channel) entry, oldest first."""
        out = []
        for path in sorted(self.spool.glob("*.json")):
            try:
                out.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError) as exc:
                log.error("unreadable spool file %s: %s (left in place)", path, exc)
        return out

    def deliver_pending(self, now: datetime | None = None, force: bool = False) -> dict[str, int]:
        """One synchronous pass over the spool: send what is due; returns counts of sent/failed/waiting."""
        now = now or self.clock.now()
        counts = {"sent": 0, "failed": 0, "waiting": 0}
        with self._pass_lock, self._spool_lock():
            for entry in self.pending():
                alert, name = entry["alert"], entry["channel"]
                path = self._spool_path(alert["id"], name)
                marker = self.delivered / f"{alert['id']}__{name}"
                if marker.exists():  # sent before a crash; only the clean-up was missing
                    path.unlink(missing_ok=True)
                    continue
                due = datetime.fromisoformat(entry["next_at"]) <= now
                held = not alert.get("urgent") and self._in_quiet_hours(now)
                channel = self.channels.get(name)
                if channel is None or held or not (due or force):
                    counts["waiting"] += 1
                    continue
                attempt = entry["attempts"] + 1
                try:
                    channel.send(alert)
                except ChannelError as exc:
                    delay = min(self.s.retry_max_s, self.s.retry_initial_s * 2 ** (attempt - 1))
                    entry.update(attempts=attempt, last_error=str(exc),
                                 next_at=(now + timedelta(seconds=delay)).isoformat())
                    atomic_write(path, json.dumps(entry, ensure_ascii=False))
                    self._audit_send(now, alert, channel, attempt, f"failed: {exc}; retry in {delay:.0f} s")
                    log.warning("alert %s via %s failed (attempt %d): %s", alert["id"], name, attempt, exc)
                    counts["failed"] += 1
                    continue
                atomic_write(marker, now.isoformat())
                path.unlink(missing_ok=True)
                self._audit_send(now, alert, channel, attempt, "delivered")
                counts["sent"] += 1
        return counts

    @contextmanager
    def _spool_lock(self) -> Iterator[None]:
        """Across processes too: the running app and `companion summary --send` share the spool."""
        import fcntl

        fd = os.open(self.spool.parent / ".spool.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _audit_send(self, now: datetime, alert: dict[str, Any], channel: Channel, attempt: int, result: str) -> None:
        self.audit.write(at=now.isoformat(), event="send", alert_id=alert["id"], kind=alert["kind"],
                         channel=channel.name, to=channel.recipient(), why=alert["summary"],
                         raised_at=alert["at"], attempt=attempt, result=result)

    def _in_quiet_hours(self, now: datetime) -> bool:
        return self.household.is_quiet(now)

    def _spool_path(self, alert_id: str, channel: str) -> Path:
        return self.spool / f"{alert_id}__{channel}.json"

    def _next_due_s(self) -> float:
        now = self.clock.now()
        waits = [(datetime.fromisoformat(e["next_at"]) - now).total_seconds() for e in self.pending()]
        return max(0.2, min([WORKER_MAX_SLEEP_S, *waits]))

    # ------------------------------------------------------------------ worker thread

    def start(self, checks: list[Callable[[datetime], Any]] | None = None) -> None:
        """Start the background delivery worker; `checks` run every minute (e.g. InactivityWatch.check)."""
        self._checks = list(checks or [])
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_checks = float("-inf")
        while not self._stop.is_set():
            try:
                if self.clock.monotonic() - last_checks >= PERIODIC_CHECK_S:
                    last_checks = self.clock.monotonic()
                    for check in self._checks:
                        check(self.clock.now())
                self.deliver_pending(self.clock.now())
                timeout = self._next_due_s()
            except Exception:  # the worker must outlive any one bad pass
                log.exception("alert delivery pass failed; retrying")
                timeout = WORKER_MAX_SLEEP_S
            self._wake.wait(timeout=timeout)
            self._wake.clear()

    def close(self) -> None:
        """Stop the worker (queued alerts stay on disk for next time); safe to call twice."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)

    def __enter__(self) -> "AlertService":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
