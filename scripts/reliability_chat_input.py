#!/usr/bin/env python3
"""Reliability: long and odd typed input never crashes `companion chat`.

1. The issue's failure, through the real command line: a few turns, then a 6 KB line, then more
   hostile lines (60 KB, 1 MB, one 6 KB word, control characters, NULs, bytes that are not UTF-8,
   emoji, punctuation only, right-to-left text, zero-width characters), each followed by "what time
   is it?". `companion chat` must exit 0 with no traceback, answer every "what time is it?", and say
   "That was a lot — let me take the start of it" for input longer than the model's context.
2. Each hostile line alone through the real App (real models): a reply, never an exception.

Exit 1 on any failure. `COMPANION_CODE=/tmp/old` runs it against older code.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import companion_cli, use_code  # noqa: E402

use_code()

from odd_inputs import HOSTILE  # noqa: E402

TIME_ANSWER = re.compile(r"^Companion: It'?s .*(morning|afternoon|evening|night|midnight|midday|noon)", re.M)
TOO_MUCH = "That was a lot"


def through_the_cli(tmp: Path) -> list[str]:
    """All lines through one `companion chat`, as the issue did it."""
    lines = [b"hello there", b"my son Tom lives in Leeds", b"I like gardening"]
    for _, line, _ in HOSTILE:
        lines += [line, b"what time is it?"]
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config")}
    done = subprocess.run([*companion_cli(), "chat"], input=b"\n".join(lines) + b"\n", capture_output=True,
                          timeout=1800, env=env)
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    failures = []
    if done.returncode != 0:
        tail = err.strip().splitlines()[-1] if err.strip() else ""
        failures.append(f"exit {done.returncode}: {tail[:160]}")
    if "Traceback" in err:
        failures.append("a traceback")
    answered = len(TIME_ANSWER.findall(out))
    if answered != len(HOSTILE):
        failures.append(f"{answered} of {len(HOSTILE)} 'what time is it?' answered")
    cut = out.count(TOO_MUCH)
    must = sum(1 for _, _, c in HOSTILE if c)
    if cut < must:
        failures.append(f"'{TOO_MUCH}' said {cut} times, for {must} over-long lines")
    return failures


def one_by_one() -> list[tuple[str, list[str], str]]:
    """Each hostile line alone through the real App."""
    import numpy as np

    from companion.app import App
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource
    from companion.config import Settings

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings().replace(memory={"data_dir": str(Path(tmp) / "data")})
        echo = EchoPath()
        app = App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
                  speaker=WavFileSink(Path(tmp) / "out", realtime=False, echo=echo), echo=echo, start_alerts=False)
        try:
            for name, line, cut in HOSTILE:
                text = line.decode("utf-8", "replace")
                try:
                    reply = " ".join(app.engine.reply_to_text(text))
                except Exception as exc:
                    out.append((name, [f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"], ""))
                    continue
                failures = [] if reply.strip() else ["no reply"]
                if cut and TOO_MUCH not in reply:
                    failures.append(f"not told '{TOO_MUCH}'")
                out.append((name, failures, reply))
        finally:
            app.close()
    return out


def main() -> int:
    """Both parts; a line per case."""
    logging.basicConfig(level=logging.CRITICAL)
    t0 = time.monotonic()
    bad = 0
    for name, failures, reply in one_by_one():
        bad += bool(failures)
        shown = reply if len(reply) < 90 else reply[:87] + "..."
        print(f"{'ok  ' if not failures else 'FAIL'} {name}: " + ("; ".join(failures) if failures else repr(shown)),
              flush=True)
    with tempfile.TemporaryDirectory(prefix="companion-chat-") as tmp:
        failures = through_the_cli(Path(tmp))
    bad += bool(failures)
    print(f"{'ok  ' if not failures else 'FAIL'} `companion chat` with all {len(HOSTILE)} lines after a few turns"
          + (": " + "; ".join(failures) if failures else ""))
    print(f"\n{len(HOSTILE) + 1 - bad} of {len(HOSTILE) + 1} checks passed ({time.monotonic() - t0:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
