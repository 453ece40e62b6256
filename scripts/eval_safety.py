#!/usr/bin/env python3
"""Print safety recall on emergencies and false alarms on ordinary talk, for the train and test splits.

An utterance counts as caught when its tier is "emergency" or "check" (she is helped or asked);
an ordinary sentence is a false alarm when it gets either. The test split (tests/data/safety/test.tsv
and the red-team HELD_OUT list) was written before any tuning and is never used to tune; the train
figures are in-sample (the head was fitted on them), so they are optimistic by construction.
With --bench it also prints the understanding layer's cost: milliseconds per utterance (encoder
cache cleared, so every utterance pays a full forward pass) and the resident memory it added.
Run:  .venv/bin/python scripts/eval_safety.py [--split test|train|both] [--show-errors] [--bench]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_safety import load_split  # noqa: E402

from companion.understand.reading import Understanding  # noqa: E402
from companion.understand.safety import NONE, SafetyTriage, Tier  # noqa: E402

RECALL_TARGET = 0.95
FALSE_ALARM_LIMIT = 0.05


def evaluate(triage: SafetyTriage, name: str, show_errors: bool) -> bool:
    """Print one split's figures; True when they meet the targets."""
    rows = load_split(name)
    caught, missed, alarms, right_category = Counter(), Counter(), Counter(), 0
    totals_e, totals_n = Counter(), Counter()
    errors = []
    t0 = time.perf_counter()
    for text, label, kind in rows:
        got = triage.triage(text)
        expected = "suicidal" if label == "hopeless" else label
        if label != NONE:
            totals_e[expected] += 1
            if got.tier is not Tier.NONE:
                caught[expected] += 1
                right_category += got.category == expected
            else:
                missed[expected] += 1
                errors.append(f"  MISSED {expected:9} {got.score:.2f}  {text}")
        else:
            totals_n[kind] += 1
            if got.tier is not Tier.NONE:
                alarms[kind] += 1
                errors.append(f"  ALARM  {kind:9} {got.score:.2f} {got.tier.value}/{got.category}  {text}")
    ms = (time.perf_counter() - t0) * 1000 / max(len(rows), 1)
    n_e, n_n = sum(totals_e.values()), sum(totals_n.values())
    recall = sum(caught.values()) / max(n_e, 1)
    fa = sum(alarms.values()) / max(n_n, 1)
    print(f"== {name} split: {len(rows)} utterances ({n_e} emergencies, {n_n} ordinary)  [{ms:.1f} ms/utterance]")
    print(f"recall on emergencies   {recall:.3f}  ({sum(caught.values())}/{n_e}; right category "
          f"{right_category}/{sum(caught.values())})")
    print(f"false alarms on ordinary talk {fa:.3f}  ({sum(alarms.values())}/{n_n})")
    print("  recall by category: " + ", ".join(f"{c} {caught[c]}/{totals_e[c]}" for c in sorted(totals_e)))
    print("  false alarms by kind: " + ", ".join(f"{k} {alarms[k]}/{totals_n[k]}" for k in sorted(totals_n)))
    if show_errors:
        print("\n".join(errors))
    return recall >= RECALL_TARGET and fa <= FALSE_ALARM_LIMIT


def rss_mb() -> float:
    """This process's resident memory (Linux)."""
    import os

    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def bench(triage: SafetyTriage) -> None:
    """Latency per utterance with a cold encoder cache, over the test split."""
    texts = [text for text, _, _ in load_split("test")]
    times = []
    for text in texts:
        triage.understanding.encoder._cache.clear()  # measure the forward pass, not the cache
        t0 = time.perf_counter()
        triage.triage(text)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p50, p90, p99 = (times[int(q * (len(times) - 1))] for q in (0.5, 0.9, 0.99))
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"latency per utterance ({len(texts)} utterances, {words:.1f} words on average, cold cache): "
          f"p50 {p50:.1f} ms  p90 {p90:.1f} ms  p99 {p99:.1f} ms  max {times[-1]:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "train", "both"), default="both")
    parser.add_argument("--show-errors", action="store_true", help="list every miss and false alarm")
    parser.add_argument("--bench", action="store_true", help="also print latency and memory of the layer")
    args = parser.parse_args()
    before = rss_mb()
    triage = SafetyTriage.load(Understanding.load())
    triage.triage("warm up")
    loaded = rss_mb()
    ok = True
    for name in (("train", "test") if args.split == "both" else (args.split,)):
        ok = evaluate(triage, name, args.show_errors) and ok
    if args.bench:
        bench(triage)
        print(f"memory: the understanding layer and the safety head added {loaded - before:.0f} MB resident "
              f"({rss_mb() - before:.0f} MB after the run)")
    print(f"targets: recall >= {RECALL_TARGET}, false alarms <= {FALSE_ALARM_LIMIT}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
