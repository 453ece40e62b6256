"""`companion run`: live (microphone, speaker, buttons, LEDs) or WAV files through the full loop."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
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
    from companion.config import data_dir, load_settings
    from companion.store.private import prepare_data_dir

    if args.input:
        if not args.output_dir:
            print("companion run --input needs --output-dir DIR for the replies", file=sys.stderr)
            return 2
        problem = _input_problem(args.input, Path(args.output_dir))
        if problem:
            print(f"companion: {problem}", file=sys.stderr)
            return 2
        settings = load_settings(args.config)
        prepare_data_dir(data_dir(settings))
        turns, files = run_files(settings, args.input, args.output_dir, realtime=not args.fast)
        for t in turns:
            print(f"[{t.intent or 'llm'}] {t.transcript!r} → {t.reply!r}")
        print(f"{len(turns)} turn(s); replies and turns.jsonl in {args.output_dir}")
        return 0
    run_live(args.config)
    return 0


def _input_problem(inputs: list[str], output_dir: Path) -> str | None:
    """One line about the first --input or --output-dir that cannot work, else None."""
    for name in inputs:
        p = Path(name)
        if p.is_dir():
            wavs = sorted(p.glob("*.wav"))
            example = f" (it holds {len(wavs)}: --input {wavs[0]} ...)" if wavs else ""
            return f"--input {p} is a folder; give the WAV files themselves, one --input each{example}"
        if not p.exists():
            return f"--input {p} does not exist"
        if not p.is_file():
            return f"--input {p} is not a regular file; give a WAV file"
    if output_dir.exists() and not output_dir.is_dir():
        return f"--output-dir {output_dir} is a file; name a folder for the replies"
    return None
