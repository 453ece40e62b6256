"""Typed values from config text: the checks every key goes through, and the parsers for values
that mean more than their text (a time zone, a time of day, a time range)."""

from __future__ import annotations

import types
import typing
from datetime import time
from typing import Any, Callable, Literal
from zoneinfo import ZoneInfo

from companion.clock import QuietHours, parse_time_of_day, parse_zone


class ValueProblem(str):
    """What `check` says when a value has the right kind but a wrong content: a full sentence, not a type."""


def describe_problem(where: str, value: Any, expected: str) -> str:
    """'file:line: [section] key = value: expected ...', or the parser's own sentence."""
    if isinstance(expected, ValueProblem):
        return f"{where}: {expected}"
    return f"{where} = {value!r}: expected {expected}"


# Types written as text in the file, each with its parser (ValueError carries what to write instead).
PARSERS: dict[type, Callable[[str], Any]] = {ZoneInfo: parse_zone, time: parse_time_of_day, QuietHours: QuietHours.parse}


def check(tp: Any, value: Any) -> tuple[bool, Any, str]:
    """Is `value` of type `tp`? Returns (ok, converted value, description of tp)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        return value in allowed, value, "one of " + ", ".join(repr(a) for a in allowed)
    if origin in (typing.Union, types.UnionType):
        if value == "" and type(None) in typing.get_args(tp):
            return True, None, "nothing"
        descs = []
        for arm in typing.get_args(tp):
            if arm is type(None):
                descs.append("nothing (leave the key out)")
                continue
            ok, conv, desc = check(arm, value)
            if ok:
                return True, conv, desc
            if isinstance(desc, ValueProblem):
                return False, value, desc
            descs.append(desc)
        return False, value, " or ".join(descs)
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            return False, value, f"a list like [{_example(inner)}]"
        out = []
        for item in value:
            ok, conv, desc = check(inner, item)
            if not ok:
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
            return False, value, "text in quotes"
        try:
            return True, PARSERS[tp](value), tp.__name__
        except ValueError as exc:
            return False, value, ValueProblem(str(exc))
    if tp is bool:
        return isinstance(value, bool), value, "true or false"
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value, "a whole number"
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value, "a number"
    if tp is str:
        return isinstance(value, str), value, "text in quotes"
    if isinstance(tp, type) and isinstance(value, tp):
        return True, value, tp.__name__
    return False, value, getattr(tp, "__name__", str(tp))


def _example(tp: Any) -> str:
    return {int: "1, 2", float: "0.5", str: '"text"'}.get(tp, "...")
