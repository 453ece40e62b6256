"""Power-cut damage to every store file, alone and all at once: never an empty start by surprise, an honest report.

    .venv/bin/python scripts/reliability_powercut.py [--trials 200]

Each trial builds a store with 40 memories (some changed over three days, so
there are daily copies and a change log), then damages a random set of its
files — the memory file, each daily copy, the journal and its WAL — in a random
way (cut short, a block of garbage, zeros, a NUL tail, emptied, deleted), and
opens it again. Checked: it opens; it is never empty while any copy held
memories; when it says nothing was lost, all 40 are there; when memories are
missing it says so (lost or "may be lost"), and the recovery is recorded for
doctor and the family.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.store.journal import TurnRow  # noqa: E402
from companion.store.store import DB_FILENAME, JOURNAL_FILENAME, Store  # noqa: E402

T0 = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)
MEMORIES = 40


def build(directory: Path) -> None:
    """Three days of use: a copy per day, changes in between, turns in the journal."""
    with Store.open(directory) as store:
        for day in range(3):
            for i in range(day * 14, min(MEMORIES, (day + 1) * 14)):
                store.insert("facts", {"kind": "person", "subject": f"Person{i}", "said": f"Person{i} lives in York"})
            store.journal.append_many([TurnRow(at=T0 + timedelta(days=day, minutes=m), user="hello") for m in range(30)])
            store.compact()
            payload = (directory / DB_FILENAME).read_bytes()
            store.file.generations.add(payload, date.today() - timedelta(days=3 - day), store._seq)


DAMAGES = {
    "cut short": lambda raw, rng: raw[: rng.randrange(0, max(1, len(raw)))],
    "garbage block": lambda raw, rng: _block(raw, rng, bytes(rng.randrange(256) for _ in range(4096))),
    "zeros": lambda raw, rng: _block(raw, rng, b"\x00" * 4096),
    "NUL tail": lambda raw, rng: raw + b"\x00" * rng.randrange(1, 65536),
    "emptied": lambda raw, rng: b"",
}


def _block(raw: bytes, rng: random.Random, block: bytes) -> bytes:
    at = rng.randrange(0, max(1, len(raw)))
    return raw[:at] + block[: max(0, len(raw) - at)] + raw[at + len(block):]


def trial(directory: Path, rng: random.Random) -> dict:
    build(directory)
    files = [directory / DB_FILENAME, *sorted((directory / "generations").iterdir()), directory / JOURNAL_FILENAME]
    wal = directory / (JOURNAL_FILENAME + "-wal")
    if wal.exists():
        files.append(wal)
    every = rng.random() < 0.3  # a third of the trials damage every file at once
    hit = files if every else rng.sample(files, rng.randint(1, len(files)))
    kinds = []
    for path in hit:
        if rng.random() < 0.1:
            path.unlink()
            kinds.append("deleted")
            continue
        kind = rng.choice(list(DAMAGES))
        path.write_bytes(DAMAGES[kind](path.read_bytes(), rng))
        kinds.append(kind)
    try:
        with Store.open(directory) as store:
            kept = len(store.all("facts"))
            recs = store.recoveries()
    except Exception as exc:  # noqa: BLE001 - the figure we are after
        return {"crashed": f"{type(exc).__name__}: {exc}", "every": every, "kinds": kinds}
    said_nothing_lost = bool(recs) and all(r.lost is False for r in recs)
    return {"crashed": "", "every": every, "kinds": kinds, "kept": kept, "recorded": bool(recs),
            "said_nothing_lost": said_nothing_lost, "honest": not (said_nothing_lost and kept < MEMORIES)}


def main() -> int:
    """Run the trials and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    import logging

    logging.disable(logging.CRITICAL)
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.trials):
            d = Path(tmp) / f"t{i}"
            results.append(trial(d, rng))
            shutil.rmtree(d, ignore_errors=True)
    crashed = [r for r in results if r["crashed"]]
    ok = [r for r in results if not r["crashed"]]
    every = [r for r in ok if r["every"]]
    print(f"{len(results)} trials ({len(every) + sum(1 for r in crashed if r['every'])} with every file damaged at once)")
    print(f"  opened without a crash:            {len(ok)}/{len(results)}")
    print(f"  every memory back:                 {sum(r['kept'] == MEMORIES for r in ok)}/{len(ok)}")
    print(f"  ... when every file was damaged:   {sum(r['kept'] == MEMORIES for r in every)}/{len(every)}")
    print(f"  started empty:                     {sum(r['kept'] == 0 for r in ok)}"
          f" (of which every file was damaged: {sum(r['kept'] == 0 for r in every)})")
    print(f"  memories kept, all trials:         {sum(r['kept'] for r in ok)}/{MEMORIES * len(ok)}")
    print(f"  'nothing was lost' said wrongly:   {sum(not r['honest'] for r in ok)}")
    print(f"  damage recorded for doctor/family: {sum(r['recorded'] for r in ok if r['kept'] < MEMORIES)}"
          f"/{sum(r['kept'] < MEMORIES for r in ok)} trials that lost memories")
    print("  damage kinds: " + ", ".join(f"{k} {n}" for k, n in Counter(k for r in results for k in r["kinds"]).items()))
    for r in crashed[:5]:
        print(f"  CRASH {r['crashed']} after {r['kinds']}")
    good = not crashed and all(r["honest"] for r in ok) and all(r["recorded"] for r in ok if r["kept"] < MEMORIES)
    print("PASS" if good else "FAIL")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
