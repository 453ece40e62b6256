"""Reading a config file: TOML → validated Settings, every problem with its file and line; the last
good config kept for the running service."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

from companion.config.paths import data_dir, default_config_path
from companion.config.sections import Settings
from companion.config.values import check, describe_problem
from companion.errors import ConfigError


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a config file. A missing default file means defaults.

    An explicitly named file that does not exist is an error.
    """
    explicit = path is not None
    p = Path(path) if path is not None else default_config_path()
    if not p.exists():
        if explicit:
            raise ConfigError(
                f"config file {p} does not exist; create it (see examples/config.toml) "
                "or leave out --config to run on defaults"
            )
        return Settings()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    return parse_settings(text, source=str(p))


def load_settings_or_last_good(path: str | os.PathLike[str] | None = None) -> tuple[Settings, str | None]:
    """For the running service: a bad edit never stops it.

    A valid file is also saved as `last-good-config.toml` in the data
    directory. An invalid one is reported (the second value) and the last
    good copy is used instead — or the defaults when there is none yet.
    """
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        fallback = Settings()
        last_good = data_dir(fallback) / LAST_GOOD
        if last_good.exists():
            try:
                return parse_settings(last_good.read_text(encoding="utf-8"), source=str(last_good)), (
                    f"{exc}\nKeeping the last good config ({last_good}) until the file is fixed.")
            except ConfigError:
                pass
        return fallback, f"{exc}\nRunning on the defaults until the file is fixed."
    if settings.source:
        target = data_dir(settings) / LAST_GOOD
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(Path(settings.source).read_text(encoding="utf-8"), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            pass  # not being able to keep a copy must not stop the companion
    return settings, None


LAST_GOOD = "last-good-config.toml"


def parse_settings(text: str, source: str = "<config>") -> Settings:
    """Validate TOML text into Settings; all problems are reported together."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}. Check quotes and brackets on that line.") from exc
    problems: list[str] = []
    sections: dict[str, Any] = {}
    known = {f.name: f for f in dataclasses.fields(Settings) if f.name != "source"}
    for name, value in data.items():
        if name not in known:
            problems.append(
                f"{source}:{_line_of(text, None, name)}: unknown section [{name}]; "
                f"allowed: {', '.join(sorted(known))}"
            )
            continue
        if not isinstance(value, dict):
            problems.append(f"{source}:{_line_of(text, None, name)}: '{name}' must be a [{name}] section")
            continue
        cls = typing.get_type_hints(Settings)[name]
        sections[name] = _parse_section(cls, name, value, text, source, problems)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return Settings(**sections, source=source)


def _parse_section(cls: type, section: str, values: dict[str, Any], text: str,
                   source: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{source}:{_line_of(text, section, key)}: [{section}] {key}"
        if key not in fields:
            close = _closest(key, fields)
            hint = f" (did you mean '{close}'?)" if close else ""
            problems.append(f"{where}: unknown key{hint}; allowed: {', '.join(sorted(fields))}")
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


def _line_of(text: str, section: str | None, key: str) -> int:
    """Best-effort line number of `key` (inside [section]) in TOML text."""
    current: str | None = None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    keyline = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for no, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1)
            if section is None and current == key:
                return no
            continue
        if current == section and keyline.match(line):
            return no
        if section is None and current is None and keyline.match(line):
            return no
    return 0


def _closest(key: str, options: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, sorted(options), n=1, cutoff=0.6)
    return match[0] if match else None
