"""The people in her life, as far as we know them (config contacts and person memories), matched by whole name.

"Ann" is a name, so it matches "Ann" and "Ann's" but never Anne, Joanna or Hannah;
"Tom" never Tommy, tomatoes or Dr Tomlinson. Summaries, the honesty nudge and
forgetting all use this one matcher.
"""

from __future__ import annotations

import re
from typing import Any

from companion.config import Settings
from companion.memory.model import FACTS, RELATIONS, Memory  # RELATIONS: relation words ("my daughter")
from companion.memory.text import STOPWORDS
from companion.store.scrub import name_pattern
from companion.store.store import Store

# Names that are also everyday words: in her free text they count only when written as a name ("Will", not
# "will"); a speech transcript in lower case then never matches, which errs on the side of forgetting too little.
WORD_NAMES = frozenset("""
will may june april august mark rose pat bill grace hope joy faith sue ruby dawn jack frank art bob penny holly
ivy daisy lily iris heather pearl amber summer autumn max buddy lucky ginger pepper honey rusty patch ray dean
drew gene guy rich chase carol robin sandy rock sky angel bud cliff gay jean joan lee pip rod sunny tiny
""".split())

__all__ = ["RELATIONS", "WORD_NAMES", "ambiguous", "known_people", "mentions", "name_pattern", "people", "refers_to"]


def ambiguous(name: str) -> bool:
    """Is this name also an everyday word (so lower-case text may not mean the person)?"""
    return name.strip().lower() in WORD_NAMES or name.strip().lower() in STOPWORDS


def people(store: Store) -> list[Memory]:
    """Her person memories with a name, oldest first (cached until the facts change)."""
    def compute(docs: list[dict[str, Any]]) -> list[Memory]:
        out = []
        for doc in docs:
            try:
                m = Memory.from_doc(FACTS, doc)
            except (KeyError, TypeError, ValueError):
                continue
            if m.kind == "person" and m.subject.strip():
                out.append(m)
        return out

    return store.cached(FACTS, "people", compute)


def known_people(store: Store, settings: Settings) -> list[str]:
    """Config contacts first (she knows them best), then the people memory knows, without duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    for name in list(settings.caregiver.contacts) + [m.subject for m in people(store)]:
        name = name.strip()
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def refers_to(text: str, name: str) -> bool:
    """Whether `text` names `name` as a whole name (any case)."""
    return bool(name.strip()) and bool(name_pattern(name).search(text))


def mentions(text: str, names: list[str]) -> dict[str, int]:
    """How often each name (whole names only), or each relation word ("my daughter"), occurs in `text`."""
    counts: dict[str, int] = {}
    words = set(re.findall(r"\w+", text.lower()))
    for name in names:
        parts = name.lower().split()
        if not parts or parts[0] not in words:
            continue  # a set lookup first: she may know hundreds of people
        n = len(name_pattern(name).findall(text))
        if n:
            counts[name] = n
    lower = text.lower()
    for rel in RELATIONS:
        n = len(re.findall(r"\bmy " + rel + r"s?\b", lower))
        if n:
            counts[f"my {rel}"] = counts.get(f"my {rel}", 0) + n
    return counts
