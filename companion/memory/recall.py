"""Finding the memories that matter for what she just said: BM25 + names + recency + importance."""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from datetime import date, datetime

from companion.memory.model import CLOSENESS, FACTS, RELATIONS, Memory, render, search_text
from companion.memory.text import tokens

K1, B = 1.2, 0.75  # BM25's usual term-saturation and length-normalisation constants
NAME_BOOST = 6.0  # her naming someone is the strongest signal there is
RELATION_BOOST = 3.0  # "my daughter" → the daughter's memory
IMPORTANCE_WEIGHT = 0.6
RECENCY_WEIGHT = 0.4
RECENCY_DAYS = 60.0  # recency halves roughly every six weeks


class RecallIndex:
    """An in-memory inverted index over memories, updated as memories change."""

    def __init__(self) -> None:
        self.memories: dict[str, Memory] = {}
        self._postings: dict[str, dict[str, int]] = defaultdict(dict)
        self._lengths: dict[str, int] = {}
        self._total = 0
        self._names: dict[str, set[str]] = defaultdict(set)
        self._relations: dict[str, set[str]] = defaultdict(set)
        self._special: set[str] = set()  # names, close family and appointments: scanned every turn
        self._time: dict[str, float] = {}  # key -> POSIX time of the last change (parsed once)

    def __len__(self) -> int:
        return len(self.memories)

    def add(self, m: Memory) -> None:
        """Index a memory (replacing an older version with the same key)."""
        self.remove(m.key)
        self.memories[m.key] = m
        terms = tokens(search_text(m))
        for t in terms:
            self._postings[t][m.key] = self._postings[t].get(m.key, 0) + 1
        self._lengths[m.key] = len(terms)
        when = m.when
        self._time[m.key] = when.timestamp() if when and when.tzinfo else 0.0
        self._total += len(terms)
        for name in ([m.subject] if m.kind in ("person", "pet") and m.subject else []) + list(m.about):
            for part in name.lower().split():
                self._names[part].add(m.key)
        if m.relation:
            self._relations[m.relation].add(m.key)
        if m.kind in ("name", "preferred_name", "appointment") or (m.kind == "person" and m.relation in CLOSENESS):
            self._special.add(m.key)

    def remove(self, key: str) -> None:
        """Forget a memory's index entries."""
        m = self.memories.pop(key, None)
        if m is None:
            return
        for t in set(tokens(search_text(m))):
            self._postings[t].pop(key, None)
            if not self._postings[t]:
                del self._postings[t]
        self._total -= self._lengths.pop(key, 0)
        self._time.pop(key, None)
        for name in ([m.subject] if m.kind in ("person", "pet") and m.subject else []) + list(m.about):
            for part in name.lower().split():
                self._names[part].discard(key)
        self._relations[m.relation].discard(key)
        self._special.discard(key)

    def search(self, query: str, now: datetime, k: int = 3) -> list[Memory]:
        """The `k` memories most relevant to `query`, best first."""
        return [m for _, m in self.scored(query, now, k)]

    def scored(self, query: str, now: datetime, k: int | None = None) -> list[tuple[float, Memory]]:
        """(score, memory) for the best `k` (default: all) memories matching `query` at all, best first."""
        n = len(self.memories)
        if not n:
            return []
        avg = self._total / n or 1.0
        scores: dict[str, float] = defaultdict(float)
        lengths = self._lengths
        for t in set(tokens(query)):
            posting = self._postings.get(t)
            if not posting:
                continue
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            norm = K1 * (1 - B)
            slope = K1 * B / avg
            for key, tf in posting.items():
                scores[key] += idf * tf * (K1 + 1) / (tf + norm + slope * lengths[key])
        low = query.lower()
        for word in set(re.findall(r"[a-z']+", low)):
            for key in self._names.get(word.removesuffix("'s"), ()):
                scores[key] += NAME_BOOST * (1.5 if self.memories[key].table == FACTS else 1.0)
        for spoken, rel in RELATIONS.items():
            if spoken in low and re.search(rf"\b{re.escape(spoken)}s?\b", low):
                for key in self._relations.get(rel, ()):
                    scores[key] += RELATION_BOOST
        now_s = now.timestamp()
        mems, times = self.memories, self._time

        def final(item: tuple[str, float]) -> float:
            key, s = item
            age_days = max(0.0, (now_s - times[key]) / 86400) if times[key] else 365.0
            return s + IMPORTANCE_WEIGHT * mems[key].importance + RECENCY_WEIGHT * math.exp(-age_days / RECENCY_DAYS)

        items = list(scores.items())
        best = heapq.nlargest(k, items, key=final) if k is not None else sorted(items, key=final, reverse=True)
        return [(final(i), mems[i[0]]) for i in best]

    def core(self) -> list[Memory]:
        """Her name(s) and closest family, always worth the prompt space."""
        special = [self.memories[k] for k in self._special]
        names = [m for m in special if m.kind in ("name", "preferred_name")]
        family = [m for m in special
                  if m.kind == "person" and m.relation in CLOSENESS and not m.attrs.get("deceased")]
        family.sort(key=lambda m: (CLOSENESS[m.relation], -m.importance, m.key))
        return sorted(names, key=lambda m: m.kind) + family[:3]

    def upcoming(self, today: date, days: int = 3) -> list[Memory]:
        """Appointments and visits in the next few days."""
        out = []
        for m in (self.memories[k] for k in self._special):
            if m.kind == "appointment" and m.attrs.get("date"):
                try:
                    d = date.fromisoformat(m.attrs["date"])
                except ValueError:
                    continue
                if 0 <= (d - today).days <= days:
                    out.append((d, m))
        return [m for _, m in sorted(out, key=lambda p: (p[0], p[1].key))]


def build_context(index: RecallIndex, query: str, now: datetime, today: date,
                  budget_chars: int, count: int) -> str:
    """The memories block for the prompt: core first, then relevant, then upcoming, within budget."""
    chosen: list[Memory] = []
    for m in index.core() + index.search(query, now, k=count) + index.upcoming(today):
        if m not in chosen:
            chosen.append(m)
    if not chosen:
        return ""
    header = "What she has told you (mention only if it helps):"
    lines, used = [header], len(header)
    for m in chosen:
        line = "- " + render(m, you=False, today=today)
        if used + len(line) + 1 > budget_chars:
            continue  # a shorter later line may still fit
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines) if len(lines) > 1 else ""
