"""Real local servers for the caregiver tests: a webhook/ntfy receiver, a trickling and a black-holed
HTTP server, an SMTP server, a Mosquitto broker, and a clock whose wall time can step back."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from companion.clock import ManualClock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hook:
    """An HTTP server on 127.0.0.1 that records every POST (JSON webhooks, apprise json://, ntfy://)."""

    def __init__(self, port: int | None = None, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = status
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.arrived:
                    if hook.status == 200:
                        hook.requests.append((self.path, dict(self.headers), body))
                    hook.arrived.notify_all()
                self.send_response(hook.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id":"x","event":"message"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def json_bodies(self, path: str | None = None) -> list[dict]:
        return [json.loads(b) for p, _, b in self.requests if path is None or p.startswith(path)]

    def wait_for(self, count: int, timeout_s: float = 20.0) -> bool:
        """Wait (a condition, not a timed assertion) until `count` requests arrived."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout_s)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Trickle:
    """Accepts a request and answers one byte every `every_s` seconds, for `total` bytes."""

    def __init__(self, every_s: float = 5.0, total: int = 4) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.every_s, self.total = every_s, total
        self.connections = 0
        self.finished = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        try:
            conn.recv(65536)
            for i in range(self.total):
                if self._stop.wait(self.every_s):
                    break
                conn.sendall(reply[i:i + 1])
        except OSError:
            pass
        finally:
            conn.close()
            self.finished += 1

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


class BlackHole:
    """A port that accepts connections (into the backlog) and never reads or answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class SteppingClock(ManualClock):
    """A ManualClock whose wall time can be stepped back (NTP correcting a Pi without an RTC);
    monotonic time never goes back."""

    def step_wall(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class Smtp:
    """aiosmtpd on 127.0.0.1, collecting every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
                outer.messages.append(envelope)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


class Mosquitto:
    """A real Mosquitto broker on 127.0.0.1 (Debian package `mosquitto`, installed by setup.sh --dev)."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.port = free_port()
        conf = directory / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):  # wait until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError(f"mosquitto did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def at(start: datetime, **delta: float) -> datetime:
    return start + timedelta(**delta)
