"""Daily copies of the memory file (the last N days), for recovery when the file and more are damaged."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from companion.store.file import Data, Salvage, atomic_write, dumps, salvage

log = logging.getLogger(__name__)

DIRNAME = "generations"
_NAME = re.compile(r"^companion-(\d{8})-(\d+)\.json$")


@dataclass(frozen=True)
class DailyCopy:
    """One daily copy: its file, the day it was taken and the last memory change it holds."""

    path: Path
    day: date
    seq: int

    def read(self) -> Salvage:
        """Its content (salvaged if damaged)."""
        try:
            return salvage(self.path.read_bytes())
        except OSError as exc:
            return Salvage(problem=str(exc))


class Generations:
    """The copies in ``<data dir>/generations``: one per day, newest kept, mode 0600 in a 0700 folder."""

    def __init__(self, directory: Path, keep: int) -> None:
        self.directory = directory
        self.keep = max(1, keep)

    def all(self) -> list[DailyCopy]:
        """Every copy, newest first."""
        out = []
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        for name in names:
            m = _NAME.match(name)
            if m:
                d = m.group(1)
                try:
                    out.append(DailyCopy(self.directory / name, date(int(d[:4]), int(d[4:6]), int(d[6:])),
                                          int(m.group(2))))
                except ValueError:
                    continue
        return sorted(out, key=lambda g: (g.day, g.seq), reverse=True)

    def has(self, day: date) -> bool:
        """Whether a copy of this day exists."""
        return any(g.day == day for g in self.all())

    def add(self, payload: bytes, day: date, seq: int) -> Path | None:
        """Keep today's copy (the first of the day) and drop the oldest beyond `keep`."""
        if self.has(day):
            return None
        self.directory.mkdir(mode=0o700, exist_ok=True)
        path = self.directory / f"companion-{day:%Y%m%d}-{seq:010d}.json"
        atomic_write(path, payload, mode=0o600)
        for old in self.all()[self.keep:]:
            old.path.unlink(missing_ok=True)
        return path

    def oldest_seq(self) -> int | None:
        """The memory change the oldest copy starts from (None without copies)."""
        gens = self.all()
        return min(g.seq for g in gens) if gens else None

    def rewrite(self, edit: Callable[[Data], bool]) -> int:
        """Apply `edit` to every copy (forgetting); rewrites those it changed; returns how many."""
        changed = 0
        for g in self.all():
            s = g.read()
            if edit(s.data):
                atomic_write(g.path, dumps(s.data), mode=0o600)
                changed += 1
        return changed

    def remove_all(self) -> int:
        """Delete every copy (she asked to forget everything)."""
        gens = self.all()
        for g in gens:
            g.path.unlink(missing_ok=True)
        return len(gens)
