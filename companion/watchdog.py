"""systemd's sd_notify protocol (READY, WATCHDOG, STATUS, STOPPING) over $NOTIFY_SOCKET, standard library only.

Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op. The watchdog
keep-alive must come from the main loop itself, so that a hung loop stops
pinging and systemd restarts the service (WatchdogSec= in companion.service).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify datagrams; a no-op when not started by systemd with Type=notify."""

    def __init__(self, socket_path: str | None, *, watchdog_interval_s: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.socket_path = socket_path or None
        self.watchdog_interval_s = watchdog_interval_s  # systemd's WatchdogSec, if the watchdog is on
        self._monotonic = monotonic
        self._last_ping = -float("inf")
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Notifier":
        """Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as systemd sets them."""
        env = os.environ if environ is None else environ
        interval = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            interval = int(usec) / 1_000_000
        return cls(env.get("NOTIFY_SOCKET"), watchdog_interval_s=interval)

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self.socket_path is not None

    def notify(self, message: str) -> bool:
        """Send one raw sd_notify message ("KEY=value" lines); False if not delivered."""
        if self.socket_path is None:
            return False
        address = self.socket_path
        if address.startswith("@"):
            address = "\0" + address[1:]  # Linux abstract socket namespace
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode("utf-8"), address)
            return True
        except OSError as exc:
            if not self._warned:  # say it once; a broken notify socket must not flood the journal
                log.warning("cannot notify systemd on %s: %s", self.socket_path, exc)
                self._warned = True
            return False

    def ready(self, status: str = "") -> bool:
        """Start-up finished (models loaded): systemd marks the service active."""
        return self.notify("READY=1" + (f"\nSTATUS={_one_line(status)}" if status else ""))

    def status(self, text: str) -> bool:
        """A short human status shown by `systemctl status companion`."""
        return self.notify(f"STATUS={_one_line(text)}")

    def stopping(self) -> bool:
        """Shutdown began."""
        return self.notify("STOPPING=1")

    def ping(self) -> bool:
        """Unconditional watchdog keep-alive."""
        self._last_ping = self._monotonic()
        return self.notify("WATCHDOG=1")

    def kick(self) -> bool:
        """Keep-alive from the main loop, rate-limited to twice per watchdog interval; cheap to call often."""
        if self.socket_path is None or self.watchdog_interval_s is None:
            return False
        if self._monotonic() - self._last_ping < self.watchdog_interval_s / 2:
            return False
        return self.ping()

    def close(self) -> None:
        """Close the socket; safe to call twice."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "Notifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())
