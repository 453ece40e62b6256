"""The safety skill: scripted, calm answers and caregiver alerts for emergency phrases, before the LLM."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from companion.clock import Clock
from companion.config import Settings
from companion.errors import StoreError
from companion.language import normalize, yes_no
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput
from companion.safety.phrases import Detection, SafetyDetector
from companion.store.journal import ALERT_TITLES, HelpRow
from companion.store.store import Store

if TYPE_CHECKING:  # the skill only needs raise_alert() and the recipients' names
    from companion.caregiver.alerts import AlertService

log = logging.getLogger(__name__)


# Scripted responses: short sentences, calm, no questions she has to decode. {notified} says who
# was told; {emergency} and {crisis} come from [safety].
_SCRIPTS = {
    "help": "I'm here with you. {notified} If you are in danger or badly hurt, call {emergency} now.",
    "fall": "I'm here with you. Stay still for a moment and don't rush to get up. {notified} "
            "If you are hurt, call {emergency}.",
    "medical": "That could be serious. Please call {emergency} now, or ask someone near you to call. "
               "{notified} If you can, sit down and unlock the front door. I'm staying right here.",
    "suicidal": "I'm so sorry you're feeling this way. You matter, and you don't have to face this alone. "
                "You can talk to someone right now on the crisis line, {crisis}. "
                "If you are in danger, call {emergency}. {notified}",
    "lost": "It's all right. You're talking to {assistant}, your companion. Take a slow breath. "
            "{notified} If you feel unsafe, call {emergency}.",
    "stranger": "You don't have to open the door or talk to anyone you don't know. Keep the door locked. "
                "{notified} If you feel unsafe, call {emergency}.",
    "scam": "Please don't give bank details, a PIN or money to anyone who calls. Real banks never ask for that, "
            "and it's fine to hang up. {notified} If you are threatened, call {emergency}.",
}

# A short question where her answer changes what happens next. yes_means_ok: does "yes" mean she is fine?
_CONFIRM = {
    "help": ("Are you all right?", True),
    "fall": ("Are you hurt?", False),
    "lost": ("Are you at home?", True),
    "suicidal": ("Would you like to tell me what's happening?", None),
    "medical": ("Can you reach the phone?", None),
    "stranger": ("Is the door locked?", None),
    "scam": ("Have you hung up?", None),
}

_FINE = re.compile(r"\b(?:i am (?:fine|ok|okay|alright|all right|not hurt|safe)|false alarm|(?:it was )?a mistake|"
                   r"never mind|nevermind|cancel|not hurt|no harm done|i am at home|all good)\b")
_NOT_FINE = re.compile(r"\b(?:hurt|hurts|pain|bleeding|cannot|broken|not (?:fine|ok|okay|alright|all right|safe)|help)\b")
_YES_WORDS = ("i am", "i do", "it is")  # "are you hurt?" → "I am"; the shared parser knows the rest


@dataclass
class _Pending:
    """A confirmation question waiting for her answer."""

    category: str
    alert_id: str
    help_id: int | None  # None when the disk refused the help row (the alert went out anyway)
    asked_at: datetime


class SafetySkill(BaseSkill):
    """Runs first on every transcript: scripted reply, a help row, and an urgent caregiver alert.

    The one writer of help requests: spoken ones and the help button (the panel only reports the press).
    """

    name = "safety"
    first = True  # hears every turn before any open question is answered: an emergency outranks them all

    def __init__(self, settings: Settings, store: Store, alerts: "AlertService", clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.alerts = alerts
        self.clock = clock
        self.detector = SafetyDetector(extra_help_numbers=(settings.safety.emergency_number,))
        self._pending: _Pending | None = None
        self._last_event: tuple[str, datetime] | None = None

    # ------------------------------------------------------------------ the Skill seam

    def claims(self, text: str) -> bool:
        """Is this an emergency phrase? (pure: the loop never warms up the LLM for one)"""
        return self.detector.detect(text) is not None

    def handle(self, turn: TurnInput) -> Reply | None:
        """A scripted Reply (intent "safety:<category>") for an emergency phrase, else None."""
        detection = self.detector.detect(turn.text)
        if detection is not None:
            return self._respond(detection, source="voice", at=turn.at)
        return None

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her answer to our check ("Are you hurt?"): stand down, or escalate."""
        return self._answer_confirmation(turn)

    def context(self, turn: TurnInput) -> str:
        """After a safety event, tell the LLM how to behave for the next few minutes."""
        if self._last_event is None:
            return ""
        category, at = self._last_event
        if (turn.at - at).total_seconds() > 15 * 60:
            return ""
        if category == "suicidal":
            return (f"She recently said she wants to die or hurt herself. Be warm and brief, listen, do not give advice, "
                    f"and remind her she can call the crisis line {self.settings.safety.crisis_line}.")
        return (f"She recently had a possible emergency ({category}); her family has been told. "
                "Be calm and brief, and check she is safe.")

    # ------------------------------------------------------------------ help button (GPIO)

    def help_button(self, now: datetime | None = None) -> Reply:
        """The help button was held: alert at once and say so. The loop speaks the Reply."""
        detection = Detection("help", "help button", "")
        return self._respond(detection, source="button", at=now or self.clock.now())

    def cancel_help(self, now: datetime | None = None) -> Reply | None:
        """She cancelled (help button again, or "false alarm"): mark it and tell the family."""
        pending = self._pending
        if pending is None:
            return None
        return self._all_right(pending, now or self.clock.now(), cancelled=True)

    # ------------------------------------------------------------------ internals

    def _respond(self, detection: Detection, source: str, at: datetime) -> Reply:
        category = detection.category
        share = self.settings.caregiver.share_words
        detail = {"category": category, "source": source}
        if share and detection.text:
            detail["her_words"] = detection.text
        title = ALERT_TITLES[category] + (" (help button)" if source == "button" else "")
        name = self.settings.conversation.user_name
        if name and title.startswith("She "):
            title = name + title[3:]
        alert_id = self._alert(f"safety:{category}", title, detail,  # first: it never waits on the journal
                               told_her="that her family is being told")
        help_id = self._record(HelpRow(at=at, source=source, category=category,
                                       detail=detection.phrase if source == "voice" else "help button"))
        log.warning("safety: %s detected (%s), alert %s", category, source, alert_id)
        text = self._script(category, told=bool(alert_id))
        question, _ = _CONFIRM[category]
        self._pending = _Pending(category, alert_id, help_id, at)
        self._last_event = (category, at)
        return Reply(text=f"{text} {question}", intent=f"safety:{category}",
                     data={"alert_id": alert_id, "category": category, "help_id": help_id},
                     asks=Ask(category, window_s=self.settings.safety.confirm_window_s, urgent=True))

    def _alert(self, kind: str, summary: str, detail: dict, **how: object) -> str:
        """Queue an urgent alert; '' when the card refuses it (she still gets her script, and the truth)."""
        try:
            return self.alerts.raise_alert(kind, summary, detail, urgent=True, **how)
        except OSError as exc:
            log.error("safety: the alert %r could not be queued: %s", summary, exc)
            return ""

    def _record(self, row: HelpRow) -> int | None:
        """Write the help row; a disk that refuses it is logged, never in the way of the alert or her answer."""
        try:
            return self.store.journal.append(row).id
        except StoreError as exc:
            log.error("help request not recorded (the caregiver alert was raised): %s", exc)
            return None

    def _script(self, category: str, told: bool = True) -> str:
        s = self.settings
        notified = self._notified_line() if told else \
            f"I couldn't send a message to {self.alerts.recipient_names()} just now."
        return _SCRIPTS[category].format(
            notified=notified, emergency=_speakable(s.safety.emergency_number),
            crisis=_speakable(s.safety.crisis_line), assistant=s.conversation.assistant_name)

    def _notified_line(self) -> str:
        """Honest: only claim a person was told when a channel can reach them."""
        who = self.alerts.recipient_names()
        if self.alerts.reaches_someone():
            return f"I've let {who} know."
        return f"I've written it down for {who}, but I have no way to send messages from here yet."

    def _answer_confirmation(self, turn: TurnInput) -> Reply | None:
        pending = self._pending
        if pending is None:
            return None
        if (turn.at - pending.asked_at).total_seconds() > self.settings.safety.confirm_window_s:
            self._pending = None
            return None
        _, yes_means_ok = _CONFIRM[pending.category]
        if yes_means_ok is None:  # open questions go on to the conversation
            self._pending = None
            return None
        norm = normalize(turn.text)
        fine = bool(_FINE.search(norm))
        said = yes_no(norm, yes=_YES_WORDS)
        if not fine and said is True:
            fine = yes_means_ok
        elif not fine and said is False:
            fine = not yes_means_ok
        if _NOT_FINE.search(norm) and not _FINE.search(norm):
            fine = False
        if fine:
            return self._all_right(pending, turn.at, cancelled=pending.category == "help")
        if said is not None or _NOT_FINE.search(norm):
            return self._not_all_right(pending, turn.at)
        self._pending = None
        return None

    def _all_right(self, pending: _Pending, at: datetime, cancelled: bool) -> Reply:
        self._pending = None
        if cancelled and pending.help_id is not None:
            try:
                self.store.journal.mark_help_cancelled(pending.help_id, at)
            except StoreError as exc:
                log.error("could not mark the help request as a false alarm: %s", exc)
        who = self.alerts.recipient_names()
        # the all-clear is not urgent: it updates the original alert and ends its escalation
        self.alerts.resolve(pending.alert_id, f"{self.settings.conversation.user_name or 'She'} says she is all "
                            f"right now (after: {pending.category})", {"cancelled": cancelled})
        told = f"I'll tell {who} you're all right." if self.alerts.reaches_someone() else ""
        return Reply(text=f"I'm glad you're all right. {told}".strip(), intent="safety:all_right",
                     data={"about_alert": pending.alert_id})

    def _not_all_right(self, pending: _Pending, at: datetime) -> Reply:
        self._pending = None
        who = self.alerts.recipient_names()
        self._alert("safety:update", f"{self.settings.conversation.user_name or 'She'} says she is "
                    f"NOT all right (after: {pending.category})", {"category": pending.category},
                    update=pending.alert_id)
        emergency = _speakable(self.settings.safety.emergency_number)
        return Reply(text=f"Please call {emergency} now if you can. I've told {who} again. "
                          "Stay where you are and keep warm. I'm right here.",
                     intent="safety:not_all_right", data={"about_alert": pending.alert_id})


def _speakable(number: str) -> str:
    """Digits read one by one ("9 1 1"), which TTS says more clearly than "nine hundred eleven"."""
    if number.isdigit() and len(number) <= 4:
        return " ".join(number)
    return number
