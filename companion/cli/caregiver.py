"""Caregiver commands: `companion summary`, `companion alerts list|retry|ack`, `companion ack`, `report-failure`."""

from __future__ import annotations

import argparse
import base64
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from companion.caregiver.alert import short_code
from companion.caregiver.alerts import AlertService
from companion.caregiver.mqtt import MqttBridge
from companion.caregiver.presence import Presence
from companion.caregiver.summary import build_summary
from companion.caregiver.summary_html import render_html
from companion.caregiver.summary_text import headline, render_json, render_text, title_of, to_json
from companion.clock import Clock, SystemClock
from companion.config import Settings, data_dir
from companion.store.store import Store


def add_commands(subparsers: Any) -> None:
    """Register `summary`, `alerts`, `ack` and `report-failure`."""
    p = subparsers.add_parser("summary", help="write (and optionally send) a wellbeing summary for the family")
    p.add_argument("--period", choices=("day", "week"), default="day", help="last 24 hours or last 7 days")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the .html, .txt and .json (default: <data dir>/summaries)")
    p.add_argument("--send", action="store_true", help="send it to the caregiver channels now (the timers do this)")
    p.set_defaults(func=cmd_summary)

    a = subparsers.add_parser("alerts", help="show, retry or acknowledge caregiver alerts")
    sub = a.add_subparsers(dest="alerts_command", required=True)
    sub.add_parser("list", help="open alerts, deliveries still waiting, and the last audit entries").set_defaults(
        func=cmd_alerts_list)
    sub.add_parser("retry", help="try every queued alert now, ignoring the back-off").set_defaults(func=cmd_alerts_retry)
    ack = sub.add_parser("ack", help="acknowledge an alert (stops its escalation to the next contact)")
    _ack_args(ack)
    k = subparsers.add_parser("ack", help="acknowledge an alert: companion ack CODE [--by NAME]")
    _ack_args(k)

    f = subparsers.add_parser("report-failure", help="(run by systemd) say in the journal and to the family that "
                                                     "the companion service has stopped")
    f.add_argument("--unit", default="companion.service", help="the unit that failed")
    f.set_defaults(func=cmd_report_failure)


def _ack_args(p: Any) -> None:
    p.add_argument("alert", help="the alert id, or the 8-character code at its end (shown in every alert)")
    p.add_argument("--by", default="", help="your name, shown to the others (default: your user name)")
    p.set_defaults(func=cmd_ack)


def write_summary(settings: Settings, period: str, out: Path | None, clock: Clock,
                  send: bool = False) -> tuple[Path, Path, str | None, str]:
    """Build the summary, write <out>/summary-<date>-<period>.html/.txt/.json, send it if `send`.

    Returns (html path, text path, alert id, headline).
    """
    directory = data_dir(settings)
    alerts = AlertService.from_settings(settings, directory, clock)
    presence = Presence(directory / "caregiver" / "presence.json", clock)
    store = Store.open(directory)
    try:
        summary = build_summary(store, settings, clock, period, audit=alerts.audit,  # type: ignore[arg-type]
                                presence=presence)
    finally:
        store.close()
    text, data = render_text(summary), render_json(summary)
    page, _ = render_html(summary, inline_images=True)
    mail, images = render_html(summary)
    out = out or directory / "summaries"
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = out / f"summary-{summary.end:%Y-%m-%d}-{period}"
    html_path, text_path = stem.with_suffix(".html"), stem.with_suffix(".txt")
    html_path.write_text(page, encoding="utf-8")
    text_path.write_text(text, encoding="utf-8")
    stem.with_suffix(".json").write_text(data, encoding="utf-8")
    alert_id = None
    line, _ = headline(summary)
    if send:
        bridge = MqttBridge.from_settings(settings, alerts)  # Home Assistant / the agency get the figures too
        if bridge is not None:
            bridge.connected.wait(10)
        alert_id = alerts.raise_alert("summary", f"{title_of(summary)}: {line}", {
            "text": text, "html": mail, "json": data, "period": period,
            "images": {cid: base64.b64encode(png).decode() for cid, png in images.items()}})
        alerts.deliver_pending()
        alerts.close()
        if bridge is not None:
            bridge.publish_event("summary", to_json(summary))
            if not bridge.flush():
                print("MQTT broker not reached; the summary went to the other channels", file=sys.stderr)
            bridge.close()
    return html_path, text_path, alert_id, line


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    """`companion summary --period day|week [--out DIR] [--send]`."""
    html_path, text_path, alert_id, line = write_summary(settings, args.period, args.out, SystemClock(), args.send)
    print(line)
    print(f"wrote {html_path} (and .txt, .json)")
    if alert_id:
        alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
        waiting = [e["channel"] for e in alerts.pending() if e["alert"]["id"] == alert_id]
        print(f"sent as {alert_id}" + (f"; waiting for {', '.join(waiting)} (retried by the running companion)"
                                      if waiting else " to every channel"))
    return 0


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    """Open alerts, deliveries waiting, and the last 15 audit entries."""
    alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
    print(f"data: {data_dir(settings)}")
    opened = alerts.open_alerts()
    print(f"{len(opened)} open alert(s)")
    for a in opened:
        state = f"acknowledged by {a.acked_by}" if a.acked_by else f"not acknowledged (companion ack {short_code(a.id)})"
        print(f"  {a.at[:16]}  {a.severity.value:7}  {a.title}  — {state}")
    pending = alerts.pending()
    print(f"{len(pending)} delivery(ies) waiting")
    for e in pending:
        print(f"  {e['alert']['id']} r{e['alert']['revision']} via {e['channel']}: attempts {e['attempts']}, "
              f"last error: {e['last_error'] or '-'}")
    print("recent audit entries:")
    for entry in alerts.audit.read()[-15:]:
        print(f"  {entry.get('at')}  {entry.get('event'):12}  {entry.get('kind', '')}  "
              f"{entry.get('channel', '')} {entry.get('to', '')} {entry.get('result', '')}".rstrip())
    return 0


def cmd_alerts_retry(args: argparse.Namespace, settings: Settings) -> int:
    """Try every waiting alert now."""
    alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
    counts = alerts.deliver_pending(force=True)
    alerts.close()
    print(f"sent {counts['sent']}, failed {counts['failed']}, still waiting {counts['waiting']}")
    return 0 if counts["failed"] == 0 else 1


def cmd_ack(args: argparse.Namespace, settings: Settings) -> int:
    """`companion ack CODE`: record who saw the alert; the running companion stops escalating it."""
    import getpass

    alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
    by = args.by or getpass.getuser()
    alert = alerts.acknowledge(args.alert, by=by, via="command")
    if alert is None:
        codes = ", ".join(f"{short_code(a.id)} ({a.title})" for a in alerts.open_alerts()) or "none"
        print(f"no open alert {args.alert!r}; open alerts: {codes}", file=sys.stderr)
        return 1
    alerts.deliver_pending()
    alerts.close()
    print(f"acknowledged: {alert.title} (by {by}); the others are told, and it goes to nobody else")
    return 0


def failure_line(unit: str, environ: dict[str, str]) -> str:
    """One journal line, in words, from what systemd tells an OnFailure= unit about the failed one."""
    result = environ.get("MONITOR_SERVICE_RESULT", "")
    code, status = environ.get("MONITOR_EXIT_CODE", ""), environ.get("MONITOR_EXIT_STATUS", "")
    how = {"exit-code": f"it exited with status {status}", "signal": f"it was killed by signal SIG{status}",
           "core-dump": f"it crashed (SIG{status}, a native library failed)", "watchdog": "it stopped responding",
           "start-limit-hit": "it failed to start too often"}.get(result, f"{result or 'failed'} {code} {status}".strip())
    return (f"{unit} has stopped and will not restart by itself: {how}. The companion is NOT listening. "
            f"Run `sudo -u companion /opt/companion/bin/companion doctor` to see why, fix it, then "
            f"`sudo systemctl reset-failed {unit} && sudo systemctl start {unit}`.")


def cmd_report_failure(args: argparse.Namespace, settings: Settings) -> int:
    """OnFailure= of companion.service: a clear journal line, and an alert to the family if a channel is set."""
    import os
    import sys

    line = failure_line(args.unit, dict(os.environ))
    print(line, file=sys.stderr, flush=True)
    try:
        alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
        alerts.report_failure(args.unit, line)
        alerts.deliver_pending(datetime.now().astimezone())
    except Exception as exc:  # the journal line above is the one thing that must happen
        print(f"could not alert the family: {exc}", file=sys.stderr)
        return 1
    return 0
