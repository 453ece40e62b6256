#!/usr/bin/env python3
"""Train the safety head and exemplar bank (companion/understand/data/safety_*.npz, safety.json).

Data: tests/data/safety/train.tsv plus the red-team list (tests/safety_redteam.py REDTEAM).
The test split (tests/data/safety/test.tsv and the red-team HELD_OUT list) is never read here.
The tiers:
  check     = CHECK: more likely than not to be something other than ordinary talk (0.5);
  emergency = the lowest score whose 5-fold cross-validated false alarms on the train split are at
              most EMERGENCY_FA_LIMIT (an alert on ordinary talk is worse than a question).
Run:  .venv/bin/python scripts/train_safety.py [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from companion.understand.heads import ExemplarBank, LinearHead  # noqa: E402
from companion.understand.reading import Understanding  # noqa: E402
from companion.understand.safety import BANK_FILE, HEAD_FILE, NONE, SETTINGS_FILE, prepare, triage_features  # noqa: E402

DATA = ROOT / "tests" / "data" / "safety"
L2 = 1e-4
FOLDS = 5
CHECK = 0.5
EMERGENCY_FA_LIMIT = 0.015


def load_split(name: str) -> list[tuple[str, str, str]]:
    """(text, label, kind) rows of one split; "train" adds the red-team list, "test" its HELD_OUT list."""
    from safety_redteam import HELD_OUT, REDTEAM

    rows = []
    for line in (DATA / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, kind, text = line.split("\t")
            rows.append((text, label, kind))
    extra = REDTEAM if name == "train" else HELD_OUT
    rows += [(text, label or NONE, "redteam") for text, label, _ in extra]
    return rows


def design(understanding: Understanding, rows: list[tuple[str, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and embeddings of the texts."""
    xs, vs = [], []
    for text, _, _ in rows:
        norm = prepare(text)
        v = understanding.encoder.encode(norm)
        xs.append(triage_features(v, norm)[0])
        vs.append(v)
    return np.stack(xs), np.stack(vs)


def fit(x: np.ndarray, labels: list[str]) -> LinearHead:
    """Ordinary talk weighs as much as all emergency classes together (not one class among ten)."""
    k = len(set(labels))
    weights = np.array([(k - 1.0) if label == NONE else 1.0 for label in labels])
    return LinearHead.train(x, labels, l2=L2, weights=weights)


def cross_validated_scores(x: np.ndarray, labels: list[str]) -> np.ndarray:
    """Each row's score from a head that never saw it."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(labels))
    scores = np.zeros(len(labels))
    for fold in np.array_split(order, FOLDS):
        rest = np.setdiff1d(order, fold)
        head = fit(x[rest], [labels[i] for i in rest])
        for i in fold:
            scores[i] = 1.0 - head.probs(x[i])[NONE]
    return scores


def choose_thresholds(scores: np.ndarray, emergency: np.ndarray) -> tuple[float, float]:
    """(check, emergency) limits as the module docstring says."""
    grid = np.round(np.arange(CHECK, 0.96, 0.01), 2)
    high = next((float(t) for t in grid if (scores[~emergency] >= t).mean() <= EMERGENCY_FA_LIMIT), 0.95)
    return CHECK, high


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="cross-validate and print, write nothing")
    args = parser.parse_args()
    understanding = Understanding.load()
    rows = load_split("train")
    labels = [label for _, label, _ in rows]
    x, vectors = design(understanding, rows)
    emergency = np.array([label != NONE for label in labels])
    scores = cross_validated_scores(x, labels)
    check, high = choose_thresholds(scores, emergency)
    print(f"train split: {len(rows)} utterances ({emergency.sum()} emergencies, {(~emergency).sum()} ordinary)")
    for name, t in (("check", check), ("emergency", high)):
        det = scores >= t
        print(f"cross-validated at {name} threshold {t:.2f}: recall {det[emergency].mean():.3f}  "
              f"false alarms {det[~emergency].mean():.3f}")
    if args.dry_run:
        return 0
    head = fit(x, labels)
    head.save(HEAD_FILE)
    ExemplarBank(tuple(prepare(t) for t, _, _ in rows), tuple(labels), vectors.astype(np.float32)).save(BANK_FILE)
    SETTINGS_FILE.write_text(json.dumps({"check": check, "emergency": high, "l2": L2, "trained_on": len(rows)},
                                        indent=1) + "\n", encoding="utf-8")
    print(f"wrote {HEAD_FILE.name}, {BANK_FILE.name}, {SETTINGS_FILE.name} in {HEAD_FILE.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
