"""Acknowledging an alert by link: a signed token per alert and a tiny HTTP listener on the home network.

The link in each alert is `<ack_url>/ack/<alert id>?t=<token>`; the token is an HMAC of the id
with a secret kept in the data directory, so nobody can acknowledge an alert they were not sent.
Opening the link shows a confirmation page with one button (a GET never acknowledges: mail
scanners and link previews open links on their own); pressing it POSTs and records the ack.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

if TYPE_CHECKING:
    from companion.caregiver.alerts import AlertService

log = logging.getLogger(__name__)

_SECRETS: dict[Path, bytes] = {}


def _secret(directory: Path) -> bytes:
    """The device's ack secret (created once; kept in memory if the disk cannot take it)."""
    if directory in _SECRETS:
        return _SECRETS[directory]
    path = directory / "ack.key"
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(key.hex())
        except FileExistsError:
            key = bytes.fromhex(path.read_text().strip())
        except OSError as exc:
            log.error("cannot save the ack secret %s: %s (links work until a restart)", path, exc)
    _SECRETS[directory] = key
    return key


def ack_token(directory: Path, alert_id: str) -> str:
    """The token that proves a link came from an alert we sent."""
    return hmac.new(_secret(directory), alert_id.encode(), hashlib.sha256).hexdigest()[:20]


def check_token(directory: Path, alert_id: str, token: str) -> bool:
    """Constant-time check of a link's token."""
    return hmac.compare_digest(ack_token(directory, alert_id), token or "")


class AckListener:
    """`[caregiver] ack_listen = "0.0.0.0:8377"`: answers acknowledgement links; close() stops it."""

    def __init__(self, alerts: "AlertService", listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self.alerts = alerts
        service = alerts

        class Handler(BaseHTTPRequestHandler):
            def _target(self) -> tuple[str, str] | None:
                url = urlparse(self.path)
                parts = url.path.strip("/").split("/")
                token = parse_qs(url.query).get("t", [""])[0]
                if len(parts) != 2 or parts[0] != "ack" or not check_token(service.files.directory, parts[1], token):
                    return None
                return parts[1], token

            def _page(self, code: int, body: str) -> None:
                data = (f"<!doctype html><meta name=viewport content='width=device-width'><body style='font:18px "
                        f"sans-serif;margin:24px'>{body}</body>").encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                target = self._target()
                if target is None:
                    self._page(404, "This link is not valid.")
                    return
                alert = service.get(target[0])
                what = escape(alert.title) if alert else "this alert"
                self._page(200, f"<p>{what}</p><form method=post><label>Your name <input name=by></label> "
                                f"<button style='font-size:20px'>I've seen it, I'm dealing with it</button></form>")

            def do_POST(self) -> None:  # noqa: N802
                target = self._target()
                if target is None:
                    self._page(404, "This link is not valid.")
                    return
                length = min(int(self.headers.get("Content-Length", 0) or 0), 2000)
                form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                by = (form.get("by", [""])[0].strip() or "a contact (by link)")[:60]
                alert = service.acknowledge(target[0], by=by, via="link")
                self._page(200 if alert else 404, "Thank you, it is acknowledged." if alert else "Unknown alert.")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, name="alerts-ack", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port it listens on (useful with port 0)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        """Stop listening; safe to call twice."""
        if self._thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self._thread = None  # type: ignore[assignment]
