#!/usr/bin/env python3
"""Run the safety red-team list and print per-category precision and recall (and every miss)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from safety_redteam import HELD_OUT, REDTEAM  # noqa: E402

from companion.safety.phrases import CATEGORIES, SafetyDetector  # noqa: E402


def main() -> int:
    """Print the figures; exit 1 if any phrase is misjudged."""
    detector = SafetyDetector(extra_help_numbers=("911",))
    results = []
    for text, expected, why in REDTEAM:
        got = detector.detect(text)
        results.append((text, expected, got.category if got else None, why))
    # Emergency vs not (any category): the figure that matters most.
    tp = sum(1 for _, e, g, _ in results if e and g)
    fp = sum(1 for _, e, g, _ in results if not e and g)
    fn = sum(1 for _, e, g, _ in results if e and not g)
    print(f"{len(results)} phrases: {sum(1 for r in results if r[1])} emergencies, "
          f"{sum(1 for r in results if not r[1])} not")
    print(f"emergency detection: precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}")
    print(f"{'category':10} {'n':>3} {'precision':>9} {'recall':>7}")
    for cat in CATEGORIES:
        ctp = sum(1 for _, e, g, _ in results if e == cat and g == cat)
        cfp = sum(1 for _, e, g, _ in results if e != cat and g == cat)
        cfn = sum(1 for _, e, g, _ in results if e == cat and g != cat)
        n = sum(1 for r in results if r[1] == cat)
        print(f"{cat:10} {n:3d} {ctp / max(ctp + cfp, 1):9.3f} {ctp / max(ctp + cfn, 1):7.3f}")
    held = [(t, e, (g.category if (g := detector.detect(t)) else None)) for t, e, _ in HELD_OUT]
    htp = sum(1 for _, e, g in held if e and g)
    hfp = sum(1 for _, e, g in held if not e and g)
    hfn = sum(1 for _, e, g in held if e and not g)
    print(f"held-out list ({len(held)} phrases written after tuning): precision {htp / max(htp + hfp, 1):.3f}  "
          f"recall {htp / max(htp + hfn, 1):.3f}  (first run, before its misses were fixed: 1.000 / 0.562)")
    wrong = [r for r in results if r[1] != r[2]]
    for text, expected, got, why in wrong:
        print(f"MISJUDGED: {text!r}: expected {expected}, got {got} ({why})")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
