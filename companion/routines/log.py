"""The routine_log table: what was announced, acknowledged, missed or answered, and when."""

from __future__ import annotations

import logging
from typing import Any

from companion.clock import Clock
from companion.errors import StoreError
from companion.routines.file import Routine
from companion.routines.schedule import Occurrence

log = logging.getLogger(__name__)

TABLE = "routine_log"
# Events after which a timed occurrence is finished, even across a restart. An announced but
# unconfirmed medication is not finished: after a restart it is asked again.
FINAL = {"acknowledged", "missed", "escalated", "message_delivered", "suggested", "checkin_answer"}


class RoutineLog:
    """Writes routine events to the store (never raising) and reads back what was already done."""

    def __init__(self, store: Any, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def history(self) -> tuple[set[tuple[str, str, str]], set[str]]:
        """(occurrence keys already handled, message ids already delivered)."""
        try:
            docs = self.store.all(TABLE) if self.store is not None else []
        except (StoreError, OSError) as exc:
            log.error("cannot read routine history: %s", exc)
            docs = []
        keys = {(d.get("routine_id", ""), d.get("stage", "main"), d.get("due", "")) for d in docs
                if d.get("due") and (d.get("kind") != "medication" or d.get("event") in FINAL)}
        delivered = {d.get("routine_id", "") for d in docs if d.get("event") == "message_delivered"}
        return keys, delivered

    def record(self, event: str, r: Routine, detail: str, due: Occurrence | None = None, **extra: Any) -> None:
        """Append one event: {at, routine_id, kind, event, title, detail} (+ due, stage for timed ones)."""
        doc: dict[str, Any] = {"at": self.clock.now().isoformat(), "routine_id": r.id, "kind": r.kind,
                               "event": event, "title": r.title, "detail": detail, **extra}
        if due is not None and r.times:  # timed occurrences: lets a restart skip what was handled
            doc["due"] = due.due.isoformat()
            doc["stage"] = due.stage
        if self.store is None:
            return
        try:
            self.store.insert(TABLE, doc)
        except (StoreError, OSError) as exc:
            log.error("cannot record routine event %s for %s: %s", event, r.id, exc)

    def events(self) -> list[dict[str, Any]]:
        """Every recorded event, oldest first (for summaries and tests)."""
        try:
            return self.store.all(TABLE) if self.store is not None else []
        except (StoreError, OSError) as exc:
            log.error("cannot read routine history: %s", exc)
            return []
