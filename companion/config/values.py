"""Typed values from config text: the checks every key goes through, and the parsers for values
that mean more than their text (a time zone, a time of day, a time range, a web or e-mail address,
a path; see config.typed). Rules attached with `Annotated` (a range, a file that must exist) run
after the type is right."""

from __future__ import annotations

import re
import types
import typing
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Callable, Literal
from zoneinfo import ZoneInfo

from companion.clock import QuietHours, parse_time_of_day, parse_zone
from companion.config.typed import Email, HeaderLine, Host, Url, parse_path


class ValueProblem(str):
    """What `check` says when a value has the right kind but a wrong content: a full sentence, not a type."""


def describe_problem(where: str, value: Any, expected: str) -> str:
    """'file:line: [section] key = value: expected ...', or the parser's own sentence."""
    if isinstance(expected, ValueProblem):
        return f"{where}: {expected}"
    return f"{where} = {value!r}: expected {expected}"


# Types written as text in the file, each with its parser (ValueError carries what to write instead).
PARSERS: dict[type, Callable[[str], Any]] = {ZoneInfo: parse_zone, time: parse_time_of_day, QuietHours: QuietHours.parse,
                                             Url: Url.parse, Host: Host.parse, Email: Email.parse,
                                             HeaderLine: HeaderLine.parse, Path: parse_path}


def check(tp: Any, value: Any) -> tuple[bool, Any, str]:
    """Is `value` of type `tp`? Returns (ok, converted value, description of tp)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        inner, *rules = typing.get_args(tp)
        ok, converted, desc = check(inner, value)
        if ok and converted is not None:
            for rule in rules:
                problem = rule(converted) if callable(rule) else None
                if problem:
                    return False, value, ValueProblem(problem)
        return ok, converted, desc
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed and isinstance(value, str):
            close = [a for a in allowed if isinstance(a, str) and a.lower() == value.strip().lower()]
            if close:
                return False, value, ValueProblem(f"{value!r}: write it in small letters, {close[0]!r}")
        return value in allowed, value, "one of " + ", ".join(repr(a) for a in allowed)
    if origin in (typing.Union, types.UnionType):
        if value == "" and type(None) in typing.get_args(tp):
            return True, None, "nothing"
        descs: list[str] = []
        for arm in typing.get_args(tp):
            if arm is type(None):
                descs.append("nothing (leave the key out)")
                continue
            ok, conv, desc = check(arm, value)
            if ok:
                return True, conv, desc
            descs.append(desc)
        # an arm of the right kind with a wrong content says best what to write
        problems = [d for d in descs if isinstance(d, ValueProblem)]
        return False, value, problems[0] if problems else " or ".join(descs)
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            if check(inner, value)[0]:  # one item written without the brackets
                shown = f'"{value}"' if isinstance(value, str) else repr(value)
                return False, value, ValueProblem(f"{value!r}: write it as a list, in square brackets: [{shown}]")
            return False, value, f"a list like [{_example(inner)}]"
        out = []
        for item in value:
            ok, conv, desc = check(inner, item)
            if not ok:
                if isinstance(desc, ValueProblem):
                    return False, value, desc
                return False, value, f"a list of {desc}"
            out.append(conv)
        return True, tuple(out) if origin is tuple else out, "a list"
    if tp is Any:
        return True, value, "anything"
    if tp in PARSERS:
        if isinstance(value, tp):
            return True, value, tp.__name__
        if isinstance(value, time) and tp is time:
            return True, value.replace(second=0, microsecond=0, tzinfo=None), "a time of day"
        if not isinstance(value, str):
            return False, value, _quote_it(value)
        try:
            return True, PARSERS[tp](value), tp.__name__
        except ValueError as exc:
            return False, value, ValueProblem(str(exc))
    if tp is bool:
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "on", "off"):
            word = "true" if value.strip().lower() in ("true", "yes", "on") else "false"
            return False, value, ValueProblem(f"{value!r} is text; write {word} without quotes")
        return isinstance(value, bool), value, "true or false"
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok, value, "a whole number" if ok else _number_hint(value, whole=True)
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value, "a number" if ok else _number_hint(value, whole=False)
    if tp is str:
        return isinstance(value, str), value, "text in quotes" if isinstance(value, str) else _quote_it(value)
    if isinstance(tp, type) and isinstance(value, tp):
        return True, value, tp.__name__
    return False, value, getattr(tp, "__name__", str(tp))


def _number_hint(value: Any, *, whole: bool) -> str:
    """'a whole number' plus what to write, when the text holds one ('"587"', '"6 seconds"')."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, str):
        comma = re.fullmatch(r"\s*(-?\d+),(\d+)\s*", value)
        if comma and not whole:
            return ValueProblem(f"{value!r}: write the number with a dot and without quotes, like "
                                f"{comma.group(1)}.{comma.group(2)}")
        m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([a-z% ]*)", value.strip().lower())
        if m:
            number = m.group(1)
            if whole and "." in number:
                return ValueProblem(f"{value!r}: write a whole number without quotes, like {number.split('.')[0]}")
            unit = " (the unit is in the key's name)" if m.group(2).strip() else ""
            return ValueProblem(f"{value!r}: write {kind} without quotes, like {number}{unit}")
    if whole and isinstance(value, float):
        return ValueProblem(f"{value!r}: write a whole number, like {int(value)}")
    return kind


def _quote_it(value: Any) -> str:
    """What a number or true/false written where text belongs should look like."""
    if isinstance(value, (int, float, bool)) and not isinstance(value, bool):
        return ValueProblem(f"{value!r}: put it in double quotes, like \"{value}\"")
    return "text in quotes"


def _example(tp: Any) -> str:
    return {int: "1, 2", float: "0.5", str: '"text"'}.get(tp, "...")
