#!/usr/bin/env python3
"""Reliability: nothing leaves the device except to the channels the family configured.

`companion chat` (real models: Piper/onnxruntime, gemma, the understanding layer) runs in an isolated
network namespace whose only neighbour logs every DNS query and every IP packet
(tests/egress_sandbox.py). Three turns, one of them an emergency that raises an alert, then it stays
open `--linger` seconds more. With no caregiver channel: zero lookups, zero packets. With a webhook
and an SMTP server configured: only their names are looked up, packets go only to them, and the
webhook alert is delivered. Nothing of onnxruntime's telemetry (~/.cache/Microsoft/DeveloperTools)
may appear in her home.

Needs root (ip netns). Exit 1 on any failure, 2 when namespaces cannot be made here.
`COMPANION_CODE=/tmp/old` runs it against older code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import companion_cli, use_code  # noqa: E402

use_code()

from egress_sandbox import CHANNELS, CONFIGURED, Sandbox, chat_inside  # noqa: E402


def judge(events: list[dict], allowed: set[str], world_ip: str) -> tuple[list[str], list[str]]:
    """(failures, what was seen) for one run."""
    names = sorted({e["dns"] for e in events if "dns" in e})
    packets = [e for e in events if "packet" in e]
    delivered = [e for e in events if "http" in e]
    seen = [f"{len([e for e in events if 'dns' in e])} lookup(s): {', '.join(names) or 'none'}",
            f"{len(packets)} other packet(s)" + (f" to {sorted({(p['dst'], p['port']) for p in packets})}"
                                                 if packets else ""),
            f"{len(delivered)} webhook POST(s)"]
    failures = [f"looked up {n}" for n in names if n not in allowed]
    ports = {8080, 2525} if allowed else set()  # the configured webhook and SMTP ports (egress_sandbox.CHANNELS)
    failures += [f"sent {p['packet']} to {p['dst']}:{p['port']}" for p in packets
                 if p["dst"] != world_ip or p["port"] not in ports]
    if allowed and not delivered:
        failures.append("the configured webhook was not reached")
    return failures, seen


def main() -> int:
    """Both runs; exit 1 on any leak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linger", type=float, default=15.0, help="seconds to stay open after the last line")
    args = parser.parse_args()
    why = Sandbox.unavailable()
    if why:
        print(f"cannot run the egress check here: {why}")
        return 2
    bad = 0
    llm_cache = Path.home() / ".cache" / "companion"
    for label, config, allowed in (("no caregiver channel", "", set()),
                                   ("webhook + SMTP configured", CHANNELS, CONFIGURED)):
        with tempfile.TemporaryDirectory(prefix="companion-egress-") as tmp, Sandbox(Path(tmp)) as box:
            result, home = chat_inside(box, Path(tmp), config, argv_prefix=companion_cli(), linger_s=args.linger,
                                       llm_cache=llm_cache)
            failures, seen = judge(box.events(), allowed, box.world_ip)
            if result.returncode != 0:
                failures.append(f"chat exited {result.returncode}: {result.stderr.strip()[-200:]}")
            telemetry = [str(p) for d in (home, Path(tmp) / "cache") for p in d.rglob("*") if "Microsoft" in str(p)]
            if telemetry:
                failures.append(f"telemetry files in her home: {', '.join(telemetry[:3])}")
        bad += bool(failures)
        print(f"{'ok  ' if not failures else 'FAIL'} {label}: {'; '.join(seen)}"
              + (f"\n     {'; '.join(failures)}" if failures else ""), flush=True)
    print("\nnothing left the device but to the configured channels" if not bad else "\nLEAKS found")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
