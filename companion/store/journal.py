"""Typed rows and names of the tables shared between areas (help, turns, mood, routine log, facts)."""

from __future__ import annotations

from datetime import timezone

from companion.clock import Clock
from companion.store.store import Store

# What the family reads (categories only unless share_words): one line per category.
ALERT_TITLES = {
    "help": "She asked for help",
    "fall": "She may have fallen",
    "medical": "She described a possible medical emergency (chest pain, breathing or stroke signs)",
    "suicidal": "She talked about wanting to die or harm herself",
    "lost": "She sounded lost or confused",
    "stranger": "She reported a stranger at the door or someone trying to get in",
    "scam": "She may be on a scam call (asked for bank details or money)",
    "fire": "She reported fire, smoke or a smell of gas at home",
}


HELP_TABLE = "help"  # one row per help request: button or spoken


def record_help_request(store: Store, clock: Clock, *, source: str = "button",
                        category: str = "help_button", detail: str = "") -> int:
    """Write one row to the `help` table (schema in notes/common.md); returns its id."""
    return store.insert(HELP_TABLE, {
        "at": clock.now().astimezone(timezone.utc).isoformat(),
        "source": source,
        "category": category,
        "detail": detail,
        "cancelled": False,
    })


def mark_help_cancelled(store: Store, help_id: int) -> None:
    """Flag a help request as cancelled by her."""
    store.update(HELP_TABLE, {"cancelled": True}, [help_id])

