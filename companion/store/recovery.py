"""Never start empty by surprise: rebuild the memories from what survived, and say what was lost.

Sources, best first: the newest readable daily copy, the readable lines of the
damaged file itself, then every memory change the journal kept since that copy.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.store.file import Data, Salvage, fsync_dir
from companion.store.generations import Generations
from companion.store.health import Recovery
from companion.store.journal import Journal

log = logging.getLogger(__name__)

META_TABLE = "meta"
STATE_TABLE = "state"  # the journal's settings, copied into the memory file at each compaction


def meta_of(data: Data) -> dict[str, Any]:
    """The file's meta document ({} when missing or damaged)."""
    meta = data.get(META_TABLE, {}).get("1", {})
    return meta if isinstance(meta, dict) else {}


def memory_count(data: Data) -> int:
    """Documents in the memory tables (not meta or the settings copy)."""
    return sum(len(t) for name, t in data.items() if name not in (META_TABLE, STATE_TABLE))


def apply_change(data: Data, table: str, doc_id: int, doc: dict[str, Any] | None) -> None:
    """One logged change onto a tree (idempotent: replaying twice is harmless)."""
    docs = data.setdefault(table, {})
    if doc is None:
        docs.pop(str(doc_id), None)
    else:
        docs[str(doc_id)] = doc


def set_aside(path: Path, what: str = "corrupt") -> Path:
    """Move a damaged file out of the way, keeping it (0600) for a person to look at."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.{what}-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.{what}-{stamp}-{n}")
        n += 1
    os.replace(path, aside)
    os.chmod(aside, 0o600)
    fsync_dir(path.parent)
    return aside


@dataclass
class Rebuilt:
    """The recovered tree and the memory change it is up to date with."""

    data: Data
    seq: int
    recovery: Recovery


def rebuild(path: Path, damaged: Salvage | None, problem: str, generations: Generations, journal: Journal) -> Rebuilt:
    """The best tree from a damaged or missing memory file, its copies and the journal."""
    aside = set_aside(path) if damaged is not None and path.exists() else None
    sources = []
    start: Data = {}
    start_seq = 0
    copy = None
    copy_complete = False
    for g in generations.all():
        s = g.read()
        if s.complete or (copy is None and s.docs > memory_count(start)):
            start, start_seq, copy, copy_complete = s.data, int(meta_of(s.data).get("seq", g.seq)), g, s.complete
            if s.complete:
                break
    if copy is not None:
        sources.append(f"the copy of {copy.day:%d %b %Y} ({memory_count(start)} memories)")
    expected, base_seq, base_full = None, None, False
    if damaged is not None and damaged.data:
        meta = meta_of(damaged.data)
        counts = meta.get("counts")
        got = memory_count(damaged.data)
        expected = sum(counts.values()) if isinstance(counts, dict) else (damaged.docs_seen or None)
        base_seq = int(meta["seq"]) if isinstance(meta.get("seq"), int) else None
        base_full = base_seq is not None and expected is not None and got >= expected
        for table, docs in damaged.data.items():
            if table != META_TABLE:
                for doc_id, doc in docs.items():
                    start.setdefault(table, {})[doc_id] = doc  # the damaged file is newer than any copy
        if got:
            sources.append(f"{got} readable memories of the damaged file")
    first, last = journal.first_seq(), journal.last_seq()
    seen = max(start_seq, base_seq or 0)  # the newest change any surviving file says it holds
    # a journal made just now (lost or damaged), or one that forgot changes the files know of, vouches for nothing
    trusted = not journal.db.created and journal.high_water() >= seen

    def covered(seq: int | None) -> bool:  # the journal holds every change after `seq`
        return trusted and seq is not None and (last <= seq or (first != 0 and first <= seq + 1))

    copy_whole = copy is not None and copy_complete
    lost_nothing = (copy_whole and covered(start_seq)) or (base_full and covered(base_seq)) or \
        (trusted and first == 1)
    replayed = 0
    for seq, table, doc_id, doc in journal.changes_since(0):  # every kept change, in order: idempotent
        apply_change(start, table, doc_id, doc)
        replayed += 1
        start_seq = max(start_seq, seq)
    if replayed:
        sources.append(f"{replayed} changes kept in the journal")
    start_seq = max(start_seq, base_seq or 0)
    now = memory_count(start)
    lost: bool | None
    if lost_nothing:
        lost = False
    elif expected is not None and now < expected:
        lost = True
    else:
        lost = None
    outcome = ("rebuilt from " + ", ".join(sources) if sources else "nothing could be recovered") + \
              f"; {now} memories now" + (f" (set aside as {aside.name})" if aside else "")
    rec = Recovery.now(path.name, problem, outcome, lost)
    (log.error if lost is not False else log.warning)("memory file %s: %s; %s", path, problem, outcome)
    start.pop(META_TABLE, None)
    return Rebuilt(start, start_seq, rec)
