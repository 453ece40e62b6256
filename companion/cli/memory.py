"""`companion memories ...`: list, export, import and forget memories from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from companion.clock import SystemClock
from companion.config import data_dir
from companion.memory import forget
from companion.memory.book import MemoryBook
from companion.memory.files import MemoryFileError, describe, export_data, import_file
from companion.store.store import Store


def add_commands(subparsers: Any) -> None:
    """Register `memories list|export|import|forget` on the main parser's subparsers."""
    mem = subparsers.add_parser("memories", help="see, export, import or forget what Companion remembers")
    sub = mem.add_subparsers(dest="memories_command", required=True)
    p = sub.add_parser("list", help="print every memory with its id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("export", help="write every memory to a human-readable JSON file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("import", help="add names and facts from a JSON file (see examples/memories.json)")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("forget", help="really delete memories by id (f12, e3) or by topic, and every copy")
    p.add_argument("ids", nargs="*", help="memory ids as shown by `companion memories list`")
    p.add_argument("--about", metavar="NAME", help="delete every memory and conversation turn that names NAME "
                                                   "(whole names: 'Ann' is not 'Anne')")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_forget)


def _book(settings: Any) -> MemoryBook:
    return MemoryBook(Store.open(data_dir(settings)), SystemClock())


def cmd_list(args: argparse.Namespace, settings: Any) -> int:
    """Print memories, one per line (or JSON)."""
    book = _book(settings)
    try:
        mems = book.all()
        if args.json:
            print(json.dumps([{"id": m.key, **m.to_doc()} for m in mems], ensure_ascii=False, indent=2))
        elif not mems:
            print("No memories yet.")
        else:
            for m in mems:
                print(describe(m))
    finally:
        book.store.close()
    return 0


def cmd_export(args: argparse.Namespace, settings: Any) -> int:
    """Write the export file (mode 0600: it is private)."""
    book = _book(settings)
    try:
        data = export_data(book)
    finally:
        book.store.close()
    args.file.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    args.file.chmod(0o600)
    print(f"wrote {args.file} ({sum(len(v) for v in data.values() if isinstance(v, list))} list entries)")
    return 0


def cmd_import(args: argparse.Namespace, settings: Any) -> int:
    """Merge a memories file: every record is checked first, then all are written in one go (or none)."""
    book = _book(settings)
    try:
        count = import_file(book, args.file)
    except MemoryFileError as exc:
        print(f"error: {args.file}: {exc}" if not str(exc).startswith(str(args.file)) else f"error: {exc}",
              file=sys.stderr)
        return 2
    finally:
        book.store.close()
    print(f"imported {count} memories from {args.file}")
    return 0


def cmd_forget(args: argparse.Namespace, settings: Any) -> int:
    """Delete by id or by name (whole names), with every copy on the device; say what went."""
    if not args.ids and not args.about:
        print("error: give memory ids (see `companion memories list`) or --about NAME", file=sys.stderr)
        return 2
    book = _book(settings)
    try:
        doomed = []
        for key in args.ids:
            m = book.get(key)
            if m is None:
                print(f"error: no memory {key!r}; ids look like f12 or e3 (see `companion memories list`)", file=sys.stderr)
                return 2
            doomed.append(m)
        plan = forget.plan(book, args.about) if args.about else forget.Plan("", [], [], [])
        plan.memories = doomed + [m for m in plan.memories if m not in doomed]
        if not args.ids and args.about:
            names = plan.names
        else:
            names = [m.subject for m in doomed if m.kind in ("person", "pet") and m.subject] + plan.names
            plan.names = list(dict.fromkeys(names))
            plan.turns = book.turns_about([m.said for m in doomed if m.said] + plan.names)
        if plan.empty:
            print("nothing to forget")
            return 0
        for m in plan.memories:
            print(f"forgetting {describe(m)}")
        if plan.turns:
            print(f"and {len(plan.turns)} conversation turn(s) that mention it")
        if not args.yes and sys.stdin.isatty() and input("Forget these? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing forgotten")
            return 1
        outbox = _outbox(settings)
        done = forget.execute(book, plan, 0.0, [outbox] if outbox else [])
        r = done.report
        print(f"forgot {len(done.plan.memories)} memories and {len(plan.turns)} conversation turns; "
              f"removed the name from {len(r.files)} other files, {r.generations} daily copies and {r.rows} records")
        if r.sent:
            print(f"{r.outbox_copies} message(s) that mention it were sent to the family already: "
                  "those copies cannot be recalled from here")
    finally:
        book.store.close()
    return 0


def _outbox(settings: Any) -> Path | None:
    """The caregiver outbox when it is configured outside the data directory."""
    folder = getattr(getattr(settings, "caregiver", None), "outbox_dir", "")
    return Path(folder).expanduser() if folder else None
