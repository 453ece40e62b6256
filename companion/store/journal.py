"""The journal: typed rows and names of the tables areas share (turns, mood, help, routine log).

Readers get these types, never dicts with guessed keys, and no module outside
``companion/store`` spells a shared table's name. The rows live in SQLite in WAL
mode (`companion.store.db`): appending a turn writes a few pages, never a growing
file, and every table has a retention period.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Iterable, Sequence, TypeVar

from companion.store.db import LogDB, Op, iter_chunks, loads

# Names of the shared tables (the journal's, and memory's TinyDB tables that other areas read).
TURNS, MOOD, HELP, ROUTINE_LOG = "turns", "mood", "help", "routine_log"
FACTS, EPISODES = "facts", "episodes"  # memories: TinyDB, owned by companion.memory, read by people/summaries

# What the family reads (categories only unless share_words): one line per category.
ALERT_TITLES = {
    "help": "She asked for help",
    "fall": "She may have fallen",
    "medical": "She described a possible medical emergency (chest pain, breathing or stroke signs)",
    "suicidal": "She talked about wanting to die or harm herself",
    "lost": "She sounded lost or confused",
    "stranger": "She reported a stranger at the door or someone trying to get in",
    "scam": "She may be on a scam call (asked for bank details or money)",
    "fire": "She reported fire, smoke or a smell of gas at home",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(when: datetime) -> int:
    """An aware datetime as integer microseconds since 1970 (UTC): how times are stored and compared."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: journal times must carry a time zone")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Stored microseconds → aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=int(value))


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, kw_only=True)
class Row:
    """A journal row: when it happened, its id once written, and typed fields."""

    TABLE: ClassVar[str] = ""
    TIMES: ClassVar[tuple[str, ...]] = ()  # other fields that hold datetimes

    at: datetime
    id: int | None = None

    def data(self) -> dict[str, Any]:
        """The fields other than at/id, JSON-safe."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name in ("at", "id"):
                continue
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_data(cls, at: datetime, data: dict[str, Any], row_id: int | None = None) -> "Row":
        """Stored data → row; unknown keys are ignored and missing ones take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)} - {"at", "id"}
        kwargs = {k: v for k, v in data.items() if k in names}
        for name in cls.TIMES:
            if name in kwargs:
                kwargs[name] = _time(kwargs[name])
        return cls(at=at, id=row_id, **kwargs)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Row":
        """A document of the old one-file store (ISO "at", maybe an "id")."""
        at = _time(d.get("at"))
        if at is None:
            raise ValueError(f"a {cls.TABLE} row without a time: {d!r}")
        return cls.from_data(at, {k: v for k, v in d.items() if k not in ("at", "id")}, d.get("id"))

    def texts(self) -> Iterable[str]:
        """Her words in this row (for forgetting)."""
        return ()


R = TypeVar("R", bound=Row)
CONVERSATION_GAP_S = 10 * 60  # turns further apart than this are separate conversations


@dataclass(frozen=True, kw_only=True)
class TurnRow(Row):
    """One conversation turn: what she said and what was answered."""

    TABLE: ClassVar[str] = TURNS

    user: str = ""
    reply: str = ""
    intent: str | None = None
    emotion: dict[str, Any] | None = None  # category/valence... of the turn's mood estimate
    duration_s: float | None = None  # her speech, first word to last
    timings_ms: dict[str, float] = field(default_factory=dict)

    def texts(self) -> Iterable[str]:
        return (self.user, self.reply)


@dataclass(frozen=True, kw_only=True)
class MoodRow(Row):
    """One mood estimate (from voice and words); no audio, no words."""

    TABLE: ClassVar[str] = MOOD

    arousal: str | None = None  # "low" | "high"
    arousal_p: float | None = None
    valence: float | None = None  # -1..1
    category: str | None = None  # 8-way
    confidence: float | None = None
    category4: str | None = None
    confidence4: float | None = None
    text_sentiment: float | None = None
    source: str = ""  # "voice+words" | "words"


@dataclass(frozen=True, kw_only=True)
class HelpRow(Row):
    """A help request: the help button, or an emergency phrase she said."""

    TABLE: ClassVar[str] = HELP
    TIMES: ClassVar[tuple[str, ...]] = ("cancelled_at",)

    source: str = "voice"  # "voice" | "button"
    category: str = "help"  # a key of ALERT_TITLES
    detail: str = ""
    cancelled: bool = False  # she said it was a false alarm
    cancelled_at: datetime | None = None

    def title(self) -> str:
        """What the family reads for this request."""
        return ALERT_TITLES.get(self.category, self.category)

    def texts(self) -> Iterable[str]:
        return (self.detail,)


@dataclass(frozen=True, kw_only=True)
class RoutineRow(Row):
    """A routine event: announced, acknowledged, missed, escalated, answered..."""

    TABLE: ClassVar[str] = ROUTINE_LOG
    TIMES: ClassVar[tuple[str, ...]] = ("due",)

    routine_id: str = ""
    kind: str = ""  # medication, checkin, appointment, message, ...
    event: str = ""
    title: str = ""
    detail: str = ""  # for check-ins: her answer
    due: datetime | None = None  # timed occurrences: lets a restart skip what was handled
    stage: str | None = None
    emotion: str | None = None  # how she sounded when answering a check-in

    def texts(self) -> Iterable[str]:
        return (self.detail,)


ROW_TYPES: tuple[type[Row], ...] = (TurnRow, MoodRow, HelpRow, RoutineRow)
ROW_TABLES = tuple(t.TABLE for t in ROW_TYPES)


def row_type(table: str) -> type[Row]:
    """The row class of a journal table."""
    for t in ROW_TYPES:
        if t.TABLE == table:
            return t
    raise KeyError(table)


def encode(row: Row) -> tuple[int, str]:
    """(at in microseconds, JSON data) as stored."""
    return to_micros(row.at), json.dumps(row.data(), ensure_ascii=False, separators=(",", ":"), default=str)


@functools.lru_cache(maxsize=8192)
def decode_row(kind: type[R], row_id: int | None, at: int, data: str) -> R:
    """A stored row → its type (a row that cannot be read becomes an empty one, never an exception).

    Memoised on the stored text itself (rows are frozen), so the same rows read every turn are parsed once.
    """
    try:
        parsed = json.loads(data)
        return kind.from_data(from_micros(at), parsed if isinstance(parsed, dict) else {}, row_id)  # type: ignore[return-value]
    except (ValueError, TypeError):
        return kind(at=from_micros(at), id=row_id)


_FAR = 2**62  # "until the end of time" in microseconds


class Journal:
    """Typed access to the journal: append rows, read them back between two times, small state values.

    ``append(row)`` is durable when it returns (the row comes back with its id);
    ``append(row, defer=True)`` waits for the next commit (the turn's own row),
    so one turn is one write. Readers see deferred rows at once.
    """

    def __init__(self, db: LogDB) -> None:
        self.db = db

    # ---------------------------------------------------------------- rows

    def append(self, row: R, *, defer: bool = False) -> R:
        """Add one row; without `defer` it is on disk when this returns (with its id)."""
        at, data = encode(row)
        op = self.db.stage(Op(f'INSERT INTO "{row.TABLE}"(at, data) VALUES (?, ?)', (at, data),
                              table=row.TABLE, at=at, data=data, deferred=defer))
        if defer:
            return row
        self.db.commit()
        return dataclasses.replace(row, id=op.result)

    def append_many(self, rows: Iterable[R]) -> list[R]:
        """Add several rows in one commit (imports, migrations)."""
        staged = []
        for row in rows:
            at, data = encode(row)
            staged.append((row, self.db.stage(Op(f'INSERT INTO "{row.TABLE}"(at, data) VALUES (?, ?)', (at, data),
                                                 table=row.TABLE, at=at, data=data))))
        self.db.commit()
        return [dataclasses.replace(row, id=op.result) for row, op in staged]

    def between(self, kind: type[R], start: datetime, end: datetime) -> list[R]:
        """Rows with start <= at < end, oldest first."""
        return [decode_row(kind, i, a, d) for i, a, d in self.db.rows(kind.TABLE, to_micros(start), to_micros(end))]

    def since(self, kind: type[R], start: datetime) -> list[R]:
        """Rows from `start` on, oldest first."""
        return [decode_row(kind, i, a, d) for i, a, d in self.db.rows(kind.TABLE, to_micros(start), _FAR)]

    def all(self, kind: type[R]) -> list[R]:
        """Every row of a table, oldest first (retention keeps this bounded)."""
        return [decode_row(kind, i, a, d) for i, a, d in self.db.rows(kind.TABLE, -_FAR, _FAR)]

    def latest(self, kind: type[R], matching: Callable[[R], bool] | None = None, scan: int = 5000) -> R | None:
        """The newest row (that `matching` accepts), looking back at most `scan` rows."""
        staged = [decode_row(kind, i, a, d) for i, a, d in self.db.staged_rows(kind.TABLE)]
        best = max((r for r in staged if matching is None or matching(r)), key=lambda r: r.at, default=None)
        offset, page = 0, 1 if matching is None else 200
        while offset < scan:
            rows = self.db.newest(kind.TABLE, offset, page)
            for i, a, d in rows:
                row = decode_row(kind, i, a, d)
                if matching is None or matching(row):
                    return row if best is None or row.at >= best.at else best
            if len(rows) < page:
                break
            offset += page
        return best

    def count(self, kind: type[Row]) -> int:
        """How many rows a table holds (written ones)."""
        return int(self.db.query(f'SELECT count(*) FROM "{kind.TABLE}"')[0][0])

    def mark_help_cancelled(self, help_id: int, at: datetime) -> None:
        """She said it was a false alarm: the request stays, flagged as cancelled."""
        rows = self.db.query(f'SELECT at, data FROM "{HELP}" WHERE id = ?', (help_id,))
        if not rows:
            return
        row = decode_row(HelpRow, help_id, rows[0][0], rows[0][1])
        self.rewrite(dataclasses.replace(row, cancelled=True, cancelled_at=at))

    def rewrite(self, row: Row) -> None:
        """Replace the fields of a written row (same id and time)."""
        if row.id is None:
            raise ValueError("only a written row (with an id) can be rewritten")
        _, data = encode(row)
        self.db.execute(f'UPDATE "{row.TABLE}" SET data = ? WHERE id = ?', (data, row.id))

    def remove(self, kind: type[Row], ids: Sequence[int]) -> int:
        """Delete rows by id (overwritten on disk: secure_delete)."""
        ids = [i for i in ids if i is not None]
        removed = 0
        for chunk in iter_chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            removed += self.db.execute(f'DELETE FROM "{kind.TABLE}" WHERE id IN ({marks})', tuple(chunk))
        return removed

    def purge(self, kind: type[Row], before: datetime) -> int:
        """Delete rows older than `before` (retention); returns how many went."""
        return self.db.execute(f'DELETE FROM "{kind.TABLE}" WHERE at < ?', (to_micros(before),))

    # ---------------------------------------------------------------- small state values

    def get(self, key: str, default: Any = None) -> Any:
        """A persisted setting or counter (mute, consent, her voice baseline...)."""
        value = loads(self.db.state_get(key), _MISSING)
        return default if value is _MISSING else value

    def put(self, key: str, value: Any, *, defer: bool = False) -> None:
        """Persist a setting; `defer` lets a per-turn counter ride with the turn's commit."""
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        self.db.stage(Op("INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         (key, text), key=key, value=text, deferred=defer))
        if not defer:
            self.db.commit()

    def state(self) -> dict[str, Any]:
        """Every setting (for the daily copy inside the memory file)."""
        return {k: loads(v) for k, v in self.db.state_all().items()}

    # ---------------------------------------------------------------- memory's write-ahead log

    def stage_change(self, table: str, doc_id: int, doc: dict[str, Any] | None) -> Op:
        """A memory document written (or deleted: None); committed with the rest."""
        text = None if doc is None else json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        return self.db.stage(Op("INSERT INTO changes(tbl, doc_id, doc) VALUES (?, ?, ?)", (table, doc_id, text),
                                change=True))

    def changes_since(self, seq: int) -> list[tuple[int, str, int, dict[str, Any] | None]]:
        """Written memory changes after `seq`: (seq, table, doc id, document or None)."""
        return [(s, t, i, loads(d) if d is not None else None)
                for s, t, i, d in self.db.query("SELECT seq, tbl, doc_id, doc FROM changes WHERE seq > ? ORDER BY seq",
                                                (seq,))]

    def last_seq(self) -> int:
        """The newest written memory change (0 when none)."""
        rows = self.db.query("SELECT max(seq) FROM changes")
        return int(rows[0][0] or 0)

    def high_water(self) -> int:
        """The highest change number ever given out here (kept by SQLite even after old changes are dropped)."""
        rows = self.db.query("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        return int(rows[0][0]) if rows else 0

    def first_seq(self) -> int:
        """The oldest memory change still kept (0 when none)."""
        rows = self.db.query("SELECT min(seq) FROM changes")
        return int(rows[0][0] or 0)

    def drop_changes(self, upto: int | None = None, docs: Sequence[tuple[str, int]] = ()) -> None:
        """Delete log entries: those up to `upto` (kept in the memory file) and every entry for `docs` (forgotten)."""
        if upto is not None:
            self.db.execute("DELETE FROM changes WHERE seq <= ?", (upto,))
        for table, doc_id in docs:
            self.db.execute("DELETE FROM changes WHERE tbl = ? AND doc_id = ? AND doc IS NOT NULL", (table, doc_id))

    # ---------------------------------------------------------------- upkeep

    def flush(self, older_than_s: float = 0.0) -> None:
        """Write deferred rows now (or only if the oldest has waited `older_than_s`)."""
        self.db.flush(older_than_s)

    def scrub(self) -> None:
        """After deleting her words: empty the WAL so no old page keeps them."""
        self.db.checkpoint(truncate=True)

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        self.db.close()


_MISSING = object()


def open_journal(path: Any, health: Any, guard: Any = None) -> Journal:
    """The journal file in the data directory (None: in memory), repaired if damaged."""
    if path is None:
        return Journal(LogDB(None, ROW_TABLES, health=health, guard=guard))
    return Journal(LogDB.open(path, ROW_TABLES, health=health, guard=guard))


__all__ = ["ALERT_TITLES", "EPISODES", "FACTS", "HELP", "MOOD", "ROUTINE_LOG", "TURNS", "HelpRow", "Journal",
           "MoodRow", "Row", "RoutineRow", "TurnRow", "from_micros", "open_journal", "row_type", "to_micros",
]
