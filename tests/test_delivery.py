"""Delivery that cannot be blocked: a poisoned spool file, a trickling webhook, a black-holed webhook,
a clock stepped back, and duplicates counted under SIGKILL — all against real local servers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from caregiver_servers import BlackHole, Hook, SteppingClock, Trickle
from test_alerts import service

from companion.clock import ManualClock, SystemClock

START = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)


def test_a_poisoned_spool_file_is_moved_aside_reported_and_blocks_nothing(tmp_path):
    hook = Hook()
    try:
        clock = ManualClock(START)
        first = service(tmp_path, clock, webhook_url=hook.url())
        good = first.raise_alert("safety:help", "Mary asked for help")  # left queued on disk (never delivered)
        spool = tmp_path / "alerts" / "spool"
        (spool / "20240506T085900Z-safety-fall-deadbeef__webhook.json").write_bytes(b"\x00{not json")
        (spool / "20240506T085800Z-x-aaaaaaaa__outbox.json").write_text('{"alert": {"id": 3}}')
        alerts = service(tmp_path, clock, webhook_url=hook.url())  # a restart finds them
        alerts.deliver_pending()
        ids = [b["id"] for b in hook.json_bodies()]
        assert good in ids  # the good alert went through on every channel
        assert (tmp_path / "outbox" / f"{good}.json").exists()
        bad = sorted(p.name for p in (tmp_path / "alerts" / "bad").iterdir())
        assert bad == ["20240506T085800Z-x-aaaaaaaa__outbox.json", "20240506T085900Z-safety-fall-deadbeef__webhook.json"]
        reports = [b for b in hook.json_bodies() if b["kind"] == "device:spool_file"]
        assert len(reports) == 2 and "set aside" in reports[0]["title"] and reports[0]["urgent"] is False
        assert not list(spool.glob("*.json"))
    finally:
        hook.close()


def test_a_trickling_webhook_never_holds_the_outbox_or_other_alerts(tmp_path):
    trickle = Trickle(every_s=5.0, total=40)  # would take 200 s to answer
    alerts = service(tmp_path, SystemClock(), webhook_url=f"http://127.0.0.1:{trickle.port}/hook",
                     webhook_timeout_s=10.0, send_deadline_s=1.5)
    alerts.start()
    try:
        first = alerts.raise_alert("safety:fall", "Mary may have fallen")
        second = alerts.raise_alert("safety:help", "Mary asked for help")
        outbox = tmp_path / "outbox"
        for _ in range(400):  # waiting for a condition
            if (outbox / f"{first}.json").exists() and (outbox / f"{second}.json").exists():
                break
            time.sleep(0.05)
        assert (outbox / f"{second}.json").exists() and trickle.finished == 0  # while the webhook still trickles
        for _ in range(400):
            if any(e["event"] == "send" and e["channel"] == "webhook" for e in alerts.audit.read()):
                break
            time.sleep(0.05)
        webhook = [e for e in alerts.audit.read() if e["event"] == "send" and e["channel"] == "webhook"]
        assert webhook and "no answer within 1.5 s" in webhook[0]["result"]
        assert trickle.finished == 0  # the sender gave up long before the server finished
    finally:
        alerts.close()
        trickle.close()


def test_a_black_holed_webhook_with_a_backlog_does_not_delay_a_new_fall(tmp_path):
    hole = BlackHole()
    clock = ManualClock(START)
    alerts = service(tmp_path, clock, webhook_url=f"http://127.0.0.1:{hole.port}/hook", webhook_timeout_s=0.5,
                     send_deadline_s=1.0, retry_initial_s=30.0, retry_max_s=600.0)
    try:
        for i in range(20):
            alerts.raise_alert("summary", f"old summary {i}")
        alerts.deliver_pending()
        waiting = [e for e in alerts.pending() if e["channel"] == "webhook"]
        assert len(waiting) == 20
        tried = [e for e in alerts.audit.read() if e["event"] == "send" and e["channel"] == "webhook"]
        assert len(tried) == 1  # the channel is down after one failure; the backlog is not hammered
        clock.advance(31)
        fall = alerts.raise_alert("safety:fall", "Mary may have fallen")
        alerts.deliver_pending()
        sends = [e for e in alerts.audit.read() if e["event"] == "send"]
        assert (tmp_path / "outbox" / f"{fall}.json").exists()
        webhook_after = [e for e in sends if e["channel"] == "webhook"][1:]
        assert webhook_after[0]["alert_id"] == fall  # the new urgent alert is tried first, before any retry
        assert len(webhook_after) == 1  # and the failure stops the pass: at most one deadline spent
    finally:
        hole.close()


def test_a_clock_stepped_back_does_not_delay_retries(tmp_path):
    port_hook = Hook()
    port = port_hook.port
    port_hook.close()  # down for now
    clock = SteppingClock(START)
    alerts = service(tmp_path, clock, webhook_url=f"http://127.0.0.1:{port}/hook", webhook_timeout_s=1.0,
                     retry_initial_s=30.0)
    alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen")
    alerts.deliver_pending()
    clock.step_wall(-3 * 3600)  # NTP corrects the clock 3 hours back
    hook = Hook(port)
    try:
        clock.advance(31)  # 31 s later by the monotonic clock
        alerts.deliver_pending()
        assert [b["id"] for b in hook.json_bodies()] == [alert_id]
    finally:
        hook.close()


CHILD = r"""
import sys, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_alerts import service
from companion.clock import SystemClock
alerts = service(Path({data!r}), SystemClock(), webhook_url={url!r}, retry_initial_s=0.2, send_deadline_s=5.0)
if {raise_n}:
    for i in range({raise_n}):
        alerts.raise_alert("safety:help", f"alert {{i}}")
    print("queued", flush=True)
while any(e["channel"] == "webhook" for e in alerts.pending()):
    alerts.deliver_pending()
    time.sleep(0.05)
print("done", flush=True)
"""


def test_duplicates_under_sigkill_are_counted_and_nothing_is_lost(tmp_path):
    """Kill the sender again and again mid-delivery; every alert arrives, duplicates are measured."""
    hook = Hook()
    data = tmp_path / "data"
    tests = str(Path(__file__).parent)
    n, kills = 30, 0
    try:
        def child(raise_n: int) -> subprocess.Popen:
            code = CHILD.format(tests=tests, data=str(data), url=hook.url(), raise_n=raise_n)
            return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                    env={**os.environ, "PYTHONPATH": tests})

        rng = random.Random(7)
        proc = child(n)
        assert proc.stdout.readline().strip() == "queued"
        while proc.poll() is None and kills < 8:
            # worst case on even kills: right after the receiver took a request, before the sender
            # could write it down; odd kills at a random moment of the delivery loop
            if kills % 2 == 0:
                hook.wait_for(len(hook.requests) + 1, timeout_s=30)
            else:
                time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = child(0)
        proc.wait(timeout=120)
    finally:
        hook.close()
    ids = [b["id"] for b in hook.json_bodies()]
    assert len(set(ids)) == n  # at least once: nothing lost
    duplicates = len(ids) - n
    print(f"\nSIGKILL during delivery: {kills} kills, {n} alerts, {len(ids)} received, {duplicates} duplicates "
          f"({duplicates / n:.0%}); every duplicate carries the same id and revision")
    assert duplicates <= kills  # at most the one send in flight per kill
