#!/usr/bin/env python3
"""Reliability: 60+ plausible bad edits of config.toml, each through the real command line and the real
start of the service.

For every edit in tests/bad_config_edits.py, starting from a good config the companion has already
started with:
  1. `companion --config FILE memories list` (a one-shot command) must exit 2 with one message that
     names FILE:LINE and the fix, and no traceback (an edit that is right, like "10pm", must work);
  2. the service's start (app.start_app, the code `companion run` uses) must start the companion on the
     last good config, answer a real turn with the real models, and report the problem;
  3. last-good-config.toml must be unchanged (rewritten only once a good file has started).

Prints one line per edit and a summary; exit 1 if any edit fails. Runs against older code too (it
then shows the failures the issue describes): `COMPANION_CODE=/tmp/old python scripts/reliability_config.py`
(see scripts/reliability_common.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import companion_cli, use_code  # noqa: E402

use_code()

from bad_config_edits import EDITS, Edit, good_config  # noqa: E402

from companion.app import App, load_components  # noqa: E402
from companion.audio.echo import EchoPath  # noqa: E402
from companion.audio.wav import WavFileSink, WavFileSource  # noqa: E402
from companion.config import LAST_GOOD, Settings, data_dir, load_settings  # noqa: E402

try:  # this start path; older code only had load_settings_or_last_good
    from companion.app import start_app
    from companion.config import config_choices
except ImportError:
    start_app = None

_components: dict[tuple, object] = {}


def build(settings: Settings, out: Path) -> App:
    """The companion as the service builds it, with files for audio and the models loaded once per set."""
    import numpy as np

    echo = EchoPath()
    key = (str(settings.tts.voice), str(settings.llm.model_path), repr(settings.stt), settings.wake.model)
    if key not in _components:
        _components[key] = load_components(settings, echo)
    return App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
               speaker=WavFileSink(out, realtime=False, echo=echo), echo=echo, components=_components[key],
               start_alerts=False)


def service_start(path: Path, out: Path) -> tuple[App, str | None]:
    """What `companion run` does at start: the file, else the last good config."""
    if start_app is not None:
        app, _, problem = start_app(config_choices(path), lambda s: build(s, out))
        return app, problem
    from companion.config import load_settings_or_last_good

    settings, problem = load_settings_or_last_good(path)
    return build(settings, out), problem


def same(a: Settings, b: Settings) -> bool:
    """Equal settings, whatever file they came from."""
    return dataclasses.replace(a, source="") == dataclasses.replace(b, source="")


def check(edit: Edit, tmp: Path) -> list[str]:
    """Everything wrong with how the companion handles this edit ([] = all right)."""
    failures: list[str] = []
    config = tmp / "config.toml"
    good = good_config(tmp)
    config.write_text(good)
    app, problem = service_start(config, tmp / "out")  # the good config: the companion starts on it
    app.close()
    good_settings = load_settings(config)
    saved = data_dir(good_settings) / LAST_GOOD
    before = saved.read_bytes() if saved.exists() else b""
    edited = edit.apply(good, tmp)
    (config.write_bytes if isinstance(edited, bytes) else config.write_text)(edited)

    # 1. a one-shot command says what is wrong, where, and the fix
    done = subprocess.run([*companion_cli(), "--config", str(config), "memories", "list"],
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    said = done.stderr
    if "Traceback" in said:
        failures.append("traceback: " + said.strip().splitlines()[-1][:150])
    if edit.accepted:
        if done.returncode != 0:
            failures.append(f"a right edit was refused: {said.strip()[:200]}")
    elif not edit.needs_models and edit.name != "emptied file":
        if done.returncode != 2:
            failures.append(f"exit {done.returncode}, not 2")
        if edit.line is not None and f"{config}:{edit.line}:" in said:
            pass
        elif edit.line is not None:
            failures.append(f"no '{config.name}:{edit.line}:' in the message")
        if edit.fix not in said:
            failures.append(f"the fix ('{edit.fix}') is not said")

    # 2. the service starts (on the last good config unless the edit is right) and answers
    try:
        app, problem = service_start(config, tmp / "out")
    except Exception as exc:  # what the issue saw: the edit stops every start
        return failures + [f"the service does not start: {type(exc).__name__}: {str(exc).splitlines()[0][:150]}"]
    try:
        reply = " ".join(app.engine.reply_to_text("What time is it?"))
        if "o'clock" not in reply and "past" not in reply and "to " not in reply and ":" not in reply:
            if not any(w in reply for w in ("morning", "afternoon", "evening", "night")):
                failures.append(f"no answer to 'what time is it': {reply[:80]!r}")
        if edit.accepted:
            try:
                right = edit.value(app.settings)
            except Exception as exc:  # an older Settings without the typed value
                right, _ = False, exc
            if not right:
                failures.append("started, but the edit's value is wrong")
        else:
            if not same(app.settings, good_settings):
                failures.append("did not start on the last good config")
            if not problem or (edit.fix not in problem):
                failures.append("the problem is not reported to the service log / the family")
    finally:
        app.close()

    # 3. last-good-config.toml is never overwritten by a bad file
    after = saved.read_bytes() if saved.exists() else b""
    if not edit.accepted and after != before:
        failures.append(f"{LAST_GOOD} was overwritten by the bad file")
    return failures


def main() -> int:
    """Run every edit; print a line each and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", help="only edits whose name contains this")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.CRITICAL)  # the expected problems would flood the output
    edits = [e for e in EDITS if not args.k or args.k in e.name]
    t0 = time.monotonic()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="companion-config-") as root:
        os.environ["XDG_DATA_HOME"] = str(Path(root) / "xdg-data")  # never the real user's data
        os.environ["XDG_CONFIG_HOME"] = str(Path(root) / "xdg-config")
        for i, edit in enumerate(edits, 1):
            tmp = Path(root) / f"edit-{i:02d}"
            tmp.mkdir()
            failures = check(edit, tmp)
            bad += bool(failures)
            status = "ok  " if not failures else "FAIL"
            print(f"{status} {i:2d}. {edit.name}" + ("" if not failures else ": " + "; ".join(failures)), flush=True)
    print(f"\n{len(edits) - bad} of {len(edits)} edits handled: reported with file:line and a fix, the service "
          f"started on the last good config, {LAST_GOOD} kept ({time.monotonic() - t0:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
