"""The safety skill: triage of every utterance, a short dialogue, scripted words and caregiver alerts.

It hears every turn first (`first = True`), before any other skill and before the LLM.
- EMERGENCY (high confidence): the category's script at once, an urgent alert, and one
  follow-up question ("Are you hurt?", "Can you reach the phone?").
- CHECK (middle confidence, and passive hopelessness): one short direct question; a yes
  (or "I'm ok but my hip hurts") escalates to the script and the alert, a no stands down.
- Her answer is read by safety.phrases.read_answer: distress wins over "fine". An
  unclear answer is asked again once, then treated as an emergency; no answer at all
  within [safety] confirm_window_s is treated as an emergency too (poll).
- One event, one alert: more cries about the same emergency update it.
Nothing here reaches the LLM, and no failure of the store or the alerts stops the words:
the dialogue turns any exception into `failed()`, a scripted fallback with an alert attempt.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from companion.clock import Clock
from companion.config import Settings
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput
from companion.safety import phrases
from companion.safety.alarm import SafetyAlarm
from companion.store.journal import HelpRow
from companion.store.store import Store
from companion.understand.safety import SafetyTriage, Tier, Triage

if TYPE_CHECKING:  # the skill needs raise_alert() and who can be reached
    from companion.caregiver.alerts import AlertService
    from companion.understand.reading import Understanding

log = logging.getLogger(__name__)

EVENT_WINDOW_S = 30 * 60  # more cries about the same category within this long are the same event
CONTEXT_WINDOW_S = 15 * 60  # the LLM is told about a recent emergency for this long


@dataclass
class _Event:
    """One emergency: its category, its alert, and when it started."""

    category: str
    script: str  # the script key ("gas" for a fire category with gas words)
    alert_id: str
    started_at: datetime
    help_id: int | None = None
    updates: int = 0
    told_delivered: bool = False  # she has heard "I've let Susan know"


class Asked(enum.Enum):
    """Which safety question is waiting for her answer."""

    CHECK = "check"  # middle confidence: is this an emergency? (a yes escalates)
    FOLLOW_UP = "follow_up"  # after a script: is she all right? (the category says what a yes means)


@dataclass
class _Pending:
    """The safety question waiting for her answer."""

    kind: Asked
    category: str
    script: str
    question: str
    asked_at: datetime
    tries: int = 1
    words: dict[str, str] = field(default_factory=dict)


class SafetySkill(BaseSkill):
    """Runs first on every transcript: triage, scripted replies, a row in `help`, and urgent alerts."""

    name = "safety"
    first = True  # hears every turn before any open question is answered: an emergency outranks them all

    def __init__(self, settings: Settings, store: Store, alerts: "AlertService", clock: Clock, *,
                 triage: SafetyTriage | None = None, understanding: "Understanding | None" = None) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.alarm = SafetyAlarm(alerts, settings)
        if triage is None:
            from companion.understand.reading import Understanding

            triage = SafetyTriage.load(understanding or Understanding.load())
        self.triage = triage
        self._event: _Event | None = None
        self._pending: _Pending | None = None
        self._low_at: datetime | None = None  # she said no to the suicide question, but sounded low

    # ------------------------------------------------------------------ the Skill seam

    def claims(self, text: str) -> bool:
        """Would this text get a safety reply? (the loop never warms up the LLM for one)"""
        return self._pending is not None or self.triage.triage(text).urgent

    def handle(self, turn: TurnInput) -> Reply | None:
        """Her answer to an open safety question, or a new emergency or check; None for ordinary talk."""
        if self._pending is not None and self._open(turn.at):
            return self._on_answer(turn)
        found = self.triage.triage(turn.text)
        if found.tier is Tier.EMERGENCY:
            return self._emergency(found.category or "help", turn.text, turn.at, found)
        if found.tier is Tier.CHECK:
            return self._check(found, turn.at)
        return None

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her answer to our question (handle() has already taken it while it is open)."""
        if self._pending is not None and self._open(turn.at):
            return self._on_answer(turn)
        return None

    def failed(self, turn: TurnInput) -> Reply:
        """Something in the safety path raised: say the scripted fallback and still try an alert."""
        category = "help"
        alert_id = self.alarm.raise_(f"safety:{category}", "The companion had trouble checking what she said "
                                     "for an emergency", {"category": category, "source": "voice"},
                                     told_her=self.alarm.told_her("", phrases.GIST["trouble"]))
        self._pending = None
        self._event = _Event(category, category, alert_id, turn.at)
        return Reply(text=self._fill(phrases.TROUBLE, alert_id), intent="safety:trouble",
                     data={"alert_id": alert_id})

    def context(self, turn: TurnInput) -> str:
        """After a safety event, tell the LLM how to behave for the next few minutes."""
        event = self._event
        if event is None or (turn.at - event.started_at).total_seconds() > CONTEXT_WINDOW_S:
            if self._low_at is not None and (turn.at - self._low_at).total_seconds() <= CONTEXT_WINDOW_S:
                return ("She sounded hopeless a moment ago but says she is not thinking of ending her life. Be warm "
                        "and brief, listen, and do not give advice.")
            return ""
        if event.category == "suicidal":
            return (f"She recently talked about ending her life. Be warm and brief, listen, do not give advice, "
                    f"and remind her she can call the crisis line {self.settings.safety.crisis_line}.")
        return (f"She recently had a possible emergency ({event.category}); the companion is contacting her family. "
                "Be calm and brief, and check she is safe.")

    def poll(self, idle: bool, muted: bool) -> Reply | None:
        """No answer to a safety question within the window: an emergency. A delivery confirmed: say so."""
        pending = self._pending
        if not idle:
            return None
        now = self.clock.now()
        if pending is None:
            return self._delivered(now)
        if self._open(now):
            return None
        self._pending = None
        log.warning("safety: no answer to %r; escalating", pending.question)
        return self._escalate(pending, now, why="she did not answer", no_answer=True)

    # ------------------------------------------------------------------ help button (GPIO)

    def help_button(self, now: datetime | None = None) -> Reply:
        """The help button was held: alert at once and say so. The loop speaks the Reply."""
        return self._emergency("help", "", now or self.clock.now(), None, source="button")

    def cancel_help(self, now: datetime | None = None) -> Reply | None:
        """She cancelled (help button again): mark it and tell the family."""
        event = self._event
        if event is None:
            return None
        self._pending = None
        return self._all_right(event, now or self.clock.now(), cancelled=True)

    # ------------------------------------------------------------------ internals

    def _open(self, when: datetime) -> bool:
        p = self._pending
        return p is not None and 0 <= (when - p.asked_at).total_seconds() <= self.settings.safety.confirm_window_s

    def _ask(self, topic: str) -> Ask:
        return Ask(topic, window_s=self.settings.safety.confirm_window_s, urgent=True)

    def _delivered(self, now: datetime) -> Reply | None:
        """Once a channel confirmed the open emergency's alert, she hears it (once)."""
        event = self._event
        if event is None or event.told_delivered or (now - event.started_at).total_seconds() > EVENT_WINDOW_S:
            return None
        names = self.alarm.confirmed(event.alert_id)
        if not names:
            return None
        event.told_delivered = True
        return Reply(text=self.alarm.status_line(event.alert_id), intent="safety:delivered", alone=True,
                     data={"about_alert": event.alert_id})

    def _status(self, alert_id: str) -> str:
        line = self.alarm.status_line(alert_id)
        if self._event is not None and alert_id == self._event.alert_id and line.startswith("I've let"):
            self._event.told_delivered = True
        return line

    def _title(self, script: str, suffix: str = "") -> str:
        """The alert title, with her name when the family gave it ("Mary may have fallen")."""
        title = phrases.TITLES[script]
        name = self.settings.conversation.user_name
        if name and title.startswith("She "):
            title = name + title[3:]
        return title + suffix

    def _fill(self, template: str, alert_id: str = "", **extra: str) -> str:
        s = self.settings.safety
        return template.format(status=self._status(alert_id) if "{status}" in template else "",
                               emergency=_speakable(s.emergency_number), crisis=_speakable(s.crisis_line),
                               who=self.alarm.who(), **extra).strip()

    def _emergency(self, category: str, text: str, at: datetime, found: Triage | None,
                   source: str = "voice", script: str | None = None) -> Reply:
        """The script, an alert (or an update of the open one) and the follow-up question."""
        script = script or phrases.script_key(category, text)
        event = self._event
        detail: dict[str, Any] = {"category": category, "source": source}
        if found is not None:
            detail.update(score=round(found.score, 2), heard=sorted(found.words.values())[:3])
            if self.settings.caregiver.share_words:
                detail["her_words"] = found.norm
        title = self._title(script, " (help button)" if source == "button" else "")
        told = phrases.GIST[script]
        if event is not None and event.category == category and \
                (at - event.started_at).total_seconds() <= EVENT_WINDOW_S:
            event.updates += 1
            self.alarm.update(event.alert_id, f"safety:{category}", f"{title} (said again)", detail,
                              told_her=self.alarm.told_her(event.alert_id, told))
        else:
            alert_id = self.alarm.raise_(f"safety:{category}", title, detail, told_her=self.alarm.told_her("", told))
            event = self._event = _Event(category, script, alert_id, at, self._record_help(at, category, source, found))
        log.warning("safety: %s emergency (%s), alert %s", category, source, event.alert_id or "NOT QUEUED")
        question, _ = phrases.FOLLOW_UP[category]
        self._pending = _Pending(Asked.FOLLOW_UP, category, script, question, at)
        text_out = f"{self._fill(phrases.SCRIPTS[script], event.alert_id)} {question}"
        return Reply(text=text_out, intent=f"safety:{category}", alone=True,
                     data={"alert_id": event.alert_id, "category": category, "help_id": event.help_id},
                     asks=self._ask(category))

    def _check(self, found: Triage, at: datetime) -> Reply:
        """Middle confidence: one short, direct question; no alert yet."""
        category = found.category or "help"
        question = self._fill(phrases.CHECKS[category])
        self._pending = _Pending(Asked.CHECK, category, phrases.script_key(category, found.text), question, at,
                                 words=dict(found.words))
        log.info("safety: checking a possible %s (score %.2f)", category, found.score)
        return Reply(text=question, intent=f"safety:check:{category}", alone=True,
                     data={"category": category, "score": round(found.score, 2)}, asks=self._ask(category))

    def _on_answer(self, turn: TurnInput) -> Reply:
        """Her answer: a new emergency, distress, all right, or unclear (asked again once)."""
        pending = self._pending
        assert pending is not None
        self._pending = None
        new = self.triage.triage(turn.text)
        if new.tier is Tier.EMERGENCY and new.category not in (None, pending.category, "help"):
            return self._emergency(new.category or "help", turn.text, turn.at, new)  # a different emergency
        answer = phrases.read_answer(turn.text)
        if pending.kind is Asked.CHECK:
            escalate = answer.distress or answer.said is True or \
                (answer.unsure and pending.category == "suicidal") or new.tier is Tier.EMERGENCY
            if escalate:
                return self._emergency(pending.category, turn.text, turn.at, new, script=pending.script)
            if answer.fine or answer.said is False:
                log.info("safety: she says no to the %s check", pending.category)
                if pending.category == "suicidal":
                    self._low_at = turn.at
                line = phrases.STAND_DOWN_SUICIDAL if pending.category == "suicidal" else phrases.STAND_DOWN
                return Reply(text=self._fill(line), intent="safety:stand_down", alone=True)
        else:
            _, yes_means_ok = phrases.FOLLOW_UP[pending.category]
            verdict = answer.all_right(yes_means_ok)
            if new.tier is Tier.EMERGENCY and new.category == pending.category:
                verdict = False
            if verdict is False:
                return self._escalate(pending, turn.at, why=f"she answered {turn.text!r}" if
                                      self.settings.caregiver.share_words else "she says she is not all right")
            if verdict is True and self._event is not None:
                return self._all_right(self._event, turn.at, cancelled=pending.category == "help")
        if pending.tries >= 2:  # asked twice, still unclear: safety first
            return self._escalate(pending, turn.at, why="her answer was unclear")
        question = pending.question
        self._pending = _Pending(pending.kind, pending.category, pending.script, question, turn.at, pending.tries + 1)
        return Reply(text=self._fill(phrases.RECHECK, question=question), intent="safety:recheck", alone=True,
                     asks=self._ask(pending.category))

    def _escalate(self, pending: _Pending, at: datetime, why: str, no_answer: bool = False) -> Reply:
        """She is not all right (or did not answer): alert (or update the alert) and say what to do now."""
        event = self._event
        if pending.kind is Asked.CHECK or event is None:
            reply = self._emergency(pending.category, "", at, None, script=pending.script)
            if no_answer:
                reply = Reply(text=f"{self._fill(phrases.NO_ANSWER, reply.data.get('alert_id', ''))} "
                                   f"{phrases.FOLLOW_UP[pending.category][0]}",
                              intent=reply.intent, alone=True, data=reply.data, asks=reply.asks)
            return reply
        title = self._title(event.script, f": {why}, NOT all right")
        self.alarm.update(event.alert_id, f"safety:{event.category}", title, {"category": event.category},
                          told_her=self.alarm.told_her(event.alert_id, phrases.GIST_NOT_ALL_RIGHT))
        event.updates += 1
        text = self._fill(phrases.NOT_ALL_RIGHT[event.category], event.alert_id)
        if no_answer:
            text = f"{self._fill(phrases.NO_ANSWER, event.alert_id)} " + \
                self._fill(phrases.NOT_ALL_RIGHT[event.category].replace("{status}", ""))
        return Reply(text=text, intent="safety:not_all_right", alone=True, data={"about_alert": event.alert_id})

    def _all_right(self, event: _Event, at: datetime, cancelled: bool) -> Reply:
        """She says she is all right: tell the family (the all-clear for a cancelled help call)."""
        if cancelled and event.help_id is not None:
            try:
                self.store.journal.mark_help_cancelled(event.help_id, at)
            except Exception:
                log.exception("could not mark help request %s cancelled", event.help_id)
        title = self._title(event.script, ": she says she is all right now")
        if cancelled:
            self.alarm.resolve(event.alert_id, title, {"category": event.category, "cancelled": True})
        else:
            self.alarm.update(event.alert_id, f"safety:{event.category}", title, {"category": event.category})
        text = self._fill(phrases.ALL_RIGHT[event.category])
        if self.alarm.reaches_someone():
            text += f" I'll let {self.alarm.who()} know you said so."
        return Reply(text=text, intent="safety:all_right", alone=True, data={"about_alert": event.alert_id})

    def _record_help(self, at: datetime, category: str, source: str, found: Triage | None) -> int | None:
        """A row in `help` for the summary; a store that cannot be written never stops the emergency."""
        try:
            return self.store.journal.append(HelpRow(
                at=at, source=source, category=category,
                detail=", ".join(sorted(found.words.values())[:3]) if found else "help button")).id
        except Exception:
            log.exception("could not record the help request (the alert and the script go on)")
            return None


def _speakable(number: str) -> str:
    """Digits read one by one ("9 1 1"), which TTS says more clearly than "nine hundred eleven"."""
    if number.isdigit() and len(number) <= 4:
        return " ".join(number)
    return number
