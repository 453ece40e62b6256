"""Command line: arguments → settings → the command's module. One error path for every command."""

from __future__ import annotations

import argparse
import logging
import sys

from companion.cli import bench, caregiver, chat, conversations, demo, doctor, emotion, hardware, memory, routines, run
from companion.config import load_settings
from companion.errors import CompanionError

# Each module adds its own subcommands with add_commands(subparsers), in the order --help lists them.
COMMANDS = (run, chat, demo, doctor, bench, memory, routines, caregiver, emotion, conversations, hardware)


def build_parser() -> argparse.ArgumentParser:
    """All subcommands."""
    p = argparse.ArgumentParser(prog="companion", description="An offline voice companion for older adults.")
    p.add_argument("--config", help="config file (default: $COMPANION_CONFIG or ~/.config/companion/config.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `companion` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # the live service loads its config itself, keeping the last good one
        settings = None if getattr(args, "loads_config_itself", False) else load_settings(args.config)
        return int(args.func(args, settings) or 0)
    except CompanionError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
