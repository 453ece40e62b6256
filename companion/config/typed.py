"""Config text that means more than its letters: web and e-mail addresses, host names, header lines,
paths, and the rules (ranges, files that must exist) a field can carry.

Each parser raises ValueError whose text says what was found and what to write instead; a rule
returns that sentence (or None when the value is fine). Fields use them through `Annotated`:
`threshold: Annotated[float, Range(0, 1)] = 0.9`, `voice: Annotated[Path, ExistingFile(".onnx", ".json")] | None`.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.I)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return bool(host) and len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


class Url(str):
    """A web address checked at the door: http(s)://host[:port][/path]; `.host` and `.port` for the firewall."""

    SCHEMES = ("https", "http")

    @classmethod
    def parse(cls, text: str) -> "Url":
        """'https://ntfy.sh/mum' → Url; ValueError says what to write instead."""
        s = str(text).strip()
        if any(c.isspace() for c in s):
            raise ValueError(f"{text!r} has a space in it; a web address has none (write %20 for a space)")
        if "://" not in s:
            guess = "https://" + s.lstrip(":/")
            raise ValueError(f"{text!r} is not a web address: it needs https:// in front, like \"{guess}\"")
        scheme = s.split("://", 1)[0].lower()
        if scheme not in cls.SCHEMES:
            close = difflib.get_close_matches(scheme, cls.SCHEMES, n=1, cutoff=0.5)
            fix = f"\"{close[0]}://{s.split('://', 1)[1]}\"" if close else 'https://...'
            raise ValueError(f"{text!r} starts with {scheme}://; a webhook needs https:// (or http:// on the home "
                             f"network), like {fix}")
        try:
            parts = urlsplit(s)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a web address ({exc}); write it like \"https://ntfy.sh/my-topic\"") from None
        if not parts.hostname or not _valid_host(parts.hostname):
            raise ValueError(f"{text!r} has no valid server name after {scheme}://; write it like "
                             "\"https://ntfy.sh/my-topic\"")
        if port == 0:
            raise ValueError(f"{text!r} has port 0; leave the port out or use 1 to 65535")
        return cls(s)

    @property
    def scheme(self) -> str:
        return urlsplit(self).scheme.lower()

    @property
    def host(self) -> str:
        """The server name (lower case), without the port."""
        return urlsplit(self).hostname or ""

    @property
    def port(self) -> int:
        """The TCP port: the one written, else 443 (https) or 80 (http)."""
        return urlsplit(self).port or (443 if self.scheme == "https" else 80)


class Host(str):
    """A server name or IP address alone: no scheme, no port, no path."""

    @classmethod
    def parse(cls, text: str) -> "Host":
        """'smtp.example.org' → Host; ValueError for 'smtp://…', 'host:587', spaces."""
        s = str(text).strip()
        if "://" in s:
            bare = urlsplit(s).hostname or s.split("://", 1)[1]
            raise ValueError(f"{text!r}: write the server name alone, without {s.split('://')[0]}://, "
                             f"like \"{bare}\"")
        if s.count(":") == 1 and s.rsplit(":", 1)[1].isdigit():
            name, port = s.rsplit(":", 1)
            raise ValueError(f"{text!r}: write the server name alone, \"{name}\", and the port on its own line "
                             f"(smtp_port = {port})")
        if "@" in s:
            raise ValueError(f"{text!r} is an e-mail address; write the mail server's name, like \"smtp.example.org\"")
        if not _valid_host(s):
            raise ValueError(f"{text!r} is not a server name; write it like \"smtp.example.org\" (letters, digits, "
                             "dots and dashes, no spaces)")
        return cls(s.lower())


_EMAIL = re.compile(r"^[^@\s<>,;\"']+@([^@\s<>,;\"']+)$")


class Email(str):
    """One e-mail address: name@domain."""

    @classmethod
    def parse(cls, text: str) -> "Email":
        """'susan@example.org' → Email; ValueError for lists in one string, missing @, spaces."""
        s = str(text).strip()
        m = re.match(r"^.*<([^<>]+)>\s*$", s)  # "Susan <susan@example.org>": keep the address
        if m:
            s = m.group(1).strip()
        if re.search(r"[,;]", s) and s.count("@") > 1:
            parts = ", ".join(f'"{p.strip()}"' for p in re.split(r"[,;]", s) if p.strip())
            raise ValueError(f"{text!r} holds several addresses; write one per quoted item: [{parts}]")
        if " at " in s and "@" not in s:
            guess = s.replace(" at ", "@").replace(" dot ", ".").replace(" ", "")
            raise ValueError(f"{text!r} is not an e-mail address; did you mean \"{guess}\"?")
        found = _EMAIL.match(s)
        domain = found.group(1) if found else ""
        if not found or not _valid_host(domain) or ("." not in domain and domain != "localhost"):
            raise ValueError(f"{text!r} is not an e-mail address; write it like \"susan@example.org\"")
        return cls(s)


class HeaderLine(str):
    """An HTTP header written as 'Name: value'."""

    @classmethod
    def parse(cls, text: str) -> "HeaderLine":
        """'Authorization: Bearer tk_1' → HeaderLine."""
        name, sep, value = str(text).partition(":")
        if not sep or not name.strip() or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name.strip()):
            raise ValueError(f"{text!r} is not a header line; write \"Name: value\", like "
                             "\"Authorization: Bearer tk_...\"")
        if "\n" in value or "\r" in value:
            raise ValueError(f"{text!r} has a line break in it; a header is one line")
        return cls(f"{name.strip()}: {value.strip()}")


def parse_path(text: str) -> Path:
    """A file or folder path; '~' means the home folder. ValueError for an empty or broken one."""
    s = str(text).strip()
    if "\0" in s:
        raise ValueError(f"{text!r} is not a path (it contains a NUL character)")
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        raise ValueError(f"{text!r} has quotes inside the quotes; write it once, like \"{s[1:-1]}\"")
    if s.lower().startswith("file://"):
        raise ValueError(f"{text!r}: write a plain path without file://, like \"{s[7:]}\"")
    return Path(s).expanduser()


# ---------------------------------------------------------------- rules (Annotated metadata)


@dataclass(frozen=True)
class Range:
    """A number from `low` to `high` (inclusive)."""

    low: float
    high: float
    why: str = ""  # what the limits mean, for the message

    def __call__(self, value: object) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not self.low <= value <= self.high:
            why = f" ({self.why})" if self.why else ""
            return f"{_num(value)} is out of range: use {_num(self.low)} to {_num(self.high)}{why}"
        return None


@dataclass(frozen=True)
class ExistingFile:
    """A file that must exist now (a model, a voice, a password file), optionally with a suffix and a sidecar."""

    suffix: str = ""  # ".onnx", ".gguf"
    sidecar: str = ""  # a second file next to it: ".json" means "<path>.json"
    fix: str = ""  # what else to do about a missing file ("or leave the key out to use the bundled voice")

    def __call__(self, value: object) -> str | None:
        if not isinstance(value, Path):
            return None
        if value.is_dir():
            return f"'{value}' is a folder; name the file itself" + (
                f" (the *{self.suffix} inside it)" if self.suffix else "")
        if not value.is_file():
            fix = f"; {self.fix}" if self.fix else ""
            return f"'{value}' does not exist{_nearby(value)}{_relative(value)}{fix}"
        if self.suffix and value.suffix.lower() != self.suffix:
            return f"'{value}' is not a {self.suffix} file; name the {self.suffix} file"
        if self.sidecar and not Path(str(value) + self.sidecar).is_file():
            return (f"'{value}' has no '{value.name}{self.sidecar}' next to it; put both files in the same "
                    "folder (download both from the same place)")
        return None


@dataclass(frozen=True)
class Folder:
    """A folder that must exist now (`must_exist`), or that Companion may create (never an existing file)."""

    must_exist: bool = False

    def __call__(self, value: object) -> str | None:
        if not isinstance(value, Path):
            return None
        if value.exists() and not value.is_dir():
            return f"'{value}' is a file, not a folder; name a folder"
        if self.must_exist and not value.is_dir():
            return f"'{value}' does not exist{_nearby(value)}{_relative(value)}"
        for parent in value.parents:  # a file where a parent folder should be: it can never be created
            if parent.exists():
                if not parent.is_dir():
                    return f"'{parent}' is a file, so '{value}' cannot be a folder"
                break
        return None


@dataclass(frozen=True)
class ParentFolder:
    """A file that may not exist yet, but whose folder must (the routines file: missing is reported later)."""

    def __call__(self, value: object) -> str | None:
        if not isinstance(value, Path):
            return None
        if value.is_dir():
            return f"'{value}' is a folder; name the file in it, like '{value / 'routines.toml'}'"
        if not value.parent.is_dir():
            return f"the folder '{value.parent}' does not exist{_relative(value)}"
        return None


def _nearby(path: Path) -> str:
    """' (did you mean '/home/pi/voices/x.onnx'?)' from the files beside it, or ''."""
    try:
        folder = path.parent
        if not folder.is_dir():
            return f" (the folder '{folder}' does not exist either)"
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    return f" (did you mean '{folder / close[0]}'?)" if close else ""


def _relative(path: Path) -> str:
    return "" if path.is_absolute() else "; write the full path, like \"/home/pi/...\""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
