"""The on-device store: memories in TinyDB, everything high-volume in the journal, one lock, a schema version.

A change to a memory is a row in the journal's change log (committed with the turn), not a rewrite of the
TinyDB file; the file is rewritten at start, daily (keeping dated copies) and after forgetting.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from companion.errors import StoreError
from companion.store.file import Data, FileLock, clone, store_error
from companion.store.health import Health, Recovery, mark_told, recorded, remember
from companion.store.journal import Row, open_journal
from companion.store.memfile import MIGRATIONS, SCHEMA_VERSION, MemoryFile, Migrations, TreeStorage
from companion.store.recovery import META_TABLE, STATE_TABLE, apply_change, meta_of
from companion.store.scrub import ScrubReport, patterns, redact_rows, scrub_files

log = logging.getLogger(__name__)

DB_FILENAME = "companion.json"
JOURNAL_FILENAME = "journal.sqlite3"
GENERATIONS = 7  # daily copies of the memory file
COMPACT_AFTER = 500  # memory changes in the journal before the memory file is rewritten
FLUSH_AFTER_S = 30.0  # a deferred row (a turn's mood reading) waits this long for its turn's commit


class Store:
    """Thread- and process-safe access to her memories and the journal in the data directory.

    Every operation holds one in-process lock and an flock on ``<file>.lock``,
    so the voice loop and a ``companion memories`` command can share the files.
    Documents come back as plain dicts with an ``id`` key; journal rows are typed.
    """

    def __init__(self, path: Path | None, *, schema_version: int = SCHEMA_VERSION,
                 migrations: Migrations = MIGRATIONS, generations: int = GENERATIONS) -> None:
        from tinydb import TinyDB

        self.path = path
        self.health = Health()
        self._lock = threading.RLock()
        self._depth = 0
        self._tx = 0
        self._tx_ops: list[Any] = []
        self._flock = FileLock(path.with_name(path.name + ".lock")) if path else None
        self._closed = False
        self._tree: Data = {}
        self._seq = 0  # newest memory change in the tree
        self._base_seq = 0  # newest memory change in the file on disk
        self._revisions: dict[str, int] = {}
        self._generation = 0  # bumped when the whole tree is re-read
        self._cache: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._next: dict[str, int] = {}  # next document id per table
        self._seen_version: int | None = None  # the journal's data_version at the last catch-up
        self.file = MemoryFile(path, generations) if path else None
        self._db = TinyDB(self, storage=TreeStorage)
        with self._locked():
            self.journal = open_journal(path.with_name(JOURNAL_FILENAME) if path else None, self.health,
                                        guard=self._locked)
            if self.file is not None:
                self.file.cleanup()
                self._tree, self._seq = self.file.load(self.journal, self.health, schema_version, migrations)
                self._base_seq = self._seq
                if self.file.migrated:  # the change log must hold every memory, migrated ones included
                    for table, docs in self._tree.items():
                        self._changed(table, [int(i) for i in docs])
                    self._commit()
                self._catch_up()
                if self.file.stale or self._seq > self._base_seq:
                    try:
                        self._compact()
                    except (StoreError, OSError) as exc:  # a full or read-only card: the change log has everything
                        log.warning("memory file not rewritten at start: %s", exc)
            self._remember_recoveries()

    @classmethod
    def open(cls, directory: str | os.PathLike[str], **kwargs: Any) -> "Store":
        """Open (creating if needed, mode 0700) the store in `directory`."""
        d = Path(directory)
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if d.stat().st_uid == os.geteuid():
                os.chmod(d, 0o700)  # memories are private: no other user may list or read them
        except OSError as exc:
            raise store_error("create the data directory", d, exc) from None
        return cls(d / DB_FILENAME, **kwargs)

    @classmethod
    def in_memory(cls, why: str = "") -> "Store":
        """A store that keeps nothing on disk: the fallback when the real one cannot be opened."""
        (store := cls(None)).health.unavailable = why
        return store

    @property
    def directory(self) -> Path | None:
        """The data directory (None for an in-memory store)."""
        return self.path.parent if self.path else None

    # ---------------------------------------------------------------- locking

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise StoreError(f"the store {self.path} is closed")
            if self._depth == 0 and self._flock is not None:
                self._flock.acquire()
            self._depth += 1
            try:
                yield
            except OSError as exc:
                if isinstance(exc, StoreError):
                    raise
                raise store_error("write the store", self.path or Path("."), exc) from None
            finally:
                self._depth -= 1
                if self._depth == 0 and self._flock is not None:
                    self._flock.release()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside are committed together, once, at the end (all or nothing if it raises)."""
        with self._locked():
            outer = self._tx == 0
            if outer:
                self._catch_up()
                self._tx_ops = []
            self._tx += 1
            try:
                yield
            except BaseException:
                self._tx -= 1
                if outer:
                    self._rollback()
                raise
            self._tx -= 1
            if outer:
                self._commit()

    def _commit(self) -> None:
        ops = self.journal.db.commit()
        seqs = [op.result for op in ops if op.change and op.result]
        if seqs:
            self._seq = max(self._seq, *seqs)

    def _rollback(self) -> None:
        """Drop what this transaction staged and re-read the tree (nothing of it reached the disk)."""
        self.journal.db.unstage(self._tx_ops)
        self._tx_ops = []
        self._reload()

    def _touch(self, table: str) -> None:
        self._revisions[table] = self._revisions.get(table, 0) + 1

    def _changed(self, table: str, ids: Iterable[int]) -> None:
        docs = self._tree.get(table, {})
        for doc_id in ids:
            doc = docs.get(str(doc_id))
            self._tx_ops.append(self.journal.stage_change(table, doc_id, None if doc is None else clone(doc)))
        self._touch(table)

    # ---------------------------------------------------------------- loading

    def _reload(self) -> None:
        data = (self.file.read() if self.file else None) or {}
        self._seq = self._base_seq = int(meta_of(data).get("seq", 0))
        data.pop(STATE_TABLE, None)
        data.pop(META_TABLE, None)
        self._tree = data
        for op in self.journal.db.staged():
            if op.change:
                apply_change(self._tree, op.params[0], op.params[1], None if op.params[2] is None else
                             json.loads(op.params[2]))
        self._generation += 1
        self._cache.clear()
        self._next.clear()
        self._catch_up()

    def _catch_up(self) -> None:
        """See what another process (the CLI) wrote: a rewritten memory file, or newer changes in the journal."""
        if self.file is None:
            return
        if self.file.changed():
            self._reload()
            return
        version = self.journal.db.version()  # changes only when another connection committed
        if version == self._seen_version:
            return
        self._seen_version = version
        for seq, table, doc_id, doc in self.journal.changes_since(self._seq):
            apply_change(self._tree, table, doc_id, doc)
            self._seq = seq
            self._next.pop(table, None)
            self._touch(table)

    def _remember_recoveries(self) -> None:
        if self.health.recoveries:
            try:
                remember(self.journal, self.health.recoveries)
            except StoreError as exc:
                log.error("cannot record the recovery: %s", exc)

    def recoveries(self) -> list[Recovery]:
        """Every recorded recovery from damage (newest last), from this and earlier starts."""
        return recorded(self.journal)

    def mark_told(self) -> None:
        """The family was warned about every recorded recovery."""
        mark_told(self.journal)

    # ---------------------------------------------------------------- the memory file

    def compact(self) -> None:
        """Rewrite the memory file from memory (and keep today's copy); the change log shrinks."""
        with self._locked():
            self._catch_up()
            self._compact()

    def _compact(self) -> None:
        if self.file is None:
            return
        self._commit()
        self.file.write(self._tree, self._seq, self.journal.state())
        self._base_seq = self._seq
        oldest = self.file.generations.oldest_seq()  # recovery from the oldest copy replays the changes after it
        self.journal.drop_changes(upto=min(self._base_seq, oldest if oldest is not None else self._base_seq))

    def maintain(self, retention: Mapping[type[Row], Any] | None = None, now: datetime | None = None) -> None:
        """Outside turns (every minute or so): write rows that waited; daily, rewrite the file and apply retention."""
        self.journal.flush(older_than_s=FLUSH_AFTER_S)
        with self._locked():
            self._catch_up()
            due = self.file is not None and self.file.written_on != date.today() or self._seq - self._base_seq > COMPACT_AFTER
            if due:
                self._compact()
        if due and retention:
            now = now or datetime.now(timezone.utc)
            for kind, keep in retention.items():
                removed = self.journal.purge(kind, now - keep)
                if removed:
                    log.info("deleted %d %s rows older than %s", removed, kind.TABLE, keep)

    def forget_copies(self, docs: Iterable[tuple[str, int]], words: Iterable[str] = (), also: Iterable[Path] = (),
                      exact_case: Iterable[str] = ()) -> ScrubReport:
        """After memories were removed (or put back), every copy on the device agrees: the change log, the file,
        the daily copies; journal texts and the files under the data dir (and `also`) lose `words`."""
        docs, words = list(docs), [w for w in words if w and w.strip()]
        with self._locked():
            self._catch_up()
            self._commit()
            self.journal.drop_changes(docs=docs)
            rows = redact_rows(self.journal, patterns(words, exact_case))
            self._compact()
            wanted = {(t, str(i)): clone(self._tree.get(t, {}).get(str(i))) for t, i in docs}
            gens = self.file.align_copies(wanted) if self.file is not None else 0
            self.journal.scrub()
        report = ScrubReport(rows=rows, generations=gens)
        if self.directory is not None and words:  # every other file: summaries, outbox, audit, set-aside copies
            live = [self.path, *(self.path.with_name(JOURNAL_FILENAME + x) for x in ("", "-wal"))]
            found = scrub_files([self.directory, *also], words, live, [self.directory / "outbox", *also], exact_case)
            report.files, report.outbox_copies = found.files, found.outbox_copies
        return report

    def forget_all_copies(self) -> int:
        """She asked to forget everything (the store is emptied first): daily copies and set-aside files go."""
        with self._locked():
            gone = self.file.remove_copies(JOURNAL_FILENAME) if self.file is not None else 0
            self.journal.scrub()
            self._compact()
            return gone

    # ---------------------------------------------------------------- documents (memories)

    # Writes edit the TinyDB tree directly (TinyDB's Table rebuilds a table per write: quadratic imports).

    def _next_id(self, table: str) -> int:
        if table not in self._next:
            self._next[table] = max((int(k) for k in self._tree.get(table, {})), default=0) + 1
        doc_id = self._next[table]
        self._next[table] += 1
        return doc_id

    def insert(self, table: str, doc: dict[str, Any]) -> int:
        """Store one document durably; returns its id once it is on disk."""
        return self.insert_many(table, [doc])[0]

    def insert_many(self, table: str, docs: Iterable[dict[str, Any]]) -> list[int]:
        """Store several documents with one commit."""
        docs = list(docs)
        if not docs:
            return []
        with self.transaction():
            held = self._tree.setdefault(table, {})
            ids = []
            for doc in docs:
                ids.append(self._next_id(table))
                held[str(ids[-1])] = clone(doc)
            self._changed(table, ids)
            return ids

    def table(self, name: str) -> Any:
        """A TinyDB Table over the documents, for Query searches (write through insert/update/remove)."""
        with self._locked():
            self._catch_up()
            return self._db.table_class(self._db.storage, name, cache_size=0)

    def restore(self, table: str, doc_id: int, doc: dict[str, Any]) -> None:
        """Put a document back under its old id (undoing a forget)."""
        with self.transaction():
            self._tree.setdefault(table, {})[str(doc_id)] = clone(doc)
            self._next.pop(table, None)
            self._changed(table, [doc_id])

    def all(self, table: str) -> list[dict[str, Any]]:
        """Every document of a table, oldest first (copies: mutate freely)."""
        with self._locked():
            self._catch_up()
            return [{**clone(d), "id": int(i)} for i, d in self._tree.get(table, {}).items()]

    def cached(self, table: str, name: str, compute: Callable[[list[dict[str, Any]]], Any]) -> Any:
        """`compute(documents)` for a table, recomputed only after the table changed (documents are read-only)."""
        with self._locked():
            self._catch_up()
            rev = (self._generation, self._revisions.get(table, 0))
            hit = self._cache.get((table, name))
            if hit is not None and hit[0] == rev:
                return hit[1]
            value = compute([{**d, "id": int(i)} for i, d in self._tree.get(table, {}).items()])
            self._cache[(table, name)] = (rev, value)
            return value

    def update(self, table: str, fields: dict[str, Any], ids: Iterable[int]) -> None:
        """Set `fields` on the documents with these ids (missing ids are ignored)."""
        with self.transaction():
            present = self._tree.get(table, {})
            ids = [i for i in ids if str(i) in present]
            for i in ids:
                present[str(i)].update(clone(fields))
            if ids:
                self._changed(table, ids)

    def remove(self, table: str, ids: Iterable[int]) -> None:
        """Delete these documents (the file and its copies are cleaned by forget_copies)."""
        with self.transaction():
            present = self._tree.get(table, {})
            ids = [i for i in ids if str(i) in present]
            for i in ids:
                del present[str(i)]
            if ids:
                self._changed(table, ids)

    def revision(self, table: str) -> tuple[int, int]:
        """Changes whenever `table` may have changed (our writes, or another process's)."""
        with self._locked():
            self._catch_up()
            return (self._generation, self._revisions.get(table, 0))

    def count(self) -> int:
        """Memories held (every document table)."""
        return sum(len(t) for t in self._tree.values())

    # ---------------------------------------------------------------- key/value state

    def get(self, key: str, default: Any = None) -> Any:
        """A small persistent setting (mute, voice rate, consent...)."""
        return self.journal.get(key, default)

    def put(self, key: str, value: Any, *, defer: bool = False) -> None:
        """Persist a small setting (`defer`: with the turn's commit)."""
        self.journal.put(key, clone(value), defer=defer)

    def close(self) -> None:
        """Write what waits (and the memory file, if memories changed) and close; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            if self.file is not None and self._seq > self._base_seq:
                try:
                    self.compact()
                except StoreError as exc:  # the change log keeps everything; the file is rewritten next time
                    log.warning("memory file not rewritten at close: %s", exc)
            self.journal.close()
            self._db.close()
            if self._flock is not None:
                self._flock.close()
            self._closed = True

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
