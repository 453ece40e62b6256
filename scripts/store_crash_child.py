"""Crash-test helper: a fork server whose children write to the store until SIGKILLed.

Started once per test (a fresh interpreter that imports only the store); each
line on stdin names a data directory, and the server forks a writer for it.
Output lines: ``pid P`` (writer started), ``open P`` (store opened),
``ins ID`` (a memory), ``row ID`` (a journal row), ``put N`` (a setting): the write returned, so it is acknowledged;
``exit P STATUS`` (the writer is gone: every line it wrote is above this one).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from datetime import datetime, timezone  # noqa: E402

from companion.store.journal import MoodRow, TurnRow  # noqa: E402
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
        elif n % 5 in (1, 3):
            doc_id = store.insert("crash", {"n": n, "pid": os.getpid(), "text": "she said something " * 4})
            say(f"ins {doc_id}")
        else:  # a turn: its mood reading waits for the turn row, and both go in one commit
            now = datetime.now(timezone.utc)
            store.journal.append(MoodRow(at=now, valence=0.1), defer=True)
            row = store.journal.append(TurnRow(at=now, user="she said something " * 4))
            say(f"row {row.id}")


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
