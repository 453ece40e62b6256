"""Honesty: it says it is an AI (setup, first talk of the day, every 3 h of talk, whenever asked),
tells her what her family is told, and nudges her toward real people when she seems lonely."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from companion.clock import Clock
from companion.config import Settings
from companion.language import normalize, yes_no
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput, TurnRecord
from companion.memory.people import known_people, mentions, suggestable
from companion.store.journal import CONVERSATION_GAP_S, MoodRow, TurnRow
from companion.store.store import Store
from companion.voice.guard import check_reply  # re-exported: the loop calls honesty.check_reply on every LLM sentence

__all__ = ["DisclosurePolicy", "HonestySkill", "check_reply", "sharing_statement"]

log = logging.getLogger(__name__)

LONELY_WINDOW_DAYS = 3
LONELY_SIGNALS_NEEDED = 3  # lonely words or lonely/sad mood readings in the window
BUSY_TURNS_PER_DAY = 30  # "talks to the companion a lot"

_K_SETUP = "honesty.setup_at"
_K_DISCLOSED = "honesty.last_disclosed_at"
_K_TALK = "honesty.talk_s_since_disclosure"
_K_LAST_TURN = "honesty.last_turn_at"
_K_NUDGED = "honesty.nudged_on"
_K_ONBOARDING = "honesty.onboarding_step"  # how much of the first-use introduction she has heard

_IDENTITY = re.compile(
    r"\bare you (?:a |an )?(?:real|human|person|alive|robot|machine|computer|ai|artificial|man|woman|lady|bot)\b|"
    r"\b(?:am i|i am) (?:talking|speaking|chatting) (?:to|with) (?:a |an )?(?:machine|computer|robot|real person|person|human|ai|bot)\b|"
    r"\bis (?:this|that|there) (?:a )?real person\b|\bwho am i (?:talking|speaking) to\b|\bwhat are you\b|"
    r"\bdo you have (?:feelings|a body|emotions|a heart)\b|\bare you a real\b")
_SHARING = re.compile(
    r"\bwhat do you (?:tell|say to|share with|send(?: to)?|report to) (?:my |the )?\w+|\bwhat do you share\b|"
    r"\bwho (?:can )?(?:sees?|hears?|reads?|knows?|gets?) what i (?:say|tell you)\b|"
    r"\bdo you (?:tell|report to|spy|send)\b.{0,20}\b(?:family|son|daughter|children|kids)\b|"
    r"\bwhat does (?:my )?\w+ (?:know|see|get|hear) about me\b|\bare you (?:spying|reporting)\b")
_LONELY = re.compile(r"\b(?:lonely|so alone|all alone|on my own all|no one (?:visits|calls|comes)|nobody "
                     r"(?:visits|calls|comes|cares)|miss (?:my|him|her|them)|no one to talk to)\b")


ONBOARDING = (
    "I'm {assistant}, by the way. I'm not a person: I'm an AI, a computer program in this little box.",
    "I can chat, remind you of the things your family set up, and let them know if you ever need help.",
)
NUDGE_YES = "That's a lovely idea. I hope you have a good chat."
NUDGE_NO = "That's all right. I'm here if you'd like to talk."


def _greeting(local: datetime) -> str:
    return "Good morning" if local.hour < 12 else "Good afternoon" if local.hour < 18 else "Good evening"


def sharing_statement(settings: Settings, recipients: str, reaches_someone: bool) -> str:
    """What her family is told, in plain words, from the config (the answer to "what do you tell my family?")."""
    c = settings.caregiver
    parts = []
    if reaches_someone:
        parts.append(f"If you ask for help, say you've fallen or feel unwell, or seem in danger, I tell {recipients} "
                     "straight away, and I always tell you when I have.")
        if c.inactivity_hours > 0:
            parts.append(f"If we haven't talked for {c.inactivity_hours:g} hours in the daytime, I let them know too.")
        parts.append("Once a day they get a short summary: how much we talked, whether your tablets were taken, "
                     "any worries you mentioned, and how you seemed.")
    else:
        parts.append(f"Right now no messages can leave this device. If something is wrong, I write a note here for "
                     f"{recipients} to read, and I tell you when I do.")
    if c.share_words:
        parts.append("For worrying moments, they see your own words.")
    else:
        parts.append("I only share topics, like 'mentioned pain', never your own words.")
    if settings.emotion.mode == "off":
        parts.append("I don't try to guess your mood.")
    parts.append("Everything else we talk about stays here, in this device.")
    return " ".join(parts)


class DisclosurePolicy:
    """Decides when to say "I'm an AI": at setup, first conversation each day, after N s of talk."""

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.household = settings.household

    def _local(self, when: datetime) -> datetime:
        return self.household.local(when)

    def introduction(self, now: datetime | None = None) -> str | None:
        """The next step of the first-use introduction, said after answering her (None once it is all said).

        Paced over her first turns, one short thing at a time, instead of a speech
        before she has said anything: who it is and that it is an AI, then what it
        can do. (The mood-consent question follows on a later turn.)
        """
        now = now or self.clock.now()
        c = self.settings.conversation
        step = int(self.store.get(_K_ONBOARDING, 0 if self.store.get(_K_SETUP) is None else len(ONBOARDING)))
        if step >= len(ONBOARDING):
            return None
        if step == 0:
            self.store.put(_K_SETUP, now.isoformat())
            self.mark_disclosed(now)
        self.store.put(_K_ONBOARDING, step + 1)
        return ONBOARDING[step].format(assistant=c.assistant_name)

    def opening_line(self, now: datetime | None = None) -> str | None:
        """The disclosure to speak before replying, if one is due (None otherwise). Safe to call every turn.

        On first use nothing comes before her answer: the introduction follows it (see introduction()).
        """
        now = now or self.clock.now()
        c = self.settings.conversation
        name = f", {c.user_name}" if c.user_name else ""
        local = self._local(now)
        if self.store.get(_K_SETUP) is None:
            return None
        last = self.store.get(_K_DISCLOSED)
        if last is None or self._local(datetime.fromisoformat(last)).date() != local.date():
            self.mark_disclosed(now)
            return f"{_greeting(local)}{name}; just so you know, I'm {c.assistant_name}, an AI, not a person."
        if self.talk_seconds() >= c.disclose_after_conversation_s:
            self.mark_disclosed(now)
            people = suggestable(self.store, self.settings)  # living people she is in touch with, never the dead
            nudge = f" Perhaps it's a good moment to ring {people[0]}." if people else ""
            return "We've been talking for a long while. Just a reminder that I'm an AI, not a person." + nudge
        return None

    def mark_introduced(self, now: datetime) -> None:
        """Record the whole first-use introduction as said (a device set up earlier; the scenario runner)."""
        self.store.put(_K_SETUP, now.isoformat())
        self.store.put(_K_ONBOARDING, len(ONBOARDING))
        self.mark_disclosed(now)

    def mark_disclosed(self, now: datetime) -> None:
        """Record that she was just told (also after answering "are you a real person?"); written with the turn."""
        self.store.put(_K_DISCLOSED, now.isoformat(), defer=True)
        self.store.put(_K_TALK, 0.0, defer=True)

    def talk_seconds(self) -> float:
        """Conversation time since the last disclosure."""
        return float(self.store.get(_K_TALK, 0.0))

    def observe_turn(self, at: datetime, duration_s: float = 0.0) -> None:
        """Count conversation time: the time since the previous turn when it is the same conversation."""
        last = self.store.get(_K_LAST_TURN)
        added = duration_s
        if last is not None:
            gap = (at - datetime.fromisoformat(last)).total_seconds()
            if 0 < gap <= CONVERSATION_GAP_S:
                added = max(gap, duration_s)
        self.store.put(_K_LAST_TURN, at.isoformat(), defer=True)  # per-turn counters ride with the turn's commit
        self.store.put(_K_TALK, self.talk_seconds() + added, defer=True)


class HonestySkill(BaseSkill):
    """Deterministic answers to "are you a real person?" and "what do you tell my family?", plus loneliness nudges."""

    name = "honesty"

    def __init__(self, policy: DisclosurePolicy, recipients: str = "your family", reaches_someone: bool = False) -> None:
        self.policy = policy
        self.store = policy.store
        self.settings = policy.settings
        self.recipients = recipients
        self.reaches_someone = reaches_someone

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, clock: Clock, alerts: object | None = None) -> "HonestySkill":
        """Build the policy and skill; `alerts` (an AlertService) supplies who is told and whether anyone can be."""
        recipients = alerts.recipient_names() if alerts is not None else "your family"  # type: ignore[attr-defined]
        reaches = bool(alerts.reaches_someone()) if alerts is not None else False  # type: ignore[attr-defined]
        return cls(DisclosurePolicy(store, settings, clock), recipients, reaches)

    def handle(self, turn: TurnInput) -> Reply | None:
        """Identity and sharing questions always get the same truthful answer; lonely talk may get a nudge."""
        norm = normalize(turn.text)
        c = self.settings.conversation
        if _IDENTITY.search(norm):
            self.policy.mark_disclosed(turn.at)
            return Reply(text=f"No, I'm not a person. I'm {c.assistant_name}, an AI, a computer program. "
                              "I don't have feelings or a body, but I'm glad to keep you company.",
                         intent="honesty:identity")
        if _SHARING.search(norm):
            return Reply(text=sharing_statement(self.settings, self.recipients, self.reaches_someone),
                         intent="honesty:sharing")
        return None

    def opening_line(self, turn: TurnInput) -> str | None:
        """The AI disclosure, when one is due (first conversation of the day, after long talk); never in front of
        an answer to grief, worry or irritation: it waits for her next turn."""
        return None if turn.heavy else self.policy.opening_line(turn.at)

    def closing_line(self, turn: TurnInput) -> Reply | None:
        """After her answer: the next step of the introduction on first use, else (once a day, when she seems
        lonely or talks only to the companion) a nudge toward a living person she is in touch with."""
        if not turn.heavy:  # not straight after grief, worry or irritation: the next light moment
            intro = self.policy.introduction(turn.at)
            if intro is not None:
                return Reply(intro, "honesty:introduction")
        elif turn.strategy != "comfort":
            return None  # the nudge toward people is for loneliness, not for worry or irritation
        lonely_now = bool(_LONELY.search(normalize(turn.text)))
        if not self._nudge_due(turn.at, include_current=lonely_now):
            return None
        self.store.put(_K_NUDGED, self.policy._local(turn.at).date().isoformat())
        who = self._person()
        ask = f"Would you like to ring {who} today?" if who else "Is there a friend or someone in your family you could ring today?"
        return Reply(f"I'm only an AI, and you deserve real company. {ask}", "honesty:nudge", asks=Ask("nudge"))

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her yes or no to the nudge; anything else goes on to the conversation."""
        said = yes_no(turn.text)
        if said is None:
            return None
        return Reply(NUDGE_YES if said else NUDGE_NO, "honesty:nudge_answer")

    def context(self, turn: TurnInput) -> str:
        """For the model alone (no reply flow): once a day, when she seems lonely, suggest a real, living person."""
        if not self._nudge_due(turn.at, include_current=False):
            return ""
        self.store.put(_K_NUDGED, self.policy._local(turn.at).date().isoformat(), defer=True)
        who = self._person() or "a friend or family member"
        return (f"She may be lonely. Gently suggest she contacts {who} (a call or a visit). "
                "Do not offer yourself as a replacement for people.")

    def after_turn(self, record: TurnRecord) -> None:
        """Account conversation time for the 3-hour reminder."""
        self.policy.observe_turn(record.at)

    def _person(self) -> str | None:
        """The closest living person she is in touch with (never herself, a pet or someone who has died)."""
        people = suggestable(self.store, self.settings)
        return people[0] if people else None

    def _nudge_due(self, at: datetime, include_current: bool) -> bool:
        if self.store.get(_K_NUDGED) == self.policy._local(at).date().isoformat():
            return False
        since = at - timedelta(days=LONELY_WINDOW_DAYS)
        turns = self.store.journal.since(TurnRow, since)
        signals = int(include_current)
        signals += sum(1 for t in turns if _LONELY.search(normalize(t.user)))
        signals += sum(1 for m in self.store.journal.since(MoodRow, since)
                       if (m.category or "").lower() in ("sad", "lonely"))
        if signals >= LONELY_SIGNALS_NEEDED:
            return True
        day_start = at - timedelta(days=1)
        today = [t for t in turns if t.at >= day_start]
        if len(today) >= BUSY_TURNS_PER_DAY:
            names = known_people(self.store, self.settings)
            said = " ".join(t.user for t in turns)
            return not mentions(said, names)
        return False
