"""The alert service's delivery side: loading the spool, one pass per channel, the background
threads (one per channel plus housekeeping), escalation and acknowledgements from other processes.

A mixin of AlertService (alerts.py), kept apart so each file reads in one sitting.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterator

from companion.caregiver.alert import Alert, Severity
from companion.caregiver.delivery import (
    DISK_ALERT_KEY,
    OPEN_KEEP_S,
    ChannelQueue,
    DeadlineExceeded,
    Delivery,
    OpenAlert,
    backoff_s,
    call_with_deadline,
)
from companion.caregiver.spool import owner_alive, owner_tag

if TYPE_CHECKING:
    from companion.caregiver.alerts import AlertService

log = logging.getLogger(__name__)

WORKER_MAX_SLEEP_S = 30.0  # a channel thread looks at its queue at least this often
HOUSEKEEPING_S = 5.0  # acks from other processes, escalation, unsaved writes, new spool files
PERIODIC_CHECK_S = 60.0  # how often start(checks=...) callables run (inactivity watch, heartbeat)


class Worker:
    """Delivery passes and threads; the state they use lives on AlertService."""

    def __init__(self: "AlertService") -> None:
        self._stop = threading.Event()
        self._house_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._checks: list[Callable[[datetime], Any]] = []
        self._me = owner_tag()
        self.duplicates_possible = 0  # resends of a send that was in flight when a process died

    # ------------------------------------------------------------------ loading

    def _load(self: "AlertService") -> None:
        now = self.clock.now()
        opened, bad = self.files.load("open")
        for _, data in opened:
            try:
                alert = Alert.from_dict(data["alert"])
            except (KeyError, TypeError, ValueError):
                continue
            if (now - datetime.fromisoformat(alert.at)).total_seconds() > OPEN_KEEP_S:
                self.files.delete("open", f"{alert.id}.json")
                continue
            state = OpenAlert(alert, int(data.get("contacts_targeted", 1)), channels=set(data.get("channels", [])),
                              confirmed=list(data.get("confirmed", [])))
            if alert.urgent and self.s.escalate_after_min > 0:
                state.escalate_at = self.clock.monotonic() + self.s.escalate_after_min * 60
            self._open[alert.id] = state
            if alert.key:
                self._by_key[alert.key] = alert.id
        self._adopt_spool(report_bad=True)

    def _adopt_spool(self: "AlertService", report_bad: bool = True) -> None:
        """Take on spool files this process does not know yet (left by a crash or another process)."""
        entries, bad = self.files.load("spool")
        for name, data in entries:
            try:
                alert = Alert.from_dict(data["alert"])
                channel = str(data["channel"])
            except (KeyError, TypeError, ValueError) as exc:
                self.files._set_aside(self.files.directory / "spool" / name, exc)
                bad.append(name)
                continue
            q = self.queues.get(channel)
            if q is None:
                continue  # a channel no longer configured: `companion alerts list` shows it
            known = q.deliveries.get(alert.id)
            if known is not None and known.alert.revision >= alert.revision:
                continue
            sending = str(data.get("sending") or "")
            if sending and sending != self._me and owner_alive(sending):
                continue  # another live process is sending it right now
            if self.files.exists("delivered", f"{alert.id}__{channel}__r{alert.revision}"):
                self.files.delete("spool", name)
                continue
            d = Delivery(alert, channel, attempts=int(data.get("attempts", 0)), due_mono=self.clock.monotonic(),
                         last_error=str(data.get("last_error", "")), crashed_send=bool(sending), saved=True)
            q.deliveries[alert.id] = d
            with self._lock:
                if alert.id not in self._open:
                    self._open[alert.id] = OpenAlert(alert, channels={channel})
        for name in bad:
            if report_bad:
                self.raise_alert("device:spool_file", "A queued message could not be read and was set aside",
                                 {"explain": f"{name} moved to {self.files.directory / 'bad'}"},
                                 severity=Severity.WARNING)

    # ------------------------------------------------------------------ passes

    def deliver_pending(self: "AlertService", now: datetime | None = None, force: bool = False) -> dict[str, int]:
        """One synchronous pass: housekeeping, then every channel in parallel; counts sent/failed/waiting."""
        self.tick()
        counts = {"sent": 0, "failed": 0, "waiting": 0}
        with ThreadPoolExecutor(max_workers=max(1, len(self.queues))) as pool:
            for result in pool.map(lambda n: self._channel_pass(n, force), list(self.queues)):
                for k, v in result.items():
                    counts[k] += v
        return counts

    def _held(self: "AlertService", d: Delivery) -> bool:
        """INFO messages (summaries, heartbeat) wait for the end of the family's quiet hours."""
        return (d.alert.severity is Severity.INFO and d.alert.revision == 0
                and self.household.is_quiet(self.clock.now()))

    def _channel_pass(self: "AlertService", name: str, force: bool = False) -> dict[str, int]:
        """Send what is due on one channel, most urgent first, until it is empty or fails."""
        q = self.queues[name]
        counts = {"sent": 0, "failed": 0, "waiting": 0}
        if not q.lock.acquire(blocking=False):
            return counts  # another thread is sending on this channel
        try:
            tried: set[str] = set()
            while not self._stop.is_set():
                due = [d for d in q.due(self.clock.monotonic(), force) if d.alert.id not in tried and not self._held(d)]
                if not due:
                    break
                d = due[0]
                tried.add(d.alert.id)
                result = self._send_one(q, d)
                counts[result] += 1
                if result == "failed" and not force:
                    continue  # the channel is down now: only new urgent alerts are still tried
            counts["waiting"] = len(q.deliveries)
        finally:
            q.lock.release()
        return counts

    def _send_one(self: "AlertService", q: ChannelQueue, d: Delivery) -> str:
        marker = f"{d.alert.id}__{d.channel}__r{d.alert.revision}"
        if not self._claim(d, marker):
            self._drop(q, d)
            return "waiting"
        attempt = d.attempts + 1
        text = self.text_of(d.alert)
        try:
            if q.blocked():
                raise DeadlineExceeded(f"{d.channel}: earlier sends are still hanging; not starting another",
                                       threading.current_thread())
            call_with_deadline(lambda: q.channel.send(d.alert, text), self.s.send_deadline_s, d.channel)
        except Exception as exc:  # ChannelError, DeadlineExceeded, or a bug in a channel: retried the same way
            if isinstance(exc, DeadlineExceeded) and exc.thread is not threading.current_thread():
                q.abandoned.append(exc.thread)
            delay = backoff_s(attempt, self.s.retry_initial_s, self.s.retry_max_s)
            d.attempts, d.last_error = attempt, str(exc)[:300]
            d.due_mono = self.clock.monotonic() + delay
            q.down_until = max(q.down_until, d.due_mono)
            d.saved = self.files.save("spool", d.file, self._entry(d))
            self._audit_send(d, q, attempt, f"failed: {str(exc)[:200]}; retry in {delay:.0f} s")
            log.warning("alert %s via %s failed (attempt %d): %s", d.alert.id, d.channel, attempt, exc)
            return "failed"
        if d.crashed_send:
            self.duplicates_possible += 1
        self.files.save("delivered", marker, {"at": self.clock.now().isoformat()})
        self._drop(q, d)
        q.down_until = float("-inf")
        for other in q.deliveries.values():  # the channel is back: the backlog may go now
            other.due_mono = min(other.due_mono, self.clock.monotonic())
        self._audit_send(d, q, attempt, "delivered" + (" (possible repeat after a crash)" if d.crashed_send else ""))
        self._confirm(d)
        if not self.files.problem:
            self._all_clear_disk()
        return "sent"

    def _claim(self: "AlertService", d: Delivery, marker: str) -> bool:
        """Write-ahead: mark the spool file as being sent by us; False when it was done or is taken."""
        with self._spool_flock():
            if self.files.exists("delivered", marker):
                return False
            if d.saved:
                data = self.files.read("spool", d.file)
                if data is None:
                    return False  # finished (and removed) by another process
                sending = str(data.get("sending") or "")
                if data.get("alert", {}).get("revision", 0) > d.alert.revision:
                    return False
                if sending and sending != self._me:
                    if owner_alive(sending):
                        return False
                    d.crashed_send = True
            d.saved = self.files.save("spool", d.file, self._entry(d, sending=self._me))
            return True

    def _drop(self: "AlertService", q: ChannelQueue, d: Delivery) -> None:
        if q.deliveries.get(d.alert.id) is d:
            del q.deliveries[d.alert.id]
            self.files.delete("spool", d.file)

    @contextmanager
    def _spool_flock(self: "AlertService") -> Iterator[None]:
        """Across processes: the service and `companion summary --send` share the spool."""
        try:
            fd = os.open(self.files.directory / ".spool.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield  # a read-only data dir: nobody else can be writing either
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _audit_send(self: "AlertService", d: Delivery, q: ChannelQueue, attempt: int, result: str) -> None:
        self.audit.write(at=self.clock.now().isoformat(), event="send", alert_id=d.alert.id, kind=d.alert.kind,
                         revision=d.alert.revision, severity=d.alert.severity.value, channel=d.channel,
                         to=q.channel.recipient(), why=d.alert.title, raised_at=d.alert.at, attempt=attempt,
                         result=result)

    def _all_clear_disk(self: "AlertService") -> None:
        with self._lock:
            alert_id = self._by_key.get(DISK_ALERT_KEY)
            state = self._open.get(alert_id or "")
            if state is None or state.alert.resolved or self.files.unsaved:
                return
        self.resolve(alert_id, "The device can save again")  # type: ignore[arg-type]

    # ------------------------------------------------------------------ housekeeping

    def tick(self: "AlertService") -> None:
        """Retry unsaved writes, adopt new spool files, apply acknowledgements, escalate."""
        self.files.flush()
        self._adopt_spool()
        self._read_acks()
        if self.owner:
            self._escalate()

    def _read_acks(self: "AlertService") -> None:
        acks, _ = self.files.load("acks")
        for name, data in acks:
            alert_id = name.removesuffix(".json")
            with self._lock:
                state = self._open.get(alert_id)
                if state is None or state.alert.acked_by:
                    continue
                on_disk = self.files.read("open", f"{alert_id}.json") or {}
                if (on_disk.get("alert") or {}).get("acked_by"):  # another process sent the revision already
                    state.alert = Alert.from_dict(on_disk["alert"])
                    state.escalate_at = float("inf")
                    continue
                self._apply_ack(alert_id, str(data.get("by", "someone")), str(data.get("via", "command")))

    def _escalate(self: "AlertService") -> None:
        """An urgent alert nobody acknowledged goes to the next contact, in order."""
        contacts = [n for n in self.s.contacts if n.strip()]
        now = self.clock.monotonic()
        with self._lock:
            for state in list(self._open.values()):
                if not state.alert.urgent or now < state.escalate_at:
                    continue
                if state.contacts_targeted >= len(contacts):
                    state.escalate_at = float("inf")
                    continue
                nxt = contacts[state.contacts_targeted]
                state.contacts_targeted += 1
                state.escalate_at = now + self.s.escalate_after_min * 60
                before = ", ".join(contacts[:state.contacts_targeted - 1])
                note = (f"Not acknowledged by {before} within {self.s.escalate_after_min:g} minutes, "
                        f"so it now also goes to {nxt}.")
                alert = state.alert.revise(self.clock.now(), detail={**state.alert.detail, "note": note})
                state.channels |= {n for n, ch in self.channels.items() if ch.contact == nxt}
                self.audit.write(at=self.clock.now().isoformat(), event="escalated", alert_id=alert.id, to=nxt)
                log.warning("alert %s escalated to %s", alert.id, nxt)
                self._queue(alert, event="escalated")

    # ------------------------------------------------------------------ threads

    def start(self: "AlertService", checks: list[Callable[[datetime], Any]] | None = None) -> None:
        """Start the channel threads and housekeeping; `checks` run every minute (inactivity, heartbeat)."""
        self._checks = list(checks or [])
        if self._threads:
            return
        self._stop.clear()
        self.owner = True
        for name in self.queues:
            t = threading.Thread(target=self._channel_loop, args=(name,), name=f"alerts-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._housekeeping_loop, name="alerts-housekeeping", daemon=True)
        t.start()
        self._threads.append(t)

    def wake(self: "AlertService") -> None:
        """New work: every channel thread looks at its queue now."""
        for q in self.queues.values():
            q.wake.set()

    def _channel_loop(self: "AlertService", name: str) -> None:
        q = self.queues[name]
        while not self._stop.is_set():
            try:
                self._channel_pass(name)
                nxt = q.next_due()
                timeout = WORKER_MAX_SLEEP_S if nxt is None else min(WORKER_MAX_SLEEP_S,
                                                                     max(0.2, nxt - self.clock.monotonic()))
            except Exception:  # the thread must outlive any one bad pass
                log.exception("alert delivery on %s failed; retrying", name)
                timeout = WORKER_MAX_SLEEP_S
            q.wake.wait(timeout=timeout)
            q.wake.clear()

    def _housekeeping_loop(self: "AlertService") -> None:
        last_checks = float("-inf")
        while not self._stop.is_set():
            try:
                self.tick()
                if self.clock.monotonic() - last_checks >= PERIODIC_CHECK_S:
                    last_checks = self.clock.monotonic()
                    for check in self._checks:
                        check(self.clock.now())
            except Exception:
                log.exception("alert housekeeping failed; retrying")
            self.wake()
            self._house_wake.wait(timeout=HOUSEKEEPING_S)
            self._house_wake.clear()

    def pending(self: "AlertService") -> list[dict[str, Any]]:
        """Every queued (alert, channel) delivery, most urgent first (for `companion alerts list`)."""
        out = []
        now = self.clock.monotonic()
        for q in self.queues.values():
            for d in sorted(q.deliveries.values(), key=Delivery.order):
                out.append({"alert": d.alert.to_dict(), "channel": d.channel, "attempts": d.attempts,
                            "last_error": d.last_error, "next_in_s": max(0.0, d.due_mono - now),
                            "on_disk": d.saved})
        return out

    def close(self: "AlertService") -> None:
        """Stop the threads (queued alerts stay on disk for next time); safe to call twice."""
        self._stop.set()
        self._house_wake.set()
        self.wake()
        with self._changed:
            self._changed.notify_all()
        threads, self._threads = self._threads, []
        for t in threads:
            t.join(timeout=max(5.0, self.s.send_deadline_s + 1))

    def __enter__(self: "AlertService") -> "AlertService":
        return self

    def __exit__(self: "AlertService", *exc: object) -> None:
        self.close()
