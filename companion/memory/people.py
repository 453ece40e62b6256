"""The people in her life, as far as we know them (config contacts and person memories), matched by whole name.

"Ann" is a name, so it matches "Ann" and "Ann's" but never Anne, Joanna or Hannah;
"Tom" never Tommy, tomatoes or Dr Tomlinson. Summaries, the honesty nudge and
forgetting all use this one matcher.
"""

from __future__ import annotations

import re
from typing import Any

from companion.config import Settings
from companion.loop.skills import Person, PersonStatus
from companion.memory.model import (  # RELATIONS: relation words ("my daughter")
    CLOSENESS,
    FACTS,
    FAMILY_RELATIONS,
    RELATIONS,
    Memory,
)
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


# ---------------------------------------------------------------- who they are to her: living, deceased, pet, herself

# relations she keeps company with (suggested when she is lonely); not the doctor, the vicar or the cleaner
IN_TOUCH = FAMILY_RELATIONS | {"friend", "best friend", "neighbour", "partner", "carer"}


def _contact_names(settings: Settings) -> list[str]:
    """The configured contacts' names (plain strings, or objects with a name)."""
    names = []
    for c in settings.caregiver.contacts:
        name = c if isinstance(c, str) else getattr(c, "name", "")
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names


def her_names(store: Store, settings: Settings) -> set[str]:
    """Her own name(s), lower case: the configured one and what memory holds (name, preferred name)."""
    names = {settings.conversation.user_name.strip().lower()} - {""}
    for doc in _facts(store):
        if doc.get("kind") in ("name", "preferred_name") and isinstance(doc.get("subject"), str):
            names |= {doc["subject"].strip().lower(), doc["subject"].strip().split()[0].lower()} - {""}
    return names


def _facts(store: Store) -> list[dict[str, Any]]:
    try:
        return store.all(FACTS)
    except Exception:  # memory's table may not exist yet on a fresh device  # noqa: BLE001
        return []


def persons(store: Store, settings: Settings) -> list[Person]:
    """Every person and pet memory knows about, typed with their status (her own name is HERSELF)."""
    mine = her_names(store, settings)
    out = []
    for doc in _facts(store):
        kind = doc.get("kind")
        if kind not in ("person", "pet"):
            continue
        name = str(doc.get("subject") or "").strip()
        relation = str(doc.get("relation") or "").strip()
        attrs = doc.get("attrs") if isinstance(doc.get("attrs"), dict) else {}
        alive = not attrs.get("deceased")
        if name.lower() in mine:
            status = PersonStatus.HERSELF
        elif kind == "pet":
            status = PersonStatus.PET
        else:
            status = PersonStatus.LIVING if alive else PersonStatus.DECEASED
        out.append(Person(name, relation, status, alive))
    return out


def suggestable(store: Store, settings: Settings) -> list[str]:
    """Names to suggest when she might like company: living people she is in touch with, closest first.

    The configured contacts come first (the family set them up), then the people memory
    knows. Never her own name, never a pet, never someone memory knows has died.
    """
    known = persons(store, settings)
    mine = her_names(store, settings)
    gone = {p.name.lower() for p in known if p.name and (not p.alive or p.status is not PersonStatus.LIVING)}
    out: list[str] = []
    for name in _contact_names(settings):
        if name.lower() not in gone and name.lower() not in mine and name not in out:
            out.append(name)
    living = [p for p in known if p.status is PersonStatus.LIVING and p.name and p.relation in IN_TOUCH]
    living.sort(key=lambda p: CLOSENESS.get(p.relation, 9))
    for p in living:
        if p.name.lower() not in gone and p.name.lower() not in mine and p.name not in out:
            out.append(p.name)
    return out
