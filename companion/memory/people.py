"""The people in her life, as far as we know them: config contacts and names in memory's facts."""

from __future__ import annotations

import re
from typing import Any

from companion.config import Settings
from companion.memory.model import RELATIONS  # relation words, for when she says "my daughter" rather than a name
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
