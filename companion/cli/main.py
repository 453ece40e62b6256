"""Command line: arguments → settings → the command's module. One error path for every command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from companion.cli import (
    bench,
    caregiver,
    chat,
    conversations,
    demo,
    doctor,
    egress,
    emotion,
    hardware,
    memory,
    routines,
    run,
    safety,
    transcribe,
)
from companion.config import Settings, data_dir, load_settings
from companion.errors import CompanionError, chown_fix
from companion.store.private import prepare_data_dir, private_umask

# Each module adds its own subcommands with add_commands(subparsers), in the order --help lists them.
COMMANDS = (run, chat, demo, doctor, bench, transcribe, memory, routines, caregiver, safety, emotion, conversations, hardware, egress)
# Commands that read or write her data: its folder is checked (owner, modes) before they start.
DATA_COMMANDS = {"chat", "memories", "summary", "alerts", "emotion"}


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
    private_umask()  # her data is nobody else's, in a user install as under systemd (UMask=0077)
    settings: Settings | None = None
    try:
        # the live service loads its config itself, keeping the last good one
        settings = None if getattr(args, "loads_config_itself", False) else load_settings(args.config)
        if settings is not None and args.command in DATA_COMMANDS:
            prepare_data_dir(data_dir(settings), extra=_outbox(settings))
        return int(args.func(args, settings) or 0)
    except CompanionError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # anything the checks above could not foresee (store internals): one line, the fix
        print(f"companion: {os_error_line(exc, settings)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def os_error_line(exc: OSError, settings: Settings | None) -> str:
    """One line for an operating-system error: what, which file, and the fix when it is her data folder."""
    where = exc.filename or "a file"
    if isinstance(exc, PermissionError):
        fix = f"fix: {chown_fix(data_dir(settings))}" if settings is not None else "check who owns it (ls -l)"
        return f"permission denied on {where}; {fix}"
    what = exc.strerror or str(exc)
    folder = f" in the data folder {data_dir(settings)}" if settings is not None else ""
    return f"{what}: {where}; check it{folder} (move it away if it is not hers), or run companion doctor"


def _outbox(settings: Settings) -> list[Path]:
    """A configured outbox outside the data folder gets the same private modes."""
    return [settings.caregiver.outbox_dir] if settings.caregiver.outbox_dir else []


if __name__ == "__main__":
    sys.exit(main())
