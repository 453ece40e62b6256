"""The package's exceptions: one base, each naming the thing and the fix (and the helpers that name a fix)."""

from __future__ import annotations

import os
from pathlib import Path


class CompanionError(Exception):
    """Base of every error Companion raises on purpose.

    The message is meant for a person: it says what went wrong, which file,
    key or device it concerns, and how to fix it.
    """


class ConfigError(CompanionError, ValueError):
    """A configuration file (or one of its keys) is invalid."""


class ModelMissingError(CompanionError, FileNotFoundError):
    """A model file or directory that a stage needs is not installed."""


class AudioFormatError(CompanionError, ValueError):
    """Audio is not in a format we can use (and could not be converted)."""


class AudioDeviceError(CompanionError, OSError):
    """A microphone or speaker is missing, busy or failing."""


class StoreError(CompanionError, OSError):
    """The on-device data store could not be read or written."""


# ---------------------------------------------------------------- naming the fix


def user_name(uid: int | None = None) -> str:
    """The login name of `uid` (default: this process's user), or the number."""
    import pwd

    uid = os.geteuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def chown_fix(root: Path) -> str:
    """The one command that gives her data back to the user this companion runs as."""
    return f"sudo chown -R {user_name()}: {root}"
