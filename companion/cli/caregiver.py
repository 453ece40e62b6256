"""Caregiver commands: `companion summary` and `companion alerts list|retry`."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from companion.caregiver.alerts import AlertService
from companion.caregiver.summary import build_summary, render_text, summary_title
from companion.caregiver.summary_html import render_html
from companion.clock import Clock, SystemClock
from companion.config import Settings, data_dir
from companion.errors import CompanionError
from companion.store.store import Store


def add_commands(subparsers: Any) -> None:
    """Register `summary` and `alerts` on the main argparse subparsers."""
    p = subparsers.add_parser("summary", help="write (and optionally send) a wellbeing summary for the family")
    p.add_argument("--period", choices=("day", "week"), default="day", help="last 24 hours or last 7 days")
    p.add_argument("--out", type=Path, default=None, help="folder for the .html and .txt (default: <data dir>/summaries)")
    p.add_argument("--send", action="store_true", help="queue it to the caregiver channels and try to deliver now")
    p.set_defaults(func=cmd_summary)

    a = subparsers.add_parser("alerts", help="show or retry queued caregiver alerts")
    sub = a.add_subparsers(dest="alerts_command", required=True)
    sub.add_parser("list", help="alerts still waiting to be delivered, and the last audit entries").set_defaults(func=cmd_alerts_list)
    sub.add_parser("retry", help="try every queued alert now, ignoring the back-off").set_defaults(func=cmd_alerts_retry)

    f = subparsers.add_parser("report-failure", help="(run by systemd) say in the journal and to the family that "
                                                     "the companion service has stopped")
    f.add_argument("--unit", default="companion.service", help="the unit that failed")
    f.set_defaults(func=cmd_report_failure)


def write_summary(settings: Settings, period: str, out: Path | None, clock: Clock,
                  send: bool = False) -> tuple[Path, Path, str | None, str]:
    """Build the summary, write <out>/summary-<date>-<period>.html/.txt, queue it if `send`; returns paths, alert id, headline."""
    directory = data_dir(settings)
    store = Store.open(directory)
    try:
        alerts = AlertService.from_settings(settings, directory, clock)
        summary = build_summary(store, settings, clock, period, audit=alerts.audit)  # type: ignore[arg-type]
    finally:
        store.close()
    text, html = render_text(summary), render_html(summary)
    out = out or directory / "summaries"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"summary-{summary.end:%Y-%m-%d}-{period}"
    html_path, text_path = stem.with_suffix(".html"), stem.with_suffix(".txt")
    html_path.write_text(html, encoding="utf-8")
    text_path.write_text(text, encoding="utf-8")
    alert_id = None
    if send:
        alert_id = alerts.raise_alert("summary", f"{summary_title(summary)}: {summary.headline}",
                                      {"text": text, "html": html, "period": period}, urgent=False)
        alerts.deliver_pending(clock.now())
    return html_path, text_path, alert_id, summary.headline


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    """`companion summary --period day|week [--out DIR] [--send]`."""
    try:
        html_path, text_path, alert_id, headline = write_summary(settings, args.period, args.out, SystemClock(), args.send)
    except CompanionError as exc:
        print(f"error: {exc}")
        return 2
    print(headline)
    print(f"wrote {html_path}")
    print(f"wrote {text_path}")
    if alert_id:
        alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
        waiting = [e for e in alerts.pending() if e["alert"]["id"] == alert_id]
        print(f"queued as {alert_id}; " + (f"{len(waiting)} channel(s) will be retried by the running companion"
                                            if waiting else "delivered to every channel"))
    return 0


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    """Show alerts waiting for delivery and the last 15 audit entries."""
    alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
    pending = alerts.pending()
    print(f"{len(pending)} delivery(ies) waiting")
    for e in pending:
        a = e["alert"]
        print(f"  {a['id']}  via {e['channel']}: attempts {e['attempts']}, next {e['next_at']}, "
              f"last error: {e['last_error'] or '-'}")
    print("recent audit entries:")
    for entry in alerts.audit.read()[-15:]:
        print(f"  {entry.get('at')}  {entry.get('event'):6}  {entry.get('kind')}  "
              f"{entry.get('channel', '')} {entry.get('to', '')} {entry.get('result', '')}".rstrip())
    return 0


def cmd_alerts_retry(args: argparse.Namespace, settings: Settings) -> int:
    """Try every waiting alert now."""
    alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
    counts = alerts.deliver_pending(datetime.now().astimezone(), force=True)
    print(f"sent {counts['sent']}, failed {counts['failed']}, still waiting {counts['waiting']}")
    return 0 if counts["failed"] == 0 else 1


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
