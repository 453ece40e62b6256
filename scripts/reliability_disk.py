"""A full card and a read-only card while the companion runs: it keeps answering and loses nothing acknowledged.

    sudo .venv/bin/python scripts/reliability_disk.py [--turns 20]

Runs the memory skill and the journal on a small tmpfs that fills up in the middle of a
conversation, then on an ext4 loop device that the kernel turns read-only under the open
files (as it does when an SD card fails; needs root). Checks: no turn raises, she is still
answered, every write acknowledged before the failure is still there, and what was said
while the disk was full is written as soon as there is space again.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("alice bert carol derek edith frank gladys harold irene jack kathleen leonard mabel norman olive percy "
         "queenie ronald sylvia terence ursula victor winifred albert beryl cyril doris ernest florence gordon").split()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


@contextlib.contextmanager
def small_disk(where: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of `size` at `where` (needs root or a user+mount namespace)."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Write a filler file until the disk is full."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: nothing is left to flush (and fail) at close
        for size in (65536, 4096, 512, 1):  # then smaller pieces, until not one byte more fits
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue
    return filler


@contextlib.contextmanager
def failing_card(where: Path, size_mb: int = 16) -> Iterator[Path]:
    """An ext4 file system (a loop device) mounted errors=remount-ro: `break_card` turns it read-only
    under open files, as the kernel does when an SD card fails."""
    where.mkdir(parents=True, exist_ok=True)
    image = where.with_suffix(".img")
    subprocess.run(["dd", "if=/dev/zero", f"of={image}", "bs=1M", f"count={size_mb}"], check=True,
                   capture_output=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop,errors=remount-ro", str(image), str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        image.unlink(missing_ok=True)


def break_card(where: Path) -> None:
    """Make the mounted ext4 read-only now, open files included (ext4's trigger_fs_error)."""
    device = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(where)], capture_output=True, text=True,
                            check=True).stdout.strip()
    Path(f"/sys/fs/ext4/{Path(device).name}/trigger_fs_error").write_text("1")


def repair_card(where: Path) -> None:
    """What a person does after a card error: unmount, fsck, mount again."""
    image = where.with_suffix(".img")
    subprocess.run(["umount", str(where)], check=True)
    subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True)
    subprocess.run(["mount", "-o", "loop,errors=remount-ro", str(image), str(where)], check=True)


def conversation(disk: Path, failure: str, turns: int = 10) -> dict:
    """Talk before, during and after a `failure` ("full" or "readonly"); returns figures, raises on a loss."""
    from memory_helpers import START, say, turn

    from companion.clock import ManualClock
    from companion.config import MemorySettings
    from companion.memory.skill import MemorySkill
    from companion.store.journal import MoodRow, TurnRow
    from companion.store.store import Store

    data = disk / "data"
    clock = ManualClock(START)
    store = Store.open(data)
    skill = MemorySkill(store, MemorySettings(), clock)

    def talk(text: str) -> str:
        store.journal.append(MoodRow(at=clock.now(), valence=0.1), defer=True)  # the turn's mood reading
        reply, context = say(skill, text, clock)
        return reply.text if reply else context

    before, during = NAMES[:turns], NAMES[turns:2 * turns]
    for name in before:
        talk(f"my neighbour {name} lives in york")
    acknowledged = store.journal.count(TurnRow)
    filler = fill(disk) if failure == "full" else None
    if failure == "readonly":
        break_card(disk)
    answered = 0
    for i, name in enumerate(during):
        out = talk(f"my friend {name} lives in leeds" if i % 2 else "what do you remember about me")
        answered += bool(out)
    problem = store.health.write_error
    remembers = during[1].title() in skill.context(turn(f"how is {during[1]}", clock))
    if filler is not None:
        filler.unlink()
        talk("the disk is back")  # the next commit writes everything that waited
        store.close()
    else:  # a failed card stays read-only until a person repairs it: what waited in RAM goes with the process
        store.close()
        repair_card(disk)
    with Store.open(data) as again:
        rows = again.journal.count(TurnRow)
        facts = {d["subject"] for d in again.all("facts")}
    missing = [n for n in before if n.title() not in facts]
    if missing or rows < acknowledged:
        raise AssertionError(f"{failure}: acknowledged data lost: {missing}, turns {rows} < {acknowledged}")
    expected = 2 * turns + 1 if failure == "full" else turns
    return {"failure": failure, "answered_during": answered, "turns_during": turns, "problem": problem,
            "remembered_in_ram": remembers, "turns_after": rows, "expected_turns": expected,
            "facts_after": len(facts), "saved_after_recovery": rows >= expected}


def main() -> int:
    """Run both failures and print what happened."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=15, help="turns before and during the failure (at most 15)")
    ap.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if os.geteuid() != 0 and not args.in_namespace:
        if not shutil.which("unshare"):
            print("needs root, or `unshare` for a user namespace", file=sys.stderr)
            return 2
        return subprocess.run(["unshare", "-rm", sys.executable, __file__, "--in-namespace",
                               "--turns", str(args.turns)]).returncode
    ok = True
    for failure in ("full", "readonly"):
        mount = small_disk if failure == "full" else failing_card
        with tempfile.TemporaryDirectory() as tmp, mount(Path(tmp) / "disk") as disk:
            try:
                r = conversation(disk, failure, args.turns)
            except AssertionError as exc:
                print(f"FAIL {exc}")
                ok = False
                continue
            print(f"{failure:9} answered {r['answered_during']}/{r['turns_during']} turns during the failure; "
                  f"store said: {r['problem'][:90]}...; new facts kept in RAM: {r['remembered_in_ram']}; "
                  f"after: {r['turns_after']}/{r['expected_turns']} turns and {r['facts_after']} facts on disk")
            ok &= r["saved_after_recovery"] and r["answered_during"] == r["turns_during"]
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
