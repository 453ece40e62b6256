"""Memories as a human-readable JSON file: what a family member writes, what export produces.

Import checks every record first and reports every problem with its line; only a
file without problems is written, in one commit (all or nothing, linear time).
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from datetime import date
from pathlib import Path
from typing import Any

from companion.errors import CompanionError
from companion.memory.book import MemoryBook
from companion.memory.extract import Candidate
from companion.memory.model import EPISODES, FACTS, RELATIONS, Memory
from companion.memory.text import parse_day_month

FORMAT = "companion-memories/1"
SINGLE = ("name", "preferred_name", "home", "birthplace")
PERSON_KEYS = {"lives_in", "age", "job", "birthday", "deceased", "notes"}
KNOWN = set(SINGLE) | {"format", "birthday", "people", "pets", "likes", "dislikes", "favourites", "health",
                       "medications", "appointments", "dates", "notes", "money", "episodes"}
MAX_PROBLEMS = 30  # listed in the report (the count says how many more)


class MemoryFileError(CompanionError, ValueError):
    """A memories file (import) is not in the documented format; the message lists every problem with its line."""


class _Positions:
    """JSON parsed with the start offset of every object and array, so problems can name their line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.at: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps parsed objects alive so their ids stay unique

    def line(self, value: Any) -> int:
        """Line number (1-based) where `value` starts (1 when unknown)."""
        pos = self.at.get(id(value), 0)
        return bisect.bisect_right(self._starts, pos)

    def parse(self) -> Any:
        dec = json.JSONDecoder()
        positions, keep = self.at, self._keep

        def parse_object(s_and_end: Any, *args: Any) -> Any:
            obj, end = json.decoder.JSONObject(s_and_end, *args)
            positions[id(obj)] = s_and_end[1] - 1
            keep.append(obj)
            return obj, end

        def parse_array(s_and_end: Any, scan_once: Any) -> Any:
            arr, end = json.decoder.JSONArray(s_and_end, scan_once)
            positions[id(arr)] = s_and_end[1] - 1
            keep.append(arr)
            return arr, end

        dec.parse_object, dec.parse_array = parse_object, parse_array  # type: ignore[assignment]
        dec.scan_once = json.scanner.py_make_scanner(dec)  # the pure-Python scanner calls the hooks above
        return dec.decode(self.text)


class _Checker:
    """Collects every problem of a memories file, each with its line."""

    def __init__(self, source: str, pos: _Positions) -> None:
        self.source, self.pos = source, pos
        self.problems: list[str] = []

    def bad(self, where: Any, path: str, message: str) -> None:
        self.problems.append(f"{self.source}:{self.pos.line(where)}: {path}: {message}")

    def text(self, where: Any, path: str, value: Any, required: bool = False) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(where, path, f"expected text, found {json.dumps(value)}")
            return None
        return value.strip()

    def mmdd(self, where: Any, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.bad(where, path, f"expected a date as text, found {json.dumps(value)}")
            return None
        v = value.strip()
        if len(v) == 5 and v[2] == "-" and v.replace("-", "").isdigit():
            month, day = int(v[:2]), int(v[3:])
        else:
            dm = parse_day_month(v)
            if not dm:
                self.bad(where, path, f"date {value!r} is not understood; write it as MM-DD (e.g. 03-14) or '14 March'")
                return None
            month, day = dm
        try:
            date(2000, month, day)
        except ValueError:
            self.bad(where, path, f"date {value!r} does not exist")
            return None
        return "%02d-%02d" % (month, day)

    def items(self, data: dict[str, Any], key: str) -> list[tuple[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.bad(data, key, f"expected a list [...], found {type(value).__name__}")
            return []
        return [(f"{key}[{i}]", item) for i, item in enumerate(value)]

    def obj(self, where: Any, path: str, item: Any, allowed: set[str]) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            self.bad(where, path, f"expected an object {{...}}, found {json.dumps(item)}")
            return None
        unknown = sorted(set(item) - allowed)
        if unknown:
            self.bad(item, path, f"unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
        return item


def _people(c: _Checker, data: dict[str, Any], out: list[Candidate]) -> None:
    for path, p in c.items(data, "people"):
        p = c.obj(data["people"], path, p, PERSON_KEYS | {"name", "relation", "id"})
        if p is None:
            continue
        name, rel = c.text(p, f"{path}.name", p.get("name")), c.text(p, f"{path}.relation", p.get("relation"))
        if not name and not rel:
            c.bad(p, path, 'needs at least "name" or "relation"')
            continue
        attrs: dict[str, Any] = {}
        for key in ("lives_in", "job"):
            if p.get(key) is not None and (v := c.text(p, f"{path}.{key}", p[key], required=True)):
                attrs[key] = v
        if p.get("age") is not None:
            if isinstance(p["age"], int) and not isinstance(p["age"], bool) and 0 <= p["age"] <= 130:
                attrs["age"] = p["age"]
            else:
                c.bad(p, f"{path}.age", f"expected a whole number of years, found {json.dumps(p['age'])}")
        if p.get("birthday") is not None and (b := c.mmdd(p, f"{path}.birthday", p["birthday"])):
            attrs["birthday"] = b
        if p.get("deceased") is not None:
            if isinstance(p["deceased"], bool):
                attrs["deceased"] = p["deceased"]
            else:
                c.bad(p, f"{path}.deceased", "expected true or false")
        notes = p.get("notes")
        if notes is not None:
            notes = [notes] if isinstance(notes, str) else notes
            if isinstance(notes, list) and all(isinstance(n, str) and n.strip() for n in notes):
                attrs["notes"] = [n.strip() for n in notes]
            else:
                c.bad(p, f"{path}.notes", "expected text or a list of texts")
        relation = (rel or "").lower()
        out.append(Candidate("person", name or "", RELATIONS.get(relation, relation), attrs))


def _simple(c: _Checker, data: dict[str, Any], out: list[Candidate]) -> None:
    for key in SINGLE:
        if data.get(key) is not None and (v := c.text(data, key, data[key])):
            out.append(Candidate(key, v))
    if data.get("birthday") is not None and (b := c.mmdd(data, "birthday", data["birthday"])):
        out.append(Candidate("birthday", "", attrs={"date": b}))
    for path, p in c.items(data, "pets"):
        p = c.obj(data["pets"], path, p, {"name", "kind", "deceased", "id"})
        if p is not None and (name := c.text(p, f"{path}.name", p.get("name"), required=True)):
            kind = c.text(p, f"{path}.kind", p.get("kind")) or "pet"
            if p.get("deceased") not in (None, True, False):
                c.bad(p, f"{path}.deceased", "expected true or false")
            out.append(Candidate("pet", name, kind.lower(), {"deceased": True} if p.get("deceased") is True else {}))
    for key, kind in (("likes", "like"), ("dislikes", "dislike"), ("health", "health")):
        for path, x in c.items(data, key):
            if (v := c.text(data[key], path, x, required=True)):
                out.append(Candidate(kind, v))
    for path, f in c.items(data, "favourites"):
        f = c.obj(data["favourites"], path, f, {"what", "is"})
        if f is not None and (v := c.text(f, f"{path}.is", f.get("is"), required=True)):
            out.append(Candidate("favourite", v, (c.text(f, f"{path}.what", f.get("what")) or "thing").lower()))
    for path, m in c.items(data, "medications"):
        m = {"name": m} if isinstance(m, str) else c.obj(data["medications"], path, m, {"name", "timing"})
        if m is not None and (v := c.text(m, f"{path}.name", m.get("name"), required=True)):
            timing = c.text(m, f"{path}.timing", m.get("timing"))
            out.append(Candidate("medication", v, attrs={"timing": timing} if timing else {}))


def _dated(c: _Checker, data: dict[str, Any], out: list[Candidate]) -> None:
    for path, a in c.items(data, "appointments"):
        a = c.obj(data["appointments"], path, a, {"what", "when", "date", "with"})
        if a is None:
            continue
        attrs = {k: v for k in ("when", "with") if (v := c.text(a, f"{path}.{k}", a.get(k)))}
        if a.get("date") is not None:
            try:
                attrs["date"] = date.fromisoformat(str(a["date"])).isoformat()
            except ValueError:
                c.bad(a, f"{path}.date", f"expected YYYY-MM-DD, found {json.dumps(a['date'])}")
        what = c.text(a, f"{path}.what", a.get("what"))
        if not what and not attrs.get("with"):
            c.bad(a, path, 'needs "what" (or "with" for a visit)')
            continue
        out.append(Candidate("appointment", what or "an appointment", attrs=attrs))
    for path, d in c.items(data, "dates"):
        d = c.obj(data["dates"], path, d, {"what", "date"})
        if d is None:
            continue
        what = c.text(d, f"{path}.what", d.get("what"), required=True)
        when = c.mmdd(d, f"{path}.date", d.get("date"))
        if what and when:
            out.append(Candidate("date", what, attrs={"date": when}))
    for key, kind in (("notes", "note"), ("money", "money")):
        for path, x in c.items(data, key):
            if (v := c.text(data[key], path, x, required=True)):
                out.append(Candidate(kind, "", said=v))


def _episodes(c: _Checker, data: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, list[str]]]:
    out = []
    for path, e in c.items(data, "episodes"):
        e = c.obj(data["episodes"], path, e, {"text", "mood", "about", "id", "at"})
        if e is None or not (text := c.text(e, f"{path}.text", e.get("text"), required=True)):
            continue
        mood = e.get("mood")
        if mood is not None and not (isinstance(mood, dict) and isinstance(mood.get("category", ""), str)
                                     and isinstance(mood.get("valence", 0.0), (int, float))):
            c.bad(e, f"{path}.mood", f'expected an object like {{"category": "happy", "valence": 0.6}} or null, '
                  f"found {json.dumps(mood)}")
            continue
        about = e.get("about", [])
        if not (isinstance(about, list) and all(isinstance(a, str) for a in about)):
            c.bad(e, f"{path}.about", "expected a list of names")
            continue
        out.append((text, {k: mood[k] for k in ("category", "valence") if k in mood} if mood else None, about))
    return out


def check_memories(text: str, source: str = "memories file") -> tuple[list[Candidate], list[tuple[str, Any, list[str]]]]:
    """Every record of a memories file, validated; raises MemoryFileError listing every problem with its line."""
    pos = _Positions(text)
    try:
        data = pos.parse()
    except json.JSONDecodeError as exc:
        raise MemoryFileError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}); "
                              "see examples/memories.json") from None
    c = _Checker(source, pos)
    if not isinstance(data, dict):
        raise MemoryFileError(f"{source}:1: the top level must be a JSON object {{...}} (see examples/memories.json)")
    unknown = sorted(set(data) - KNOWN)
    if unknown:
        c.bad(data, "top level", f"unknown key(s) {unknown}; allowed: {', '.join(sorted(KNOWN))}")
    if data.get("format", FORMAT) != FORMAT:
        c.bad(data, "format", f"expected {FORMAT!r}")
    cands: list[Candidate] = []
    _simple(c, data, cands)
    _people(c, data, cands)
    _dated(c, data, cands)
    episodes = _episodes(c, data)
    if c.problems:
        shown = c.problems[:MAX_PROBLEMS]
        more = f"\n  ... and {len(c.problems) - MAX_PROBLEMS} more" if len(c.problems) > MAX_PROBLEMS else ""
        raise MemoryFileError(f"{len(c.problems)} problem(s); nothing was imported:\n  " + "\n  ".join(shown) + more)
    return cands, episodes


def candidates(data: dict[str, Any], source: str = "memories file") -> list[Candidate]:
    """The documented format (already parsed) → candidate facts; raises MemoryFileError naming each problem."""
    return check_memories(json.dumps(data, indent=1), source)[0]


def import_file(book: MemoryBook, path: Path) -> int:
    """Merge a memories file into the store, all or nothing; returns how many memories were added or updated."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MemoryFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MemoryFileError(f"{path}: is a folder; give the memories .json file") from None
    except UnicodeDecodeError as exc:
        raise MemoryFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    cands, episodes = check_memories(text, str(path))
    with book.store.transaction():  # one commit: everything or, if anything fails, nothing
        count = sum(len(book.apply(c, source="import")) for c in cands)
        count += sum(1 for text, mood, about in episodes if book.add_episode(text, mood, about))
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
