"""Storage benchmark with a year of her data: the old one-file store and the new one, in the same run.

    .venv/bin/python scripts/bench_store.py [--old-rev db78771] [--json out.json]

A year of data: 10,000 memories, 50 turns a day for 365 days, a mood reading per
turn, routine events and help requests. Each store runs in its own process, with
the real code of its revision (the old one is taken from git): start-up, the work
a turn does in the store-using skills (memory, honesty, mood logging), bytes
written per turn (the process's write() bytes, /proc/self/io), file sizes, an
import of people, and "forget about" one name. Then the two journal designs the
issue allows are compared on appends: SQLite in WAL mode and TinyDB files
partitioned by month. Figures are wall-clock on whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_REV = "db78771"  # the last commit with the one-file store
TARGETS = {"startup_s": 2.0, "turn_ms_p95": 20.0, "turn_bytes_mean": 64 * 1024}


def wchar() -> int:
    """Bytes this process handed to write() so far."""
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


# ---------------------------------------------------------------- the worker (runs inside one revision)


def worker(args: argparse.Namespace) -> dict:
    """Build a year of data in a fresh directory with this revision's code, then measure it."""
    import logging
    import random
    from datetime import datetime, timedelta, timezone

    logging.basicConfig(level=logging.ERROR)
    import companion  # this revision's package (PYTHONPATH), before bench_memory puts ours on the path

    out_root = Path(companion.__file__).resolve().parents[1]
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_memory import distractors

    from companion.clock import ManualClock
    from companion.config import Settings
    from companion.loop.skills import TurnInput, TurnRecord
    from companion.memory.skill import MemorySkill
    from companion.safety.honesty import HonestySkill
    from companion.store.store import Store

    new = _is_new()
    now = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
    data = Path(args.dir)
    settings = Settings().replace(memory={"data_dir": str(data), "retention_days": 400},
                                  emotion={"mode": "on"}, caregiver={"contacts": ["Susan"]})
    rng = random.Random(7)
    facts, episodes = distractors(args.memories, rng)
    texts = ["i went to the market and bought some apples", "what time is it", "tell me about the weather",
             "i watched a programme about trains", "my back is a bit stiff today", "that sounds lovely"]
    turns, moods, routines = [], [], []
    for day in range(365):
        for k in range(50):
            at = now - timedelta(days=365 - day, minutes=-(8 * 60 + k * 15))
            turns.append({"at": at.isoformat(), "user": rng.choice(texts), "reply": "That sounds lovely. " * 3,
                          "intent": None, "emotion": {"category": "neutral", "valence": 0.1}, "duration_s": 2.5,
                          "timings_ms": {"stt_ms": 80.0, "first_audio_after_speech_end_ms": 820.0}})
            moods.append({"at": at.isoformat(), "arousal": "low", "arousal_p": 0.61, "valence": 0.12,
                          "category": "neutral", "confidence": 0.41, "category4": "neutral", "confidence4": 0.52,
                          "text_sentiment": 0.1, "source": "voice+words"})
        for hour in (8, 12, 18, 21):
            at = now - timedelta(days=365 - day) + timedelta(hours=hour - 9)
            routines.append({"at": at.isoformat(), "routine_id": "heart", "kind": "medication", "event": "acknowledged",
                             "title": "Heart tablet", "detail": "by voice", "due": at.isoformat(), "stage": "main"})
    t0 = time.perf_counter()
    store = Store.open(data)
    if new:
        from companion.store.journal import MoodRow, RoutineRow, TurnRow

        with store.transaction():
            store.insert_many("facts", facts)
            store.insert_many("episodes", episodes)
        store.journal.append_many([TurnRow.from_dict(d) for d in turns] + [MoodRow.from_dict(d) for d in moods]
                                  + [RoutineRow.from_dict(d) for d in routines])
    else:
        for table, docs in (("facts", facts), ("episodes", episodes), ("turns", turns), ("mood", moods),
                            ("routine_log", routines)):
            store.insert_many(table, docs)
    store.close()
    out: dict = {"revision": "new" if new else "old", "code": str(out_root), "build_s": round(time.perf_counter() - t0, 1),
                 "memories": args.memories, "turns": len(turns), "mood_rows": len(moods)}

    # start-up: what the app does with the store before it listens
    clock = ManualClock(now)
    t0 = time.perf_counter()
    store = Store.open(data)
    memory = MemorySkill(store, settings.memory, clock, household=settings.household)
    from companion.routines.log import RoutineLog

    RoutineLog(store, clock).history()
    honesty = HonestySkill.from_settings(settings, store, clock)
    out["startup_s"] = round(time.perf_counter() - t0, 3)

    timer = StoreTimer(_store_classes(new))
    sync = SyncTimer()  # the part of store work spent making writes durable (the card), not computing

    def one_turn(text: str) -> tuple[float, int, float]:
        w0, t0, s0, f0 = wchar(), time.perf_counter(), timer.seconds, sync.seconds
        at = clock.now()
        turn = TurnInput(text=text, at=at, local_time=settings.household.local(at))
        reply = honesty.handle(turn) or memory.handle(turn)
        if reply is None:
            honesty.context(turn)
            memory.context(turn)
        mood = {"at": at.isoformat(), "arousal": "low", "arousal_p": 0.6, "valence": 0.1, "category": "neutral",
                "confidence": 0.4, "category4": "neutral", "confidence4": 0.5, "text_sentiment": 0.1,
                "source": "voice+words"}
        baseline = {"n": 40, "window": 500, "kind": "everyday", "mean": [0.1] * 102, "var": [1.0] * 102}
        if new:  # what MoodSensor.estimate(record=True) writes with audio
            store.put("emotion.baseline", baseline, defer=True)
            store.journal.append(MoodRow.from_dict(mood), defer=True)
        else:
            store.put("emotion.baseline", baseline)
            store.insert("mood", mood)
        record = TurnRecord(text=text, reply=reply.text if reply else "How lovely.",
                            intent=reply.intent if reply else None, at=at, emotion={"category": "neutral"})
        honesty.after_turn(record)
        memory.after_turn(record)
        clock.advance(30)
        return ((time.perf_counter() - t0) * 1000, wchar() - w0, (timer.seconds - s0) * 1000,
                (sync.seconds - f0) * 1000)

    plain, facts_told = [], []
    for i in range(args.turns):
        plain.append(one_turn(texts[i % len(texts)]))
        facts_told.append(one_turn(f"my neighbour Ethel{i} lives in Bradford"))
    for name, runs in (("turn", plain), ("fact_turn", facts_told)):
        ms, written, store_ms = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
        out[f"{name}_ms_p50"], out[f"{name}_ms_p95"] = round(pct(ms, 0.5), 2), round(pct(ms, 0.95), 2)
        out[f"{name}_store_ms_p50"] = round(pct(store_ms, 0.5), 2)
        out[f"{name}_store_ms_p95"] = round(pct(store_ms, 0.95), 2)
        compute = [r[2] - r[3] for r in runs]  # store work minus the fsync waits
        out[f"{name}_store_cpu_ms_p50"], out[f"{name}_store_cpu_ms_p95"] = (round(pct(compute, 0.5), 2),
                                                                          round(pct(compute, 0.95), 2))
        out[f"{name}_bytes_mean"], out[f"{name}_bytes_max"] = round(statistics.fmean(written)), max(written)
    out["n_turns_measured"] = len(plain) + len(facts_told)

    t0 = time.perf_counter()
    if new:
        from companion.memory import forget

        plan = forget.plan(memory.book, "Percy3")
        forget.execute(memory.book, plan, 0.0)
    else:
        doomed = memory.book.about("Percy3")
        memory.book.remove(doomed)
        memory.book.forget_turns(["Percy3"])
    out["forget_about_s"] = round(time.perf_counter() - t0, 2)
    store.close()
    out["size_mb"] = round(sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6, 1)
    out["import"] = {}
    for n in args.import_people:
        out["import"][n] = _import(n, data.parent / f"import-{n}")
    return out


class StoreTimer:
    """Time spent inside the store's own code (outermost calls only), to tell store work from the skills' CPU."""

    def __init__(self, classes: list[type]) -> None:
        self.seconds = 0.0
        self._depth = 0
        for cls in classes:
            for name, fn in list(vars(cls).items()):
                if callable(fn) and not name.startswith("__") and not isinstance(fn, (staticmethod, classmethod, type)):
                    setattr(cls, name, self._wrap(fn))

    def _wrap(self, fn):
        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self._depth -= 1
        return timed


class SyncTimer:
    """Seconds spent making writes durable: the old store's fsync calls, the new journal's commits (SQLite
    fsyncs inside them); what is left of the store work is computing and reading."""

    def __init__(self) -> None:
        self.seconds = 0.0
        targets = [(os, "fsync"), (os, "fdatasync")]
        if _is_new():
            from companion.store.db import LogDB

            targets.append((LogDB, "commit"))
        for owner, name in targets:
            original = getattr(owner, name)

            def timed(*args, _original=original, **kwargs):
                t0 = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - t0
            setattr(owner, name, timed)


def _store_classes(new: bool) -> list[type]:
    from companion.store.store import Store

    if not new:
        from companion.store.file import AtomicJSONStorage

        return [Store, AtomicJSONStorage]
    from companion.store.db import LogDB
    from companion.store.journal import Journal
    from companion.store.memfile import MemoryFile

    return [Store, Journal, LogDB, MemoryFile]


def _is_new() -> bool:
    import companion.store.journal as j

    return hasattr(j, "TurnRow")


def _import(n: int, directory: Path) -> float:
    """Seconds to import a memories file of `n` people into an empty store, through the real import."""
    from companion.clock import SystemClock
    from companion.memory.book import MemoryBook
    from companion.memory.files import import_file
    from companion.store.store import Store

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "people.json"
    people = [{"name": f"Person{i}", "relation": "friend", "lives_in": "York"} for i in range(n)]
    path.write_text(json.dumps({"people": people}))
    store = Store.open(directory / "data")
    t0 = time.perf_counter()
    import_file(MemoryBook(store, SystemClock()), path)
    seconds = time.perf_counter() - t0
    store.close()
    return round(seconds, 2)


# ---------------------------------------------------------------- the driver


def run_worker(root: Path, directory: Path, args: argparse.Namespace, import_people: list[int]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--dir", str(directory),
           "--memories", str(args.memories), "--turns", str(args.turns),
           "--import-people", *[str(n) for n in import_people]]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(root), timeout=7200)
    if done.returncode != 0:
        raise SystemExit(f"benchmark worker failed ({root}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def old_tree(rev: str, into: Path) -> Path | None:
    """The old revision's package, from git (None when this is not a git checkout)."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "companion"], capture_output=True,
                                 check=True, timeout=120).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    """Run old and new, print the table, check the targets."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-rev", default=OLD_REV, help="git revision of the old store (default %(default)s)")
    ap.add_argument("--memories", type=int, default=10_000)
    ap.add_argument("--turns", type=int, default=100, help="plain turns and fact turns measured (new store)")
    ap.add_argument("--old-turns", type=int, default=3, help="turns measured on the old store (each takes seconds)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--no-old", action="store_true", help="skip the old store (it takes minutes)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--import-people", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        tmp_path = Path(tmp)
        results = {"new": run_worker(ROOT, tmp_path / "new" / "data", args, [1000, 5000])}
        old_root = None if args.no_old else old_tree(args.old_rev, tmp_path / "old-src")
        if old_root is not None:
            old_args = argparse.Namespace(**{**vars(args), "turns": args.old_turns})
            results["old"] = run_worker(old_root, tmp_path / "old" / "data", old_args, [250, 500, 1000])
        sys.path.insert(0, str(ROOT))
        from bench_journal_designs import journal_candidates

        results["journal_designs"] = journal_candidates(tmp_path / "journals")
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    new = results["new"]
    ok = (new["startup_s"] <= TARGETS["startup_s"] and new["turn_store_ms_p95"] <= TARGETS["turn_ms_p95"]
          and new["fact_turn_store_ms_p95"] <= TARGETS["turn_ms_p95"]
          and new["turn_bytes_mean"] <= TARGETS["turn_bytes_mean"]
          and new["fact_turn_bytes_mean"] <= TARGETS["turn_bytes_mean"])
    return 0 if ok else 1


def report(r: dict) -> None:
    """The table: old, new, ratio, target."""
    new, old = r["new"], r.get("old")
    print(f"A year of data: {new['memories']} memories, {new['turns']} turns, {new['mood_rows']} mood rows "
          f"(old store measured over {old['n_turns_measured'] if old else 0} turns, new over {new['n_turns_measured']})")
    rows = [("start-up (s)", "startup_s", "<= 2"),
            ("store work, plain turn, p50 (ms)", "turn_store_ms_p50", ""),
            ("store work, plain turn, p95 (ms)", "turn_store_ms_p95", "<= 20"),
            ("store work, fact turn, p95 (ms)", "fact_turn_store_ms_p95", "<= 20"),
            ("  of which not the durable write, p50", "turn_store_cpu_ms_p50", ""),
            ("  of which not the durable write, p95", "turn_store_cpu_ms_p95", ""),
            ("whole skills' turn, p50 (ms)", "turn_ms_p50", ""), ("whole skills' turn, p95 (ms)", "turn_ms_p95", ""),
            ("whole skills' fact turn, p95 (ms)", "fact_turn_ms_p95", ""),
            ("bytes written, plain turn (mean)", "turn_bytes_mean", "<= 65536"),
            ("bytes written, plain turn (max)", "turn_bytes_max", ""),
            ("bytes written, fact turn (mean)", "fact_turn_bytes_mean", "<= 65536"),
            ("forget about one name (s)", "forget_about_s", ""), ("files on disk (MB)", "size_mb", "")]
    print(f"{'':36}{'old':>14}{'new':>14}{'old/new':>10}  target")
    for label, key, target in rows:
        o = old.get(key) if old else None
        ratio = f"{o / new[key]:.0f}x" if o and new[key] else ""
        print(f"{label:36}{'' if o is None else o:>14}{new[key]:>14}{ratio:>10}  {target}")
    if old:
        print("import of N people (s): old " + ", ".join(f"{n}: {s}" for n, s in old["import"].items())
              + " | new " + ", ".join(f"{n}: {s}" for n, s in new["import"].items()))
    print("\nJournal designs, one turn (turn + mood row) appended to a year of rows:")
    for name, f in r["journal_designs"].items():
        print(f"  {name:16} append p50 {f['append_ms_p50']} ms, p95 {f['append_ms_p95']} ms; bytes mean "
              f"{f['bytes_mean']}, max {f['bytes_max']}; a week's turns read in {f['week_read_ms']} ms; "
              f"{f['size_mb']} MB")


if __name__ == "__main__":
    raise SystemExit(main())
