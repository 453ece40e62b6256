"""The routine scheduler: speaks first at the family's times, politely, and records what happened.

The voice loop calls `poll(idle, muted)` about once a second; it returns an
announcement only when the loop is idle and not muted, outside quiet hours
(unless urgent). As a skill it hears the turn after a question: "yes, I took
it" acknowledges a medication, and a check-in answer is recorded.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from companion.clock import Clock, Household, SystemClock
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput, TurnRecord
from companion.routines.file import Routine, RoutinesFile, RoutinesFileError, load_routines
from companion.routines.log import RoutineLog
from companion.routines.schedule import Occurrence, household_for, occurrences, upcoming
from companion.routines.speech import classify_answer, combine, medication_words, sentence

log = logging.getLogger(__name__)

# How long after it became speakable an item is still worth saying (held while muted/busy).
RELEVANCE = {"medication": timedelta(hours=2), "checkin": timedelta(hours=2), "reminder": timedelta(hours=1),
             "appointment": timedelta(hours=1), "activity": timedelta(minutes=30), "message": timedelta(days=7)}
LOOKBACK = timedelta(hours=3)  # after a restart, still-relevant items from this far back are caught up
QUESTION_WINDOW = timedelta(minutes=3)  # a bare "yes" this soon after the medication question answers it
ANSWER_WINDOW = timedelta(minutes=15)  # a turn this soon after a check-in question is its answer

Escalation = Callable[[dict[str, Any]], None]


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    """The loop polls while a button callback (another thread) may acknowledge."""

    @functools.wraps(method)
    def wrapper(self: "RoutineScheduler", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass
class _Item:
    """One occurrence waiting to be spoken (or, for medication, acknowledged)."""

    key: tuple[str, str, str]
    occ: Occurrence
    ready_at: datetime  # UTC: not before this (after quiet hours)
    expires: datetime  # UTC: no longer worth saying; an unconfirmed medication counts as missed
    asked: int = 0
    last_asked: datetime | None = None
    after_turn: int = -1  # for "next conversation" messages: speak once the turn count passes this

    @property
    def routine(self) -> Routine:
        """The routine this item belongs to."""
        return self.occ.routine


class RoutineScheduler(BaseSkill):
    """Schedules the family's routines and implements the Skill protocol for their answers."""

    name = "routines"

    def __init__(self, path: Path | None, store: Any, clock: Clock, household: Household | None = None,
                 reload_check_s: float = 2.0, on_escalation: Escalation | None = None) -> None:
        self.path = path
        self.store = store
        self.clock = clock
        self.config_household = household or Household()  # her zone, quiet hours from the main config
        self.on_escalation = on_escalation
        self._lock = threading.RLock()
        self._reload_check_s = reload_check_s
        self._file: RoutinesFile | None = None
        self._loaded_at: datetime | None = None
        self._problem: str = ""  # why the newest edit is not in use ('' = fine)
        self._signature: tuple[int, int, int] | None = None
        self._last_check = float("-inf")
        self._items: dict[tuple[str, str, str], _Item] = {}
        self._turns = 0  # finished conversation turns seen (for "next conversation" messages)
        self._checkin: tuple[Routine, datetime] | None = None
        self._last_error: tuple[str, float] = ("", float("-inf"))
        self._held_until: datetime | None = None  # she asked for quiet: non-urgent items wait until then
        now = clock.now()
        self._cursor = now - LOOKBACK
        self.journal = RoutineLog(store, clock)
        self._done_keys, self._delivered = self.journal.history()
        self._maybe_reload(force=True)

    @classmethod
    def from_settings(cls, settings: Any, store: Any, clock: Clock | None = None,
                      on_escalation: Escalation | None = None) -> "RoutineScheduler":
        """Build from config.Settings; a missing or bad file never raises (see status())."""
        rs = settings.routines
        path = Path(rs.file).expanduser() if rs.file else None
        return cls(path, store, clock or SystemClock(), settings.household, rs.reload_check_s, on_escalation)

    # ---------------------------------------------------------------- the loop's calls

    @_locked
    def poll(self, idle: bool, muted: bool) -> Reply | None:
        """Called ~1/s: reloads an edited file, and returns an announcement when one is due and welcome."""
        try:
            self._maybe_reload()
            now = self.clock.now()
            self._collect(now)
            self._expire(now)
            if not idle or muted:
                return None
            return self._announce(now)
        except Exception as exc:  # one bad routine must never stop the companion
            # log each distinct failure once a minute, not once a second
            mono, what = self.clock.monotonic(), repr(exc)
            if what != self._last_error[0] or mono - self._last_error[1] >= 60.0:
                log.exception("routine scheduler failed; carrying on")
                self._last_error = (what, mono)
            return None

    @_locked
    def pending_ack(self) -> bool:
        """Is a medication waiting for her 'yes' (for the LED)?"""
        return any(i.asked for i in self._items.values() if i.routine.kind == "medication")

    @_locked
    def acknowledge_button(self) -> Reply | None:
        """The talk button pressed while a medication waits: counts as 'done'."""
        return self._acknowledge("button")

    @_locked
    def status(self) -> str:
        """One paragraph for `companion doctor`."""
        if self.path is None:
            return "routines: no routines file configured ([routines] file in the config)"
        lines = []
        if self._file is not None:
            counts: dict[str, int] = {}
            for r in self._file.routines:
                counts[r.kind] = counts.get(r.kind, 0) + 1
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"
            lines.append(f"routines: {len(self._file.routines)} from {self.path} ({kinds}), "
                         f"loaded {self.household.local(self._loaded_at):%Y-%m-%d %H:%M}")
        else:
            lines.append(f"routines: none in use from {self.path}")
        if self._problem:
            keep = "still using the last good version" if self._file else "no routines are active"
            lines.append(f"the file has problems, {keep}:\n  {self._problem}")
        waiting = [i.routine.title for i in self._items.values() if i.asked and i.routine.kind == "medication"]
        if waiting:
            lines.append("waiting for a yes: " + ", ".join(waiting))
        return "\n".join(lines)

    def upcoming(self, hours: float = 24.0) -> list[tuple[datetime, Occurrence, str]]:
        """What will be said in the next `hours`, in local time, with notes."""
        if self._file is None:
            return []
        return upcoming(self._file, self.config_household, self.clock.now(), hours)

    @property
    def routines(self) -> tuple[Routine, ...]:
        """The routines in use (the last good file)."""
        return self._file.routines if self._file else ()

    # ---------------------------------------------------------------- Skill protocol

    @_locked
    def handle(self, turn: TurnInput) -> Reply | None:
        """Catches 'yes, I took it' while a medication waits; everything else goes on to the LLM."""
        if not self.pending_ack():
            return None
        answer, strong = classify_answer(turn.text)
        if answer == "yes" and strong:
            return self._acknowledge("voice", turn.text)
        return None

    @_locked
    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her answer to our last announcement: a bare yes/no to the medication question, or the check-in answer."""
        if question.ask.topic == "checkin":
            if self._checkin is not None and turn.text.strip():
                routine, _ = self._checkin
                emotion = getattr(turn.emotion, "category", None)
                self.journal.record("checkin_answer", routine, turn.text.strip(), emotion=emotion)
            return None  # the conversation answers her (context() says what she is answering)
        if not self.pending_ack():
            return None
        answer, _ = classify_answer(turn.text)
        if answer == "yes":
            return self._acknowledge("voice", turn.text)
        if answer == "no":
            items = [i for i in self._items.values() if i.asked and i.routine.kind == "medication"]
            left = any(i.asked <= i.routine.repeat_times for i in items)
            minutes = min(int(i.routine.repeat_every.total_seconds() // 60) for i in items)
            text = (f"All right. I'll ask you again in {minutes} minutes." if left
                    else "All right. Please take it when you can, and tell me when you have.")
            return Reply(text, intent="routine_not_yet")
        return None

    @_locked
    def context(self, turn: TurnInput) -> str:
        """Tells the LLM what she is answering, so it can reply naturally."""
        parts = []
        if self._checkin is not None:
            parts.append(f'You just asked her: "{self._checkin[0].text("question")}". She is answering that.')
        waiting = [i.routine.text("name") for i in self._items.values() if i.asked and i.routine.kind == "medication"]
        if waiting:
            parts.append(f"You reminded her to take her {' and '.join(waiting)}; she has not confirmed yet.")
        return " ".join(parts)

    @_locked
    def after_turn(self, record: TurnRecord) -> None:
        """Counts conversation turns; the check-in question is over after her next turn."""
        if record.intent == "routine":
            return  # our own announcement, not her turn
        self._turns += 1
        self._checkin = None

    @_locked
    def hold_proactive(self, until: datetime) -> None:
        """She asked for quiet: non-urgent routines wait until `until`, as in quiet hours (urgent ones still speak)."""
        self._held_until = until

    # ---------------------------------------------------------------- file

    def _maybe_reload(self, force: bool = False) -> None:
        if self.path is None:
            return
        mono = self.clock.monotonic()
        if not force and mono - self._last_check < self._reload_check_s:
            return
        self._last_check = mono
        try:
            st = os.stat(self.path)
            sig: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            sig = None
        if sig == self._signature and not force:
            return
        self._signature = sig
        try:
            new = load_routines(self.path, today=self.household.today(self.clock.now()))
        except RoutinesFileError as exc:
            self._problem = "\n  ".join(str(p) for p in exc.problems)
            log.warning("routines file %s has problems; keeping the last good routines:\n  %s",
                        self.path, self._problem)
            return
        self._problem = ""
        self._file = new
        self._loaded_at = self.clock.now()
        for w in new.warnings:
            log.info("routines file %s: %s", self.path, w)
        ids = {r.id: r for r in new.routines}
        for key, item in list(self._items.items()):  # keep waiting items whose routine is unchanged
            if item.routine.id in ids:
                item.occ = Occurrence(ids[item.routine.id], item.occ.stage, item.occ.due, item.occ.event)
            else:
                del self._items[key]
        log.info("routines loaded from %s: %d routines", self.path, len(new.routines))

    @property
    def household(self) -> Household:
        """Her zone, and the routines file's quiet hours if it sets them (else the main config's)."""
        return household_for(self.config_household, self._file)

    # ---------------------------------------------------------------- scheduling

    def _collect(self, now: datetime) -> None:
        """Turn newly due occurrences (and untimed messages) into waiting items."""
        if self._file is None:
            return
        household = self.household
        for occ in occurrences(self._file.routines, household, self._cursor, now):
            if occ.key in self._done_keys or occ.key in self._items:
                continue
            if occ.routine.kind == "message" and occ.routine.id in self._delivered:
                continue
            ready = occ.due if occ.routine.urgent else household.quiet_ends(occ.due)
            expires = ready + self._relevance(occ)
            if expires <= now:  # caught up after a restart, but too late to be worth saying
                log.info("routine %s due %s was missed while the companion was off", occ.routine.id, occ.due)
                continue
            self._items[occ.key] = _Item(occ.key, occ, ready, expires)
        self._cursor = now
        today = household.today(now)
        for r in self._file.routines:  # messages for "the next conversation"
            if r.kind != "message" or r.times or r.id in self._delivered:
                continue
            if r.date is not None and r.date > today:
                continue
            key = (r.id, "main", "")
            if key not in self._items:
                self._items[key] = _Item(key, Occurrence(r, "main", now, now), now, now + RELEVANCE["message"],
                                         after_turn=self._turns)

    def _relevance(self, occ: Occurrence) -> timedelta:
        r = occ.routine
        if r.kind == "medication":  # long enough for every repeat
            return max(RELEVANCE["medication"], r.repeat_every * (r.repeat_times + 1))
        if occ.stage == "notice":
            return max(occ.event - occ.due, timedelta(minutes=1))
        return RELEVANCE[r.kind]

    def _expire(self, now: datetime) -> None:
        """Medication not confirmed in time → missed + escalation; other stale items are dropped."""
        for key, item in list(self._items.items()):
            r = item.routine
            if r.kind == "medication":
                out_of_repeats = (item.asked > r.repeat_times and item.last_asked is not None
                                  and now >= item.last_asked + r.repeat_every)
                if out_of_repeats or now >= item.expires:
                    del self._items[key]
                    self._missed(item, now)
            elif now >= item.expires:
                del self._items[key]
                log.info("routine %s (%s) not said in time; dropped", r.id, r.title)

    def _speakable(self, item: _Item, now: datetime, quiet_now: bool) -> bool:
        r = item.routine
        if now < item.ready_at or (quiet_now and not r.urgent):
            return False
        if item.after_turn >= 0 and self._turns <= item.after_turn:
            return False  # wait for her next conversation
        if r.kind == "medication" and item.asked:
            return item.last_asked is not None and now >= item.last_asked + r.repeat_every
        return item.asked == 0

    def _announce(self, now: datetime) -> Reply | None:
        household = self.household
        local = household.local(now)
        quiet_now = household.is_quiet(now) or (self._held_until is not None and now < self._held_until)
        ready = sorted((i for i in self._items.values() if self._speakable(i, now, quiet_now)),
                       key=lambda i: (i.occ.due, i.routine.line))
        if not ready:
            return None
        meds = [i for i in ready if i.routine.kind == "medication"]
        checkins = [i for i in ready if i.routine.kind == "checkin"]
        others = [i for i in ready if i.routine.kind not in ("medication", "checkin")]
        order = {"message": 0, "appointment": 1, "reminder": 2, "activity": 3}
        others.sort(key=lambda i: order[i.routine.kind])
        # One question at a time: medication first; a check-in waits for the next idle moment.
        question, asked = "", []
        if meds:
            repeat = all(i.asked for i in meds)
            question = medication_words([i.routine for i in meds], repeat)
            asked = meds
        elif checkins:
            question = checkins[0].routine.text("question")
            asked = checkins[:1]
        parts = [sentence(i.routine, i.occ.stage, household.local(i.occ.event), local) for i in others]
        text = combine(parts, question, before_i_forget=any(i.after_turn >= 0 for i in others))
        for i in others:
            self._done(i, now)
        for i in asked:
            if i.routine.kind == "medication":
                self.journal.record("repeated" if i.asked else "announced", i.routine, i.routine.title, due=i.occ)
                i.asked += 1
                i.last_asked = now
            else:
                self._done(i, now)
                self._checkin = (i.routine, now)
        spoken = others + asked
        log.info("routine announcement: %s", text)
        ask = (Ask("medication", QUESTION_WINDOW.total_seconds()) if meds
               else Ask("checkin", ANSWER_WINDOW.total_seconds()) if question else None)
        return Reply(text, intent="routine", speak_first="chime", asks=ask,
                     data={"routine_ids": [i.routine.id for i in spoken],
                           "kinds": [i.routine.kind for i in spoken],
                           "stages": [i.occ.stage for i in spoken]})

    def _done(self, item: _Item, now: datetime) -> None:
        r = item.routine
        self._items.pop(item.key, None)
        event = {"message": "message_delivered", "activity": "suggested"}.get(r.kind, "announced")
        detail = r.text("text") if r.kind == "message" else ("advance notice" if item.occ.stage == "notice" else "")
        self.journal.record(event, r, detail, due=item.occ)
        if r.kind == "message":
            self._delivered.add(r.id)

    def _acknowledge(self, via: str, words: str = "") -> Reply | None:
        items = [i for i in self._items.values() if i.asked and i.routine.kind == "medication"]
        if not items:
            return None
        for i in items:
            self._items.pop(i.key, None)
            self.journal.record("acknowledged", i.routine, f"by {via}" + (f": {words}" if words else ""), due=i.occ)
        names = " and ".join(i.routine.text("name") for i in items)
        return Reply(f"Thank you. I've made a note that you took your {names}.", intent="routine_ack")

    def _missed(self, item: _Item, now: datetime) -> None:
        r = item.routine
        reason = (f"no confirmation after {item.asked} reminder(s)" if item.asked
                  else "could not be announced in time (muted or busy)")
        due_local = self.household.local(item.occ.due)
        log.warning("missed dose: %s due %s; %s", r.title, f"{due_local:%Y-%m-%d %H:%M}", reason)
        self.journal.record("missed", r, reason, due=item.occ)
        event = {"at": now.isoformat(), "routine_id": r.id, "kind": r.kind, "title": r.title,
                 "due": item.occ.due.isoformat(), "due_local": f"{due_local:%Y-%m-%d %H:%M}",
                 "reason": reason, "asked": item.asked, "urgent": r.urgent}
        self.journal.record("escalated", r, reason, due=item.occ)
        if self.on_escalation is not None:
            try:
                self.on_escalation(event)
            except Exception:
                log.exception("escalation hook failed for %s", r.id)
