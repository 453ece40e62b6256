#!/usr/bin/env python3
"""Reliability: a damaged routines.toml, seen while running and after a restart.

The family's file (examples/routines.toml, 13 routines) is in use; then it is damaged the ways files
get damaged: cut short at a block boundary (still valid: 13 → 2), cut mid-block, emptied, only
comments left, overwritten with NULs, a NUL tail, deleted. For each, the running companion (the
real App, real models) must keep the 13 routines, and so must a restarted one; the family must be
told once (an alert in the audit log), not at every restart. A real edit (13 → 12), an intended big
removal confirmed with `companion routines accept`, and a repaired file must be taken as they are.

Exit 1 if any case fails. `COMPANION_CODE=/tmp/old` runs it against older code (see
scripts/reliability_common.py).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import ROOT, companion_cli, use_code  # noqa: E402

use_code()

import numpy as np  # noqa: E402

from companion.app import App, load_components  # noqa: E402
from companion.audio.echo import EchoPath  # noqa: E402
from companion.audio.wav import WavFileSink, WavFileSource  # noqa: E402
from companion.clock import ManualClock  # noqa: E402
from companion.config import parse_settings  # noqa: E402

EXAMPLE = (ROOT / "examples" / "routines.toml").read_text()
FULL = EXAMPLE.count("\n[[")  # 13 routines


def _blocks(n: int) -> str:
    """The file cut after its first n routines, at a block boundary: still valid TOML."""
    parts = EXAMPLE.split("\n[[")
    return "\n[[".join(parts[: n + 1]) + "\n"


def _mid_block(text: str) -> str:
    cut = text.index("[[medication]]") + len("[[medication]]\nname = ")
    return text[:cut]


DAMAGE: list[tuple[str, Callable[[Path], None]]] = [
    ("cut short at a block boundary (13 → 2, valid)", lambda p: p.write_text(_blocks(2))),
    ("cut short mid-block", lambda p: p.write_text(_mid_block(EXAMPLE))),
    ("emptied (0 bytes)", lambda p: p.write_text("")),
    ("only the comments left", lambda p: p.write_text("".join(l + "\n" for l in EXAMPLE.splitlines()
                                                              if l.startswith("#")))),
    ("overwritten with NULs", lambda p: p.write_bytes(b"\0" * len(EXAMPLE.encode()))),
    ("a NUL tail after the good text", lambda p: p.write_bytes(EXAMPLE.encode() + b"\0" * 4096)),
    ("deleted", lambda p: p.unlink()),
]


class Home:
    """A config, a routines file and a data folder; starts the real App on them (models loaded once)."""

    components = None

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.routines = tmp / "routines.toml"
        self.routines.write_text(EXAMPLE)
        self.config = tmp / "config.toml"
        self.config.write_text(f'[routines]\nfile = "{self.routines}"\ntimezone = "Europe/London"\n'
                               f'[memory]\ndata_dir = "{tmp / "data"}"\n')
        self.settings = parse_settings(self.config.read_text(), str(self.config))
        self.clock = ManualClock(datetime(2026, 5, 4, 11, tzinfo=timezone.utc))

    def start(self) -> App:
        echo = EchoPath()
        if Home.components is None:
            Home.components = load_components(self.settings, echo)
        return App(self.settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
                   speaker=WavFileSink(self.tmp / "out", realtime=False, echo=echo), echo=echo,
                   components=Home.components, clock=self.clock, start_alerts=False)

    def poll(self, app: App) -> None:
        """What the running loop does every second: the scheduler looks at the file (every 2 s)."""
        self.clock.advance(5)
        app.routines.poll(idle=True, muted=False)

    def told(self, app: App) -> int:
        """Alerts raised about the routines file so far."""
        return sum(1 for e in app.alerts.audit.read() if e.get("event") == "raised" and "routine" in e.get("kind", ""))


def damaged(name: str, damage: Callable[[Path], None], tmp: Path) -> list[str]:
    """Damage while running, then restart twice: the 13 routines stay, the family is told once."""
    home, failures = Home(tmp), []
    app = home.start()
    if len(app.routines.routines) != FULL:
        return [f"the good file gave {len(app.routines.routines)} routines, not {FULL}"]
    damage(home.routines)
    home.poll(app)
    if len(app.routines.routines) != FULL:
        failures.append(f"while running: {len(app.routines.routines)} routines in use, not {FULL}")
    app.close()
    for restart in (1, 2):
        app = home.start()
        home.poll(app)
        n, told = len(app.routines.routines), home.told(app)
        app.close()
        if n != FULL:
            failures.append(f"after restart {restart}: {n} routines in use, not {FULL}")
        if told != 1:
            failures.append(f"after restart {restart}: the family was told {told} times, not once")
    return failures


def meant(tmp: Path) -> list[str]:
    """Edits the family meant: taken as they are."""
    home, failures = Home(tmp), []
    app = home.start()
    app.close()
    home.routines.write_text(EXAMPLE[:EXAMPLE.rindex("[[")])  # the last routine deleted: a normal edit
    app = home.start()
    if len(app.routines.routines) != FULL - 1:
        failures.append(f"a one-routine removal gave {len(app.routines.routines)} routines, not {FULL - 1}")
    app.close()
    home.routines.write_text(_blocks(2))  # a big removal ...
    done = subprocess.run([*companion_cli(), "--config", str(home.config), "routines", "accept"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        failures.append(f"`routines accept` failed: {done.stderr.strip()[-200:]}")
    app = home.start()  # ... confirmed by the family
    if len(app.routines.routines) != 2:
        failures.append(f"after `routines accept`: {len(app.routines.routines)} routines, not 2")
    app.close()
    home.routines.write_text(EXAMPLE)  # and back to the full file
    app = home.start()
    if len(app.routines.routines) != FULL:
        failures.append(f"the repaired file gave {len(app.routines.routines)} routines")
    app.close()
    return failures


def main() -> int:
    """Every damage, then the edits that were meant; a line each."""
    logging.basicConfig(level=logging.CRITICAL)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="companion-routines-") as root:
        os.environ["XDG_DATA_HOME"] = str(Path(root) / "xdg-data")
        cases = [(name, lambda t, d=damage, n=name: damaged(n, d, t)) for name, damage in DAMAGE]
        cases.append(("edits the family meant (13 → 12; 13 → 2 with `routines accept`; repaired)", meant))
        for i, (name, run) in enumerate(cases, 1):
            tmp = Path(root) / f"case-{i}"
            tmp.mkdir()
            try:
                failures = run(tmp)
            except Exception as exc:
                failures = [f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"]
            bad += bool(failures)
            print(f"{'ok  ' if not failures else 'FAIL'} {i}. {name}" + (": " + "; ".join(failures) if failures else ""),
                  flush=True)
    print(f"\n{len(cases) - bad} of {len(cases)} cases: the last good routines kept while running and across "
          "restarts, the family told once, intended edits taken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
