"""A full card and a card that turns read-only while the companion runs (real file systems: tmpfs, ext4 loop).

Mounting needs root; scripts/reliability_disk.py runs the same scenarios (in a user namespace when not root).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from reliability_disk import conversation, failing_card, fill, small_disk  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root; "
                                "run scripts/reliability_disk.py (it uses a user namespace)")


def test_a_full_disk_keeps_her_answered_and_writes_everything_once_there_is_space(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        r = conversation(disk, "full", turns=6)
    assert r["answered_during"] == 6 and "no space left" in r["problem"]
    assert r["remembered_in_ram"]  # a fact told while the disk was full is used at once
    assert r["turns_after"] == r["expected_turns"] == 13  # and written as soon as there was space


@pytest.mark.skipif(not shutil.which("mkfs.ext4"), reason="needs e2fsprogs for the ext4 loop device")
def test_a_card_turning_read_only_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with failing_card(tmp_path / "disk") as disk:
        r = conversation(disk, "readonly", turns=6)
    assert r["answered_during"] == 6 and r["problem"]
    assert r["turns_after"] >= 6 and r["facts_after"] >= 6  # everything from before the failure


def test_the_app_keeps_answering_on_a_full_disk(tmp_path: Path, settings, components, clock) -> None:
    from companion.app import App
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource

    with small_disk(tmp_path / "disk", size="6m") as disk:
        s = settings.replace(memory={"data_dir": str(disk / "data")}, emotion={"mode": "off"}, routines={"timezone": "UTC"},
                             caregiver={"contacts": ["Susan"]})
        echo = EchoPath()
        app = App(s, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False), echo=echo,
                  speaker=WavFileSink(tmp_path / "out", realtime=False, echo=echo), components=components,
                  clock=clock, start_alerts=False)
        try:
            list(app.engine.reply_to_text("my daughter susan lives in leeds"))
            filler = fill(disk)
            said = " ".join(app.engine.reply_to_text("what time is it"))
            assert said.startswith("It's ten fifteen"), said  # the clock fixture: 10:15
            said = " ".join(app.engine.reply_to_text("help me"))
            # the script, and the truth: nobody can be reached from here (no channel), so no "I've let Susan know"
            assert "If you are in danger" in said and "I've let Susan know" not in said
            assert app.store.health.write_error
            filler.unlink()
            app.maintain()  # the upkeep that runs every minute writes what waited
            assert not app.store.health.write_error
        finally:
            app.close()
