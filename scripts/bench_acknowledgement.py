#!/usr/bin/env python3
"""Does the acknowledgement's audio start before the language model's first token? Measured through the real loop.

Usage:
    .venv/bin/python scripts/bench_acknowledgement.py [--repeats 2]

Piper-synthesised utterances whose strategies ask the model for a follow-up question
(chat and memories) are played in real time through the whole loop
(wake word, endpointer, recogniser, reply flow, TTS), as `companion bench` does. For
each reply the script prints when the first reply audio played and when the model's
first token came, both from the end of her speech, and how many replies spoke first.
`companion bench` prints the same figure for its own utterance set.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.audio.echo import EchoPath  # noqa: E402
from companion.cli.bench import BenchClip, acknowledgement_lead, make_clips, run_pass  # noqa: E402
from companion.config import Settings  # noqa: E402

UTTERANCES = [  # chat and memories: the strategies whose follow-up the model may propose
    (["I made a lemon cake for the church sale."], None),
    (["When I was a girl we lived above a bakery."], None),
    (["I've been watching the snooker all afternoon."], None),
    (["My father kept pigeons in the back yard."], None),
    (["I planted some tulips in the front garden."], None),
    (["We used to go dancing every Saturday night."], None),
]


def introduced(settings: Settings) -> None:
    """Record the first-use introduction as said in the benchmark's store."""
    from companion.app import open_store
    from companion.clock import SystemClock
    from companion.safety.honesty import DisclosurePolicy

    store = open_store(settings)
    try:
        DisclosurePolicy(store, settings, SystemClock()).mark_introduced(SystemClock().now())
    finally:
        store.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    from companion.app import load_components

    settings = Settings()
    print("Loading models...", flush=True)
    components = load_components(settings, EchoPath())
    clips: list[BenchClip] = make_clips(components.tts, UTTERANCES)
    turns = []
    with tempfile.TemporaryDirectory(prefix="companion-ack-") as tmp:
        s = settings.replace(memory={"data_dir": str(Path(tmp) / "store")}, routines={"file": ""})
        introduced(s)  # a device in use: the first-use introduction is behind her
        for r in range(args.repeats):
            print(f"Pass {r + 1}/{args.repeats}...", flush=True)
            got, _ = run_pass(s, components, clips, streaming=True, data=Path(tmp))
            turns += got
    print(f"\n{'her words':48} {'strategy':13} {'first audio':>11} {'model token':>11}")
    for t in turns:
        token = t.timings.llm_first_token_after_speech_end_ms
        audio = t.timings.first_audio_after_speech_end_ms
        show = lambda v: "-" if v is None else str(round(v))  # noqa: E731
        print(f"{t.transcript[:48]:48} {str(t.strategy):13} {show(audio):>11} {show(token):>11}")
    lead = acknowledgement_lead(turns)
    print(f"\nAcknowledgement audio before the model's first token: {lead['ack_first']} of {lead['turns']} replies "
          f"that asked the model; lead p50 {lead['lead_ms']['p50']:.0f} ms, min {lead['lead_ms']['min']:.0f} ms"
          if lead["turns"] else "\nNo reply asked the model (were the utterances heard?)")
    return 0 if lead["turns"] and lead["ack_first"] == lead["turns"] else 1


if __name__ == "__main__":
    sys.exit(main())
