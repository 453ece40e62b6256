"""Benchmark memories: recall@3 on the labelled set, alone and hidden among 10,000 memories, and retrieval time."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.clock import ManualClock  # noqa: E402
from companion.memory.book import MemoryBook  # noqa: E402
from companion.memory.files import candidates  # noqa: E402
from companion.memory.model import EPISODES, FACTS, Memory, render  # noqa: E402
from companion.memory.recall import build_context  # noqa: E402
from companion.store.store import Store  # noqa: E402

DATA = ROOT / "tests" / "data" / "recall_set.json"
NOW = datetime(2024, 6, 11, 9, 0, tzinfo=timezone.utc)
FIRST = "Alice Bert Carol Derek Edith Frank Gladys Harold Irene Jack Kathleen Leonard Mabel Norman Olive Percy " \
        "Queenie Ronald Sylvia Terence Ursula Victor Winifred Albert Beryl Cyril Doris Ernest Florence Gordon".split()
RELS = "friend neighbour cousin niece carer aunt uncle".split()
PLACES = "Bradford York Hull Durham Bath Exeter Chester Ripon Selby Otley Ilkley Skipton Malton Thirsk".split()
THINGS = ("knitting jigsaws dominoes quizzes opera brass bands tea dances cream teas poetry watercolours "
          "walking sewing bowls bingo radio plays hymns westerns biscuits marmalade chess sudoku").split()
STORY = ("went to the market and bought some wool", "watched a film about the war", "rang the council about the bins",
         "walked to the post office in the rain", "found an old photograph in a drawer", "had a lovely chat at the bus stop",
         "listened to a programme about trains", "sorted out the kitchen cupboards", "wrote a letter to an old friend")


def hit(m: Memory, expect: str) -> bool:
    kind, word = expect.split("|")
    return m.kind == kind and word in (render(m, you=False) + " " + m.subject).lower()


def distractors(n: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    facts, episodes = [], []
    for i in range(n):
        at = (NOW - timedelta(days=rng.uniform(1, 900))).isoformat()
        r = rng.random()
        if r < 0.3:
            name = f"{rng.choice(FIRST)}{i}"  # unique, never a name from the labelled set
            facts.append({"kind": "person", "subject": name, "relation": rng.choice(RELS),
                          "attrs": {"lives_in": rng.choice(PLACES)}, "said": "", "at": at, "updated": at,
                          "importance": 0.7, "source": "bench"})
        elif r < 0.5:
            facts.append({"kind": rng.choice(["like", "dislike"]), "subject": f"{rng.choice(THINGS)} {rng.choice(THINGS)}",
                          "relation": "", "attrs": {}, "said": "", "at": at, "updated": at, "importance": 0.5,
                          "source": "bench"})
        else:
            who = rng.choice(FIRST)
            episodes.append({"kind": "episode", "subject": "", "relation": "", "attrs": {},
                             "said": f"{who} and I {rng.choice(STORY)} in {rng.choice(PLACES)}", "at": at, "updated": at,
                             "importance": 0.4, "source": "bench", "mood": None, "about": []})
    return facts, episodes


def main() -> int:
    """Print recall@3 (small and 10,000-memory stores) and retrieval times."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--memories", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    data = json.loads(DATA.read_text())
    questions = data["questions"]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(tmp)
        book = MemoryBook(store, ManualClock(NOW))
        for c in candidates(data["memories"]):
            book.apply(c, source="import")
        for e in data["memories"]["episodes"]:
            book.add_episode(e["text"], None, e["about"])
        small = sum(any(hit(m, q["expect"]) for m in book.index.search(q["q"], NOW, 3)) for q in questions) / len(questions)
        labelled = len(book.index)
        facts, episodes = distractors(args.memories - labelled, random.Random(7))
        t0 = time.perf_counter()
        store.insert_many(FACTS, facts)
        store.insert_many(EPISODES, episodes)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        book.sync()
        t_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.insert(FACTS, {"kind": "like", "subject": "one more", "at": NOW.isoformat()})
        t_one = time.perf_counter() - t0
        book.sync()
        total = len(book.index)
        misses = [q["q"] for q in questions
                  if not any(hit(m, q["expect"]) for m in book.index.search(q["q"], NOW, 3))]
        big = 1 - len(misses) / len(questions)
        times = []
        for _ in range(args.repeats):
            for q in questions:
                t0 = time.perf_counter()
                build_context(book.index, q["q"], NOW, NOW.date(), 640, 4)
                times.append((time.perf_counter() - t0) * 1000)
        store.compact()
        size_mb = (Path(tmp) / "companion.json").stat().st_size / 1e6
        store.close()
    times.sort()
    print(f"labelled set: {len(questions)} questions, {labelled} labelled memories")
    print(f"recall@3 (labelled memories only):      {small:.3f}")
    print(f"recall@3 (among {total} memories):    {big:.3f}   misses: {misses}")
    print(f"retrieve + build prompt context, {total} memories: median {statistics.median(times):.2f} ms, "
          f"p95 {times[int(0.95 * len(times))]:.2f} ms, max {times[-1]:.2f} ms  (target <= 20 ms)")
    print(f"store file {size_mb:.1f} MB; one durable insert {t_one * 1000:.1f} ms; "
          f"bulk write {t_write:.2f} s; index build {t_index * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
