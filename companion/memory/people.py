"""The people in her life, as far as we know them: config contacts and names in memory's facts."""

from __future__ import annotations

import re
from typing import Any

from companion.config import Settings
from companion.loop.skills import Person, Status
from companion.memory.model import CLOSENESS, FAMILY, RELATIONS  # relation words, for "my daughter" rather than a name
from companion.store.store import Store

_NAME_KEYS = ("person", "name", "who", "about", "subject", "object")
_NAMED = re.compile(r"\b(?:daughter|son|grandson|granddaughter|sister|brother|friend|husband|wife|niece|nephew|"
                    r"neighbou?r)(?: is)? (?:called|named|is) ([A-Z][a-z]+)")
_IS_MY = re.compile(r"\b([A-Z][a-z]+) is my (?:" + "|".join(RELATIONS) + r")\b")
_NOT_NAMES = {"I", "The", "My", "She", "He", "They", "It", "We", "You", "User", "Her", "His"}


def _names_in_fact(fact: dict[str, Any]) -> list[str]:
    """Names in one memory fact, whatever its exact shape (memory owns the schema)."""
    names = []
    for key in _NAME_KEYS:
        value = fact.get(key)
        if isinstance(value, str) and re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?", value.strip()):
            names.append(value.strip())
    text = " ".join(str(fact.get(k, "")) for k in ("text", "value", "fact", "content"))
    names += _NAMED.findall(text) + _IS_MY.findall(text)
    return [n for n in names if n not in _NOT_NAMES]


def known_people(store: Store, settings: Settings) -> list[str]:
    """Config contacts first (she knows them best), then names from memory facts, without duplicates."""
    out: list[str] = []
    for name in list(settings.caregiver.contacts):
        if name.strip() and name.strip() not in out:
            out.append(name.strip())
    try:
        facts = store.all("facts")
    except Exception:  # memory's table may not exist yet on a fresh device  # noqa: BLE001
        facts = []
    for fact in facts:
        for name in _names_in_fact(fact):
            if name not in out:
                out.append(name)
    return out


def mentions(text: str, names: list[str]) -> dict[str, int]:
    """How often each name, or each relation word ("my daughter"), occurs in `text`."""
    counts: dict[str, int] = {}
    for name in names:
        n = len(re.findall(r"\b" + re.escape(name) + r"\b", text, flags=re.I))
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
IN_TOUCH = FAMILY | {"friend", "best friend", "neighbour", "partner", "carer"}


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
        return store.all("facts")
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
            status = Status.HERSELF
        elif kind == "pet":
            status = Status.PET
        else:
            status = Status.LIVING if alive else Status.DECEASED
        out.append(Person(name, relation, status, alive))
    return out


def suggestable(store: Store, settings: Settings) -> list[str]:
    """Names to suggest when she might like company: living people she is in touch with, closest first.

    The configured contacts come first (the family set them up), then the people memory
    knows. Never her own name, never a pet, never someone memory knows has died.
    """
    known = persons(store, settings)
    mine = her_names(store, settings)
    gone = {p.name.lower() for p in known if p.name and (not p.alive or p.status is not Status.LIVING)}
    out: list[str] = []
    for name in _contact_names(settings):
        if name.lower() not in gone and name.lower() not in mine and name not in out:
            out.append(name)
    living = [p for p in known if p.status is Status.LIVING and p.name and p.relation in IN_TOUCH]
    living.sort(key=lambda p: CLOSENESS.get(p.relation, 9))
    for p in living:
        if p.name.lower() not in gone and p.name.lower() not in mine and p.name not in out:
            out.append(p.name)
    return out
