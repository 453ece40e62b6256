"""Her memories in the store: merge instead of pile up, whole-name topics, really forget, retention."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Iterable

from companion.clock import Clock
from companion.memory.extract import Candidate
from companion.memory.model import CLOSENESS, EPISODES, FACTS, IMPORTANCE, RELATIONS, SELF_KINDS, Memory
from companion.memory.people import ambiguous
from companion.memory.recall import RecallIndex
from companion.store.journal import TurnRow
from companion.store.scrub import patterns
from companion.store.store import Store

log = logging.getLogger(__name__)

Lookup = tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One memory written: created, or updated from `before` (kept so 'forget that' can undo it)."""

    memory: Memory
    created: bool
    before: dict[str, Any] | None = None


def _lookups(m: Memory) -> list[Lookup]:
    """The keys under which a memory can be found again when the same thing is said twice."""
    if m.table == EPISODES:
        return [("said", m.said)]
    subj = m.subject.lower()
    keys: list[Lookup] = [("kind", m.kind), ("subject", m.kind, subj), ("relation", m.kind, m.relation),
                          ("said", m.kind, m.said.lower())]
    if not subj:
        keys.append(("unnamed", m.kind, m.relation))
    if m.kind in ("like", "dislike"):
        keys.append(("taste", subj))
    return keys


class MemoryBook:
    """The facts and episodes tables plus their search index, kept in step with the file."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.index = RecallIndex()
        self._by: dict[Lookup, list[Memory]] = {}
        self._sorted: list[Memory] | None = None
        self._names: dict[str, str] | None = None
        self._seen: tuple[Any, Any] | None = None
        self.sync()

    # ---------------------------------------------------------------- reading

    def sync(self) -> None:
        """Reload if another process (the CLI) changed the memories since we last looked."""
        seen = (self.store.revision(FACTS), self.store.revision(EPISODES))
        if seen != self._seen:
            self.index = RecallIndex()
            self._by, self._sorted, self._names = {}, None, None
            for table in (FACTS, EPISODES):
                for doc in self.store.all(table):
                    try:
                        self._add(Memory.from_doc(table, doc))
                    except (KeyError, TypeError, ValueError) as exc:
                        log.warning("skipped an unreadable memory in %s: %s", table, exc)
            self._seen = seen

    def _mark(self) -> None:
        self._seen = (self.store.revision(FACTS), self.store.revision(EPISODES))

    def _add(self, m: Memory) -> None:
        old = self.index.memories.get(m.key)
        if old is not None:
            self._drop(old)
        self.index.add(m)
        for key in _lookups(m):
            bucket = self._by.setdefault(key, [])
            bucket.append(m)
            if len(bucket) > 1 and bucket[-2].id > m.id:
                bucket.sort(key=lambda x: x.id)
        self._sorted = self._names = None

    def _drop(self, m: Memory) -> None:
        self.index.remove(m.key)
        for key in _lookups(m):
            bucket = self._by.get(key, [])
            bucket[:] = [x for x in bucket if x.key != m.key]
        self._sorted = self._names = None

    def _find(self, *key: str) -> list[Memory]:
        return self._by.get(key, [])

    def all(self) -> list[Memory]:
        """Every memory, facts first, oldest first."""
        self.sync()
        if self._sorted is None:
            self._sorted = sorted(self.index.memories.values(), key=lambda m: (m.table != FACTS, m.id))
        return self._sorted

    def get(self, key: str) -> Memory | None:
        """A memory by its short id (f12, e3)."""
        self.sync()
        return self.index.memories.get(key)

    def known_names(self) -> dict[str, str]:
        """Lower-case → proper names of the people and pets she has told us about (cached until they change)."""
        self.sync()
        if self._names is None:
            self._names = {m.subject.lower(): m.subject for kind in ("person", "pet")
                           for m in self._find("kind", kind) if m.subject}
        return self._names

    def names_for(self, topic: str) -> list[str]:
        """The whole names a topic stands for: 'Ann' → Ann (and 'Ann Smith'); 'my daughter' → Susan."""
        want = re.sub(r"^(?:my|the|our|her|his)\s+", "", topic.strip().lower()).strip(" .?!")
        relation = RELATIONS.get(want)
        names = [want]
        pat = patterns([want])[0] if want else None
        for m in self._find("kind", "person") + self._find("kind", "pet"):
            if not m.subject:
                continue
            if (relation and m.relation == relation) or (pat and pat.search(m.subject)):
                names.append(m.subject)
        return list(dict.fromkeys(names))

    def about(self, topic: str) -> list[Memory]:
        """Memories about a person or thing, matched as a whole name (never Anne for Ann, Tommy for Tom)."""
        self.sync()
        want = re.sub(r"^(?:my|the|our|her|his)\s+", "", topic.strip().lower()).strip(" .?!")
        relation = RELATIONS.get(want)
        names = self.names_for(topic)
        fields, free = patterns(names), patterns(names, [n for n in names if ambiguous(n)])
        if not fields:
            return []
        return [m for m in self.all() if (relation and m.kind == "person" and m.relation == relation)
                or any(p.search(text) for text in m.texts()[:-2] for p in fields)  # subject, about, attributes
                or any(p.search(text) for text in m.texts()[-2:] for p in free)]  # her words, and the sentence

    def latest(self) -> Memory | None:
        """The memory stored or changed most recently."""
        mems = self.all()
        return max(mems, key=lambda m: (m.updated or m.at, m.table == FACTS, m.id)) if mems else None

    # ---------------------------------------------------------------- writing

    def _now(self) -> str:
        return self.clock.now().isoformat()

    def _match(self, c: Candidate) -> Memory | None:
        subj = c.subject.lower()
        if c.kind in SELF_KINDS:
            return next(iter(self._find("kind", c.kind)), None)
        if c.kind in ("person", "pet"):
            if subj:
                named = [m for m in self._find("subject", c.kind, subj)
                         if not c.relation or not m.relation or m.relation == c.relation]
                if named:
                    return named[-1]
                return next(iter(self._find("unnamed", c.kind, c.relation)), None)
            rel = self._find("relation", c.kind, c.relation)
            return rel[0] if len(rel) == 1 else None
        if c.kind in ("like", "dislike"):
            return next(iter(self._find("taste", subj)), None)
        if c.kind == "favourite":
            return next(iter(self._find("relation", c.kind, c.relation)), None)
        if c.kind == "appointment":
            return next((m for m in self._find("subject", c.kind, subj)
                         if m.attrs.get("date") == c.attrs.get("date")), None)
        if c.kind in ("money", "note"):
            return next(iter(self._find("said", c.kind, c.said.lower())), None)
        return next(iter(self._find("subject", c.kind, subj)), None)

    def apply(self, c: Candidate, source: str = "speech") -> list[Change]:
        """Merge one candidate fact into the memories; returns what was written (maybe nothing)."""
        self.sync()
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
            m = replace(m, id=self.store.insert(FACTS, m.to_doc()))
            changes.append(Change(m, True))
        else:
            merged = {**old.attrs, **{k: v for k, v in attrs.items() if v is not None}}
            new = replace(old, kind=c.kind, subject=c.subject or old.subject, relation=c.relation or old.relation,
                          attrs=merged, said=c.said or old.said, updated=now, source=source)
            if (new.kind, new.subject, new.relation, new.attrs) == (old.kind, old.subject, old.relation, old.attrs):
                return changes  # nothing new: nothing to write
            self.store.update(FACTS, new.to_doc(), [old.id])
            changes.append(Change(new, False, old.to_doc()))
            m = new
        self._add(m)
        self._mark()
        return changes

    def add_episode(self, said: str, mood: dict[str, Any] | None, about: Iterable[str]) -> Change | None:
        """Keep something she told (with when and mood); the same words twice in a day count once."""
        self.sync()
        now = self.clock.now()
        for m in self._find("said", said):
            if m.when and now - m.when < timedelta(days=1):
                return None
        about = tuple(sorted(set(about)))
        m = Memory(EPISODES, 0, "episode", "", "", {}, said, now.isoformat(), now.isoformat(),
                   IMPORTANCE["episode"] + (0.2 if about else 0.0), "speech", mood, about)
        m = replace(m, id=self.store.insert(EPISODES, m.to_doc()))
        self._add(m)
        self._mark()
        return Change(m, True)

    def remove(self, memories: Iterable[Memory]) -> int:
        """Delete memories (their copies are cleaned by forget_copies)."""
        memories = list(memories)
        by_table: dict[str, list[int]] = {}
        for m in memories:
            by_table.setdefault(m.table, []).append(m.id)
        mems = [self.index.memories[m.key] for m in memories if m.key in self.index.memories]
        with self.store.transaction():
            for table, ids in by_table.items():
                self.store.remove(table, ids)
        for m in mems:
            self._drop(m)
        self._mark()
        return sum(len(v) for v in by_table.values())

    def restore(self, memories: Iterable[Memory]) -> int:
        """Put forgotten memories back, under their old ids (undo)."""
        mems = list(memories)
        with self.store.transaction():
            for m in mems:
                self.store.restore(m.table, m.id, m.to_doc())
        for m in mems:
            self._add(m)
        self._mark()
        return len(mems)

    def undo(self, changes: Iterable[Change]) -> int:
        """Forget exactly what these changes stored: delete what was new, restore what was updated."""
        done, touched = 0, []
        with self.store.transaction():
            for ch in changes:
                touched.append((ch.memory.table, ch.memory.id))
                if ch.created:
                    done += self.remove([ch.memory])
                elif ch.before is not None:
                    self.store.update(ch.memory.table, ch.before, [ch.memory.id])
                    done += 1
        self.store.forget_copies(touched)  # the overwritten words leave the log, the file and its copies
        self._seen = None
        self.sync()
        return done

    def turns_about(self, words: Iterable[str]) -> list[TurnRow]:
        """Conversation turns that name any of these words or phrases (whole words)."""
        words = list(words)
        pats = patterns(words, [w for w in words if ambiguous(w)])
        if not pats:
            return []
        return [t for t in self.store.journal.all(TurnRow)
                if any(p.search(t.user) or p.search(t.reply) for p in pats)]

    def forget_turns(self, words: Iterable[str]) -> list[TurnRow]:
        """Delete conversation turns that contain any of these words or phrases; returns them (for undo)."""
        doomed = self.turns_about(words)
        self.store.journal.remove(TurnRow, [t.id for t in doomed if t.id is not None])
        if doomed:
            self.store.journal.scrub()
        return doomed

    def forget_everything(self) -> int:
        """Delete every fact, episode and conversation turn, and every copy of them on the device."""
        mems = self.all()
        count = self.remove(mems)
        turns = self.store.journal.all(TurnRow)
        count += self.store.journal.remove(TurnRow, [t.id for t in turns if t.id is not None])
        self.store.forget_copies([(m.table, m.id) for m in mems])
        self.store.forget_all_copies()
        self._seen = None
        self.sync()
        return count

    def purge_expired(self, now: datetime, retention_days: int) -> int:
        """Delete conversation turns older than the retention period (facts stay)."""
        removed = self.store.journal.purge(TurnRow, now - timedelta(days=retention_days))
        if removed:
            log.info("deleted %d conversation turns older than %d days", removed, retention_days)
        return removed
