"""`companion run`: live (microphone, speaker, buttons, LEDs) or WAV files through the full loop."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def add_commands(subparsers: Any) -> None:
    """Register `companion run`."""
    r = subparsers.add_parser("run", help="talk to it: live microphone and speaker, or WAV files through the full loop")
    r.add_argument("--input", action="append", metavar="WAV", help="feed this WAV as if from the microphone (repeatable)")
    r.add_argument("--output-dir", metavar="DIR", help="where reply-NNN.wav and turns.jsonl go (with --input)")
    r.add_argument("--fast", action="store_true", help="with --input: don't pace audio in real time")
    r.set_defaults(func=cmd_run, loads_config_itself=True)


def cmd_run(args: argparse.Namespace, settings) -> int:
    """Live, the service keeps its last good config; with --input, the given one."""
    from companion.app import run_files, run_live
    from companion.config import load_settings, load_settings_or_last_good

    if args.input:
        if not args.output_dir:
            print("companion run --input needs --output-dir DIR for the replies", file=sys.stderr)
            return 2
        turns, files = run_files(load_settings(args.config), args.input, args.output_dir, realtime=not args.fast)
        for t in turns:
            print(f"[{t.intent or 'llm'}] {t.transcript!r} → {t.reply!r}")
        print(f"{len(turns)} turn(s); replies and turns.jsonl in {args.output_dir}")
        return 0
    settings, problem = load_settings_or_last_good(args.config)
    if problem:
        log.error("config problem: %s", problem)
    run_live(settings, config_problem=problem)  # the family gets a "needs attention" alert
    return 0
