"""Finding the memories that matter for what she just said: BM25 + names + recency + importance."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime

from .memory_model import CLOSENESS, FACTS, RELATIONS, Memory, render, search_text
from .memory_text import tokens

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
        self._total += len(terms)
        for name in ([m.subject] if m.kind in ("person", "pet") and m.subject else []) + list(m.about):
            for part in name.lower().split():
                self._names[part].add(m.key)
        if m.relation:
            self._relations[m.relation].add(m.key)

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
        for keys in list(self._names.values()) + list(self._relations.values()):
            keys.discard(key)

    def search(self, query: str, now: datetime, k: int = 3) -> list[Memory]:
        """The `k` memories most relevant to `query`, best first."""
        return [m for _, m in self.scored(query, now)[:k]]

    def scored(self, query: str, now: datetime) -> list[tuple[float, Memory]]:
        """(score, memory) for every memory that matches `query` at all, best first."""
        n = len(self.memories)
        if not n:
            return []
        avg = self._total / n or 1.0
        scores: dict[str, float] = defaultdict(float)
        for t in set(tokens(query)):
            posting = self._postings.get(t)
            if not posting:
                continue
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for key, tf in posting.items():
                scores[key] += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * self._lengths[key] / avg))
        low = query.lower()
        for word in set(re.findall(r"[a-z']+", low)):
            for key in self._names.get(word.removesuffix("'s"), ()):
                scores[key] += NAME_BOOST * (1.5 if self.memories[key].table == FACTS else 1.0)
        for spoken, rel in RELATIONS.items():
            if re.search(rf"\b{re.escape(spoken)}s?\b", low):
                for key in self._relations.get(rel, ()):
                    scores[key] += RELATION_BOOST
        ranked = []
        for key, s in scores.items():
            m = self.memories[key]
            when = m.when
            age_days = max(0.0, (now - when).total_seconds() / 86400) if when else 365.0
            ranked.append((s + IMPORTANCE_WEIGHT * m.importance + RECENCY_WEIGHT * math.exp(-age_days / RECENCY_DAYS), m))
        ranked.sort(key=lambda pair: (-pair[0], pair[1].key))
        return ranked

    def core(self) -> list[Memory]:
        """Her name(s) and closest family, always worth the prompt space."""
        names = [m for m in self.memories.values() if m.kind in ("name", "preferred_name")]
        family = [m for m in self.memories.values()
                  if m.kind == "person" and m.relation in CLOSENESS and not m.attrs.get("deceased")]
        family.sort(key=lambda m: (CLOSENESS[m.relation], -m.importance, m.key))
        return sorted(names, key=lambda m: m.kind) + family[:3]

    def upcoming(self, today: date, days: int = 3) -> list[Memory]:
        """Appointments and visits in the next few days."""
        out = []
        for m in self.memories.values():
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
