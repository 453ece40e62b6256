"""The reply to a turn no skill answered: strategy → acknowledgement from the banks → at most one guarded
sentence from the language model (else a follow-up from the banks).

`plan` is pure (a speculative reply may be thrown away); `commit` records a
finished turn: the strategies so far, the person she is talking about, and
backing off. Backing off is behaviour: after irritation the reply is one short
sentence, and check-ins and non-urgent questions wait (`quiet_until`).
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from companion.config import Settings
from companion.language import normalize
from companion.loop.situations import lonely, situation
from companion.loop.skills import People, Person, PersonStatus, TurnInput
from companion.understand.reading import Understanding
from companion.understand.strategy import Recent, Strategy, StrategyChoice, StrategyModel, VoiceMood, shared_model
from companion.voice import banks
from companion.voice.guard import ReplyContext, review
from companion.voice.llm import Generation, ReplyGenerator

log = logging.getLogger(__name__)

# Strategies where the language model may propose the follow-up question: small talk and memories, where a
# question about her own topic ("What kind of soup did you make?") helps most. Everything else gets the
# bank's follow-up only: on the scenario runs the 270M model's questions were wrong too often there
# ("How long do you miss her?", "What did you study for?" to a granddaughter's news) to be worth the risk.
LLM_STRATEGIES = frozenset({Strategy.INVITE_STORY, Strategy.CHAT})
# no day's-disclosure before these, and no skill's closing question after them
NO_FRAMING = frozenset({Strategy.BACK_OFF, Strategy.SAFETY_CHECK})
FOCUS_WINDOW_S = 15 * 60  # "him" still means the person she talked about this long ago
RELEVANCE_MIN = 0.2  # cosine of a proposed question to her words, below which it is off her topic
MAX_QUESTION_WORDS = 16
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers)\b")
_HE, _SHE = {"he", "him", "his"}, {"she", "her", "hers"}


@dataclass
class ReplyPlan:
    """What will be said for one turn, before anything is said."""

    choice: StrategyChoice
    situation: str
    ack: str
    follow: str = ""
    follow_is_question: bool = True
    crisis: str = ""
    focus: Person | None = None
    slots: dict[str, str] = field(default_factory=dict)

    @property
    def strategy(self) -> Strategy:
        return self.choice.strategy

    @property
    def framed(self) -> bool:
        """May the day's disclosure and a skill's closing question go with this reply? (not after a goodbye)"""
        return self.strategy not in NO_FRAMING and self.situation != "goodbye"


class Responder:
    """Chooses and fills the words of a reply; asks the language model for one guarded question."""

    def __init__(self, llm: ReplyGenerator | None, understanding: Understanding, settings: Settings, *,
                 model: StrategyModel | None = None, people: People | None = None,
                 bank: banks.Banks | None = None) -> None:
        self.llm = llm
        self.understanding = understanding
        self.settings = settings
        self.model = model or shared_model(understanding)
        self.people = people
        self.banks = bank or banks.shipped()
        self.model_strategies = LLM_STRATEGIES  # where the model may propose the follow-up question
        self.quiet_until: datetime | None = None
        self._recent: deque[tuple[datetime, Strategy]] = deque(maxlen=6)
        self._focus: tuple[datetime, Person] | None = None
        self._said: deque[str] = deque(maxlen=24)
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- choosing the words

    def plan(self, turn: TurnInput) -> ReplyPlan:
        """Strategy, situation and the filled bank lines for this turn (no side effects)."""
        reading = self.understanding.read(turn.text)
        now = turn.at
        recent = [Recent(s, (now - at).total_seconds()) for at, s in reversed(self._recent)]
        choice = self.model.choose(reading, voice_mood(turn.emotion), recent)
        mentioned = self._mentioned(turn)
        focus = self._focus_for(choice.strategy, reading.norm, mentioned, now)
        if choice.strategy is Strategy.CHAT and focus is not None and not focus.alive:
            # "I keep thinking about George" when memory knows George died is grief, not small talk
            choice = StrategyChoice(Strategy.COMFORT, choice.confidence, "memory", choice.words, probs=choice.probs)
        own = self.settings.conversation.assistant_name
        where = situation(choice.strategy, reading.norm, focus, choice.basis, choice.misheard, own)
        if choice.strategy is Strategy.DECLINE and where == "general":
            # nothing to decline (no medicine, purchase, money or booking): "what should I have for dinner?" is chat
            choice = StrategyChoice(Strategy.CHAT, choice.confidence, "words", choice.words, probs=choice.probs)
            where = situation(Strategy.CHAT, reading.norm, focus, choice.basis, False, own)
        if choice.strategy is Strategy.COMFORT and where == "sad" and lonely(reading.norm):
            where = "lonely"
        slots = self._slots(turn, focus, reading.norm)
        section = self.banks.section(choice.strategy.value, where)
        key = reading.norm
        said = list(self._said)
        ack = banks.pick(section.ack, slots, key, said)
        follow = banks.pick(section.follow, slots, key + "/follow", said + [ack]) if section.follow else ""
        crisis = banks.fill(section.crisis, slots) if section.crisis and banks.usable([section.crisis], slots) else ""
        return ReplyPlan(choice, where, ack, follow, not section.follow_statement, crisis, focus, slots)

    def quiet(self, now: datetime) -> bool:
        """Is she owed some quiet (no check-ins, no non-urgent questions) right now?"""
        return self.quiet_until is not None and now < self.quiet_until

    def start_quiet(self, now: datetime) -> datetime:
        """She asked for quiet or was irritated: hold proactive speech for the configured while."""
        self.quiet_until = now + timedelta(seconds=self.settings.conversation.quiet_after_irritation_s)
        return self.quiet_until

    def commit(self, plan: ReplyPlan, turn: TurnInput, said: str) -> None:
        """A reply built from `plan` was spoken: remember the strategy, the person and the lines."""
        with self._lock:
            self._recent.append((turn.at, plan.strategy))
            if plan.focus is not None and plan.focus.status is not PersonStatus.HERSELF:
                self._focus = (turn.at, plan.focus)
            for line in re.split(r"(?<=[.!?])\s+", said):
                if line:
                    self._said.append(line)

    # ---------------------------------------------------------------- the model's one sentence

    def asks_model(self, plan: ReplyPlan) -> bool:
        """May the language model propose this reply's follow-up question?"""
        return (plan.strategy in self.model_strategies and plan.follow_is_question and plan.choice.basis != "voice"
                and self.llm is not None)

    def follow_up(self, plan: ReplyPlan, turn: TurnInput, history: list[tuple[str, str]], cancel: threading.Event,
                  gen: Generation) -> str:
        """The model's question if it is good enough for her, else the bank's follow-up (maybe "")."""
        if not self.asks_model(plan) or cancel.is_set():
            return plan.follow
        try:
            proposed = self.llm.follow_up(plan.strategy.value, turn.text, plan.ack, history=history, cancel=cancel,
                                          gen=gen)
        except Exception:  # the model failing never costs her the reply
            log.exception("follow-up generation failed; using the bank's")
            return plan.follow
        verdict = self.judge(proposed, plan, turn)
        if verdict:
            log.info("model's follow-up dropped (%s): %r", verdict, proposed)
            return plan.follow
        return proposed

    def judge(self, sentence: str, plan: ReplyPlan, turn: TurnInput) -> str:
        """Why a proposed sentence must not be said ("" when it may)."""
        if not sentence:
            return "nothing proposed"
        verdict = review(sentence, self._context(plan, turn))  # what hurts first, then what is merely not good
        if not verdict.ok:
            return verdict.rule
        words = sentence.split()
        if not sentence.endswith("?") or not 3 <= len(words) <= MAX_QUESTION_WORDS:
            return "not a short question"
        norm = normalize(sentence)
        for line in [plan.ack, plan.follow, *self._said]:
            if line and difflib.SequenceMatcher(None, norm, normalize(line)).ratio() > 0.8:
                return "repeats what was said"
        if difflib.SequenceMatcher(None, norm, normalize(turn.text)).ratio() > 0.8:
            return "echoes her"
        used = set(_PRONOUN.findall(norm))
        focus = plan.focus
        if used:
            if focus is None or focus.pronouns is None:
                return "a person from nowhere"
            if used & (_SHE if focus.pronouns[0] == "he" else _HE):
                return "wrong person"
        if not content_stems(norm) & content_stems(normalize(turn.text)):
            return "not about what she said"  # the 270M model parrots its examples ("Where did you go dancing?")
        similarity = float(self.understanding.read(sentence).vector @ self.understanding.read(turn.text).vector)
        if similarity < RELEVANCE_MIN:
            return "off her topic"
        return ""

    def _context(self, plan: ReplyPlan, turn: TurnInput) -> ReplyContext:
        names = {plan.slots.get("assistant", "").lower(), plan.slots.get("contact", "").lower()}
        deceased: set[str] = set()
        facts = []
        if plan.focus is not None and plan.focus.name:
            names.add(plan.focus.name.lower())
        if self.people is not None:
            try:
                for p in self.people.mentioned(turn.text, turn.local_time.date()):
                    names.add(p.name.lower())
                deceased = {p.name.lower() for p in self.people.deceased() if p.name}
            except Exception:  # memory trouble must not silence the reply
                log.exception("people lookup failed")
        facts.append(f"{turn.local_time:%A %B}")
        grieving = plan.focus is not None and not plan.focus.alive
        return ReplyContext(plan.strategy.value, turn.text, frozenset(names - {""}), frozenset(deceased), grieving,
                            " ".join(facts))

    # ---------------------------------------------------------------- who she is talking about

    def _mentioned(self, turn: TurnInput) -> list[Person]:
        if self.people is None:
            return []
        try:
            return [p for p in self.people.mentioned(turn.text, turn.local_time.date()) if p.status is not PersonStatus.HERSELF]
        except Exception:
            log.exception("people lookup failed")
            return []

    def _focus_for(self, strategy: Strategy, norm: str, mentioned: list[Person], now: datetime) -> Person | None:
        """The person this turn is about: named or referred to now, else "him"/"her" from earlier or memory."""
        if mentioned:
            if strategy in (Strategy.COMFORT, Strategy.SAFETY_CHECK):
                gone = [p for p in mentioned if not p.alive]
                return gone[0] if gone else mentioned[0]
            living = [p for p in mentioned if p.alive]
            return (living or mentioned)[0]
        pronouns = set(_PRONOUN.findall(norm))
        if not pronouns:
            return None
        wanted = "he" if pronouns & _HE else "she"
        if self._focus is not None and (now - self._focus[0]).total_seconds() <= FOCUS_WINDOW_S:
            person = self._focus[1]
            if person.pronouns is None or person.pronouns[0] == wanted:
                return person
        if strategy is Strategy.COMFORT and self.people is not None:
            try:
                gone = [p for p in self.people.deceased()
                        if p.status is not PersonStatus.PET and p.pronouns is not None and p.pronouns[0] == wanted]
            except Exception:
                log.exception("people lookup failed")
                gone = []
            if len(gone) == 1:  # "I miss him" and memory knows exactly one man she has lost
                return gone[0]
        return None

    def _slots(self, turn: TurnInput, focus: Person | None, norm: str) -> dict[str, str]:
        c = self.settings.conversation
        local = turn.local_time
        part = ("morning" if 5 <= local.hour < 12 else "afternoon" if local.hour < 18
                else "evening" if local.hour < 22 else "night")
        slots = {"assistant": c.assistant_name, "crisis": _speakable(self.settings.safety.crisis_line),
                 "today": f"{local:%A} {part}", "date": f"{local:%A}, the {_ordinal(local.day)} of {local:%B}",
                 "farewell": "Goodnight, sleep well." if part in ("evening", "night") else "Bye for now, take care."}
        if focus is not None and focus.status is not PersonStatus.HERSELF:
            if focus.name:
                slots["name"] = focus.name
            if focus.relation:
                slots["relation"] = focus.relation
            if focus.pronouns:
                slots["he"], slots["him"], slots["his"] = focus.pronouns
            who = focus.name or (f"your {focus.relation}" if focus.relation else "")
            if who:
                slots["who"] = who
                slots["whos"] = who + ("'" if who.endswith("s") else "'s")
        from companion.loop.situations import EVENT_NOUNS, celebrated

        event = celebrated(norm)
        if event in EVENT_NOUNS:
            slots["event"] = EVENT_NOUNS[event]
        if self.people is not None:
            try:
                contacts = [p.name for p in self.people.contacts()
                            if p.name and (focus is None or p.name != focus.name)]
            except Exception:
                log.exception("people lookup failed")
                contacts = []
            if contacts:
                slots["contact"] = contacts[0]
        return slots


_FUNCTION_WORDS = frozenset("""
what when where which who whom whose why how was were are is am be been being have has had having do does did
doing done will would could should shall can may might must you your yours yourself they them their there then
than that this these those with about from into onto over under after before again also just really very much
many more most some any each every other else here today tonight yesterday tomorrow time times like kind sort
thing things something anything nothing well good nice lovely great tell told said feel feeling felt make made
want wanted going gone come came get got give gave take took know knew think thought right still ever never
all not and but the for of to in on at by it its his her him she he we us our my me mine
""".split())


def content_stems(norm: str) -> set[str]:
    """The content words of normalised text, cut to four letters ("dancing" and "dance" meet)."""
    return {w[:4] for w in norm.split() if len(w) >= 3 and w not in _FUNCTION_WORDS}


def voice_mood(emotion: object) -> VoiceMood | None:
    """What her voice said this turn (only an estimate that heard her voice counts)."""
    if emotion is None or getattr(emotion, "source", "") != "voice+words":
        return None
    try:
        return VoiceMood(str(emotion.category), float(emotion.confidence))  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return None


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _speakable(number: str) -> str:
    """Short numbers digit by digit ("9 8 8"), which the voice says more clearly."""
    return " ".join(number) if number.isdigit() and len(number) <= 4 else number
