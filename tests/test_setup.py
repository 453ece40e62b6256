"""setup.sh and the systemd units: shellcheck, systemd-analyze verify, and two real offline installs."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def need(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is not installed: run ./setup.sh --dev as root (it installs it with apt-get)"
    return path


def test_setup_sh_is_shellcheck_clean():
    shellcheck = need("shellcheck")
    scripts = [REPO / "setup.sh", *sorted((REPO / "scripts").glob("*.sh"))]
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_systemd_units_verify():
    need("systemd-analyze")
    result = subprocess.run([str(REPO / "scripts" / "verify_units.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 units OK, with 4 egress drop-in(s)" in result.stdout  # drop-ins from `companion egress`


def test_units_keep_the_promises():
    service = (REPO / "systemd" / "companion.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=always", "User=companion", "StartLimitBurst=5",
                 "StartLimitIntervalSec=10min", "OnFailure=companion-failed.service",
                 "SupplementaryGroups=audio gpio", "After=sound.target", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "StateDirectory=companion", "PrivateTmp=yes", "ProtectHome=yes"):
        assert line in service, line
    assert "StartLimitIntervalSec=0" not in service  # never a tight restart loop for ever
    for name in ("companion.service", "companion-summary.service", "companion-summary-weekly.service",
                 "companion-failed.service"):
        unit = (REPO / "systemd" / name).read_text()  # nothing leaves but to the configured channels
        assert "IPAddressDeny=any\nIPAddressAllow=localhost\n" in unit, name
    failed = (REPO / "systemd" / "companion-failed.service").read_text()
    assert "ExecStart=/opt/companion/bin/companion report-failure --unit companion.service" in failed
    for period, unit in (("day", "companion-summary"), ("week", "companion-summary-weekly")):
        summary = (REPO / "systemd" / f"{unit}.service").read_text()
        assert f"ExecStart=/opt/companion/bin/companion summary --period {period} --send\n" in summary  # sent, not only written
        timer = (REPO / "systemd" / f"{unit}.timer").read_text()
        assert "OnCalendar=" in timer and "Persistent=true" in timer and f"Unit={unit}.service" in timer
    setup = (REPO / "setup.sh").read_text()
    assert "companion-summary-weekly.service companion-summary-weekly.timer" in setup
    assert "systemctl enable companion.service companion-summary.timer companion-summary-weekly.timer" in setup


@pytest.mark.parametrize("args, message", [
    (["--bogus"], "unknown option '--bogus'"),
    (["--llm", "gpt5"], "--llm must be"),
    (["--purge"], "--purge only goes with --uninstall"),
])
def test_bad_options_are_refused_with_a_reason(args, message):
    result = subprocess.run([str(REPO / "setup.sh"), *args], capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr


def _clean_copy(tmp_path: Path) -> Path:
    """The checkout as a fresh clone would have it (tracked and new files, nothing ignored)."""
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / os.fsdecode(name)
        if src.is_file():
            dst = repo / os.fsdecode(name)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return repo


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COMPANION_", "XDG_", "VIRTUAL_ENV", "PYTHONPATH"))}
    # pip's cache (it holds the llama-cpp-python wheel, minutes to build) stays where it is
    cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True)
    if cache.returncode == 0 and cache.stdout.strip():
        env["PIP_CACHE_DIR"] = cache.stdout.strip()
    env["HOME"] = str(home)
    return env


def _as_unprivileged(tmp_path: Path) -> list[str]:
    """Run uninstall as an ordinary user, so it cannot touch a real system install on this machine."""
    if os.geteuid() != 0:
        return []
    subprocess.run(["chown", "-R", "65534:65534", str(tmp_path)], check=True)
    return [need("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def workdir(tmp_path):
    """tmp_path, or (as root) a directory outside pytest's root-only tree that `nobody` can reach."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="companion-setup-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_setup_twice_offline_then_uninstall(workdir):
    tmp_path = workdir
    repo = _clean_copy(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)

    first = subprocess.run(["./setup.sh", "--offline"], cwd=repo, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "using the offline models" in first.stdout
    venv_python = repo / ".venv" / "bin" / "python"
    check = subprocess.run([str(venv_python), "-c", "import companion.panel, gpiozero, llama_cpp, piper"],
                           env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    second = subprocess.run(["./setup.sh", "--offline"], cwd=repo, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already installed" in second.stdout and "Installing" not in second.stdout

    _downloads_are_checked(repo, env, tmp_path)

    data = home / ".local" / "share" / "companion"
    data.mkdir(parents=True, exist_ok=True)
    (data / "companion.json").write_text("{}")
    prefix = _as_unprivileged(tmp_path)
    keep = subprocess.run([*prefix, "./setup.sh", "--uninstall"], cwd=repo, env=env, capture_output=True, text=True)
    assert keep.returncode == 0, keep.stdout + keep.stderr
    assert not (repo / ".venv").exists() and (data / "companion.json").exists()
    assert "kept her data" in keep.stdout

    purge = subprocess.run([*prefix, "./setup.sh", "--uninstall", "--purge"], cwd=repo, env=env,
                           capture_output=True, text=True)
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert not data.exists()


def _downloads_are_checked(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    """A local mirror: a tampered Vosk zip is refused, a GGUF needs its sha256 (or --trust-unverified)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "vosk-model-small-en-us-0.15.zip").write_bytes(b"not the real model")
    (mirror / "mine.gguf").write_bytes(b"GGUF tiny test model")
    good_sha = hashlib.sha256(b"GGUF tiny test model").hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    models = tmp_path / "models"
    run_env = {**env, "COMPANION_MODEL_MIRROR": base, "COMPANION_MODELS": str(models),
               "COMPANION_LLM_URL": f"{base}/mine.gguf"}
    args = ["./setup.sh", "--llm", "none", "--voice", "none"]
    try:
        unverified = subprocess.run(args, cwd=repo, env=run_env, capture_output=True, text=True)
        assert unverified.returncode == 0, unverified.stdout + unverified.stderr
        assert "sha256 mismatch" in unverified.stderr and "refusing to install an unverified file" in unverified.stderr
        assert not (models / "vosk-model-small-en-us-0.15").exists() and not (models / "mine.gguf").exists()

        pinned = subprocess.run(args, cwd=repo, env={**run_env, "COMPANION_LLM_SHA256": good_sha},
                                capture_output=True, text=True)
        assert pinned.returncode == 0, pinned.stdout + pinned.stderr
        assert (models / "mine.gguf").read_bytes() == b"GGUF tiny test model"
        assert "replies: mine.gguf" in pinned.stdout

        wrong = subprocess.run(args, cwd=repo, capture_output=True, text=True,
                               env={**run_env, "COMPANION_MODELS": str(tmp_path / "m2"),
                                    "COMPANION_LLM_SHA256": "0" * 64})
        assert "mine.gguf: sha256 mismatch" in wrong.stderr and not (tmp_path / "m2" / "mine.gguf").exists()
    finally:
        server.shutdown()
