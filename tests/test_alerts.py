"""Alert delivery against real local servers: a webhook that comes back, an SMTP server, the audit log."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from companion.caregiver.alerts import AlertService
from companion.caregiver.inactivity import InactivityWatch
from companion.clock import ManualClock, SystemClock
from companion.config import Settings
from companion.errors import ConfigError
from companion.store.journal import TurnRow
from companion.store.store import Store

START = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)  # 10:00 in London


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hook:
    """A real HTTP server on 127.0.0.1 that records every POST."""

    def __init__(self, port: int) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def service(tmp_path, clock, **caregiver) -> AlertService:
    settings = Settings().replace(caregiver=caregiver, routines={"timezone": "Europe/London"})
    return AlertService.from_settings(settings, tmp_path, clock)


def test_webhook_down_then_up_delivers_exactly_once(tmp_path):
    port = free_port()
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, webhook_url=f"http://127.0.0.1:{port}/hook", retry_initial_s=30.0,
                     webhook_timeout_s=2.0)
    alert_id = alerts.raise_alert("safety:fall", "She may have fallen", {"category": "fall"})
    first = alerts.deliver_pending(clock.now())
    assert first == {"sent": 1, "failed": 1, "waiting": 0}  # outbox yes, webhook down
    hook = Hook(port)  # the receiver comes back
    try:
        clock.advance(10)
        assert alerts.deliver_pending(clock.now()) == {"sent": 0, "failed": 0, "waiting": 1}  # backing off
        assert hook.requests == []
        clock.advance(25)
        assert alerts.deliver_pending(clock.now())["sent"] == 1
        for _ in range(3):  # later passes must not send it again
            clock.advance(3600)
            alerts.deliver_pending(clock.now())
        assert len(hook.requests) == 1
        headers, body = hook.requests[0]
        assert headers["X-Companion-Alert-Id"] == alert_id
        payload = json.loads(body)
        assert payload["id"] == alert_id and payload["kind"] == "safety:fall" and payload["urgent"] is True
        assert alerts.pending() == []
    finally:
        hook.close()
    sends = [e for e in alerts.audit.read() if e["event"] == "send" and e["channel"] == "webhook"]
    assert [e["result"].split(":")[0] for e in sends] == ["failed", "delivered"]
    assert sends[1]["to"] == f"http://127.0.0.1:{port}/hook" and sends[1]["why"] == "She may have fallen"
    assert sends[1]["attempt"] == 2


def test_backoff_doubles_and_is_capped(tmp_path):
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, webhook_url=f"http://127.0.0.1:{free_port()}/x",
                     retry_initial_s=10.0, retry_max_s=40.0, webhook_timeout_s=1.0)
    alerts.raise_alert("help", "She asked for help")
    delays = []
    for _ in range(4):
        alerts.deliver_pending(clock.now(), force=True)
        entry = next(e for e in alerts.pending() if e["channel"] == "webhook")
        delays.append((datetime.fromisoformat(entry["next_at"]) - clock.now()).total_seconds())
    assert delays == [10.0, 20.0, 40.0, 40.0]


def test_delivered_marker_prevents_a_resend_after_a_crash(tmp_path):
    port = free_port()
    hook = Hook(port)
    try:
        clock = ManualClock(START)
        alerts = service(tmp_path, clock, webhook_url=f"http://127.0.0.1:{port}/hook")
        alert_id = alerts.raise_alert("help", "She asked for help")
        # Simulate a crash after the send was recorded but before the spool file was removed.
        (alerts.delivered / f"{alert_id}__webhook").write_text("earlier")
        alerts.deliver_pending(clock.now())
        assert hook.requests == [] and alerts.pending() == []
    finally:
        hook.close()


def test_smtp_delivery_and_audit(tmp_path):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock = ManualClock(START)
        alerts = service(tmp_path, clock, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                         smtp_from="companion@home.example", smtp_to=["son@example.org"])
        alert_id = alerts.raise_alert("missed_medication", "Missed medication: heart tablet", {"due_local": "08:00"})
        assert alerts.deliver_pending(clock.now())["sent"] == 2
    finally:
        controller.stop()
    assert len(received) == 1
    env = received[0]
    assert env.rcpt_tos == ["son@example.org"]
    text = env.content.decode()
    assert "Subject: [Companion] URGENT: Missed medication: heart tablet" in text
    assert f"<{alert_id}@companion.local>" in text and "When: Monday 06 May 2024, 10:00 (BST)" in text
    sends = [e for e in alerts.audit.read() if e["event"] == "send"]
    assert {(e["channel"], e["result"]) for e in sends} == {("email", "delivered"), ("outbox", "delivered")}
    assert next(e for e in sends if e["channel"] == "email")["to"] == "son@example.org"


def test_smtp_server_down_is_retried(tmp_path):
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False,
                     smtp_from="a@b.c", smtp_to=["d@e.f"], smtp_timeout_s=2.0)
    alerts.raise_alert("help", "She asked for help")
    assert alerts.deliver_pending(clock.now())["failed"] == 1
    assert [e["channel"] for e in alerts.pending()] == ["email"]


def test_worker_thread_delivers_and_stops(tmp_path):
    alerts = service(tmp_path, SystemClock())
    alerts.start()
    try:
        alert_id = alerts.raise_alert("help", "She asked for help")
        outbox = tmp_path / "outbox" / f"{alert_id}.json"
        for _ in range(200):  # waiting for a condition, not measuring time
            if outbox.exists() and not alerts.pending():
                break
            time.sleep(0.05)
        assert json.loads(outbox.read_text())["id"] == alert_id
    finally:
        alerts.close()
        alerts.close()  # twice is fine
    assert alerts._thread is None


def test_quiet_hours_hold_summaries_not_urgent_alerts(tmp_path):
    clock = ManualClock(datetime(2024, 5, 6, 21, 30, tzinfo=timezone.utc))  # 22:30 in London
    alerts = service(tmp_path, clock, quiet_hours="21:00-08:00")
    alerts.raise_alert("summary", "Daily summary", {"text": "all well"}, urgent=False)
    alerts.raise_alert("safety:fall", "She may have fallen")
    assert alerts.deliver_pending(clock.now()) == {"sent": 1, "failed": 0, "waiting": 1}
    clock.set(datetime(2024, 5, 7, 7, 5, tzinfo=timezone.utc))  # 08:05 in London
    assert alerts.deliver_pending(clock.now())["sent"] == 1


def test_bad_quiet_hours_and_webhook_headers_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="quiet_hours"):
        service(tmp_path, ManualClock(START), quiet_hours="late")
    with pytest.raises(ConfigError, match="webhook_headers"):
        service(tmp_path, ManualClock(START), webhook_url="http://x", webhook_headers=["nocolon"])


def test_failure_reports_are_rate_limited(tmp_path):
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, failure_alert_interval_s=3600.0)
    assert alerts.report_failure("stt", "vosk crashed") is not None
    clock.advance(60)
    assert alerts.report_failure("stt", "vosk crashed again") is None
    assert alerts.report_failure("tts", "piper crashed") is not None
    clock.advance(3600)
    assert alerts.report_failure("stt", "still") is not None


def test_medication_escalation_hook(tmp_path):
    alerts = service(tmp_path, ManualClock(START))
    alerts.medication_escalation({"routine_id": "heart", "title": "Heart tablet", "due_local": "2024-05-06 08:00",
                                  "reason": "no confirmation after 2 reminder(s)", "asked": 2, "urgent": False})
    alert = alerts.pending()[0]["alert"]
    assert alert["urgent"] is True and alert["kind"] == "missed_medication"
    assert alert["summary"] == "Missed medication: Heart tablet (due 2024-05-06 08:00)"


def test_inactivity_watch(tmp_path):
    clock = ManualClock(START)  # 10:00 London
    settings = Settings().replace(caregiver={"inactivity_hours": 4.0, "daytime_start_hour": 8},
                                  routines={"timezone": "Europe/London"})
    with Store.open(tmp_path) as store:
        alerts = AlertService.from_settings(settings, tmp_path, clock)
        watch = InactivityWatch(settings, store, alerts, clock)
        store.journal.append(TurnRow(at=START - timedelta(hours=14), user="good night"))
        assert watch.check() is None  # only 2 daytime hours so far
        clock.advance(hours=1, minutes=59)
        assert watch.check() is None
        store.journal.append(TurnRow(at=clock.now(), user="morning"))  # 11:59
        clock.advance(hours=3, minutes=59)
        assert watch.check() is None  # 15:58: under 4 h since she spoke
        clock.advance(minutes=2)
        alert_id = watch.check()
        assert alert_id is not None and watch.check() is None  # once a day
        assert alerts.pending()[0]["alert"]["detail"]["last_interaction"] == "Monday 11:59"
        clock.set(datetime(2024, 5, 6, 21, 0, tzinfo=timezone.utc))  # 22:00: night, not counted
        assert watch.check() is None


def test_report_failure_command_writes_a_journal_line_and_alerts_the_family(tmp_path):
    """What companion-failed.service runs when the service hit its start limit."""
    import os
    import subprocess
    import sys

    hook = Hook(free_port())
    try:
        config = tmp_path / "config.toml"
        config.write_text(f'[memory]\ndata_dir = "{tmp_path / "data"}"\n\n[caregiver]\n'
                          f'webhook_url = "http://127.0.0.1:{hook.server.server_port}/alerts"\n')
        env = {**os.environ, "MONITOR_SERVICE_RESULT": "core-dump", "MONITOR_EXIT_CODE": "dumped",
               "MONITOR_EXIT_STATUS": "SEGV"}
        done = subprocess.run([sys.executable, "-m", "companion", "--config", str(config), "report-failure"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert ("companion.service has stopped and will not restart by itself: it crashed (SIGSEGV, a native "
                "library failed). The companion is NOT listening.") in done.stderr
        assert "companion doctor" in done.stderr
        assert len(hook.requests) == 1
        body = json.loads(hook.requests[0][1])
        assert "trouble" in json.dumps(body) and "NOT listening" in json.dumps(body)
    finally:
        hook.close()
