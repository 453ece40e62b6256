"""routines.toml → validated routines, with problems a family member can act on.

Every problem names the line, the field, what was found and an example of
what is expected. All problems are collected, not only the first. tomllib
gives no line numbers, so `routines_lines` finds them by scanning the text.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from companion.clock import QuietHours
from companion.errors import ConfigError
from companion.routines.lines import LineFinder, Problem, friendly_syntax_error
from companion.routines.values import parse_time, read_date, read_days, read_notice, read_times, show, suggest_time

ROUTINE_KINDS = ("medication", "checkin", "reminder", "appointment", "message", "activity")

# Which fields each kind accepts; "times" is also accepted under the name "time".
_COMMON = {"time", "times", "days", "date", "urgent", "id"}
FIELDS: dict[str, set[str]] = {
    "medication": _COMMON | {"name", "dose", "question", "repeat_every_minutes", "repeat_times", "escalate"},
    "checkin": _COMMON | {"question"},
    "reminder": _COMMON | {"what", "notice"},
    "appointment": _COMMON | {"with", "what", "where", "notice"},
    "message": {"from", "text", "time", "date", "id"},
    "activity": _COMMON | {"suggest"},
}
REQUIRED_TEXT = {"medication": "name", "checkin": "question", "reminder": "what",
                 "message": "text", "activity": "suggest"}
EXAMPLE_TEXT = {"name": '"blood-pressure tablet"', "question": '"Good morning! How did you sleep?"',
                "what": '"the bins go out"', "text": '"Hello Mum, I will call on Sunday. Susan"',
                "suggest": '"How about a short walk while it is light?"', "with": '"Dr. Patel"',
                "where": '"the health centre"', "dose": '"one tablet"', "from": '"Susan"', "id": '"morning-pill"'}
DEFAULT_REPEAT_EVERY_MIN = 10  # ask again after this many minutes without a "yes"
DEFAULT_REPEAT_TIMES = 2  # ask again at most this many times, then record a missed dose
MAX_REPEAT_TIMES = 10
# A missed dose is told to the first contact as "needs attention" and listed in the summaries;
# `escalate = true` makes it an URGENT alert that goes on to the next contact until acknowledged.
DEFAULT_ESCALATE = False




class RoutinesFileError(ConfigError):
    """The routines file has problems; `problems` lists every one of them."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n  {lines}")


@dataclass(frozen=True)
class Routine:
    """One validated routine: what to say, and when."""

    id: str  # stable across restarts (messages are delivered once per id)
    kind: str  # one of ROUTINE_KINDS
    title: str  # short label for lists and the log
    line: int  # where it is defined, for messages
    times: tuple[time, ...] = ()  # local wall-clock times; empty = message "at the next conversation"
    days: frozenset[int] = frozenset(range(7))  # weekday numbers, Monday = 0
    date: date | None = None  # one-off date (then `days` is ignored)
    urgent: bool = False  # speaks even during quiet hours
    fields: dict[str, Any] = field(default_factory=dict, compare=False)  # the kind's text fields
    notice: timedelta | None = None  # advance notice for reminders/appointments
    repeat_every: timedelta = timedelta(minutes=DEFAULT_REPEAT_EVERY_MIN)
    repeat_times: int = DEFAULT_REPEAT_TIMES
    escalate: bool = DEFAULT_ESCALATE  # medication: a missed dose is an URGENT alert (else "needs attention")

    def text(self, key: str, default: str = "") -> str:
        """A text field of the routine ('' when not given)."""
        return str(self.fields.get(key, default))

    def on(self, day: date) -> bool:
        """Does this routine happen on that local date?"""
        if self.date is not None:
            return day == self.date
        return day.weekday() in self.days


@dataclass(frozen=True)
class RoutinesFile:
    """A whole valid routines file."""

    routines: tuple[Routine, ...]
    quiet: QuietHours | None  # None = not set in the file (use the main config's)
    quiet_set: bool = False  # True when the file has a [quiet_hours] section (even enabled = false)
    warnings: tuple[Problem, ...] = ()
    source: str = ""


def load_routines(path: str | Path, today: date | None = None) -> RoutinesFile:
    """Read and validate a routines file; raises RoutinesFileError listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutinesFileError(str(p), [Problem(0, "the file", "", f"{p} does not exist; "
                                                 "copy examples/routines.toml there and edit it")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutinesFileError(str(p), [Problem(0, "the file", "", f"cannot be read ({exc}); "
                                                 "save it as plain text (UTF-8)")]) from exc
    return parse_routines(text, source=str(p), today=today)


def parse_routines(text: str, source: str = "<routines>", today: date | None = None) -> RoutinesFile:
    """Validate TOML text; `today` (local) enables the 'date in the past' note."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutinesFileError(source, [friendly_syntax_error(text, exc)]) from exc
    lines = LineFinder(text)
    problems: list[Problem] = []
    routines: list[Routine] = []
    quiet: QuietHours | None = None
    quiet_set = False
    for name, value in data.items():
        if name == "quiet_hours":
            quiet_set = True
            quiet = _quiet_hours(value, lines, problems)
            continue
        if name not in ROUTINE_KINDS:
            close = difflib.get_close_matches(name.lower().replace("-", "").replace("_", ""),
                                              ROUTINE_KINDS + ("quiet_hours",), n=1, cutoff=0.5)
            hint = f"did you mean [[{close[0]}]]? " if close else ""
            problems.append(Problem(lines.header(name), f"[[{name}]]", "is not a kind of routine",
                                    f"{hint}use one of: " + ", ".join(f"[[{k}]]" for k in ROUTINE_KINDS)))
            continue
        if isinstance(value, dict):
            problems.append(Problem(lines.header(name), f"[{name}]", "has single brackets",
                                    f"write [[{name}]] with double brackets (one block per {name})"))
            continue
        if not isinstance(value, list):
            problems.append(Problem(lines.key(None, 0, name), name, f"= {value!r}",
                                    f"start a block with [[{name}]] on its own line"))
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                problems.append(Problem(lines.header(name), name, f"= {item!r}",
                                        f"start a block with [[{name}]] on its own line"))
                continue
            r = _routine(name, index, item, lines, problems)
            if r is not None:
                routines.append(r)
    routines = _unique_ids(routines, lines, problems)
    warnings = _warnings(routines, quiet, today)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise RoutinesFileError(source, problems)
    return RoutinesFile(tuple(routines), quiet, quiet_set, tuple(warnings), source)


# ---------------------------------------------------------------- one block


class _Block:
    """Reads the fields of one [[kind]] block, recording problems with their lines."""

    def __init__(self, kind: str, index: int, item: dict[str, Any], lines: LineFinder,
                 problems: list[Problem]) -> None:
        self.kind, self.index, self.item = kind, index, item
        self.lines, self.problems = lines, problems
        label = item.get(REQUIRED_TEXT.get(kind, "with")) or item.get("what")
        self.label = f"[[{kind}]]" + (f" '{label}'" if isinstance(label, str) and label else "")

    def problem(self, key: str | None, found: str, advice: str, value: Any = None) -> None:
        """Record a problem at the key's line (the block's header line if key is None)."""
        line = self.lines.key(self.kind, self.index, key, value) if key else self.lines.header(self.kind, self.index)
        where = f"{self.label}, {key}" if key else self.label
        self.problems.append(Problem(line, where, found, advice))

    def text(self, key: str, required: bool = False) -> str:
        """A text field, stripped ('' if missing or wrong)."""
        value = self.item.get(key)
        if value is None:
            if required:
                self.problem(None, f"has no {key}", f"add a line like {key} = {_ex(key)}")
            return ""
        if not isinstance(value, str):
            self.problem(key, f"{show(value)}", f"put the words in double quotes, like {key} = "
                         f"{_ex(key)}", value)
            return ""
        if required and not value.strip():
            self.problem(key, "is empty", f"write something, like {key} = {_ex(key)}", value)
        return value.strip()

    def number(self, key: str, default: int, low: int, high: int, example: int) -> int:
        """A whole number within [low, high], else the default (and a problem)."""
        value = self.item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, show(value), f"write a whole number without quotes, like {key} = {example}", value)
            return default
        if not low <= value <= high:
            self.problem(key, show(value), f"use a number from {low} to {high}, like {key} = {example}", value)
            return default
        return value

    def flag(self, key: str) -> bool:
        """true/false (false if missing)."""
        value = self.item.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, show(value), f"write {key} = true or {key} = false (no quotes)", value)
            return False
        return value


def _routine(kind: str, index: int, item: dict[str, Any], lines: LineFinder,
             problems: list[Problem]) -> Routine | None:
    b = _Block(kind, index, item, lines, problems)
    before = len(problems)
    allowed = FIELDS[kind]
    for key in item:
        if key not in allowed:
            close = difflib.get_close_matches(key.lower(), sorted(allowed), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            b.problem(key, "is not a field of this kind", f"{hint}fields for [[{kind}]]: {', '.join(sorted(allowed - {'id'}))}")
    if "time" in item and "times" in item:
        b.problem("times", "is given together with time", "keep one: times = [\"08:00\", \"20:00\"]")
    raw_times = item.get("times", item.get("time"))
    times_key = "times" if "times" in item else "time"
    times: tuple[time, ...] = ()
    if raw_times is None:
        if kind != "message":
            b.problem(None, "has no time", 'add a line like time = "08:00" (or times = ["08:00", "20:00"])')
    else:
        times = read_times(b, times_key, raw_times)
    day: date | None = None
    if "date" in item:
        day = read_date(b, item["date"])
        if "days" in item:
            b.problem("days", "is given together with date", "keep date for a one-off, or days for a repeating one")
    days = read_days(b, item["days"]) if "days" in item else frozenset(range(7))
    fields = {k: b.text(k, required=(REQUIRED_TEXT.get(kind) == k))
              for k in sorted(allowed - _COMMON - {"repeat_every_minutes", "repeat_times", "notice", "escalate"})}
    if kind == "appointment" and not (fields.get("with") or fields.get("what")):
        b.problem(None, "says neither who nor what", 'add with = "Dr. Patel" and/or what = "physiotherapy"')
    notice = read_notice(b, item["notice"]) if "notice" in item else None
    repeat_every = b.number("repeat_every_minutes", DEFAULT_REPEAT_EVERY_MIN, 1, 120, 10)
    repeat_times = b.number("repeat_times", DEFAULT_REPEAT_TIMES, 0, MAX_REPEAT_TIMES, 2)
    urgent = b.flag("urgent")
    escalate = b.flag("escalate") if "escalate" in item else DEFAULT_ESCALATE
    given_id = b.text("id")
    if len(problems) > before:
        return None
    title = _title(kind, fields)
    rid = given_id or _make_id(kind, fields, times, day)
    return Routine(id=rid, kind=kind, title=title, line=lines.header(kind, index), times=times, days=days,
                   date=day, urgent=urgent, fields=fields, notice=notice,
                   repeat_every=timedelta(minutes=repeat_every), repeat_times=repeat_times, escalate=escalate)


def _quiet_hours(value: Any, lines: LineFinder, problems: list[Problem]) -> QuietHours | None:
    if not isinstance(value, dict):
        problems.append(Problem(lines.header("quiet_hours"), "[quiet_hours]", "is not a section",
                                'write [quiet_hours] on its own line, then from = "22:00" and until = "07:00"'))
        return None
    b = _Block("quiet_hours", -1, value, lines, problems)
    b.label = "[quiet_hours]"
    for key in value:
        if key not in ("from", "until", "enabled"):
            b.problem(key, "is not a field here", 'use from = "22:00", until = "07:00" (and enabled = false to turn them off)')
    if not b.flag("enabled") and "enabled" in value:
        return None
    got = []
    for key, example in (("from", "22:00"), ("until", "07:00")):
        raw = value.get(key)
        t = parse_time(raw) if raw is not None else None
        if raw is None:
            b.problem(None, f"has no {key}", f'add {key} = "{example}"')
        elif t is None:
            b.problem(key, show(raw), f"write it as {suggest_time(raw)}", raw)
        got.append(t)
    return QuietHours(got[0], got[1]) if None not in got else None


# ---------------------------------------------------------------- whole-file checks


def _title(kind: str, f: dict[str, str]) -> str:
    if kind == "medication":
        return f["name"] + (f" ({f['dose']})" if f.get("dose") else "")
    if kind == "appointment":
        return " ".join(x for x in (f.get("what", ""), ("with " + f["with"]) if f.get("with") else "") if x)
    if kind == "message":
        return "message" + (f" from {f['from']}" if f.get("from") else "")
    return {"checkin": f.get("question", ""), "reminder": f.get("what", ""), "activity": f.get("suggest", "")}[kind]


def _make_id(kind: str, f: dict[str, str], times: tuple[time, ...], day: date | None) -> str:
    """Stable id from the content; a message whose text changes is a new message."""
    key = "|".join([kind, *(f"{k}={v}" for k, v in sorted(f.items())), *(t.isoformat() for t in times), str(day)])
    slug = re.sub(r"[^a-z0-9]+", "-", (f.get("name") or f.get("from") or f.get("with") or kind).lower()).strip("-")
    return f"{kind}:{slug[:24]}:{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def _unique_ids(routines: list[Routine], lines: LineFinder, problems: list[Problem]) -> list[Routine]:
    seen: dict[str, Routine] = {}
    for r in routines:
        if r.id in seen:
            problems.append(Problem(r.line, f"[[{r.kind}]] '{r.title}'", f"repeats line {seen[r.id].line}",
                                    "this block is written twice; delete one (or change its time)"))
        seen[r.id] = r
    return routines


def _warnings(routines: list[Routine], quiet: QuietHours | None, today: date | None) -> list[Problem]:
    out = []
    for r in routines:
        if today is not None and r.date is not None and r.date < today:
            out.append(Problem(r.line, f"[[{r.kind}]] '{r.title}', date", f"{r.date.isoformat()}",
                               "is in the past, so it will not happen; change or delete it", warning=True))
        for t in r.times:
            if quiet is not None and quiet.contains(t) and not r.urgent:
                out.append(Problem(r.line, f"[[{r.kind}]] '{r.title}', time", f"'{t:%H:%M}'",
                                   f"is in quiet hours ({quiet.describe()}), so it waits until {quiet.end:%H:%M}; "
                                   "add urgent = true to say it anyway", warning=True))
    return out


def _ex(key: str) -> str:
    return EXAMPLE_TEXT.get(key, '"..."')
