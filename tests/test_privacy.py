"""Nothing leaves the device and nothing is readable by others: dependency telemetry off, private file modes,
permission problems said in one line with the fix, the service's network allow list from the config.

The full versions: scripts/reliability_file_modes.py and scripts/reliability_egress.py (and tests/test_egress.py).
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from companion import OFFLINE_ENV
from companion.config import parse_settings
from companion.errors import StoreError
from companion.store.private import prepare_data_dir, secure_tree

REPO = Path(__file__).resolve().parents[1]
NOBODY = pwd.getpwnam("nobody")


def test_the_switches_are_set_before_any_dependency_and_onnxruntime_is_told_too():
    code = ("import companion, os, sys; assert 'onnxruntime' not in sys.modules; "
            "import companion.voice.tts, piper, onnxruntime; from companion import SWITCHED_OFF; "
            "print({k: os.environ[k] for k in " + repr(sorted(OFFLINE_ENV)) + "}, SWITCHED_OFF)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ORT_DISABLE_TELEMETRY": "0"})  # the family's promise wins
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{dict(sorted(OFFLINE_ENV.items()))} ['onnxruntime']"


def test_speaking_leaves_no_telemetry_files_in_her_home(tmp_path):
    code = ("import companion; from companion.config import TtsSettings; from companion.voice.tts import PiperTTS, "
            "find_voice; assert PiperTTS.load(find_voice(TtsSettings())).synthesize_all('Hello Margaret.').size")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".cache" / "Microsoft").exists()  # onnxruntime's device id and event queue


def test_files_left_open_by_an_older_version_are_made_private(tmp_path):
    data = tmp_path / "data"
    (data / "summaries").mkdir(parents=True)
    data.chmod(0o755)  # whatever umask this process has (main() sets 077)
    (data / "summaries").chmod(0o755)
    (data / "summaries" / "summary.txt").write_text("Margaret mentioned pain.")
    (data / "summaries" / "summary.txt").chmod(0o644)
    fixed = prepare_data_dir(data)
    assert {p.name for p in fixed} == {"data", "summaries", "summary.txt"}
    for path in (data, data / "summaries"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "summaries" / "summary.txt").stat().st_mode) == 0o600
    assert secure_tree(data) == []  # nothing left to fix


def test_every_file_is_private_after_a_real_run_in_a_user_install(tmp_path):
    """`companion chat` with an emergency (alert: outbox, audit log) and `summary`, from a shell with umask 022."""
    home = tmp_path / "home"
    (home / ".config" / "companion").mkdir(parents=True)
    (home / ".config" / "companion" / "config.toml").write_text(
        '[caregiver]\ncontacts = ["Susan"]\nshare_words = true\n[llm]\nmax_reply_tokens = 16\n')
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))}
    for argv, stdin in ((["chat"], "hello\nhelp, I fell and I can't get up\n"), (["summary", "--period", "day"], "")):
        done = subprocess.run([sys.executable, "-m", "companion", *argv], input=stdin, capture_output=True, text=True,
                              timeout=600, env=env, preexec_fn=lambda: os.umask(0o022))
        assert done.returncode == 0, done.stderr[-800:]
    data = home / ".local" / "share" / "companion"
    entries = [data, *data.rglob("*")]
    assert any(p.name == "audit.jsonl" for p in entries) and any(p.parent.name == "outbox" for p in entries)
    too_open = [f"{stat.S_IMODE(p.stat().st_mode):04o} {p}" for p in entries
                if stat.S_IMODE(p.stat().st_mode) & ~(0o700 if p.is_dir() else 0o600)]
    assert not too_open


@pytest.fixture()
def open_tmp():
    """A folder other users may enter (pytest's tmp_path sits in a root-only folder)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="companion-perm-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as_nobody(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`companion ARGV` as the user nobody (effective uid: the interpreter under /root stays readable)."""
    code = ("import os, sys; import companion.cli.main as m, companion.cli.memory, companion.memory.book; "
            f"os.setegid({NOBODY.pw_gid}); os.seteuid({NOBODY.pw_uid}); sys.exit(m.main({argv!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as two users (setuid to nobody)")
def test_a_store_owned_by_another_user_is_one_line_with_the_fix(open_tmp):
    tmp_path = open_tmp
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    env = {**os.environ, "HOME": str(home), "STATE_DIRECTORY": str(data), "XDG_CONFIG_HOME": str(home)}
    env.pop("XDG_DATA_HOME")
    done = _as_nobody(["memories", "list"], env)  # the data folder belongs to root
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"companion: {data} belongs to root, not nobody, so the companion cannot use its data; "
        f"fix: sudo chown -R nobody: {data}"]
    os.chown(data, NOBODY.pw_uid, NOBODY.pw_gid)  # the folder is hers, but root left the lock behind
    (data / "companion.json.lock").write_text("")
    done = _as_nobody(["memories", "list"], env)
    assert done.returncode == 2 and f"{data / 'companion.json.lock'} belongs to root" in done.stderr
    assert f"fix: sudo chown -R nobody: {data}" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(StoreError, match=r"belongs to nobody: run this as that user, e\.g\. sudo -u nobody"):
        prepare_data_dir(data)  # and root never writes into her folder


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the data folder to another user")
def test_the_live_service_waits_and_retries_instead_of_crash_looping(tmp_path, components, caplog):
    import numpy as np

    from companion.app import App, start_waiting
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource
    from companion.watchdog import Notifier

    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, NOBODY.pw_uid, NOBODY.pw_gid)
    config = tmp_path / "config.toml"
    config.write_text(f'[memory]\ndata_dir = "{data}"\n')
    echo = EchoPath()
    tries: list[int] = []

    def build(settings) -> App:
        tries.append(1)
        return App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
                   speaker=WavFileSink(tmp_path / "out", realtime=False, echo=echo), echo=echo, components=components,
                   start_alerts=False)

    stop = threading.Event()
    fixed = threading.Timer(0.5, lambda: os.chown(data, 0, 0))  # someone runs the chown the log line names
    fixed.start()
    app, problem = start_waiting(str(config), build, notifier=Notifier(None), stop=stop, retry_s=0.2)
    app.close()
    assert problem is None and len(tries) == 1  # never built while the folder was not usable
    waits = [r for r in caplog.records if "cannot start" in r.getMessage()]
    assert len(waits) == 1 and "belongs to nobody" in waits[0].getMessage()  # said once, not every retry


def test_the_allow_list_holds_only_the_configured_servers(tmp_path):
    from companion.cli.egress import dropin

    none, _ = dropin(parse_settings("", "c.toml"))
    assert "IPAddressAllow" not in none and "nothing may leave the device" in none
    settings = parse_settings('[caregiver]\nwebhook_url = "https://192.0.2.10/mum"\nsmtp_host = "198.51.100.7"\n'
                              'smtp_to = ["susan@example.org"]\nsmtp_from = "mum@example.org"\n', "c.toml")
    text, warnings = dropin(settings)
    assert text.splitlines()[-3:] == ["[Service]", "IPAddressAllow=192.0.2.10", "IPAddressAllow=198.51.100.7"]
    assert not warnings  # IP literals: no DNS server needed either
    named = parse_settings('[caregiver]\nwebhook_url = "https://alerts.invalid/mum"\n', "c.toml")
    text, warnings = dropin(named, nameservers=["192.0.2.53"])
    assert "alerts.invalid" in warnings[0] and "IPAddressAllow=192.0.2.53" not in text  # nothing resolved


def test_egress_check_says_when_the_installed_list_is_stale(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[caregiver]\nwebhook_url = "https://192.0.2.10/mum"\n')
    cli = [sys.executable, "-m", "companion", "--config", str(config), "egress"]
    assert subprocess.run([*cli, "--write", str(tmp_path / "units")], capture_output=True).returncode == 0
    dropins = sorted((tmp_path / "units").glob("*.d/egress.conf"))
    assert [p.parent.name for p in dropins] == ["companion-failed.service.d", "companion-summary-weekly.service.d",
                                                "companion-summary.service.d", "companion.service.d"]
    assert subprocess.run([*cli, "--check", "--write", str(tmp_path / "units")], capture_output=True).returncode == 0
    config.write_text('[caregiver]\nwebhook_url = "https://192.0.2.99/mum"\n')  # the family changed the webhook
    stale = subprocess.run([*cli, "--check", "--write", str(tmp_path / "units")], capture_output=True, text=True)
    assert stale.returncode == 1 and "run: sudo companion egress --apply" in stale.stderr
