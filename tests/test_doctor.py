"""`companion doctor` runs each native stage in a child process and names a crash in words."""

from __future__ import annotations

import os
import subprocess
import sys

from companion.cli.probe import run_probe

CRASH = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


def test_a_crashing_llm_child_is_reported_by_name_with_the_fix():
    result = run_probe("llm", command=CRASH)
    assert not result.ok
    assert result.detail == "llama.cpp crashed on this CPU (signal 11, SIGSEGV)"
    assert result.fix == "run ./setup.sh --rebuild-llm"


def test_other_stages_name_their_library_and_an_abort():
    abort = [sys.executable, "-c", "import os; os.abort()"]
    result = run_probe("tts", command=abort)
    assert not result.ok and result.detail.startswith("Piper (onnxruntime) crashed") and "SIGABRT" in result.detail


def test_an_error_exit_reports_the_child_message(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[llm]\nmodel_path = "/nowhere/model.gguf"\n')
    result = run_probe("llm", str(config))
    assert not result.ok and "'/nowhere/model.gguf' does not exist" in result.detail  # the child's own message


def test_a_hung_stage_is_reported_not_waited_for():
    hang = [sys.executable, "-c", "import time; time.sleep(30)"]
    result = run_probe("stt", command=hang, timeout_s=1)
    assert not result.ok and "did not finish within 1 s" in result.detail


def test_doctor_runs_the_real_stages(tmp_path):
    """On this machine every native stage runs: the LLM evaluates its prefix, Piper speaks, the recogniser decodes."""
    env = {**os.environ, "COMPANION_CONFIG": str(tmp_path / "none.toml")}
    done = subprocess.run([sys.executable, "-m", "companion", "doctor"], capture_output=True, text=True, env=env,
                          timeout=600)
    out = done.stdout
    for label in ("LLM run", "voice run", "recogniser run"):
        line = next((ln for ln in out.splitlines() if label in ln), "")
        assert line.startswith("[  ok  ]"), out
    assert "evaluated" in out and "tokens" in out and "spoke" in out and "decoded 1.0 s" in out
