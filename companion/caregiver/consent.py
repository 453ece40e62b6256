"""Her say over being quoted: the family may ask for her own words in summaries and alerts
(`[caregiver] share_words = true`), but they are shared only once *she* has agreed.

Asked like the mood consent: explained in plain words after a reply (a closing question, never
while another question is open and never before the mood question is settled), at most once a day
and three times in all; only her next turn answers it (the dialogue's answer slot). "Don't share my words" / "you can share my words" change it at any time.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from companion.clock import Clock
from companion.config import Settings
from companion.emotion.consent import CONSENT_KEY as MOOD_CONSENT_KEY
from companion.emotion.consent import REASK_AFTER_S, consent_answer  # asked at the mood question's pace
from companion.language import normalize
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput

log = logging.getLogger(__name__)

QUOTE_CONSENT_KEY = "caregiver.quote_consent"  # {"answer": "yes"|"no", "at": iso, "how": "asked"|"voice"}
QUOTE_ASKS_KEY = "caregiver.quote_asks"  # {"count": n, "at": iso}
QUOTE_ASKS_MAX = 3

QUOTE_QUESTION = ("Your family asked me something. When I tell them you mentioned a worry, like pain or feeling "
                  "lonely, they would like to see your own words, not only the topic. Nothing else you say is "
                  "shared, and you can change your mind any time. May I include your words?")
QUOTE_REPLY_YES = "Thank you. I'll include your own words when I tell them about a worry. Say 'don't share my words' to stop."
QUOTE_REPLY_NO = "That's fine. I'll only tell them the topic, never your words."
QUOTE_REPLY_OFF = "All right. From now on your family only hears the topic, never your own words."
QUOTE_REPLY_ON = "Thank you. I'll include your own words when I tell them about a worry."

_WORDS = re.compile(r"\b(?:my (?:own )?words|what i say|what i said|quote me|quoting me)\b")
_OFF = re.compile(r"\b(?:do not|stop|never|no longer|not)\b")
_ON = re.compile(r"\b(?:can|may|you can|go ahead|allowed|please|ok|okay|fine|share)\b")


def quote_command(text: str) -> str | None:
    """'off' or 'on' when she talks about sharing her words, else None."""
    t = normalize(text)
    if not _WORDS.search(t) or not re.search(r"\b(?:shar\w*|tell\w*|send\w*|quot\w*|pass\w* on|include)\b", t):
        return None
    if _OFF.search(t):
        return "off"
    return "on" if _ON.search(t) else None


def words_may_be_shared(settings: Settings, store: Any) -> bool:
    """The family asked for her words AND she agreed."""
    if not settings.caregiver.share_words:
        return False
    try:
        answer = (store.get(QUOTE_CONSENT_KEY) or {}).get("answer")
    except Exception:
        return False
    return answer == "yes"


class QuoteConsentSkill(BaseSkill):
    """Asks her once (see module docstring), hears her answer and her later changes of mind."""

    name = "quote_consent"

    def __init__(self, settings: Settings, store: Any, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    def _set(self, yes: bool, how: str) -> None:
        self.store.put(QUOTE_CONSENT_KEY, {"answer": "yes" if yes else "no", "at": self.clock.now().isoformat(), "how": how})
        log.info("quoting her words: %s (%s)", "yes" if yes else "no", how)

    def closing_line(self, turn: TurnInput) -> Reply | None:
        """The question, after a reply, when the family asked and she has not answered."""
        if not self.settings.caregiver.share_words or self.store.get(QUOTE_CONSENT_KEY):
            return None
        if self.settings.emotion.mode == "ask" and self.store.get(MOOD_CONSENT_KEY) is None:
            return None  # one question at a time: the mood question comes first
        asks = self.store.get(QUOTE_ASKS_KEY) or {"count": 0, "at": None}
        now = self.clock.now()
        if asks["count"] >= QUOTE_ASKS_MAX:
            return None
        if asks["at"] and (now - datetime.fromisoformat(asks["at"])).total_seconds() < REASK_AFTER_S:
            return None
        self.store.put(QUOTE_ASKS_KEY, {"count": asks["count"] + 1, "at": now.isoformat()})
        return Reply(QUOTE_QUESTION, "quote_consent_question", asks=Ask("quote_consent", window_s=60.0))

    def claims(self, text: str) -> bool:
        return quote_command(text) is not None

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her yes or no to the question (or a command about it); anything else passes on."""
        reply = self.handle(turn)
        if reply is not None:
            return reply
        answer = consent_answer(turn.text)
        if answer is None:
            return None
        self._set(answer, "asked")
        return Reply(QUOTE_REPLY_YES if answer else QUOTE_REPLY_NO, "quote_consent_answer")

    def handle(self, turn: TurnInput) -> Reply | None:
        """A change of mind: "don't share my words" / "you can share my words"."""
        command = quote_command(turn.text)
        if command == "off":
            self._set(False, "voice")
            return Reply(QUOTE_REPLY_OFF, "quote_consent_off")
        if command == "on":
            self._set(True, "voice")
            return Reply(QUOTE_REPLY_ON, "quote_consent_on")
        return None
