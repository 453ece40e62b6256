"""Delivery that cannot be blocked: one queue per channel, most urgent first, a total deadline per
send, retries on monotonic time, and a channel that just failed is not hammered by its backlog.

Each channel has its own queue (and, in the running service, its own thread), so a webhook that
trickles one byte every few seconds or drops packets holds only itself, never the outbox or
another contact. Within a channel the next send is chosen by (severity, age): a new fall alert
goes before twenty old retries. After a failure the channel is *down* until its back-off ends:
old deliveries wait for that, but a new urgent alert still gets one immediate try.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from companion.caregiver.alert import Alert
from companion.caregiver.channels import Channel, ChannelError

log = logging.getLogger(__name__)

DISK_ALERT_KEY = "device:cannot_save"
OPEN_KEEP_S = 2 * 86400  # open alerts (for dedupe keys and acknowledgements) are forgotten after this
MAX_ABANDONED = 2  # sends past their deadline still stuck in a channel before it is treated as blocked


def call_with_deadline(fn: Callable[[], None], deadline_s: float, what: str) -> None:
    """Run fn() but give up waiting after `deadline_s` (it goes on in a daemon thread, abandoned).

    Socket timeouts bound each read, not the whole exchange: a server trickling one byte every
    5 s never trips a 10 s read timeout. This bounds the whole send.
    """
    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"send {what}", daemon=True)
    thread.start()
    thread.join(deadline_s)
    if thread.is_alive():
        raise DeadlineExceeded(f"{what}: no answer within {deadline_s:g} s (gave up; will retry)", thread)
    if "error" in box:
        raise box["error"]


class DeadlineExceeded(ChannelError):
    """A send took longer than its total deadline; the thread still running it is attached."""

    def __init__(self, message: str, thread: threading.Thread) -> None:
        super().__init__(message)
        self.thread = thread


@dataclass
class Delivery:
    """One revision of one alert on its way through one channel."""

    alert: Alert
    channel: str
    attempts: int = 0
    due_mono: float = 0.0  # monotonic time of the next try
    last_error: str = ""
    crashed_send: bool = False  # a send was in flight when the process died: this may be a repeat
    saved: bool = False  # its spool file is on disk

    @property
    def file(self) -> str:
        """The spool file name."""
        return f"{self.alert.id}__{self.channel}.json"

    def order(self) -> tuple[int, int, str]:
        """Urgent first, then new before retried, then oldest first."""
        return (self.alert.severity.rank if not self.alert.resolved else 2, min(self.attempts, 1), self.alert.at)


@dataclass
class ChannelQueue:
    """A channel, what waits for it, and whether it is down."""

    channel: Channel
    deliveries: dict[str, Delivery] = field(default_factory=dict)  # alert id -> the newest revision waiting
    down_until: float = float("-inf")  # monotonic: after a failure, old deliveries wait until then
    abandoned: list[threading.Thread] = field(default_factory=list)
    wake: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one send at a time per channel

    def due(self, now: float, force: bool = False) -> list[Delivery]:
        """What may be tried now, in order."""
        out = []
        for d in self.deliveries.values():
            fresh_urgent = d.attempts == 0 and d.alert.urgent
            if force or (now >= d.due_mono and (now >= self.down_until or fresh_urgent)):
                out.append(d)
        return sorted(out, key=Delivery.order)

    def next_due(self) -> float | None:
        """Monotonic time of the next try, or None when nothing waits."""
        times = [max(d.due_mono, self.down_until if d.attempts or not d.alert.urgent else d.due_mono)
                 for d in self.deliveries.values()]
        return min(times) if times else None

    def blocked(self) -> bool:
        """Too many sends past their deadline still running: don't start another."""
        self.abandoned = [t for t in self.abandoned if t.is_alive()]
        return len(self.abandoned) >= MAX_ABANDONED


def backoff_s(attempt: int, initial_s: float, max_s: float) -> float:
    """initial, 2×, 4× ... capped at max_s."""
    return min(max_s, initial_s * 2 ** max(attempt - 1, 0))


@dataclass
class OpenAlert:
    """An alert's newest revision and who has it."""

    alert: Alert
    contacts_targeted: int = 1  # how many contacts (in order) it has gone to
    escalate_at: float = float("inf")  # monotonic
    channels: set[str] = field(default_factory=set)  # every channel it was queued for
    confirmed: list[str] = field(default_factory=list)  # contact names, in the order they confirmed

    def to_dict(self) -> dict[str, Any]:
        return {"alert": self.alert.to_dict(), "contacts_targeted": self.contacts_targeted,
                "channels": sorted(self.channels), "confirmed": self.confirmed}
