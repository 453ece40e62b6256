"""The journal's SQLite file (WAL mode): staged writes committed together, state, the memory change log, repair.

One commit per turn: rows that can wait (a turn's mood reading, counters) are
staged and ride along with the next commit (the turn itself), so a turn costs
one fsync of a few pages. A commit that fails (disk full, read-only card) keeps
its rows staged and retries with the next one; readers see staged rows too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Sequence

from companion.errors import StoreError
from companion.store.file import store_error
from companion.store.health import Health, Recovery

log = logging.getLogger(__name__)

MAX_STAGED = 20_000  # rows kept in RAM while the disk refuses writes; beyond this the oldest readings go
SALVAGE_CHUNK = 200  # rows read at a time from a damaged file, so one bad page costs at most this many


@dataclass
class Op:
    """One staged write."""

    sql: str
    params: tuple[Any, ...]
    table: str = ""  # for row inserts: the table (readers merge staged rows)
    at: int = 0
    data: str = ""
    key: str | None = None  # for state writes
    value: str | None = None
    change: bool = False  # a memory change (its seq matters to the store)
    deferred: bool = False
    staged_at: float = 0.0  # time.monotonic() when staged
    result: int | None = None  # the new row's id (inserts)
    count: int = 0  # rows changed (updates, deletes)


def _corrupt(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("malformed", "not a database", "corrupt", "quick_check"))


class LogDB:
    """The SQLite file behind the journal (thread-safe; shared with other processes through SQLite's locks)."""

    def __init__(self, path: Path | None, tables: Sequence[str], *, health: Health | None = None,
                 guard: Callable[[], ContextManager[Any]] | None = None, check: bool = True) -> None:
        self.path = path
        self.tables = tuple(tables)
        self.health = health or Health()
        self._guard = guard or contextlib.nullcontext
        self._lock = threading.RLock()
        self._ops: list[Op] = []
        self._closed = False
        self.commits = 0  # transactions written by this process (observable: one per turn, one per import)
        # a new (or emptied) file knows nothing of the past
        self.created = path is None or not path.exists() or path.stat().st_size == 0
        if path is not None and not path.exists():
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # SQLite gives -wal/-shm the same mode
            os.close(fd)
        self._con = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                                    check_same_thread=False, timeout=10.0)
        try:
            self._setup(check)
        except BaseException:
            self._con.close()
            raise

    def _setup(self, check: bool) -> None:
        c = self._con
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")  # a commit is on the card when it returns
        c.execute("PRAGMA secure_delete=ON")  # what she asks to forget is overwritten, not just unlinked
        c.execute("PRAGMA busy_timeout=10000")
        for t in self.tables:
            c.execute(f'CREATE TABLE IF NOT EXISTS "{t}" (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, data TEXT NOT NULL)')
            c.execute(f'CREATE INDEX IF NOT EXISTS "{t}_at" ON "{t}"(at)')
        c.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        c.execute("CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                  "tbl TEXT NOT NULL, doc_id INTEGER NOT NULL, doc TEXT)")
        if check:
            result = c.execute("PRAGMA quick_check").fetchone()
            if not result or result[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {result[0] if result else 'no answer'}")

    # ---------------------------------------------------------------- opening, with repair

    @classmethod
    def open(cls, path: Path, tables: Sequence[str], *, health: Health,
             guard: Callable[[], ContextManager[Any]] | None = None) -> "LogDB":
        """Open (creating) the file; a damaged one is set aside, what is readable is kept, and the loss recorded."""
        try:
            return cls(path, tables, health=health, guard=guard)
        except sqlite3.DatabaseError as exc:
            if not _corrupt(exc):
                raise store_error("open the journal", path, exc) from None
            problem = str(exc)
        except OSError as exc:
            raise store_error("open the journal", path, exc) from None
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                if suffix == "-wal":
                    os.replace(extra, aside.with_name(aside.name + suffix))
                else:
                    extra.unlink()
        salvaged, complete = _salvage(aside, tables)
        db = cls(path, tables, health=health, guard=guard)
        db._restore(salvaged)
        kept = sum(len(v) for v in salvaged.values())
        outcome = f"set aside as {aside.name}; kept {kept} readable rows in a new journal"
        rec = Recovery.now(path.name, problem, outcome, False if complete else None)
        health.recoveries.append(rec)
        log.error("journal %s was damaged (%s); %s", path, problem, outcome)
        return db

    def _restore(self, salvaged: dict[str, list[tuple[Any, ...]]]) -> None:
        with self._lock:
            c = self._con
            c.execute("BEGIN IMMEDIATE")
            for t in self.tables:
                c.executemany(f'INSERT OR IGNORE INTO "{t}"(id, at, data) VALUES (?, ?, ?)', salvaged.get(t, []))
            c.executemany("INSERT OR IGNORE INTO state(key, value) VALUES (?, ?)", salvaged.get("state", []))
            c.executemany("INSERT OR IGNORE INTO changes(seq, tbl, doc_id, doc) VALUES (?, ?, ?, ?)",
                          salvaged.get("changes", []))
            c.execute("COMMIT")

    # ---------------------------------------------------------------- staging and committing

    def stage(self, op: Op) -> Op:
        """Queue one write; it is written by the next commit()."""
        op.staged_at = time.monotonic()
        with self._lock:
            self._ops.append(op)
            if op.deferred and len(self._ops) > MAX_STAGED:  # the disk has refused writes for a long time
                drop = next((o for o in self._ops if o.deferred and o.table), None)
                if drop is not None:
                    self._ops.remove(drop)
                    log.error("journal: %d writes waiting for the disk; dropped the oldest %s row", MAX_STAGED, drop.table)
        return op

    def commit(self) -> list[Op]:
        """Write everything staged in one transaction; raises StoreError (keeping it staged) when the disk refuses."""
        with self._guard(), self._lock:
            ops = self._ops
            if not ops:
                return []
            c = self._con
            try:
                c.execute("BEGIN IMMEDIATE")
                for op in ops:
                    cur = c.execute(op.sql, op.params)
                    op.result, op.count = cur.lastrowid, cur.rowcount
                c.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                with contextlib.suppress(sqlite3.Error):
                    c.execute("ROLLBACK")
                for op in ops:
                    op.result = None
                err = store_error("write the journal", self.path or Path(":memory:"), exc)
                if self.health.set_write_error(str(err)):
                    log.error("%s (keeping %d writes in memory and retrying with the next one)", err, len(ops))
                raise err from None
            self._ops = []
            self.commits += 1
            if self.health.clear_write_error():
                log.warning("journal writes work again: %d waiting writes are saved", len(ops))
            return ops

    def flush(self, older_than_s: float = 0.0) -> None:
        """Commit what waits (maintenance: what waited longer than a turn); a refusing disk is logged, not raised."""
        with self._lock:
            waiting = bool(self._ops) and (bool(self.health.write_error)  # retry a refusing disk every time
                                           or time.monotonic() - self._ops[0].staged_at >= older_than_s)
        if waiting:
            with contextlib.suppress(StoreError):
                self.commit()

    def unstage(self, ops: list[Op]) -> None:
        """Take back writes that were never committed (a transaction that failed half-way)."""
        doomed = {id(op) for op in ops}
        with self._lock:
            self._ops = [op for op in self._ops if id(op) not in doomed]

    def staged(self) -> list[Op]:
        """A copy of what waits to be written."""
        with self._lock:
            return list(self._ops)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement now, after anything staged, in one transaction; returns the rows it changed."""
        op = self.stage(Op(sql, params))
        self.commit()
        return op.count

    # ---------------------------------------------------------------- reading

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only statement (a damaged page mid-run becomes a StoreError, not a crash)."""
        with self._lock:
            try:
                return self._con.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise store_error("read the journal", self.path or Path(":memory:"), exc) from None

    def version(self) -> int:
        """SQLite's data_version: it changes when another connection (process) commits."""
        return int(self.query("PRAGMA data_version")[0][0])

    def rows(self, table: str, lo: int, hi: int) -> list[tuple[int | None, int, str]]:
        """(id, at, data) with lo <= at < hi, oldest first; staged rows (id None) included."""
        out = [tuple(r) for r in self.query(f'SELECT id, at, data FROM "{table}" WHERE at >= ? AND at < ? '
                                            "ORDER BY at, id", (lo, hi))]
        with self._lock:
            out += [(None, o.at, o.data) for o in self._ops if o.table == table and lo <= o.at < hi]
        out.sort(key=lambda r: (r[1], r[0] is None, r[0] or 0))
        return out  # type: ignore[return-value]

    def newest(self, table: str, offset: int, limit: int) -> list[tuple[int, int, str]]:
        """Committed rows, newest first."""
        return [tuple(r) for r in self.query(f'SELECT id, at, data FROM "{table}" ORDER BY at DESC, id DESC '  # type: ignore[misc]
                                             "LIMIT ? OFFSET ?", (limit, offset))]

    def staged_rows(self, table: str) -> list[tuple[None, int, str]]:
        """Rows of `table` that wait to be written."""
        with self._lock:
            return [(None, o.at, o.data) for o in self._ops if o.table == table]

    def state_get(self, key: str) -> str | None:
        """The JSON text of a state value (a staged one wins)."""
        with self._lock:
            for o in reversed(self._ops):
                if o.key == key:
                    return o.value
        rows = self.query("SELECT value FROM state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def state_all(self) -> dict[str, str]:
        """Every state key → JSON text (staged values included)."""
        out = dict(self.query("SELECT key, value FROM state"))
        with self._lock:
            for o in self._ops:
                if o.key is not None:
                    out[o.key] = o.value  # type: ignore[assignment]
        return out

    # ---------------------------------------------------------------- upkeep

    def checkpoint(self, truncate: bool = False) -> None:
        """Copy the WAL into the file; with `truncate`, empty the WAL so deleted words leave it too."""
        with self._lock:
            try:
                self._con.execute(f"PRAGMA wal_checkpoint({'TRUNCATE' if truncate else 'PASSIVE'})").fetchall()
            except sqlite3.Error as exc:
                log.warning("journal checkpoint failed: %s", exc)

    def close(self) -> None:
        """Write what is staged (if the disk lets us) and close; safe to call twice."""
        with self._lock:
            if self._closed:
                return
        with contextlib.suppress(StoreError):
            self.commit()
        with self._lock:
            if self._ops:
                log.error("journal closed with %d writes the disk refused; they are lost", len(self._ops))
            self._con.close()
            self._closed = True


def _salvage(path: Path, tables: Sequence[str]) -> tuple[dict[str, list[tuple[Any, ...]]], bool]:
    """Every readable row of a damaged journal, chunk by chunk; (rows per table, whether all were read)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    complete = True
    try:
        con = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error:
        return out, False
    try:
        specs = [(t, "id, at, data", "id") for t in tables] + [("state", "key, value", "rowid"),
                                                                ("changes", "seq, tbl, doc_id, doc", "seq")]
        for table, columns, key in specs:
            rows, ok = _read_table(con, table, columns, key)
            out[table] = rows
            complete &= ok
    finally:
        con.close()
    return out, complete


def _read_table(con: sqlite3.Connection, table: str, columns: str, key: str) -> tuple[list[tuple[Any, ...]], bool]:
    try:
        return [tuple(r) for r in con.execute(f'SELECT {columns} FROM "{table}" ORDER BY {key}')], True
    except sqlite3.Error:
        pass
    try:
        top = con.execute(f'SELECT max({key}) FROM "{table}"').fetchone()[0] or 0
    except sqlite3.Error:
        top = 1_000_000
    rows: list[tuple[Any, ...]] = []
    for lo in range(0, int(top) + 1, SALVAGE_CHUNK):
        with contextlib.suppress(sqlite3.Error):
            rows += [tuple(r) for r in con.execute(f'SELECT {columns} FROM "{table}" WHERE {key} >= ? AND {key} < ?',
                                                   (lo, lo + SALVAGE_CHUNK))]
    return rows, False


def loads(text: str | None, default: Any = None) -> Any:
    """A stored JSON value (a damaged one counts as missing)."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Slices of at most `size` (SQLite limits the number of parameters)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
