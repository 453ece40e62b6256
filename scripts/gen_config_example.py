"""Write examples/config.toml from the settings dataclasses (every key, its default and its comment)."""

from __future__ import annotations

import ast
import dataclasses
import json
import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion import config  # noqa: E402


def comments() -> dict[tuple[str, str], str]:
    """(class name, field) → the comment written after the field in config.py."""
    src = (ROOT / "companion" / "config" / "sections.py").read_text().splitlines()
    out: dict[tuple[str, str], str] = {}
    for node in ast.walk(ast.parse("\n".join(src))):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    line = src[item.lineno - 1]
                    if "#" in line:
                        out[(node.name, item.target.id)] = line.split("#", 1)[1].strip()
    return out


def toml_value(value: object) -> str:
    from datetime import time

    from companion.clock import QuietHours

    if isinstance(value, time):
        return json.dumps(f"{value:%H:%M}")
    if isinstance(value, QuietHours):
        return json.dumps(f"{value.start:%H:%M}-{value.end:%H:%M}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def main() -> None:
    notes = comments()
    lines = ["# Companion configuration: every key with its default. Copy to ~/.config/companion/config.toml",
             "# (or /etc/companion/config.toml for the service) and change only what you need; a key you",
             "# leave out keeps its default. `companion doctor` checks the file.", ""]
    from companion.config.sections import META_FIELDS

    for section in dataclasses.fields(config.Settings):
        if section.name in META_FIELDS:
            continue
        cls = typing.get_type_hints(config.Settings)[section.name]
        lines.append(f"[{section.name}]")
        lines.append(f"# {cls.__doc__.strip()}")
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            note = notes.get((cls.__name__, f.name), "")
            value = toml_value(default)
            if value == "":
                lines.append(f"# {f.name} =  # {note}".rstrip(" #") if note else f"# {f.name} =")
            else:
                lines.append(f"{f.name} = {value}" + (f"  # {note}" if note else ""))
        lines.append("")
    (ROOT / "examples" / "config.toml").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
