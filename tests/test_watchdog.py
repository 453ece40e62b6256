"""sd_notify over a real AF_UNIX datagram socket, as systemd provides it."""

from __future__ import annotations

import os
import socket

import pytest

from companion.watchdog import Notifier


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield str(path), sock
    sock.close()


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_ready_status_stopping_reach_the_socket(notify_socket):
    path, sock = notify_socket
    with Notifier.from_env({"NOTIFY_SOCKET": path}) as n:
        assert n.enabled
        assert n.ready("Listening for\n'hey jarvis'")
        assert sock.recv(4096) == b"READY=1\nSTATUS=Listening for 'hey jarvis'"
        n.status("Thinking")
        assert sock.recv(4096) == b"STATUS=Thinking"
        n.stopping()
        assert sock.recv(4096) == b"STOPPING=1"


def test_watchdog_interval_and_rate_limited_kick(notify_socket):
    path, sock = notify_socket
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    n = Notifier.from_env(env)
    assert n.watchdog_interval_s == 30.0
    clock = FakeMonotonic()
    n._monotonic = clock
    assert n.kick()  # first kick always pings
    assert sock.recv(4096) == b"WATCHDOG=1"
    clock.t += 10
    assert not n.kick()  # within half the interval: no datagram
    clock.t += 6
    assert n.kick()
    assert sock.recv(4096) == b"WATCHDOG=1"
    n.close()
    n.close()


def test_watchdog_for_another_pid_is_ignored(notify_socket):
    path, _ = notify_socket
    n = Notifier.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"})
    assert n.watchdog_interval_s is None and not n.kick()


def test_abstract_socket_address():
    name = f"companion-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    try:
        assert Notifier("@" + name).ready()
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()


def test_no_socket_is_a_no_op():
    n = Notifier.from_env({})
    assert not n.enabled
    assert not n.ready() and not n.kick() and not n.ping() and not n.stopping()


def test_missing_socket_warns_once(tmp_path, caplog):
    n = Notifier(str(tmp_path / "gone.sock"), watchdog_interval_s=1.0)
    assert not n.ping() and not n.ping()
    assert caplog.text.count("cannot notify systemd") == 1
