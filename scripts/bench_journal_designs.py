"""The two journal designs the issue allowed, on appends with a year of rows: SQLite (WAL) vs TinyDB files by month.

Run by scripts/bench_store.py (which prints the comparison); the one that wins is companion.store.journal.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from bench_store import pct, wchar


def journal_candidates(directory: Path, days: int = 365, per_day: int = 50, appends: int = 200) -> dict:
    """SQLite (WAL) vs TinyDB files by month: a year of turn+mood rows, then one turn's append and a week's read."""
    from datetime import datetime, timedelta, timezone

    from companion.store.file import atomic_write
    from companion.store.health import Health
    from companion.store.journal import ROW_TABLES, Journal, MoodRow, TurnRow
    from companion.store.db import LogDB

    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    rows = []
    for d in range(days):
        for k in range(per_day):
            at = start + timedelta(days=d, minutes=480 + 15 * k)
            rows.append(TurnRow(at=at, user="i went to the market and bought some apples", reply="Lovely. " * 6,
                                emotion={"category": "neutral"}, duration_s=2.5, timings_ms={"stt_ms": 80.0}))
            rows.append(MoodRow(at=at, arousal="low", valence=0.1, category="neutral", source="voice+words"))
    end = start + timedelta(days=days)
    out = {}
    # SQLite, WAL
    sq = directory / "sqlite"
    sq.mkdir(parents=True)
    j = Journal(LogDB(sq / "journal.sqlite3", ROW_TABLES, health=Health()))
    j.append_many(rows)
    times, written = [], []
    for i in range(appends):
        at = end + timedelta(minutes=i)
        w0, t0 = wchar(), time.perf_counter()
        j.append(MoodRow(at=at, valence=0.1, category="neutral"), defer=True)
        j.append(TurnRow(at=at, user="what time is it", reply="It's ten past nine."))
        times.append((time.perf_counter() - t0) * 1000)
        written.append(wchar() - w0)
    t0 = time.perf_counter()
    week = j.between(TurnRow, end - timedelta(days=7), end)
    read_ms = (time.perf_counter() - t0) * 1000
    j.close()
    out["sqlite_wal"] = {"append_ms_p50": round(pct(times, 0.5), 2), "append_ms_p95": round(pct(times, 0.95), 2),
                         "bytes_mean": round(statistics.fmean(written)), "bytes_max": max(written),
                         "week_read_ms": round(read_ms, 1), "week_rows": len(week),
                         "size_mb": round(sum(p.stat().st_size for p in sq.iterdir()) / 1e6, 1)}
    # TinyDB JSON, one file per month, each append an atomic rewrite of that month (like the memory file)
    tj = directory / "tinydb-month"
    tj.mkdir()
    months: dict[str, dict] = {}
    for r in rows:
        m = months.setdefault(f"{r.at:%Y-%m}", {"turns": {}, "mood": {}})[r.TABLE]
        m[str(len(m) + 1)] = {"at": r.at.isoformat(), **r.data()}
    for name, tables in months.items():
        (tj / f"journal-{name}.json").write_text(json.dumps(tables))
    times, written = [], []
    for i in range(appends):
        at = end - timedelta(days=1) + timedelta(minutes=i)  # the current month, nearly full
        w0, t0 = wchar(), time.perf_counter()
        path = tj / f"journal-{at:%Y-%m}.json"
        tables = json.loads(path.read_text())  # TinyDB's JSONStorage reads the file, then writes all of it
        for r in (MoodRow(at=at, valence=0.1), TurnRow(at=at, user="what time is it", reply="It's ten past nine.")):
            t = tables[r.TABLE]
            t[str(len(t) + 1)] = {"at": r.at.isoformat(), **r.data()}
        atomic_write(path, json.dumps(tables).encode())  # one write for both rows (already batched)
        times.append((time.perf_counter() - t0) * 1000)
        written.append(wchar() - w0)
    t0 = time.perf_counter()
    lo, hi = (end - timedelta(days=7)).isoformat(), end.isoformat()
    week_rows = 0
    for name in sorted({f"{end - timedelta(days=7):%Y-%m}", f"{end - timedelta(days=1):%Y-%m}"}):
        tables = json.loads((tj / f"journal-{name}.json").read_text())
        week_rows += sum(1 for d in tables["turns"].values() if lo <= d["at"] < hi)
    read_ms = (time.perf_counter() - t0) * 1000
    out["tinydb_by_month"] = {"append_ms_p50": round(pct(times, 0.5), 2), "append_ms_p95": round(pct(times, 0.95), 2),
                              "bytes_mean": round(statistics.fmean(written)), "bytes_max": max(written),
                              "week_read_ms": round(read_ms, 1), "week_rows": week_rows,
                              "size_mb": round(sum(p.stat().st_size for p in tj.iterdir()) / 1e6, 1)}
    return out
