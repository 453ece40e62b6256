"""Companion: an offline voice companion for older adults."""

__version__ = "0.1.0"
