"""SIGKILL loop: writers of memories, journal rows and settings are killed at random moments, over and over.

    .venv/bin/python scripts/reliability_kill.py [--kills 1000]

Each writer (a fork of scripts/store_crash_child.py) prints every write once it
returned (acknowledged); after the kill a fresh store must hold every
acknowledged memory, journal row and setting, and no file may be damaged.
Every seventh kill strikes while the store is still opening (recovery, compaction).
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).resolve().parent / "store_crash_child.py"
KILLS_PER_DIR = 30


class ForkServer:
    """The helper process that forks writers; lines it prints arrive on a queue."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen([sys.executable, str(CHILD)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        assert self.next() == "ready"

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def next(self) -> str:
        return self.lines.get(timeout=30)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def kill_loop(tmp_path: Path, kills: int, seed: int = 1234) -> dict[str, int]:
    """Kill writers `kills` times; raises AssertionError on the first loss. Returns what was acknowledged."""
    sys.path.insert(0, str(ROOT))
    from companion.store.journal import TurnRow
    from companion.store.store import Store

    rng = random.Random(seed)
    server = ForkServer()
    totals = {"ins": 0, "row": 0, "put": 0, "kills": 0}
    try:
        for kill in range(kills):
            directory = tmp_path / f"d{kill // KILLS_PER_DIR}"
            assert server.proc.stdin is not None
            server.proc.stdin.write(f"{directory}\n")
            server.proc.stdin.flush()
            pid = None
            while pid is None:  # "pid" and "open" may arrive in either order
                words = server.next().split()
                if words[0] == "pid":
                    pid = int(words[1])
            delay_s = rng.uniform(0.0, 0.004) if kill % 7 == 0 else rng.uniform(0.005, 0.060)
            time.sleep(delay_s)
            os.kill(pid, signal.SIGKILL)
            acked: list[int] = []
            rows: list[int] = []
            counter = 0
            while True:
                words = server.next().split()
                if words[0] == "ins":
                    acked.append(int(words[1]))
                elif words[0] == "row":
                    rows.append(int(words[1]))
                elif words[0] == "put":
                    counter = int(words[1])
                elif words[0] == "exit" and int(words[1]) == pid:
                    assert os.WIFSIGNALED(int(words[2])), "the writer ended before it was killed"
                    break
            with Store.open(directory) as store:
                present = {d["id"] for d in store.all("crash")}
                missing = set(acked) - present
                assert not missing, f"kill {kill}: acknowledged memory ids lost: {sorted(missing)}"
                ids = {t.id for t in store.journal.all(TurnRow)}
                assert not set(rows) - ids, f"kill {kill}: acknowledged journal rows lost"
                if counter:
                    assert store.get("counter", 0) >= counter, f"kill {kill}: an acknowledged setting went back"
                assert not store.health.recoveries, f"kill {kill}: a crash damaged a file"
            totals["ins"] += len(acked)
            totals["row"] += len(rows)
            totals["put"] += bool(counter)
            totals["kills"] += 1
    finally:
        server.close()
    return totals


def main() -> int:
    """Print what was acknowledged and found again."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            totals = kill_loop(Path(tmp), args.kills, args.seed)
        except AssertionError as exc:
            print(f"FAIL: {exc}")
            return 1
    print(f"{totals['kills']} SIGKILLs in {time.monotonic() - t0:.0f} s: {totals['ins']} acknowledged memory writes, "
          f"{totals['row']} acknowledged turns (each with a deferred mood row), {totals['put']} settings; "
          "all found again, no damaged file")
    print("PASS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
