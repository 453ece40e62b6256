"""Run one native stage for a moment, in its own process, so a crash in C code can be named.

`companion doctor` starts `python -m companion.cli.probe STAGE` for the LLM
(llama.cpp), the voice (Piper/onnxruntime) and the recogniser, and reads the
exit status: a native library that dies of a signal takes only this child
down, and the doctor says which library and how to fix it.
"""

from __future__ import annotations

import argparse
import faulthandler
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

STAGE_TIMEOUT_S = 180.0  # loading a 1.5B model from an SD card can take a while


@dataclass(frozen=True)
class Stage:
    """A native stage: who it is, in her family's words, and how to repair it."""

    name: str
    library: str
    fix: str


PROBE_STAGES = {
    "llm": Stage("llm", "llama.cpp", "run ./setup.sh --rebuild-llm"),
    "tts": Stage("tts", "Piper (onnxruntime)", "rm -rf .venv && ./setup.sh (reinstalls onnxruntime and Piper)"),
    "stt": Stage("stt", "the speech recogniser", "rm -rf .venv && ./setup.sh (reinstalls the recogniser)"),
}


@dataclass(frozen=True)
class ProbeResult:
    """What one child process did."""

    stage: Stage
    ok: bool
    detail: str  # one line: what ran, or what went wrong
    fix: str = ""


def _llm(settings) -> str:
    from companion.voice.llm import ReplyGenerator

    t0 = time.monotonic()
    gen = ReplyGenerator.load(settings.llm, settings.conversation.assistant_name)
    try:
        n = gen.probe()
    finally:
        gen.close()
    return f"evaluated {n} tokens in {time.monotonic() - t0:.1f} s"


def _tts(settings) -> str:
    from companion.voice.tts import PiperTTS, find_voice

    t0 = time.monotonic()
    tts = PiperTTS.load(find_voice(settings.tts))
    audio = tts.synthesize_all("Hello, I am here.", deterministic=True)
    return f"spoke {len(audio) / tts.rate:.1f} s of audio in {time.monotonic() - t0:.1f} s"


def _stt(settings) -> str:
    from companion.audio.frames import SAMPLE_RATE
    from companion.ears.stt import load_recognizer

    t0 = time.monotonic()
    rec = load_recognizer(settings.stt)
    try:
        rec.start()
        quiet_room = (np.random.default_rng(0).normal(0, 60, SAMPLE_RATE)).astype(np.int16)
        for i in range(0, SAMPLE_RATE, 512):
            rec.accept(quiet_room[i:i + 512])
        rec.finish()
    finally:
        rec.close()
    return f"{rec.name} decoded 1.0 s of audio in {time.monotonic() - t0:.1f} s"


RUNNERS = {"llm": _llm, "tts": _tts, "stt": _stt}


def main(argv: list[str] | None = None) -> int:
    """Child entry point: run one stage, print one line, exit 0 (or 2 with the error)."""
    faulthandler.enable()  # a native crash leaves a Python traceback on stderr for the log
    p = argparse.ArgumentParser(prog="python -m companion.cli.probe")
    p.add_argument("stage", choices=sorted(RUNNERS))
    p.add_argument("--config")
    args = p.parse_args(argv)
    from companion.config import load_settings
    from companion.errors import CompanionError

    try:
        print(RUNNERS[args.stage](load_settings(args.config)), flush=True)
    except CompanionError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    return 0


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def interpret(stage: Stage, returncode: int, stdout: str, stderr: str) -> ProbeResult:
    """Turn a child's exit into words: ok, a crash by signal, or the error it printed."""
    if returncode == 0:
        return ProbeResult(stage, True, (stdout.strip().splitlines() or ["ok"])[-1])
    if returncode < 0:
        return ProbeResult(stage, False, f"{stage.library} crashed on this CPU (signal {-returncode}, "
                                         f"{signal_name(-returncode)})", stage.fix)
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return ProbeResult(stage, False, lines[-1] if lines else f"{stage.library} failed (exit {returncode})", stage.fix)


def run_probe(stage_name: str, config: str | None = None, *, command: list[str] | None = None,
              timeout_s: float = STAGE_TIMEOUT_S) -> ProbeResult:
    """Run a stage in a child process (or `command`, the same seam the tests use) and interpret its exit."""
    stage = PROBE_STAGES[stage_name]
    cmd = command or [sys.executable, "-m", "companion.cli.probe", stage_name, *(["--config", config] if config else [])]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return ProbeResult(stage, False, f"{stage.library} did not finish within {timeout_s:.0f} s", stage.fix)
    return interpret(stage, done.returncode, done.stdout, done.stderr)


if __name__ == "__main__":
    sys.exit(main())
