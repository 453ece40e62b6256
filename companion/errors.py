"""The package's exceptions: one base, each naming the thing and the fix."""

from __future__ import annotations


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
