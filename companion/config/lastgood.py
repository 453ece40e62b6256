"""What the running service starts on: the file if it is good, else the last good config, never a crash.

`config_choices` lists what the service may start on, best first. The caller (app.start_app) tries
them in order and calls `accept` on the one the companion actually started with; only then is
the file saved as `last-good-config.toml` (0600: it holds the webhook token and SMTP settings),
so a bad file never overwrites the last good one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from companion.config.parse import _unreadable, load_settings, parse_lenient, parse_settings, read_config_text
from companion.config.paths import data_dir, default_config_path
from companion.config.sections import Settings
from companion.errors import ConfigError

log = logging.getLogger(__name__)

LAST_GOOD = "last-good-config.toml"
POINTER = "last-good-config.where"  # in the default data dir, when the config keeps her data elsewhere


@dataclass(frozen=True)
class Choice:
    """Settings the service may start on, and what to say about them."""

    settings: Settings
    label: str  # "the config file", "the last good config (/var/lib/...)", ...
    problem: str | None = None  # why this is not exactly the file (None: it is the file, and it is good)
    accept_text: str | None = None  # saved as the last good config once the companion started with it


def config_choices(path: str | os.PathLike[str] | None = None) -> list[Choice]:
    """The file if it is valid, then the last good config, then the good part of either, then defaults."""
    explicit = path is not None
    p = Path(path) if path is not None else default_config_path()
    try:
        if not p.exists() and not explicit:
            return [Choice(Settings(), "the defaults (no config file)")]
        text = read_config_text(p) if p.is_file() else None
    except (ConfigError, PermissionError) as exc:
        text, read_problem = None, str(exc) if isinstance(exc, ConfigError) else _unreadable(p)
    else:
        read_problem = None
    if text is None and read_problem is None:
        try:
            load_settings(p)  # says what is wrong with the path itself (missing, a folder)
        except ConfigError as exc:
            read_problem = str(exc)
    strict_problems: list[str] = []
    lenient: Settings | None = None
    if text is not None:
        lenient, strict_problems = parse_lenient(text, str(p))
        if not text.strip() and _find_last_good(lenient) is not None:
            # an emptied file (a sync tool, a power cut during a save) is damage, not "use every default"
            strict_problems = [f"{p}:1: the file is empty, though a good config was in use; it looks emptied "
                               "or damaged (to run on the defaults on purpose, write one comment line: # defaults)"]
        if not strict_problems:
            good = Choice(lenient, f"the config file {p}", None, text)
            return [good, *_fallbacks(lenient, "")]
    why = read_problem or "invalid config:\n  " + "\n  ".join(strict_problems)
    return _fallbacks(lenient, why, lenient_file=lenient)


def _fallbacks(near: Settings | None, why: str, lenient_file: Settings | None = None) -> list[Choice]:
    """Last good (strict, then without its now-bad keys), the good keys of the file, defaults."""
    out: list[Choice] = []
    found = _find_last_good(near)
    lead = f"{why}\n" if why else ""
    if found is not None:
        path, text = found
        try:
            out.append(Choice(parse_settings(text, str(path)), f"the last good config ({path})",
                              f"{lead}Keeping the last good config ({path}) until the file is fixed."))
        except ConfigError as exc:
            settings, _ = parse_lenient(text, str(path))
            out.append(Choice(settings, f"the last good config ({path}), without its bad keys",
                              f"{lead}Keeping the last good config ({path}), though it has problems now too "
                              f"(those keys keep their defaults):\n{exc}"))
    if lenient_file is not None:
        out.append(Choice(lenient_file, "the good keys of the config file",
                          f"{lead}Using the rest of the file: the keys above keep their defaults until fixed."))
    defaults = Settings()
    keep = near or lenient_file
    if keep is not None and keep.memory.data_dir:  # never start on an empty data dir by surprise
        defaults = dataclasses.replace(defaults, memory=dataclasses.replace(defaults.memory,
                                                                            data_dir=keep.memory.data_dir))
    out.append(Choice(defaults, "the defaults", f"{lead}Running on the defaults until the file is fixed."))
    return out


def _find_last_good(near: Settings | None) -> tuple[Path, str] | None:
    """The saved last good config: in the data dir the file names, else the default one."""
    dirs = []
    for s in (near, Settings()):
        if s is not None:
            d = data_dir(s)
            if d not in dirs:
                dirs.append(d)
    try:  # the config may be emptied or damaged, so it cannot say where its data dir was: ask the pointer
        pointed = Path((data_dir(Settings()) / POINTER).read_text(encoding="utf-8").strip())
        if pointed not in dirs:
            dirs.append(pointed)
    except (OSError, UnicodeDecodeError, ValueError):
        pass
    for d in dirs:
        path = d / LAST_GOOD
        try:
            return path, path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return None


def accept(choice: Choice) -> Path | None:
    """The companion started on `choice`: if it is the config file, save it as the last good config."""
    if choice.accept_text is None:
        return None
    target = data_dir(choice.settings) / LAST_GOOD
    default_dir = data_dir(Settings())
    try:
        _write_private(target, choice.accept_text)
        if target.parent != default_dir:
            _write_private(default_dir / POINTER, str(target.parent))
    except OSError as exc:  # not being able to keep a copy must not stop the companion
        log.warning("cannot save the last good config to %s: %s", target, exc)
        return None
    return target


def _write_private(target: Path, text: str) -> None:
    """Atomic, durable, 0600 (it holds the webhook token); nothing is written when it is unchanged."""
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def load_settings_or_last_good(path: str | os.PathLike[str] | None = None) -> tuple[Settings, str | None]:
    """The settings the service would start on, and why they are not the file's (None: they are)."""
    first = config_choices(path)[0]
    return first.settings, first.problem
