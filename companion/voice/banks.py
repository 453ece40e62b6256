"""The acknowledgement banks: lines written by people, per strategy and situation, with slots.

The part of a reply that must be right (the acknowledgement of what she feels)
is chosen here, never generated: voice/data/banks.toml holds the lines, and a
line is only used when every slot it names is known this turn (a name, a
relation, the event, a living contact). The choice is deterministic for the same
words, and avoids the lines said most recently.
"""

from __future__ import annotations

import re
import tomllib
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from companion.errors import CompanionError

BANKS_PATH = Path(__file__).parent / "data" / "banks.toml"
_SLOT = re.compile(r"\{(\w+)\}")
PERSON_SLOTS = frozenset({"name", "who", "whos"})


class BankError(CompanionError, ValueError):
    """The banks file is missing or malformed (names the file and the line's section)."""


@dataclass(frozen=True)
class BankSection:
    """The lines for one strategy in one situation."""

    ack: tuple[str, ...]
    follow: tuple[str, ...] = ()
    follow_statement: bool = False  # the follow-ups are statements (advice, facts), not questions
    crisis: str = ""  # for the safety check: the line that names the crisis line


@dataclass
class Banks:
    """Every section of the banks file: banks.section(strategy, situation)."""

    sections: dict[str, dict[str, BankSection]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = BANKS_PATH) -> "Banks":
        """Read and check the banks file (BankError names what is wrong)."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise BankError(f"cannot read the reply banks {path}: {exc}; reinstall with ./setup.sh") from exc
        sections: dict[str, dict[str, BankSection]] = {}
        for strategy, situations in raw.items():
            for situation, body in situations.items():
                where = f"{path.name} [{strategy}.{situation}]"
                if not isinstance(body, dict) or not body.get("ack"):
                    raise BankError(f"{where}: every section needs an 'ack' list of lines")
                lines = [*body["ack"], *body.get("follow", []), body.get("crisis", "")]
                if not all(isinstance(x, str) for x in lines):
                    raise BankError(f"{where}: lines must be strings")
                sections.setdefault(strategy, {})[situation] = BankSection(
                    tuple(body["ack"]), tuple(body.get("follow", [])), bool(body.get("follow_statement", False)),
                    str(body.get("crisis", "")))
        return cls(sections)

    def section(self, strategy: str, situation: str) -> BankSection:
        """The lines for this strategy and situation, else the strategy's "general" lines."""
        by = self.sections.get(strategy, {})
        found = by.get(situation) or by.get("general")
        if found is None:
            raise BankError(f"{BANKS_PATH.name}: no [{strategy}.{situation}] or [{strategy}.general] section")
        return found

    def situations(self, strategy: str) -> tuple[str, ...]:
        """The situations the file has lines for."""
        return tuple(self.sections.get(strategy, {}))


@lru_cache(maxsize=1)
def shipped() -> Banks:
    """The banks shipped with the package (read once)."""
    return Banks.load()


def slots_in(line: str) -> set[str]:
    """The slot names a line uses."""
    return set(_SLOT.findall(line))


def fill(line: str, slots: Mapping[str, str]) -> str:
    """The line with its slots filled; a slot's value is capitalised at the start of a sentence."""
    def value(m: re.Match[str]) -> str:
        text = slots[m.group(1)]
        start = m.start() == 0 or line[:m.start()].rstrip().endswith((".", "!", "?"))
        return text[:1].upper() + text[1:] if start else text

    return _SLOT.sub(value, line)


def usable(lines: Iterable[str], slots: Mapping[str, str]) -> list[str]:
    """The lines whose every slot is known."""
    known = {k for k, v in slots.items() if v}
    return [line for line in lines if slots_in(line) <= known]


def pick(lines: Iterable[str], slots: Mapping[str, str], key: str, avoid: Iterable[str] = ()) -> str:
    """One usable line, filled: chosen by `key` (her words), skipping lines said recently ("" if none)."""
    candidates = usable(lines, slots)
    if not candidates:
        return ""
    recent = set(avoid)
    fresh = [line for line in candidates if fill(line, slots) not in recent] or candidates
    # grief about a named person uses that name: lines that name the person come first
    named = [line for line in fresh if slots_in(line) & PERSON_SLOTS]
    fresh = named or fresh
    return fill(fresh[zlib.crc32(key.encode()) % len(fresh)], slots)
