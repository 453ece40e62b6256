#!/usr/bin/env python3
"""Reliability: every file under her data folder is 0600 and every folder 0700, in every install mode.

Two installs, each with umask 022 (a user's shell default; the service's unit sets UMask=0077, and
this checks the code does not rely on it), and with files left 0644/0755 by an older version:
  - a user install (~/.local/share/companion),
  - the service layout ($STATE_DIRECTORY as systemd sets it, /etc/companion/config.toml with a token).
In each, the real commands run: `companion run` (the live service, until it has started and saved the
last good config), `companion chat` with an emergency (alert: outbox, audit log), `companion summary`,
`companion alerts list`. Then every entry of the data folder is checked.

Exit 1 if any entry is readable by others. `COMPANION_CODE=/tmp/old` runs it against older code.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import companion_cli  # noqa: E402

CONFIG = """[caregiver]
contacts = ["Susan"]
webhook_url = "http://127.0.0.1:9/mums-companion"
webhook_headers = ["Authorization: Bearer tk_secret_token"]
share_words = true
"""


def leftovers(data: Path) -> None:
    """What an older version left: open modes everywhere."""
    for d in (data, data / "alerts", data / "summaries", data / "outbox"):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
    for f, text in ((data / "alerts" / "audit.jsonl", '{"event": "raised", "why": "old"}\n'),
                    (data / "summaries" / "summary-2026-01-01-day.txt", "Margaret talked about Susan.\n"),
                    (data / "last-good-config.toml", CONFIG)):
        f.write_text(text)
        f.chmod(0o644)


def run(argv: list[str], env: dict[str, str], *, stdin: str = "", until: tuple[str, ...] = (),
        timeout: float = 600) -> str:
    """Run a companion command with umask 022; `until`: stop it (SIGINT) once stderr shows one of these."""
    proc = subprocess.Popen([*companion_cli(), *argv], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.umask(0o022))
    if not until:
        out, err = proc.communicate(stdin, timeout=timeout)
        return err
    assert proc.stderr is not None
    deadline, seen = time.monotonic() + timeout, []
    for line in proc.stderr:
        seen.append(line)
        if any(u in line for u in until) or time.monotonic() > deadline:
            break
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return "".join(seen)


def open_entries(data: Path) -> list[str]:
    """Every entry readable, writable or listable by anyone but her (the owner)."""
    bad = []
    for path in [data, *data.rglob("*")]:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        mode = stat.S_IMODE(st.st_mode)
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if mode & ~want:
            bad.append(f"{mode:04o} {path.relative_to(data.parent)}")
    return bad


def install(kind: str, tmp: Path) -> tuple[Path, dict[str, str]]:
    """The data folder and environment of one install mode."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))}
    if "COMPANION_CODE" in os.environ:
        env["COMPANION_CODE"] = os.environ["COMPANION_CODE"]
    if kind == "user install":
        home = tmp / "home"
        (home / ".config" / "companion").mkdir(parents=True)
        (home / ".config" / "companion" / "config.toml").write_text(CONFIG)
        env["HOME"] = str(home)
        return home / ".local" / "share" / "companion", env
    state = tmp / "var-lib-companion"
    (tmp / "etc").mkdir()
    (tmp / "etc" / "config.toml").write_text(CONFIG)
    env.update(HOME=str(state), STATE_DIRECTORY=str(state), COMPANION_CONFIG=str(tmp / "etc" / "config.toml"))
    return state, env


def main() -> int:
    """Both install modes; list every entry that is too open."""
    bad = 0
    for kind in ("user install", "service"):
        with tempfile.TemporaryDirectory(prefix="companion-modes-") as tmp:
            data, env = install(kind, Path(tmp))
            leftovers(data)
            # started: this code says so; older code only shows it by looking for the microphone
            log = run(["run"], env, until=("companion.app: started on", "audio input failed"), timeout=600)
            run(["chat"], env, stdin="hello\nhelp, I fell and I can't get up\nmy daughter Susan lives in Leeds\n")
            run(["summary", "--period", "day"], env)
            run(["alerts", "list"], env)
            entries = sum(1 for _ in data.rglob("*")) + 1
            too_open = open_entries(data)
            saved = (data / "last-good-config.toml").exists()
        bad += bool(too_open) or not saved
        print(f"{'ok  ' if not too_open else 'FAIL'} {kind}: {entries} entries under the data folder, "
              f"{len(too_open)} too open" + ("" if saved else " (the live start did not complete: "
                                                            f"{log.strip().splitlines()[-1][:120] if log.strip() else ''})"))
        for line in too_open[:12]:
            print(f"     {line}")
    print("\nevery file 0600, every folder 0700" if not bad else "\nfiles readable by others found")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
