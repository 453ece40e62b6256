"""A damaged routines file never drops her routines, not even after a restart, and the family is told once.

The full version (the real App, every kind of damage, restarts) is scripts/reliability_routines.py.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from companion.clock import Household, ManualClock
from companion.routines.keep import LAST_GOOD_ROUTINES
from companion.routines.scheduler import RoutineScheduler
from companion.store.store import Store

EXAMPLE = (Path(__file__).resolve().parents[1] / "examples" / "routines.toml").read_text()
FULL = EXAMPLE.count("\n[[")
LONDON = ZoneInfo("Europe/London")


def first_blocks(n: int) -> str:
    """Cut after n routines at a block boundary: valid TOML, most routines gone."""
    return "\n[[".join(EXAMPLE.split("\n[[")[: n + 1]) + "\n"


class Family:
    """A routines file, a store, and a scheduler that can be restarted; collects what the family is told."""

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "routines.toml"
        self.path.write_text(EXAMPLE)
        self.data = tmp / "data"
        self.clock = ManualClock(datetime(2026, 5, 4, 11, tzinfo=timezone.utc))
        self.told: list[tuple[str, str]] = []
        self.store = None

    def start(self) -> RoutineScheduler:
        if self.store is not None:
            self.store.close()
        self.store = Store.open(self.data)
        return RoutineScheduler(self.path, self.store, self.clock, Household(LONDON), reload_check_s=1.0,
                                tell=lambda summary, detail: self.told.append((summary, detail)))

    def poll(self, sched: RoutineScheduler) -> None:
        self.clock.advance(2)
        sched.poll(idle=True, muted=False)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@pytest.fixture()
def family(tmp_path):
    f = Family(tmp_path)
    yield f
    f.close()


DAMAGE = {
    "cut short but valid (13 → 2)": lambda p: p.write_text(first_blocks(2)),
    "emptied": lambda p: p.write_text(""),
    "NUL-filled": lambda p: p.write_bytes(b"\0" * 3000),
    "deleted": lambda p: p.unlink(),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damage_keeps_the_last_good_routines_across_restarts_and_tells_the_family_once(family, damage):
    sched = family.start()
    assert len(sched.routines) == FULL
    DAMAGE[damage](family.path)
    family.poll(sched)
    assert len(sched.routines) == FULL  # while running
    for _ in range(2):
        sched = family.start()  # a restart: nothing in memory, only what was kept on disk
        assert len(sched.routines) == FULL
        assert "still using the last good version" in sched.status()
    assert len(family.told) == 1
    summary, detail = family.told[0]
    assert f"still using the last good {FULL} routine(s)" in summary and str(family.path) in detail


def test_the_saved_copy_is_private(family):
    family.start()
    copy = family.data / LAST_GOOD_ROUTINES
    assert copy.read_text() == EXAMPLE and oct(copy.stat().st_mode & 0o777) == "0o600"


def test_edits_the_family_meant_are_taken(family, capsys):
    from companion.cli.main import main

    sched = family.start()
    family.path.write_text(EXAMPLE[:EXAMPLE.rindex("[[")])  # one routine deleted: an ordinary edit
    family.poll(sched)
    assert len(sched.routines) == FULL - 1 and not family.told
    family.path.write_text(first_blocks(2))  # a big removal: suspect until confirmed
    family.poll(sched)
    assert len(sched.routines) == FULL - 1
    assert "If that was meant, run: companion routines accept" in family.told[-1][1]
    config = family.path.parent / "config.toml"
    config.write_text(f'[routines]\nfile = "{family.path}"\n[memory]\ndata_dir = "{family.data}"\n')
    assert main(["--config", str(config), "routines", "check"]) == 0
    assert "the last good version had 12" in capsys.readouterr().out
    assert main(["--config", str(config), "routines", "accept"]) == 0
    family.poll(sched)  # the running companion notices the confirmation within seconds
    assert len(sched.routines) == 2
    family.path.write_text(EXAMPLE)
    family.poll(sched)
    assert len(sched.routines) == FULL
    family.path.write_text("")  # damage after a good file: the family hears of it again
    family.poll(sched)
    assert len(family.told) == 2


def test_the_app_tells_the_family_through_the_alert_service(tmp_path, components):
    from companion.app import App
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource
    from companion.config import Settings

    path = tmp_path / "routines.toml"
    path.write_text(EXAMPLE)
    settings = Settings().replace(routines={"file": str(path), "timezone": "Europe/London"},
                                  memory={"data_dir": str(tmp_path / "data")})
    echo = EchoPath()

    def start() -> App:
        return App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
                   speaker=WavFileSink(tmp_path / "out", realtime=False, echo=echo), echo=echo,
                   components=components, start_alerts=False)

    start().close()
    path.write_text(first_blocks(2))
    app = start()
    try:
        assert len(app.routines.routines) == FULL
        raised = [e for e in app.alerts.audit.read() if e.get("event") == "raised"]
        assert [e["kind"] for e in raised].count("routines_problem") == 1
        assert app.alerts.pending()  # queued for every channel, retried until delivered
    finally:
        app.close()
