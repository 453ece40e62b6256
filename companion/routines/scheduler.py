"""The routine scheduler: speaks first at the family's times, politely, and records what happened.

The voice loop calls `poll(idle, muted)` about once a second; it returns an
announcement only when the loop is idle and not muted, outside quiet hours
(unless urgent). As a skill it hears the turn after a question: "yes, I took
it" acknowledges a medication, and a check-in answer is recorded.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from companion.clock import Clock, Household, SystemClock
from companion.config import data_dir
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput, TurnRecord
from companion.routines.file import Routine, RoutinesFile
from companion.routines.ics import CalendarSource
from companion.routines.items import Item, locked
from companion.routines.keep import RoutinesKeeper, RoutinesWatch, Tell
from companion.routines.log import RoutineLog
from companion.routines.schedule import Occurrence, household_for, occurrences, upcoming
from companion.routines.speech import classify_answer, combine, medication_words, sentence

log = logging.getLogger(__name__)

# How long after it became speakable an item is still worth saying (held while muted/busy).
RELEVANCE = {"medication": timedelta(hours=2), "checkin": timedelta(hours=2), "reminder": timedelta(hours=1),
             "appointment": timedelta(hours=1), "activity": timedelta(minutes=30), "message": timedelta(days=7)}
LOOKBACK = timedelta(hours=3)  # after a restart, still-relevant items from this far back are caught up
OUTAGE_LOOKBACK = timedelta(days=2)  # doses missed while the device was off are recorded this far back
QUESTION_WINDOW = timedelta(minutes=3)  # a bare "yes" this soon after the medication question answers it
ANSWER_WINDOW = timedelta(minutes=15)  # a turn this soon after a check-in question is its answer

Escalation = Callable[[dict[str, Any]], None]
NOT_ASKED_DEVICE_OFF = "not asked: device off"  # routine_log detail of a dose due while the companion was off


class RoutineScheduler(BaseSkill):
    """Schedules the family's routines and implements the Skill protocol for their answers."""

    name = "routines"

    def __init__(self, path: Path | None, store: Any, clock: Clock, household: Household | None = None,
                 reload_check_s: float = 2.0, on_escalation: Escalation | None = None,
                 device_last_seen: datetime | None = None, calendar: Path | None = None, *,
                 keep_dir: Path | None = None, tell: Tell | None = None) -> None:
        self.path = path
        self.store = store
        self.clock = clock
        self.config_household = household or Household()  # her zone, quiet hours from the main config
        self.on_escalation = on_escalation
        self._lock = threading.RLock()
        self._reload_check_s = reload_check_s
        self._file: RoutinesFile | None = None
        self._loaded_at: datetime | None = None
        # the last good routines are kept next to her data, so a damaged file never loses them
        keep_dir = keep_dir or (Path(store.path).parent if getattr(store, "path", None) else None)
        self._watch = RoutinesWatch(path, RoutinesKeeper(keep_dir) if keep_dir else None, tell) if path else None
        self._last_check = float("-inf")
        self._items: dict[tuple[str, str, str], Item] = {}
        self._turns = 0  # finished conversation turns seen (for "next conversation" messages)
        self._checkin: tuple[Routine, datetime] | None = None
        self._last_error: tuple[str, float] = ("", float("-inf"))
        self._held_until: datetime | None = None  # she asked for quiet: non-urgent items wait until then
        now = clock.now()
        self._cursor = now - LOOKBACK
        # Doses due while the device was off are recorded as "not asked: device off" (see _collect).
        if device_last_seen is not None and now - OUTAGE_LOOKBACK <= device_last_seen < self._cursor:
            self._cursor = device_last_seen
        self.calendar = CalendarSource(calendar)  # appointments from the family's .ics, if any
        self.journal = RoutineLog(store, clock)
        self._done_keys, self._delivered = self.journal.history()
        self._maybe_reload(force=True)

    @classmethod
    def from_settings(cls, settings: Any, store: Any, clock: Clock | None = None,
                      on_escalation: Escalation | None = None, device_last_seen: datetime | None = None,
                      tell: Tell | None = None) -> "RoutineScheduler":
        """Build from config.Settings; a missing or bad file never raises (see status()).

        `device_last_seen`: when the device was last running before this start (from the
        caregiver's uptime record), so doses due during an outage are recorded, not lost.
        `tell` informs the family (a damaged routines file).
        """
        rs = settings.routines
        path = Path(rs.file).expanduser() if rs.file else None
        calendar = Path(rs.calendar_file).expanduser() if rs.calendar_file else None
        return cls(path, store, clock or SystemClock(), settings.household, rs.reload_check_s, on_escalation,
                   device_last_seen, calendar, keep_dir=data_dir(settings), tell=tell)

    # ---------------------------------------------------------------- the loop's calls

    @locked
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

    @locked
    def pending_ack(self) -> bool:
        """Is a medication waiting for her 'yes' (for the LED)?"""
        return any(i.asked for i in self._items.values() if i.routine.kind == "medication")

    @locked
    def acknowledge_button(self) -> Reply | None:
        """The talk button pressed while a medication waits: counts as 'done'."""
        return self._acknowledge("button")

    @locked
    def status(self) -> str:
        """One paragraph for `companion doctor`."""
        lines = []
        if self.path is None:
            lines.append("routines: no routines file configured ([routines] file in the config)")
        elif self._file is not None:
            counts: dict[str, int] = {}
            for r in self._file.routines:
                counts[r.kind] = counts.get(r.kind, 0) + 1
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"
            lines.append(f"routines: {len(self._file.routines)} from {self.path} ({kinds}), "
                         f"loaded {self.household.local(self._loaded_at):%Y-%m-%d %H:%M}")
        else:
            lines.append(f"routines: none in use from {self.path}")
        if self._watch and self._watch.problem:
            keep = "still using the last good version" if self._file else "no routines are active"
            lines.append(f"the file has problems, {keep}:\n  {self._watch.problem}")
        if self.calendar.path is not None:
            n = len(self.calendar.routines(self.household, self.clock.now()))
            lines.append(f"calendar: {n} appointment(s) in the next 14 days from {self.calendar.path}"
                         + (f"; problem: {self.calendar.problem}" if self.calendar.problem else ""))
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

    @locked
    def handle(self, turn: TurnInput) -> Reply | None:
        """Catches 'yes, I took it' while a medication waits; everything else goes on to the LLM."""
        if not self.pending_ack():
            return None
        answer, strong = classify_answer(turn.text)
        if answer == "yes" and strong:
            return self._acknowledge("voice", turn.text)
        return None

    @locked
    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her answer to our last announcement: a bare yes/no to the medication question, or the check-in answer."""
        if question.ask.topic == "checkin":
            if self._checkin is not None and turn.text.strip():
                routine, _ = self._checkin
                emotion = getattr(turn.emotion, "category", None)
                self.journal.record("checkin_answer", routine, turn.text.strip(), emotion=emotion,
                                    defer=True)  # her answer is written with the turn's own commit
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

    @locked
    def context(self, turn: TurnInput) -> str:
        """Tells the LLM what she is answering, so it can reply naturally."""
        parts = []
        if self._checkin is not None:
            parts.append(f'You just asked her: "{self._checkin[0].text("question")}". She is answering that.')
        waiting = [i.routine.text("name") for i in self._items.values() if i.asked and i.routine.kind == "medication"]
        if waiting:
            parts.append(f"You reminded her to take her {' and '.join(waiting)}; she has not confirmed yet.")
        return " ".join(parts)

    @locked
    def after_turn(self, record: TurnRecord) -> None:
        """Counts conversation turns; the check-in question is over after her next turn."""
        if record.intent == "routine":
            return  # our own announcement, not her turn
        self._turns += 1
        self._checkin = None

    def hold_proactive(self, until: datetime) -> None:
        """She asked for quiet: non-urgent routines wait until `until`, as in quiet hours (urgent ones still speak)."""
        with self._lock:
            self._held_until = until

    # ---------------------------------------------------------------- file

    def _maybe_reload(self, force: bool = False) -> None:
        if self._watch is None:
            return
        mono = self.clock.monotonic()
        if not force and mono - self._last_check < self._reload_check_s:
            return
        self._last_check = mono
        if not force and not self._watch.changed():
            return
        reading = self._watch.read(self.household.today(self.clock.now()), self._file)
        if reading.use is None:
            return
        new = self._file = reading.use
        self._loaded_at = self.clock.now()
        for w in new.warnings:
            log.info("routines file %s: %s", self.path, w)
        ids = {r.id: r for r in new.routines + self.calendar.routines(self.household, self.clock.now())}
        for key, item in list(self._items.items()):  # keep waiting items whose routine is unchanged
            if item.routine.id in ids:
                item.occ = Occurrence(ids[item.routine.id], item.occ.stage, item.occ.due, item.occ.event)
            else:
                del self._items[key]
        log.info("routines loaded from %s: %d routines", new.source or self.path, len(new.routines))

    @property
    def household(self) -> Household:
        """Her zone, and the routines file's quiet hours if it sets them (else the main config's)."""
        return household_for(self.config_household, self._file)

    # ---------------------------------------------------------------- scheduling

    def _collect(self, now: datetime) -> None:
        """Turn newly due occurrences (and untimed messages) into waiting items."""
        household = self.household
        mine = self._file.routines if self._file is not None else ()
        for occ in occurrences(mine + self.calendar.routines(household, now), household, self._cursor, now):
            if occ.key in self._done_keys or occ.key in self._items:
                continue
            if occ.routine.kind == "message" and occ.routine.id in self._delivered:
                continue
            ready = occ.due if occ.routine.urgent else household.quiet_ends(occ.due)
            expires = ready + self._relevance(occ)
            if expires <= now:  # caught up after a restart, but too late to be worth saying
                log.info("routine %s due %s was missed while the companion was off", occ.routine.id, occ.due)
                if occ.routine.kind == "medication":
                    self._missed(Item(occ.key, occ, ready, expires), now, device_off=True)
                continue
            self._items[occ.key] = Item(occ.key, occ, ready, expires)
        self._cursor = now
        today = household.today(now)
        for r in mine:  # messages for "the next conversation"
            if r.kind != "message" or r.times or r.id in self._delivered:
                continue
            if r.date is not None and r.date > today:
                continue
            key = (r.id, "main", "")
            if key not in self._items:
                self._items[key] = Item(key, Occurrence(r, "main", now, now), now, now + RELEVANCE["message"],
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

    def _speakable(self, item: Item, now: datetime, quiet_now: bool) -> bool:
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

    def _done(self, item: Item, now: datetime) -> None:
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

    def _missed(self, item: Item, now: datetime, device_off: bool = False) -> None:
        r = item.routine
        if device_off:
            reason = NOT_ASKED_DEVICE_OFF
        else:
            reason = (f"no confirmation after {item.asked} reminder(s)" if item.asked
                      else "could not be announced in time (muted or busy)")
        due_local = self.household.local(item.occ.due)
        log.warning("missed dose: %s due %s; %s", r.title, f"{due_local:%Y-%m-%d %H:%M}", reason)
        self.journal.record("missed", r, reason, due=item.occ)
        event = {"at": now.isoformat(), "routine_id": r.id, "kind": r.kind, "title": r.title,
                 "due": item.occ.due.isoformat(), "due_local": f"{due_local:%Y-%m-%d %H:%M}",
                 "reason": reason, "asked": item.asked, "urgent": r.urgent, "escalate": r.escalate,
                 "device_off": device_off}
        self.journal.record("escalated", r, reason, due=item.occ)
        if self.on_escalation is not None:
            try:
                self.on_escalation(event)
            except Exception:
                log.exception("escalation hook failed for %s", r.id)
