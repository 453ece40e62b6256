"""The alert service's API against real local servers: never failing on the disk, knowing who
received an alert, one alert per ongoing event, acknowledgement and escalation."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from caregiver_servers import Hook, free_port

from companion.caregiver.alert import Severity
from companion.caregiver.alerts import AlertService
from companion.clock import ManualClock, SystemClock
from companion.config import Settings

START = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)  # 10:00 in London


def service(directory: Path, clock, owner: bool = False, **caregiver) -> AlertService:
    caregiver.setdefault("retry_initial_s", 30.0)
    caregiver.setdefault("send_deadline_s", 5.0)
    settings = Settings().replace(caregiver=caregiver, routines={"timezone": "Europe/London"},
                                  conversation={"user_name": "Mary"})
    return AlertService.from_settings(settings, directory, clock, owner=owner)


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def readonly_dir(tmp_path):
    """A data directory nothing can be written to: a read-only tmpfs as root, else a 0500 folder."""
    d = tmp_path / "ro"
    if _mount_tmpfs(d, "size=1m,ro"):
        yield d
        subprocess.run(["umount", str(d)], check=True)
    else:
        d.chmod(0o500)
        yield d
        d.chmod(0o700)


@pytest.fixture
def full_dir(tmp_path):
    """A tiny tmpfs filled up (as root); else a file-size limit makes every write fail the same way."""
    d = tmp_path / "full"
    if _mount_tmpfs(d, "size=64k"):
        try:
            (d / "filler").write_bytes(b"x" * 200_000)
        except OSError:
            pass  # the disk is full now
        yield d
        subprocess.run(["umount", str(d)], check=True)
    else:
        import resource
        import signal

        old = resource.getrlimit(resource.RLIMIT_FSIZE)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, old[1]))
        yield d
        resource.setrlimit(resource.RLIMIT_FSIZE, old)


# ---------------------------------------------------------------- 1. never fails because of the disk


@pytest.mark.parametrize("which", ["readonly_dir", "full_dir"])
def test_raise_alert_without_a_disk_still_delivers_and_says_it_cannot_save(which, request):
    data = request.getfixturevalue(which)
    hook = Hook()
    try:
        clock = ManualClock(START)
        alerts = service(data, clock, webhook_url=hook.url(), outbox_dir=str(data / "outbox"))
        alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen", {"category": "fall"})  # must not raise
        assert alert_id
        assert alerts.files.unsaved > 0 and "cannot" in alerts.files.problem
        counts = alerts.deliver_pending()
        assert counts["sent"] >= 2  # the fall and the "cannot save" alert, from memory
        titles = [b["title"] for b in hook.json_bodies()]
        assert any("Mary may have fallen" in t for t in titles)
        assert any("cannot save" in t for t in titles)
        assert alerts.confirmed(alert_id) == ["your family"]
        # the outbox itself is on the broken disk: it keeps failing, and is retried, never blocking the webhook
        assert any(e["channel"] == "outbox" for e in alerts.pending())
    finally:
        hook.close()


def test_unsaved_alerts_reach_the_disk_when_it_works_again(tmp_path):
    alerts_dir = tmp_path / "alerts"
    alerts_dir.mkdir()
    clock = ManualClock(START)
    blocker = alerts_dir / "spool"
    blocker.write_text("a file where the folder should be")  # every spool write fails
    alerts = service(tmp_path, clock)
    alert_id = alerts.raise_alert("safety:help", "Mary asked for help")
    assert alerts.files.unsaved and alerts.pending()
    blocker.unlink()
    blocker.mkdir()
    alerts.tick()
    assert alerts.files.unsaved == 0 and alerts.files.problem == ""
    assert (alerts_dir / "open" / f"{alert_id}.json").exists()


# ---------------------------------------------------------------- 2. who actually received it


def test_confirmed_names_the_contacts_whose_channel_delivered(tmp_path):
    hook = Hook()
    try:
        clock = ManualClock(START)
        alerts = service(tmp_path, clock, contacts=["Susan", "Tom"],
                         contact_urls=[f"json://127.0.0.1:{hook.port}/susan", ""])
        alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen")
        assert alerts.confirmed(alert_id) == []  # nothing sent yet: "I'm trying to reach Susan"
        heard = []
        alerts.on_confirmed(lambda a, name: heard.append((a, name)))
        alerts.deliver_pending()
        assert alerts.confirmed(alert_id) == ["Susan"] and heard == [(alert_id, "Susan")]
        assert len(hook.json_bodies("/susan")) == 1  # apprise's json:// reached Susan's receiver
    finally:
        hook.close()


def test_the_outbox_alone_confirms_nobody(tmp_path):
    alerts = service(tmp_path, ManualClock(START), contacts=["Susan"])
    alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen")
    alerts.deliver_pending()
    assert alerts.confirmed(alert_id) == [] and not alerts.reaches_someone()


def test_wait_confirmed_returns_once_the_worker_delivered(tmp_path):
    hook = Hook()
    alerts = service(tmp_path, SystemClock(), contacts=["Susan"], webhook_url=hook.url())
    alerts.start()
    try:
        alert_id = alerts.raise_alert("safety:help", "Mary asked for help")
        assert alerts.wait_confirmed(alert_id, timeout_s=20) == ["Susan"]
    finally:
        alerts.close()
        alerts.close()  # twice is fine
        hook.close()


def test_webhook_down_then_up_delivers_exactly_once(tmp_path):
    port = free_port()
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, webhook_url=f"http://127.0.0.1:{port}/hook", webhook_timeout_s=2.0)
    alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen", {"category": "fall"})
    assert alerts.deliver_pending() == {"sent": 1, "failed": 1, "waiting": 1}  # outbox yes, webhook down
    assert alerts.confirmed(alert_id) == []
    hook = Hook(port)  # the receiver comes back
    try:
        clock.advance(10)
        assert alerts.deliver_pending()["sent"] == 0  # still backing off (monotonic)
        clock.advance(25)
        assert alerts.deliver_pending()["sent"] == 1
        for _ in range(3):  # later passes must not send it again
            clock.advance(3600)
            alerts.deliver_pending()
        assert len(hook.requests) == 1
        _, headers, body = hook.requests[0]
        assert headers["X-Companion-Alert-Id"] == alert_id and headers["Idempotency-Key"] == f"{alert_id}.r0"
        payload = json.loads(body)
        assert payload["id"] == alert_id and payload["urgent"] is True and payload["who"] == "Mary"
        assert "What to do now:" in payload["text"] and "companion ack" in payload["text"]
    finally:
        hook.close()
    sends = [e for e in alerts.audit.read() if e["event"] == "send" and e["channel"] == "webhook"]
    assert [e["result"].split(":")[0] for e in sends] == ["failed", "delivered"]


# ---------------------------------------------------------------- 3. one alert per ongoing event


def test_repeats_of_an_event_update_one_alert_and_the_all_clear_is_not_urgent(tmp_path):
    hook = Hook()
    try:
        clock = ManualClock(START)
        alerts = service(tmp_path, clock, webhook_url=hook.url())
        first = alerts.raise_alert("inactivity", "No answer from Mary", key="inactivity:2024-05-06")
        alerts.deliver_pending()
        clock.advance(600)
        again = alerts.raise_alert("inactivity", "Still no answer from Mary", key="inactivity:2024-05-06")
        assert again == first
        cleared = alerts.resolve(first, "Mary answered: she is fine")
        assert cleared == first
        alerts.deliver_pending()
        bodies = hook.json_bodies()
        assert [(b["id"], b["revision"]) for b in bodies] == [(first, 0), (first, 2)]  # r1 was superseded unsent
        assert bodies[-1]["resolved"] is True and bodies[-1]["urgent"] is False
        assert bodies[-1]["title"].startswith("[Companion] All clear:")
        # a new event with the same key after the all-clear is a new alert
        assert alerts.raise_alert("inactivity", "No answer again", key="inactivity:2024-05-06") != first
    finally:
        hook.close()


def test_severity_by_kind(tmp_path):
    alerts = service(tmp_path, ManualClock(START))
    kinds = {k: alerts.get(alerts.raise_alert(k, k)).severity for k in
             ("safety:fall", "inactivity", "summary", "missed_medication")}
    assert kinds == {"safety:fall": Severity.URGENT, "inactivity": Severity.WARNING,
                     "summary": Severity.INFO, "missed_medication": Severity.WARNING}


def test_medication_severity_follows_escalate(tmp_path):
    alerts = service(tmp_path, ManualClock(START))
    base = {"routine_id": "heart", "title": "heart tablet", "due_local": "2024-05-06 08:00", "reason": "no answer"}
    urgent = alerts.get(alerts.medication_escalation({**base, "escalate": True, "due": "a"}))
    normal = alerts.get(alerts.medication_escalation({**base, "escalate": False, "due": "b"}))
    off = alerts.get(alerts.medication_escalation({**base, "due": "c", "device_off": True, "escalate": True}))
    assert off.severity is Severity.WARNING  # not asked because the device was off: never URGENT
    assert urgent.severity is Severity.URGENT and normal.severity is Severity.WARNING
    assert "Mary has not confirmed taking her heart tablet (due 2024-05-06 08:00)" == normal.title
    assert "the companion was off" in off.title


# ---------------------------------------------------------------- acknowledgement and escalation


def test_unacknowledged_urgent_alert_escalates_to_the_next_contact_and_an_ack_stops_it(tmp_path):
    hook = Hook()
    try:
        clock = ManualClock(START)
        urls = [f"json://127.0.0.1:{hook.port}/{n}" for n in ("susan", "tom", "ann")]
        alerts = service(tmp_path, clock, owner=True, contacts=["Susan", "Tom", "Ann"], contact_urls=urls,
                         escalate_after_min=5.0)
        alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen")
        alerts.deliver_pending()
        assert len(hook.json_bodies("/susan")) == 1 and hook.json_bodies("/tom") == []
        clock.advance(minutes=4)
        alerts.deliver_pending()
        assert hook.json_bodies("/tom") == []
        clock.advance(minutes=1)
        alerts.deliver_pending()
        tom = hook.json_bodies("/tom")
        assert len(tom) == 1 and "Not acknowledged by Susan within 5 minutes" in tom[0]["message"]
        assert alerts.confirmed(alert_id) == ["Susan", "Tom"]
        # Tom acknowledges with the command (another process): Ann is never paged
        other = service(tmp_path, clock, contacts=["Susan", "Tom", "Ann"], contact_urls=urls)
        assert other.acknowledge(alert_id[-8:], by="Tom") is not None
        clock.advance(minutes=30)
        alerts.deliver_pending()
        assert hook.json_bodies("/ann") == []
        assert alerts.get(alert_id).acked_by == "Tom" and not alerts.get(alert_id).urgent
    finally:
        hook.close()


def test_ack_link_needs_the_right_token(tmp_path):
    import urllib.error
    import urllib.request

    from companion.caregiver.acks import AckListener

    clock = ManualClock(START)
    alerts = service(tmp_path, clock, owner=True, ack_url="http://127.0.0.1:1")
    alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen")
    listener = AckListener(alerts, "127.0.0.1:0")
    try:
        link = alerts.ack_link(alerts.get(alert_id)).replace("127.0.0.1:1", f"127.0.0.1:{listener.port}")
        assert alerts.ack_link(alerts.get(alert_id)) in alerts.text_of(alerts.get(alert_id))
        page = urllib.request.urlopen(link, timeout=10).read().decode()
        assert "Mary may have fallen" in page and alerts.get(alert_id).acked_by == ""  # a GET never acknowledges
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(urllib.request.Request(link[:-3] + "abc", data=b"by=x"), timeout=10)
        urllib.request.urlopen(urllib.request.Request(link, data=b"by=Susan"), timeout=10).read()
        assert alerts.get(alert_id).acked_by == "Susan"
    finally:
        listener.close()


def test_report_failure_is_a_needs_attention_alert_rate_limited(tmp_path):
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, failure_alert_interval_s=3600.0)
    first = alerts.report_failure("config", "timezone 'Europe/Londn' is not a known time zone")
    assert alerts.get(first).severity is Severity.WARNING
    assert alerts.text_of(alerts.get(first)).startswith("Needs attention: The companion needs attention: config")
    clock.advance(60)
    assert alerts.report_failure("config", "again") is None
    assert alerts.report_failure("tts", "piper crashed") is not None
    clock.advance(3600)
    assert alerts.report_failure("config", "still") is not None


def test_worker_thread_delivers_and_stops(tmp_path):
    alerts = service(tmp_path, SystemClock())
    alerts.start()
    try:
        alert_id = alerts.raise_alert("safety:help", "Mary asked for help")
        outbox = tmp_path / "outbox" / f"{alert_id}.json"
        for _ in range(400):  # waiting for a condition, not measuring time
            if outbox.exists() and not alerts.pending():
                break
            time.sleep(0.05)
        assert json.loads(outbox.read_text())["id"] == alert_id
    finally:
        alerts.close()
    assert alerts._threads == []


def test_quiet_hours_hold_summaries_not_urgent_alerts(tmp_path):
    clock = ManualClock(datetime(2024, 5, 6, 21, 30, tzinfo=timezone.utc))  # 22:30 in London
    alerts = service(tmp_path, clock, quiet_hours="21:00-08:00")
    alerts.raise_alert("summary", "Daily summary", {"text": "all well"})
    alerts.raise_alert("safety:fall", "Mary may have fallen")
    assert alerts.deliver_pending() == {"sent": 1, "failed": 0, "waiting": 1}
    clock.set(datetime(2024, 5, 7, 7, 5, tzinfo=timezone.utc))  # 08:05 in London
    assert alerts.deliver_pending()["sent"] == 1


def test_bad_channel_settings_are_skipped_and_reported_not_raised(tmp_path):
    alerts = service(tmp_path, ManualClock(START), webhook_url="htps://typo.example/x", webhook_headers=["nocolon"],
                     contacts=["Susan"], contact_urls=["notaservice://x"])
    assert set(alerts.channels) == {"outbox"}
    titles = [a.title for a in alerts.open_alerts()]
    assert titles and all("need attention" in t for t in titles)
    text = " ".join(alerts.text_of(a) for a in alerts.open_alerts())
    assert "webhook_url" in text and "contact_urls" in text
