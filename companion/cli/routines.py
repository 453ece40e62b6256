"""`companion routines check [FILE]`, `companion routines upcoming [--hours N]` and `companion routines accept`."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from companion.config import data_dir
from companion.routines.file import RoutinesFileError, load_routines, parse_routines, read_routines_text
from companion.routines.keep import RoutinesKeeper
from companion.routines.schedule import household_for, upcoming


def add_commands(subparsers: Any) -> None:
    """Add the `routines` command (with `check` and `upcoming`) to the main CLI."""
    p = subparsers.add_parser("routines", help="check the family's routines file and see what is coming")
    sub = p.add_subparsers(dest="routines_command", required=True)
    c = sub.add_parser("check", help="check a routines file and list every problem")
    c.add_argument("file", nargs="?", help="routines file (default: [routines] file in the config)")
    c.set_defaults(func=check_command)
    e = sub.add_parser("export-ics", help="write the routines as an .ics calendar for the family's calendar app")
    e.add_argument("--file", help="routines file (default: [routines] file in the config)")
    e.add_argument("--out", help="where to write it (default: print it)")
    e.set_defaults(func=export_command)
    u = sub.add_parser("upcoming", help="list what the companion will say, and when")
    u.add_argument("--hours", type=float, default=24.0, help="how far ahead to look (default 24)")
    u.add_argument("--file", help="routines file (default: [routines] file in the config)")
    u.add_argument("--from", dest="start", metavar="YYYY-MM-DDTHH:MM",
                   help="start at this local time instead of now")
    u.set_defaults(func=upcoming_command)
    a = sub.add_parser("accept", help="use the routines file as it is now, even though it lost many routines")
    a.set_defaults(func=accept_command)


def export_command(args: argparse.Namespace, settings: Any) -> int:
    """`companion routines export-ics [--out FILE]`: the routines as a calendar the family can subscribe to."""
    from companion.routines.ics import routines_to_ics

    path = _path(args, settings, "file")
    if path is None:
        print("no routines file: give one, or set [routines] file in the config", file=sys.stderr)
        return 2
    try:
        rf = load_routines(path)
    except RoutinesFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    data = routines_to_ics(rf.routines, settings.household, settings.household.today(datetime.now(timezone.utc)))
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out}: {len(rf.routines)} routine(s); import it into the family's calendar")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def _path(args: argparse.Namespace, settings: Any, attr: str) -> Path | None:
    given = getattr(args, attr, None)
    if given:
        return Path(given)
    return Path(settings.routines.file).expanduser() if settings.routines.file else None


def check_command(args: argparse.Namespace, settings: Any) -> int:
    """Validate the file; print every problem (exit 1) or a short summary (exit 0)."""
    path = _path(args, settings, "file")
    if path is None:
        print("No routines file given. Name one (companion routines check FILE) or set "
              "[routines] file in the config.", file=sys.stderr)
        return 2
    household = settings.household
    today = household.today(datetime.now(timezone.utc))
    try:
        rf = load_routines(path, today=today)
    except RoutinesFileError as exc:
        print(f"{path}: {len(exc.problems)} problem(s) to fix:")
        for p in exc.problems:
            print(f"  {p}")
        return 1
    counts: dict[str, int] = {}
    for r in rf.routines:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing yet"
    print(f"{path}: OK — {len(rf.routines)} routines ({kinds}).")
    quiet = household_for(household, rf).quiet
    print(f"  quiet hours: {quiet.describe() if quiet else 'none'}; time zone: {household.zone_name}")
    for w in rf.warnings:
        print(f"  {w}")
    reason = RoutinesKeeper(data_dir(settings)).suspect(path.expanduser(), rf)
    if reason:
        print(f"  note: {reason}. The companion keeps the last good routines until you run: "
              "companion routines accept")
    return 0


def accept_command(args: argparse.Namespace, settings: Any) -> int:
    """Save the configured routines file, as it is now, as the last good one (after a big removal)."""
    from companion.store.private import prepare_data_dir

    path = _path(args, settings, "file")
    if path is None:
        print("No routines file: set [routines] file in the config.", file=sys.stderr)
        return 2
    prepare_data_dir(data_dir(settings))
    try:
        text = read_routines_text(path)
        rf = parse_routines(text, source=str(path))
    except RoutinesFileError as exc:
        print(f"{exc}\nFix these first (companion routines check {path}).", file=sys.stderr)
        return 1
    RoutinesKeeper(data_dir(settings)).save(path, text, rf)
    print(f"{path}: accepted, {len(rf.routines)} routine(s); the running companion uses them within seconds.")
    return 0


def upcoming_command(args: argparse.Namespace, settings: Any) -> int:
    """Print what will be said in the next N hours, in local time."""
    path = _path(args, settings, "file")
    if path is None:
        print("No routines file: set [routines] file in the config or pass --file.", file=sys.stderr)
        return 2
    household = settings.household
    try:
        rf = load_routines(path)
    except RoutinesFileError as exc:
        print(f"{exc}\nRun: companion routines check {path}", file=sys.stderr)
        return 1
    if args.start:
        try:
            start = datetime.fromisoformat(args.start).replace(tzinfo=household.zone).astimezone(timezone.utc)
        except ValueError:
            print(f"--from '{args.start}': write it like 2026-10-25T07:00", file=sys.stderr)
            return 2
    else:
        start = datetime.now(timezone.utc)
    rows = upcoming(rf, household, start, args.hours)
    print(f"Next {args.hours:g} hours from {household.local(start):%a %d %b %H:%M} ({household.zone_name}):")
    for local, occ, note in rows:
        extra = f"  ({note})" if note else ""
        print(f"  {local:%a %d %b %H:%M}  {occ.routine.kind:<11}  {occ.routine.title}{extra}")
    if not rows:
        print("  nothing scheduled")
    waiting = [r for r in rf.routines if r.kind == "message" and not r.times]
    for r in waiting:
        print(f"  next conversation  message      {r.title} (said once, unless already delivered)")
    return 0
