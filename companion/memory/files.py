"""Memories as a human-readable JSON file: what a family member writes, what export produces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from companion.errors import CompanionError
from companion.memory.book import MemoryBook
from companion.memory.extract import Candidate
from companion.memory.model import EPISODES, FACTS, PETS, RELATIONS, Memory
from companion.memory.text import parse_day_month

FORMAT = "companion-memories/1"
SINGLE = ("name", "preferred_name", "home", "birthplace")
PERSON_KEYS = {"lives_in", "age", "job", "birthday", "deceased", "notes"}


class MemoryFileError(CompanionError, ValueError):
    """A memories file (import) is not in the documented format."""


def _mmdd(value: str, where: str) -> str:
    value = str(value).strip()
    if len(value) == 5 and value[2] == "-" and value.replace("-", "").isdigit():
        return value
    dm = parse_day_month(value)
    if not dm:
        raise MemoryFileError(f"{where}: date {value!r} is not understood; write it as MM-DD (e.g. 03-14) or '14 March'")
    return "%02d-%02d" % dm


def candidates(data: dict[str, Any], source: str = "memories file") -> list[Candidate]:
    """The documented file format → candidate facts (raises MemoryFileError naming the entry)."""
    if not isinstance(data, dict):
        raise MemoryFileError(f"{source}: the top level must be a JSON object (see examples/memories.json)")
    known = set(SINGLE) | {"format", "birthday", "people", "pets", "likes", "dislikes", "favourites", "health",
                           "medications", "appointments", "dates", "notes", "money", "episodes"}
    unknown = set(data) - known
    if unknown:
        raise MemoryFileError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")
    out: list[Candidate] = []
    for key in SINGLE:
        if data.get(key):
            out.append(Candidate(key, str(data[key]).strip()))
    if data.get("birthday"):
        out.append(Candidate("birthday", "", attrs={"date": _mmdd(data["birthday"], f"{source}: birthday")}))
    for i, p in enumerate(data.get("people", [])):
        where = f"{source}: people[{i}]"
        if not isinstance(p, dict) or not (p.get("name") or p.get("relation")):
            raise MemoryFileError(f"{where}: needs at least \"name\" or \"relation\"")
        rel = str(p.get("relation", "")).lower()
        rel = RELATIONS.get(rel, rel)
        bad = set(p) - PERSON_KEYS - {"name", "relation", "id"}
        if bad:
            raise MemoryFileError(f"{where}: unknown key(s) {sorted(bad)}; allowed: name, relation, {', '.join(sorted(PERSON_KEYS))}")
        attrs = {k: p[k] for k in PERSON_KEYS if k in p}
        if "birthday" in attrs:
            attrs["birthday"] = _mmdd(attrs["birthday"], where)
        if "notes" in attrs and isinstance(attrs["notes"], str):
            attrs["notes"] = [attrs["notes"]]
        out.append(Candidate("person", str(p.get("name", "")).strip(), rel, attrs))
    for i, p in enumerate(data.get("pets", [])):
        if not isinstance(p, dict) or not p.get("name"):
            raise MemoryFileError(f"{source}: pets[{i}] needs a \"name\" (and a \"kind\" such as {', '.join(PETS[:4])})")
        out.append(Candidate("pet", str(p["name"]), str(p.get("kind", "pet")).lower(),
                             {"deceased": True} if p.get("deceased") else {}))
    for key, kind in (("likes", "like"), ("dislikes", "dislike"), ("health", "health")):
        out += [Candidate(kind, str(x).strip()) for x in data.get(key, []) if str(x).strip()]
    for f in data.get("favourites", []):
        out.append(Candidate("favourite", str(f.get("is", "")), str(f.get("what", "thing"))))
    for m in data.get("medications", []):
        m = {"name": m} if isinstance(m, str) else m
        out.append(Candidate("medication", str(m["name"]), attrs={"timing": m["timing"]} if m.get("timing") else {}))
    for a in data.get("appointments", []):
        attrs = {k: a[k] for k in ("when", "date", "with") if a.get(k)}
        out.append(Candidate("appointment", str(a.get("what", "an appointment")), attrs=attrs))
    for i, d in enumerate(data.get("dates", [])):
        out.append(Candidate("date", str(d["what"]), attrs={"date": _mmdd(d["date"], f"{source}: dates[{i}]")}))
    for key, kind in (("notes", "note"), ("money", "money")):
        out += [Candidate(kind, "", said=str(x)) for x in data.get(key, [])]
    return out


def import_file(book: MemoryBook, path: Path) -> int:
    """Merge a memories file into the store; returns how many memories were added or updated."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MemoryFileError(f"{path}: no such file") from None
    except ValueError as exc:
        raise MemoryFileError(f"{path}: not valid JSON ({exc}); see examples/memories.json") from None
    cands = candidates(data, str(path))
    count = sum(len(book.apply(c, source="import")) for c in cands)
    for e in data.get("episodes", []):
        if book.add_episode(str(e.get("text", "")), e.get("mood"), e.get("about", [])):
            count += 1
    return count


def export_data(book: MemoryBook) -> dict[str, Any]:
    """Every memory in the import format (plus ids and times), for people to read or re-import."""
    out: dict[str, Any] = {"format": FORMAT}
    lists: dict[str, list[Any]] = {}
    for m in book.all():
        a = m.attrs
        if m.table == EPISODES:
            lists.setdefault("episodes", []).append({"id": m.key, "at": m.at, "text": m.said, "mood": m.mood,
                                                     "about": list(m.about)})
        elif m.kind in SINGLE:
            out[m.kind] = m.subject
        elif m.kind == "birthday":
            if a.get("date"):
                out["birthday"] = a["date"]
        elif m.kind == "person":
            lists.setdefault("people", []).append({"id": m.key, "name": m.subject, "relation": m.relation, **a})
        elif m.kind == "pet":
            lists.setdefault("pets", []).append({"id": m.key, "name": m.subject, "kind": m.relation, **a})
        elif m.kind in ("like", "dislike", "health"):
            lists.setdefault({"like": "likes", "dislike": "dislikes"}.get(m.kind, m.kind), []).append(m.subject)
        elif m.kind == "favourite":
            lists.setdefault("favourites", []).append({"what": m.relation, "is": m.subject})
        elif m.kind == "medication":
            lists.setdefault("medications", []).append({"name": m.subject, **a})
        elif m.kind == "appointment":
            lists.setdefault("appointments", []).append({"what": m.subject, **a})
        elif m.kind == "date":
            lists.setdefault("dates", []).append({"what": m.subject, "date": a.get("date")})
        else:
            lists.setdefault("notes" if m.kind == "note" else "money", []).append(m.said)
    out.update(lists)
    return out


def describe(m: Memory) -> str:
    """One line for `companion memories list`."""
    from companion.memory.model import render

    table = "fact" if m.table == FACTS else "episode"
    return f"{m.key:>6}  {m.kind if table == 'fact' else 'episode':<14} {render(m, you=False)}  [{(m.updated or m.at)[:10]}]"
