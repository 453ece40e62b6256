"""Line numbers for the routines file: tomllib gives none, so we scan the text."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from companion.config.syntax import syntax_problem

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_\-\"' .]+?)\s*\]\]?\s*(#.*)?$")



@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth knowing) in the routines file."""

    line: int
    where: str  # e.g. "[[medication]] 'blood-pressure tablet', time"
    found: str  # e.g. "'8.00'"
    advice: str  # e.g. 'write it as "08:00"'
    warning: bool = False

    def __str__(self) -> str:
        at = f"line {self.line}" if self.line else "in the file"
        label = "note: " if self.warning else ""
        found = f" {self.found}" if self.found else ""
        return f"{at}: {label}{self.where}{found} — {self.advice}"


class LineFinder:
    """Finds the line of the Nth [[kind]] block, and of a key (or value) inside it."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        # (line number, name, is_array) for every table header, in file order
        self.headers: list[tuple[int, str, bool]] = []
        in_multiline = False
        for no, line in enumerate(self.lines, 1):
            # a header-looking line inside a multi-line string is not a header
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = not in_multiline
            if in_multiline:
                continue
            m = _HEADER.match(line)
            if m:
                self.headers.append((no, m.group(2).strip("\"' "), m.group(1) == "[["))

    def header(self, kind: str, index: int | None = None) -> int:
        """Line of the index-th block named `kind` (any bracket style); first one if index is None."""
        found = [no for no, name, _ in self.headers if name == kind]
        if found:
            i = 0 if index is None or index < 0 else index
            return found[i] if i < len(found) else found[-1]
        keyline = self._find_key(0, len(self.lines), kind)
        return keyline or 0

    def key(self, kind: str | None, index: int, key: str, value: Any = None) -> int:
        """Line of `key` inside the index-th [[kind]] block (the value's own line in long lists)."""
        start, end = self._span(kind, index)
        line = self._find_key(start, end, key)
        if not line:
            return start or self.header(kind or "", index)
        if isinstance(value, str):
            # a list written over several lines: point at the bad element itself
            needle = re.compile(r"[\"']" + re.escape(value) + r"[\"']")
            for no in range(line, end + 1):
                if needle.search(self.lines[no - 1]):
                    return no
        return line

    def _span(self, kind: str | None, index: int) -> tuple[int, int]:
        """First and last line (1-based) of the block's body."""
        if kind is None:
            first = self.headers[0][0] - 1 if self.headers else len(self.lines)
            return 1, first
        start = self.header(kind, index)
        if not start:
            return 0, 0
        later = [no for no, _, _ in self.headers if no > start]
        return start, (later[0] - 1 if later else len(self.lines))

    def _find_key(self, start: int, end: int, key: str) -> int:
        pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for no in range(max(start, 1), end + 1):
            if pattern.match(self.lines[no - 1]):
                return no
        return 0


def friendly_syntax_error(text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    """Turn tomllib's message into one a family member can act on."""
    line, found, advice = syntax_problem(text, exc)
    return Problem(line, "the file cannot be read here", found, advice.replace("(or start a new block)",
                                                                               "(or start a new block with [[...]])"))
