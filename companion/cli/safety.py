"""`companion safety classify`: one JSON line per input line with the safety triage of that utterance.

The stable interface for evaluation (and for a family member trying a phrase):
{"text": ..., "category": "fall" | ... | null, "tier": "emergency" | "check" | "none", "score": 0..1}.
"""

from __future__ import annotations

import json
import sys


def classify(*, stdin=None, stdout=None) -> int:
    """Read utterances (one per line) until EOF; print each one's triage as a JSON object."""
    from companion.understand.reading import Understanding
    from companion.understand.safety import SafetyTriage

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    triage = SafetyTriage.load(Understanding.load())
    for line in stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        print(json.dumps(triage.triage(text).to_json(), ensure_ascii=False), file=stdout, flush=True)
    return 0


def add_commands(subparsers) -> None:
    """Register `companion safety classify`."""
    p = subparsers.add_parser("safety", help="the safety layer: try phrases")
    sub = p.add_subparsers(dest="safety_command", required=True)
    c = sub.add_parser("classify", help="read lines on stdin, print one JSON triage per line")
    c.set_defaults(func=lambda args, settings: classify())
