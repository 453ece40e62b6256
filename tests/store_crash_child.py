"""Crash-test helper: a fork server whose children write to the store until SIGKILLed.

Started once per test (a fresh interpreter that imports only the store); each
line on stdin names a data directory, and the server forks a writer for it.
Output lines: ``pid P`` (writer started), ``open P`` (store opened),
``ins ID`` / ``put N`` (the write returned, so it is acknowledged),
``exit P STATUS`` (the writer is gone: every line it wrote is above this one).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from companion.store.store import Store  # noqa: E402


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def writer(directory: str) -> None:
    store = Store.open(directory)
    say(f"open {os.getpid()}")
    n = 0
    while True:
        n += 1
        if n % 5 == 0:
            store.put("counter", n)
            say(f"put {n}")
        else:
            doc_id = store.insert("crash", {"n": n, "pid": os.getpid(), "text": "she said something " * 4})
            say(f"ins {doc_id}")


def main() -> None:
    say("ready")
    for line in sys.stdin:
        directory = line.strip()
        if not directory:
            continue
        pid = os.fork()
        if pid == 0:
            try:
                writer(directory)
            finally:
                os._exit(0)
        say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")


if __name__ == "__main__":
    main()
