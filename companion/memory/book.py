"""Her memories in the store: merge instead of pile up, really forget, retention, import/export."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Iterable

from companion.clock import Clock
from companion.memory.extract import Candidate
from companion.memory.model import CLOSENESS, EPISODES, FACTS, IMPORTANCE, SELF_KINDS, Memory
from companion.memory.recall import RecallIndex
from companion.store.store import Store

log = logging.getLogger(__name__)

TURNS = "turns"


@dataclass(frozen=True)
class Change:
    """One memory written: created, or updated from `before` (kept so 'forget that' can undo it)."""

    memory: Memory
    created: bool
    before: dict[str, Any] | None = None


class MemoryBook:
    """The facts and episodes tables plus their search index, kept in step with the file."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.index = RecallIndex()
        self._seen: tuple[Any, Any] | None = None
        self.sync()

    # ---------------------------------------------------------------- reading

    def sync(self) -> None:
        """Reload if another process (the CLI) changed the memories since we last looked."""
        seen = (self.store.revision(FACTS), self.store.revision(EPISODES))
        if seen != self._seen:
            self.index = RecallIndex()
            for table in (FACTS, EPISODES):
                for doc in self.store.all(table):
                    self.index.add(Memory.from_doc(table, doc))
            self._seen = seen

    def _mark(self) -> None:
        self._seen = (self.store.revision(FACTS), self.store.revision(EPISODES))

    def all(self) -> list[Memory]:
        """Every memory, facts first, oldest first."""
        self.sync()
        return sorted(self.index.memories.values(), key=lambda m: (m.table != FACTS, m.id))

    def get(self, key: str) -> Memory | None:
        """A memory by its short id (f12, e3)."""
        self.sync()
        return self.index.memories.get(key)

    def known_names(self) -> dict[str, str]:
        """Lower-case → proper names of the people and pets she has told us about."""
        return {m.subject.lower(): m.subject for m in self.all() if m.kind in ("person", "pet") and m.subject}

    def about(self, text: str) -> list[Memory]:
        """Memories that mention `text` (a name, a relation like 'my daughter', or a thing)."""
        want = re.sub(r"^(?:my|the|our|her|his)\s+", "", text.strip().lower())
        names = {want}
        for m in self.all():
            if m.kind == "person" and m.relation == want and m.subject:
                names.add(m.subject.lower())  # "forget about my daughter" → Susan too
        return [m for m in self.all() if any(m.mentions(n) or m.relation == n for n in names)]

    def latest(self) -> Memory | None:
        """The memory stored or changed most recently."""
        mems = self.all()
        return max(mems, key=lambda m: (m.updated or m.at, m.table == FACTS, m.id)) if mems else None

    # ---------------------------------------------------------------- writing

    def _now(self) -> str:
        return self.clock.now().isoformat()

    def _match(self, c: Candidate) -> Memory | None:
        facts = [m for m in self.all() if m.table == FACTS]
        subj = c.subject.lower()
        if c.kind in SELF_KINDS:
            return next((m for m in facts if m.kind == c.kind), None)
        if c.kind in ("person", "pet"):
            same = [m for m in facts if m.kind == c.kind]
            if subj:
                named = [m for m in same if m.subject.lower() == subj and (not c.relation or not m.relation or m.relation == c.relation)]
                if named:
                    return named[-1]
                return next((m for m in same if not m.subject and m.relation == c.relation), None)
            rel = [m for m in same if m.relation == c.relation]
            return rel[0] if len(rel) == 1 else None
        if c.kind in ("like", "dislike"):
            return next((m for m in facts if m.kind in ("like", "dislike") and m.subject.lower() == subj), None)
        if c.kind == "favourite":
            return next((m for m in facts if m.kind == "favourite" and m.relation == c.relation), None)
        if c.kind == "appointment":
            return next((m for m in facts if m.kind == "appointment" and m.subject.lower() == subj
                         and m.attrs.get("date") == c.attrs.get("date")), None)
        if c.kind in ("money", "note"):
            return next((m for m in facts if m.kind == c.kind and m.said.lower() == c.said.lower()), None)
        return next((m for m in facts if m.kind == c.kind and m.subject.lower() == subj), None)

    def apply(self, c: Candidate, source: str = "speech") -> list[Change]:
        """Merge one candidate fact into the memories; returns what was written (maybe nothing)."""
        changes: list[Change] = []
        attrs = dict(c.attrs)
        if c.kind == "person" and ("visit_when" in attrs or "visit_date" in attrs):
            who = c.subject or f"your {c.relation}"
            visit = Candidate("appointment", f"{who} visiting", attrs={"with": who, "when": attrs.pop("visit_when", None),
                                                                       "date": attrs.pop("visit_date", None)}, said=c.said)
            changes += self.apply(visit, source)
            c = replace(c, attrs=attrs)
            if not c.subject and not attrs:
                return changes
        old = self._match(c)
        now = self._now()
        if old is None:
            importance = IMPORTANCE.get(c.kind, 0.5)
            if c.kind == "person" and c.relation in CLOSENESS:
                importance = 0.9
            m = Memory(FACTS, 0, c.kind, c.subject, c.relation, {k: v for k, v in attrs.items() if v is not None},
                       c.said, now, now, importance, source)
            doc_id = self.store.insert(FACTS, m.to_doc())
            m = replace(m, id=doc_id)
            changes.append(Change(m, True))
        else:
            merged = {**old.attrs, **{k: v for k, v in attrs.items() if v is not None}}
            new = replace(old, kind=c.kind, subject=c.subject or old.subject, relation=c.relation or old.relation,
                          attrs=merged, said=c.said or old.said, updated=now, source=source)
            if (new.kind, new.subject, new.relation, new.attrs) == (old.kind, old.subject, old.relation, old.attrs):
                return changes  # nothing new: don't rewrite the file
            self.store.update(FACTS, new.to_doc(), [old.id])
            changes.append(Change(new, False, old.to_doc()))
            m = new
        self.index.add(m)
        self._mark()
        return changes

    def add_episode(self, said: str, mood: dict[str, Any] | None, about: Iterable[str]) -> Change | None:
        """Keep something she told (with when and mood); the same words twice in a day count once."""
        now = self.clock.now()
        for m in self.all():
            if m.table == EPISODES and m.said == said and m.when and now - m.when < timedelta(days=1):
                return None
        about = tuple(sorted(set(about)))
        m = Memory(EPISODES, 0, "episode", "", "", {}, said, now.isoformat(), now.isoformat(),
                   IMPORTANCE["episode"] + (0.2 if about else 0.0), "speech", mood, about)
        m = replace(m, id=self.store.insert(EPISODES, m.to_doc()))
        self.index.add(m)
        self._mark()
        return Change(m, True)

    def remove(self, memories: Iterable[Memory]) -> int:
        """Really delete memories (from the file and its backup)."""
        by_table: dict[str, list[int]] = {}
        for m in memories:
            by_table.setdefault(m.table, []).append(m.id)
        for table, ids in by_table.items():
            self.store.remove(table, ids)
        count = sum(len(v) for v in by_table.values())
        if count:
            self._seen = None
            self.sync()
        return count

    def undo(self, changes: Iterable[Change]) -> int:
        """Forget exactly what these changes stored: delete what was new, restore what was updated."""
        done = 0
        for ch in changes:
            if ch.created:
                done += self.remove([ch.memory])
            elif ch.before is not None:
                self.store.update(ch.memory.table, ch.before, [ch.memory.id])
                done += 1
        self.store.refresh_backup()  # the overwritten words must leave the backup file too
        self._seen = None
        self.sync()
        return done

    def forget_turns(self, words: Iterable[str]) -> int:
        """Delete conversation turns that contain any of these words or phrases."""
        pats = [re.compile(rf"\b{re.escape(w.lower())}\b") for w in words if w.strip()]
        if not pats:
            return 0
        doomed = [t["id"] for t in self.store.all(TURNS)
                  if any(p.search(f"{t.get('user', '')} {t.get('reply', '')}".lower()) for p in pats)]
        self.store.remove(TURNS, doomed)
        return len(doomed)

    def forget_everything(self) -> int:
        """Delete every fact, episode and conversation turn."""
        count = 0
        for table in (FACTS, EPISODES, TURNS):
            ids = [d["id"] for d in self.store.all(table)]
            self.store.remove(table, ids)
            count += len(ids)
        self._seen = None
        self.sync()
        return count

    def purge_expired(self, now: datetime, retention_days: int) -> int:
        """Delete conversation turns older than the retention period (facts stay)."""
        cutoff = now - timedelta(days=retention_days)
        doomed = []
        for t in self.store.all(TURNS):
            try:
                at = datetime.fromisoformat(str(t.get("at", "")))
            except ValueError:
                continue
            if at.tzinfo is None or at < cutoff:  # naive timestamps are ours from no version: treat as old
                doomed.append(t["id"])
        self.store.remove(TURNS, doomed)
        if doomed:
            log.info("deleted %d conversation turns older than %d days", len(doomed), retention_days)
        return len(doomed)
