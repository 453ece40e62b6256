"""The routine log (a journal table): what was announced, acknowledged, missed or answered, and when."""

from __future__ import annotations

import logging
from typing import Any

from companion.clock import Clock
from companion.errors import StoreError
from companion.routines.file import Routine
from companion.routines.schedule import Occurrence
from companion.store.journal import RoutineRow

log = logging.getLogger(__name__)

# Events after which a timed occurrence is finished, even across a restart. An announced but
# unconfirmed medication is not finished: after a restart it is asked again.
FINAL = {"acknowledged", "missed", "escalated", "message_delivered", "suggested", "checkin_answer"}


class RoutineLog:
    """Writes routine events to the journal (never raising) and reads back what was already done."""

    def __init__(self, store: Any, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def history(self) -> tuple[set[tuple[str, str, str]], set[str]]:
        """(occurrence keys already handled, message ids already delivered)."""
        rows = self.events()
        keys = {(r.routine_id, r.stage or "main", r.due.isoformat()) for r in rows
                if r.due is not None and (r.kind != "medication" or r.event in FINAL)}
        delivered = {r.routine_id for r in rows if r.event == "message_delivered"}
        return keys, delivered

    def record(self, event: str, r: Routine, detail: str, due: Occurrence | None = None,
               emotion: str | None = None, defer: bool = False) -> None:
        """Append one event (timed ones with their due time and stage, so a restart skips what was handled)."""
        timed = due is not None and bool(r.times)
        row = RoutineRow(at=self.clock.now(), routine_id=r.id, kind=r.kind, event=event, title=r.title, detail=detail,
                         due=due.due if timed else None, stage=due.stage if timed else None, emotion=emotion)
        if self.store is None:
            return
        try:
            self.store.journal.append(row, defer=defer)
        except (StoreError, OSError) as exc:
            log.error("cannot record routine event %s for %s: %s", event, r.id, exc)

    def events(self) -> list[RoutineRow]:
        """Every recorded event, oldest first (for summaries and tests)."""
        try:
            return self.store.journal.all(RoutineRow) if self.store is not None else []
        except (StoreError, OSError) as exc:
            log.error("cannot read routine history: %s", exc)
            return []
