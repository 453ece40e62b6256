"""Command line: arguments → settings → wiring. No conversation logic lives here."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from .config import load_settings
from .errors import CompanionError

log = logging.getLogger("companion")

# Modules that add their own subcommands with add_commands(subparsers).
COMMAND_MODULES: list[str] = ["companion.memory_cli", "companion.routines_cli", "companion.caregiver_cli",
                              "companion.hardware_test", "companion.emotion_cli"]


def _cmd_run(args: argparse.Namespace, settings) -> int:
    from .app import run_files, run_live

    if args.input:
        if not args.output_dir:
            print("companion run --input needs --output-dir DIR for the replies", file=sys.stderr)
            return 2
        turns, files = run_files(settings, args.input, args.output_dir, realtime=not args.fast)
        for t in turns:
            print(f"[{t.intent or 'llm'}] {t.transcript!r} → {t.reply!r}")
        print(f"{len(turns)} turn(s); replies and turns.jsonl in {args.output_dir}")
        return 0
    from .config import load_settings_or_last_good

    settings, problem = load_settings_or_last_good(args.config)
    if problem:
        log.error("config problem: %s", problem)
    run_live(settings)
    return 0


def _cmd_chat(args: argparse.Namespace, settings) -> int:
    from .chat import chat

    return chat(settings, speak=args.speak)


def _cmd_demo(args: argparse.Namespace, settings) -> int:
    from .demo import demo

    return demo(settings, Path(args.output_dir), fast=args.fast)


def _cmd_doctor(args: argparse.Namespace, settings) -> int:
    from .doctor import doctor

    return doctor(settings)


def _cmd_bench(args: argparse.Namespace, settings) -> int:
    from .bench import bench

    return bench(settings, repeats=args.repeats, json_path=args.json)


def build_parser() -> argparse.ArgumentParser:
    """All subcommands, including those contributed by feature modules."""
    p = argparse.ArgumentParser(prog="companion", description="An offline voice companion for older adults.")
    p.add_argument("--config", help="config file (default: $COMPANION_CONFIG or ~/.config/companion/config.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="talk to it: live microphone and speaker, or WAV files through the full loop")
    r.add_argument("--input", action="append", metavar="WAV", help="feed this WAV as if from the microphone (repeatable)")
    r.add_argument("--output-dir", metavar="DIR", help="where reply-NNN.wav and turns.jsonl go (with --input)")
    r.add_argument("--fast", action="store_true", help="with --input: don't pace audio in real time")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("chat", help="type instead of speaking")
    c.add_argument("--speak", action="store_true", help="also speak the replies through the speaker")
    c.set_defaults(func=_cmd_chat)

    d = sub.add_parser("demo", help="a short scripted spoken conversation, no microphone needed")
    d.add_argument("--output-dir", default="demo-out", metavar="DIR", help="where the reply WAVs go (default demo-out)")
    d.add_argument("--fast", action="store_true", help="don't pace audio in real time")
    d.set_defaults(func=_cmd_demo)

    doc = sub.add_parser("doctor", help="check audio devices and models; say what is missing and how to fix it")
    doc.set_defaults(func=_cmd_doctor)

    b = sub.add_parser("bench", help="measure latency, streaming speed-up, cut-offs, idle CPU and memory")
    b.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    b.add_argument("--repeats", type=int, default=3, help="runs of the utterance set (default 3)")
    b.set_defaults(func=_cmd_bench)

    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `companion` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "run" and not getattr(args, "input", None):
            settings = None  # the live service loads its config itself, keeping the last good one
        else:
            settings = load_settings(args.config)
        return int(args.func(args, settings) or 0)
    except CompanionError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
