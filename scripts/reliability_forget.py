"""Forget precision and completeness on a labelled set (tests/data/forget_set.json: a dev and a test split).

    .venv/bin/python scripts/reliability_forget.py

For each case a fresh store hears what she said, then "forget about X" and "yes".
Printed per split: memories that had to go and went (recall), memories that went
and should not have (precision), and files left on the device that still name X
(completeness: the memory file, journal, daily copies, everything else).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DATA = ROOT / "tests" / "data" / "forget_set.json"


def run_case(case: dict, directory: Path) -> dict:
    """One case: (expected gone, gone, wrongly gone, missed, files still naming it)."""
    from memory_helpers import START, say

    from companion.clock import ManualClock
    from companion.config import MemorySettings
    from companion.memory.people import ambiguous
    from companion.memory.skill import MemorySkill
    from companion.store.store import Store

    clock = ManualClock(START)
    store = Store.open(directory)
    skill = MemorySkill(store, MemorySettings(), clock)
    for text in case["says"]:
        say(skill, text, clock)

    def matches(m, items: list[str]) -> bool:
        return any(m.subject == it or (it and it in m.said) for it in items)

    before = skill.book.all()
    must_go = [m for m in before if matches(m, case["gone"])]
    say(skill, f"forget about {case['forget']}", clock)
    say(skill, "yes", clock)
    after = {m.key for m in skill.book.all()}
    gone = [m for m in before if m.key not in after]
    wrong = [m for m in gone if not matches(m, case["gone"])]
    missed = [m for m in must_go if m.key in after]
    store.close()
    names = {m.subject for m in must_go if m.kind in ("person", "pet") and m.subject}
    left = []
    for name in names:
        flags = 0 if ambiguous(name) else re.IGNORECASE
        pat = re.compile(rb"(?<![\w-])" + re.escape(name).encode() + rb"(?![\w-])", flags)
        left += [p.name for p in directory.rglob("*") if p.is_file() and pat.search(p.read_bytes())]
    return {"expected": len(must_go), "gone": len(gone), "wrong": [m.subject or m.said for m in wrong],
            "missed": [m.subject or m.said for m in missed], "left": left}


def main() -> int:
    """Print the figures per split."""
    import logging

    logging.disable(logging.WARNING)
    cases = json.loads(DATA.read_text())["cases"]
    ok = True
    for split in ("dev", "test"):
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, case in enumerate(c for c in cases if c["split"] == split):
                r = run_case(case, Path(tmp) / f"c{i}")
                rows.append(r)
                for what in ("wrong", "missed", "left"):
                    if r[what]:
                        print(f"  {split} 'forget about {case['forget']}': {what}: {r[what]}")
        expected, gone = sum(r["expected"] for r in rows), sum(r["gone"] for r in rows)
        wrong, missed = sum(len(r["wrong"]) for r in rows), sum(len(r["missed"]) for r in rows)
        left = sum(len(r["left"]) for r in rows)
        precision = (gone - wrong) / gone if gone else 1.0
        recall = (expected - missed) / expected if expected else 1.0
        print(f"{split:4}: {len(rows)} cases; {gone} memories forgotten, {wrong} of them wrongly "
              f"(precision {precision:.3f}); {expected - missed}/{expected} that had to go went "
              f"(recall {recall:.3f}); files still naming them: {left}")
        ok &= wrong == 0 and missed == 0 and left == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
