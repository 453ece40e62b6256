"""Reading a config file: TOML → validated Settings, every problem with its file, line and fix.

`parse_settings` is strict (any problem raises ConfigError listing them all). `parse_lenient` is
what the running service falls back on: the same checks, but a bad key keeps its default and the
problems are returned. Notes (things worth knowing that are not errors) ride along in
`Settings.notes`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

from companion.config.checks import findings
from companion.config.paths import default_config_path
from companion.config.sections import META_FIELDS, Settings
from companion.config.syntax import decode, syntax_problem
from companion.config.values import check, describe_problem
from companion.errors import ConfigError, user_name

# keys people put in the wrong section, and what to write instead
MOVED = {("routines", "quiet_hours"): 'write quiet_from = "21:00" and quiet_until = "08:00" here '
                                      '(quiet_hours = "21:00-08:00" belongs in [caregiver], for messages to the family)',
         ("caregiver", "quiet_from"): 'write quiet_hours = "21:00-08:00" here (quiet_from/quiet_until belong in [routines])',
         ("caregiver", "quiet_until"): 'write quiet_hours = "21:00-08:00" here (quiet_from/quiet_until belong in [routines])'}


def read_config_text(path: Path) -> str:
    """The file's text; ConfigError (with the line) when its bytes are not UTF-8 text."""
    try:
        data = path.read_bytes()
    except PermissionError as exc:
        raise ConfigError(_unreadable(path)) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check the file's permissions") from exc
    text, line, problem = decode(data)
    if text is None:
        raise ConfigError(f"invalid config:\n  {path}:{line}: the file {problem}")
    return text


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a config file. A missing default file means defaults.

    An explicitly named file that does not exist is an error.
    """
    explicit = path is not None
    p = Path(path) if path is not None else default_config_path()
    if not _exists(p):
        if explicit:
            raise ConfigError(
                f"config file {p} does not exist; create it (see examples/config.toml) "
                "or leave out --config to run on defaults"
            )
        return Settings()
    if p.is_dir():
        raise ConfigError(f"{p} is a folder; --config (or $COMPANION_CONFIG) names the config.toml file itself")
    return parse_settings(read_config_text(p), source=str(p))


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except PermissionError as exc:  # a folder on the way is closed to this user
        raise ConfigError(_unreadable(p)) from exc


def _unreadable(p: Path) -> str:
    user = user_name()
    return (f"{p}: the user {user} may not read it (permission denied); fix: sudo chown root:{user} {p} && "
            f"sudo chmod 640 {p} (and let {user} into its folder)")


def parse_settings(text: str, source: str = "<config>") -> Settings:
    """Validate TOML text into Settings; all problems are reported together."""
    settings, problems = parse_lenient(text, source)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return settings


def parse_lenient(text: str, source: str = "<config>") -> tuple[Settings, list[str]]:
    """Settings from every good key (bad ones keep their defaults), and the problems found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, found, hint = syntax_problem(text, exc)
        return Settings(source=source), [f"{source}:{line}: not valid TOML {found}: {hint}"]
    problems: list[str] = []
    sections: dict[str, Any] = {}
    given: dict[str, set[str]] = {}
    bad: set[tuple[str, str]] = set()  # (section, key) that had a problem of their own
    known = {f.name: f for f in dataclasses.fields(Settings) if f.name not in META_FIELDS}
    for name, value in data.items():
        if name not in known:
            problems.append(_misplaced(text, source, name, value, known))
            continue
        if not isinstance(value, dict):
            problems.append(f"{source}:{_line_of(text, None, name)}: '{name}' must be a section: write [{name}] "
                            "on its own line, and its keys below it")
            continue
        cls = typing.get_type_hints(Settings)[name]
        before = len(problems)
        sections[name] = _parse_section(cls, name, value, text, source, problems)
        given[name] = set(value)
        bad |= {(name, key) for key in value if any(f"] {key}" in p for p in problems[before:])}
    settings = Settings(**sections, source=source)
    notes: list[str] = []
    for f in findings(settings, given):
        if any((f.section, k) in bad for k in (f.key, *f.drop)):
            continue  # a key with its own problem already said: no second message about it
        where = f"{source}:{_line_of(text, f.section, f.key)}: [{f.section}] {f.key}"
        if f.note:
            notes.append(f"{where}: note: {f.message}")
            continue
        problems.append(f"{where}: {f.message}")
        section = getattr(settings, f.section)
        defaults = type(section)()
        settings = dataclasses.replace(settings, **{f.section: dataclasses.replace(
            section, **{k: getattr(defaults, k) for k in f.drop})})
    return dataclasses.replace(settings, notes=tuple(sorted(notes, key=_line))), sorted(problems, key=_line)


def _line(message: str) -> int:
    """The line number in 'file:line: ...' (for sorting; 0 when there is none)."""
    m = re.search(r":(\d+): ", message)
    return int(m.group(1)) if m else 0


def _parse_section(cls: type, section: str, values: dict[str, Any], text: str,
                   source: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{source}:{_line_of(text, section, key)}: [{section}] {key}"
        if key not in fields:
            problems.append(f"{where}: unknown key{_where_it_belongs(section, key, fields)}")
            continue
        ok, converted, expected = check(hints[key], value)
        if not ok:
            problems.append(describe_problem(where, value, expected))
            continue
        if isinstance(converted, (int, float)) and not isinstance(converted, bool) and converted < 0:
            problems.append(f"{where} = {value!r}: must not be negative")
            continue
        kwargs[key] = converted
    return cls(**kwargs)


def _where_it_belongs(section: str, key: str, fields: set[str]) -> str:
    if (section, key) in MOVED:
        return f"; {MOVED[(section, key)]}"
    close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?); allowed: {', '.join(sorted(fields))}"
    home = _section_of(key)
    if home and home != section:
        return f"; {key} belongs in [{home}]: move the line below the [{home}] line"
    return f"; allowed: {', '.join(sorted(fields))}"


def _misplaced(text: str, source: str, name: str, value: Any, known: dict[str, Any]) -> str:
    """A top-level name that is no section: a key above every section, or a misspelt section."""
    at = f"{source}:{_line_of(text, None, name)}"
    home = _section_of(name)
    if not isinstance(value, dict) and home:
        return f"{at}: {name} is not inside a section; it belongs in [{home}]: move it below the [{home}] line"
    close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=0.6)
    hint = f" (did you mean [{close[0]}]?)" if close else ""
    return f"{at}: unknown section [{name}]{hint}; allowed: {', '.join(sorted(known))}"


def _section_of(key: str) -> str | None:
    """The section that has a key of this name, if exactly one does."""
    homes = [f.name for f in dataclasses.fields(Settings) if f.name not in META_FIELDS
             and key in {g.name for g in dataclasses.fields(typing.get_type_hints(Settings)[f.name])}]
    return homes[0] if len(homes) == 1 else None


def _line_of(text: str, section: str | None, key: str) -> int:
    """Best-effort line number of `key` (inside [section]) in TOML text."""
    current: str | None = None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    keyline = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    for no, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1).strip("\"' ")
            if section is None and current == key:
                return no
            continue
        if current == section and keyline.match(line):
            return no
        if section is None and current is None and keyline.match(line):
            return no
    return 0
