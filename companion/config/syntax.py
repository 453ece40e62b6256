"""TOML that does not parse, said in words: the line, what it says, and the usual fix.

Shared by the config file and the routines file (tomllib gives only "Invalid value (at line 3,
column 14)"); also reading a file whose bytes are not text (a power cut's NULs, another encoding).
"""

from __future__ import annotations

import re
import tomllib

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def syntax_problem(text: str, exc: tomllib.TOMLDecodeError) -> tuple[int, str, str]:
    """(line, what tomllib said with the line's text, a hint) for a TOML syntax error."""
    msg = str(exc)
    m = _POSITION.search(msg)
    line = int(m.group(1)) if m else 0
    lines = text.splitlines()
    content = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    reason = _POSITION.sub("", msg).strip().rstrip(".")
    found = f"({reason}; the line says: {_show(content)})" if content else f"({reason})"
    return line, found, hint(content, reason, text)


def hint(content: str, reason: str, text: str = "") -> str:
    """A guess at the usual cause, from what the line looks like."""
    if "\0" in text:
        return ("the file is damaged (it contains NUL bytes, as after a power cut); restore it from your copy "
                "or start again from the example file")
    key, _, value = content.partition("=")
    key, value = key.strip(), value.strip()
    like = f"{key} = " if key and value else ""
    if any(q in content for q in "“”‘’"):
        return 'use straight double quotes " (a word processor turned them into curly ones)'
    if re.fullmatch(r"\d{1,2}[:.]\d{2}.*", value):
        return f'put times in double quotes, like {like}"{value[:5].replace(".", ":").zfill(5)}"'
    if "declare" in reason or "overwrite" in reason.lower():
        return "this name appears twice in the same block; keep one (or start a new block)"
    if value and value[0].isalpha() and value not in ("true", "false"):
        return f'put text in double quotes, like {like}"{value}"'
    if value.count('"') % 2 == 1:
        return "a double quote is missing: every text starts and ends with \""
    if value.startswith("[") and not value.endswith("]"):
        return "a list must end with ], like [\"mon\", \"thu\"]"
    if content.startswith("[") and not content.endswith("]"):
        return "a section header needs its closing bracket, like [routines]"
    if "=" not in content and content:
        return "each line should look like  name = \"value\"  (or be a comment starting with #)"
    return "check the quotes, brackets and = sign on that line"


def decode(data: bytes) -> tuple[str | None, int, str]:
    """File bytes → (text, 0, '') or (None, line, what is wrong) when they are not UTF-8 text.

    A byte-order mark (Windows Notepad) is accepted and dropped.
    """
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return None, 1, "is saved as UTF-16; save it as UTF-8 (plain text)"
    try:
        return data.decode("utf-8-sig"), 0, ""
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return None, line, (f"has a character that is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                            "save the file as UTF-8, or retype that line")


def _show(content: str) -> str:
    if "\0" in content:
        return f"{content.count(chr(0))} NUL bytes"
    shown = content
    return shown if len(shown) <= 80 else shown[:77] + "..."
