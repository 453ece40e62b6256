"""Companion: an offline voice companion for older adults."""

from companion.privacy import keep_everything_local

__version__ = "0.1.0"

# First thing, before any dependency is imported: no telemetry, no downloads (see companion.privacy).
keep_everything_local()
