"""Safety end to end through `companion chat` (the real App, skills, alert worker and LLM), with a real
webhook on 127.0.0.1: honest words, escalation, no question between hers and ours, no LLM tokens."""

from __future__ import annotations

import errno
import io
import json
import os
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

from companion.cli.chat import chat
from companion.config import Settings
from companion.emotion.consent import CONSENT_QUESTION
from companion.store.store import Store

NAME = "Companion: "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hook:
    """A real HTTP server on 127.0.0.1 that records every alert POSTed to it (started on demand)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.bodies: list[dict] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.bodies.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout_s: float = 30.0) -> bool:
        """Wait (bounded) until `count` alerts arrived."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self.bodies) < count:
            time.sleep(0.05)
        return len(self.bodies) >= count

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def settings_for(tmp_path, hook: Hook, **sections) -> Settings:
    return Settings().replace(memory={"data_dir": str(tmp_path / "data")},
                              caregiver={"contacts": ["Susan"], "webhook_url": hook.url, "retry_initial_s": 1.0,
                                         "inactivity_hours": 0},
                              safety={"emergency_number": "999", "crisis_line": "116 123"}, **sections)


def talk(settings: Settings, models, lines: list[str | Callable[[], None]]) -> list[list[str]]:
    """Type `lines` into `companion chat`; a callable runs between lines (the test acting in the world).

    Returns what she heard after each typed line.
    """
    out = io.StringIO()
    marks: list[int] = []

    def typed() -> Iterator[str]:
        for line in lines:
            if callable(line):
                line()
                continue
            marks.append(len(out.getvalue()))
            yield line + "\n"
        marks.append(len(out.getvalue()))

    assert chat(settings, stdin=typed(), stdout=out, components=models) == 0
    text = out.getvalue()
    return [[x.removeprefix(NAME) for x in text[a:b].splitlines() if x.startswith(NAME)]
            for a, b in zip(marks, marks[1:])]


def test_everyone_would_be_better_off_without_me_gets_the_script_and_an_alert_and_no_llm(tmp_path, models, hook):
    hook.start()
    started = models.llm.generations
    heard = talk(settings_for(tmp_path, hook), models, ["everyone would be better off without me",
                                                         lambda: hook.wait(1)])
    said = " ".join(heard[0])
    assert "crisis line, 116 123" in said
    assert said.endswith("Are you safe right now?")
    assert models.llm.generations == started  # not one LLM token
    assert [b["kind"] for b in hook.bodies] == ["safety:suicidal"]


def test_ok_but_my_hip_hurts_escalates(tmp_path, models, hook):
    hook.start()
    started = models.llm.generations
    heard = talk(settings_for(tmp_path, hook), models, ["I've had a fall in the hall", "I'm ok but my hip hurts",
                                                         lambda: hook.wait(2)])
    assert heard[0][-1].endswith("Are you hurt?")
    assert "keep warm" in " ".join(heard[1]) and "glad" not in " ".join(heard[1])
    assert models.llm.generations == started
    assert [b["kind"] for b in hook.bodies] == ["safety:fall", "safety:fall"]  # one alert, then its update
    assert hook.bodies[1]["id"] == hook.bodies[0]["id"] and hook.bodies[1]["revision"] == 1
    assert "NOT all right" in hook.bodies[1]["title"]


def test_no_question_comes_between_a_safety_question_and_her_answer(tmp_path, models, hook):
    """The first conversation of the day, mood sensing in "ask" mode: the consent question waits."""
    hook.start()
    settings = settings_for(tmp_path, hook, emotion={"mode": "ask"})
    heard = talk(settings, models, ["I've fallen over in the kitchen", "no"])
    everything = " ".join(line for turn in heard for line in turn)
    assert CONSENT_QUESTION not in everything and "I'm an AI" not in everything  # nothing before or between
    assert heard[0][-1].endswith("Are you hurt?")
    assert "I'm glad you're not hurt" in " ".join(heard[1])  # her "no" answered "Are you hurt?"
    with Store.open(tmp_path / "data") as store:
        assert store.get("emotion.consent") is None  # and was not taken as a no to mood sensing


def test_with_the_webhook_down_she_hears_trying_and_the_alert_arrives_once_later(tmp_path, models, hook):
    heard = talk(settings_for(tmp_path, hook), models, ["help I've fallen", hook.start, lambda: hook.wait(1),
                                                         lambda: time.sleep(1.5)])
    said = " ".join(heard[0])
    assert "I'm trying to reach Susan" in said and "I've let Susan know" not in said
    assert [b["kind"] for b in hook.bodies] == ["safety:fall"]  # delivered once the webhook came up, once


# ---------------------------------------------------------------- a disk that cannot be written


@contextmanager
def mount(*args: str, target: Path) -> Iterator[None]:
    """Mount something over `target` for the test (needs root, as CI and the dev machines run)."""
    target.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", *args, str(target)], capture_output=True).returncode != 0:
        pytest.skip(f"cannot mount ({' '.join(args)}) here: this test needs root")
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


def fill(directory: Path) -> None:
    """Write until the file system is full (ENOSPC), as on an SD card with no space left."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_with_a_full_disk_help_ive_fallen_gets_the_script_and_the_alert_reaches_the_webhook(tmp_path, models, hook):
    data = tmp_path / "data"
    with mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", target=data):
        hook.start()
        # the card fills up while the companion runs
        heard = talk(settings_for(tmp_path, hook), models, [lambda: fill(data), "help I've fallen",
                                                            lambda: hook.wait(2)])
        spooled = [p.name for p in (data / "alerts" / "spool").glob("*.json")]
    said = " ".join(heard[0])
    assert "don't rush to get up" in said and "I'm trying to reach Susan" in said
    kinds = [b["kind"] for b in hook.bodies]
    assert kinds[0] == "safety:fall" and "device:cannot_save" in kinds  # from memory; the family knows why
    assert not [name for name in spooled if "safety-fall" in name]  # it could not be written


def test_with_the_data_directory_read_only_the_script_and_the_alert_still_go_out(tmp_path, models, hook):
    """The SD card remounted read-only while the companion runs: no store, no spool, still the emergency."""
    card, data = tmp_path / "card", tmp_path / "data"
    card.mkdir()
    with mount("--bind", str(card), target=data):
        def read_only() -> None:  # a read-only view of the card on top, as after a remount
            assert subprocess.run(["mount", "--bind", str(card), str(data)]).returncode == 0
            assert subprocess.run(["mount", "-o", "remount,ro,bind", str(data)]).returncode == 0
            with pytest.raises(OSError):
                (data / "probe").write_text("x")

        hook.start()
        try:
            heard = talk(settings_for(tmp_path, hook), models, [read_only, "help I've fallen",
                                                                lambda: hook.wait(1)])
        finally:
            subprocess.run(["umount", str(data)])  # the read-only view
    assert "don't rush to get up" in " ".join(heard[0])
    assert [b["kind"] for b in hook.bodies][:1] == ["safety:fall"]
