"""Her consent to mood sensing: the stored answer, the question, and the voice commands.

Nothing is sensed until she agrees (or the family pre-approved it with
`[emotion] mode = "on"`); she can stop it or allow it again by voice at any
time, and the answer persists in the store. The question is a closing line:
it is asked after a reply, never in place of another open question, and only
her next turn can answer it (the dialogue's answer slot routes it here).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from companion.clock import Clock
from companion.config import EmotionSettings
from companion.language import normalize, yes_no
from companion.loop.skills import Ask, BaseSkill, Question, Reply, TurnInput

log = logging.getLogger(__name__)

CONSENT_KEY = "emotion.consent"  # {"answer": "yes"|"no", "at": iso, "how": "asked"|"voice"}
ASKS_KEY = "emotion.asks"  # {"count": n, "at": iso of the last ask} while she has not answered
REASK_AFTER_S = 20 * 3600  # an unanswered question comes back on a later day, never within a conversation

CONSENT_QUESTION = (  # asked after her answer, on a later turn of the first conversations (the onboarding)
    "May I also notice from your voice how you're feeling, so I can answer more kindly? "
    "It stays in this box, and you can tell me to stop any time."
)
REPLY_YES = "Thank you. I'll pay attention to how you sound. Just say 'stop listening to my mood' whenever you like."
REPLY_NO = "That's fine, I won't. If you change your mind, just say 'you can read my mood again'."
REPLY_OFF = "All right, I've stopped paying attention to your mood. Say 'you can read my mood again' if you change your mind."
REPLY_ON = "Thank you. I'll pay attention to how you sound again, so I can answer more kindly."
REPLY_DISABLED = "Noticing your mood is switched off in my settings; your family can turn it on in the configuration file."

_MOOD = re.compile(r"\b(?:moods?|feelings|emotions|how i feel|how i'm feeling|how i am feeling|how i sound)\b")
_VERB = re.compile(
    r"\b(?:listen(?:ing)?|read(?:ing)?|sens(?:e|ing)|track(?:ing)?|watch(?:ing)?|notic(?:e|ing)|check(?:ing)?|"
    r"analy[sz](?:e|ing)|monitor(?:ing)?|pay(?:ing)? attention|detect(?:ing)?|guess(?:ing)?|spy(?:ing)?|mood sensing)\b"
)
_OFF = re.compile(r"\b(?:stop|quit|cease|no longer|no more|never|turn off|switch off|leave)\b|\b(?:don't|do not|not to)\b(?! mind)(?! stop)")
_ON = re.compile(r"\b(?:again|can|may|start|turn on|switch on|resume|go ahead|allowed|please|ok|okay|fine|all right|alright|don't mind|do not mind)\b")
_QUESTION = re.compile(r"^(?:are|do|does|is|what|how|have)\b")
def mood_command(text: str) -> str | None:
    """'off', 'on' or 'status' when she talks about the mood sensing itself, else None."""
    t = normalize(text)
    if not (_MOOD.search(t) and _VERB.search(t)) and "mood sensing" not in t:
        return None
    if _OFF.search(t):
        return "off"
    if _QUESTION.search(t):
        return "status"
    return "on" if _ON.search(t) else None


def consent_answer(text: str) -> bool | None:
    """Her yes (True) or no (False) to the consent question, or None if she said something else."""
    return yes_no(text, yes=("fine",))


class MoodConsent:
    """Her stored answer and the config mode: whether mood sensing may run."""

    def __init__(self, store: Any, settings: EmotionSettings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def answer(self) -> bool | None:
        """Her stored answer: True, False, or None if she has not answered."""
        c = self.store.get(CONSENT_KEY)
        return None if not c else c.get("answer") == "yes"

    def active(self) -> bool:
        """Whether mood sensing runs now (config mode and her answer)."""
        if self.settings.mode == "off":
            return False
        answer = self.answer()
        return answer if answer is not None else self.settings.mode == "on"

    def set(self, yes: bool, how: str) -> None:
        """Store her answer ("asked" for the question, "voice" for a command)."""
        self.store.put(CONSENT_KEY, {"answer": "yes" if yes else "no", "at": self.clock.now().isoformat(), "how": how})
        log.info("mood sensing consent: %s (%s)", "yes" if yes else "no", how)

    def describe(self) -> str:
        """'on (mode=ask, her answer: yes (asked, ...))' for doctor and `emotion status`."""
        c = self.store.get(CONSENT_KEY) or {}
        answer = f"her answer: {c['answer']} ({c.get('how')}, {c.get('at')})" if c else "she has not answered yet"
        return f"{'on' if self.active() else 'off'} (mode={self.settings.mode}, {answer})"


class MoodConsentSkill(BaseSkill):
    """Voice commands about mood sensing, and the consent question after a reply in her first conversations."""

    name = "mood_consent"

    def __init__(self, consent: MoodConsent) -> None:
        self.consent = consent
        self.settings = consent.settings

    def question_due(self) -> bool:
        """Is the consent question due now (mode "ask", unanswered, at most once a day and asks_max times)?"""
        if self.settings.mode != "ask" or self.consent.answer() is not None:
            return False
        asks = self.consent.store.get(ASKS_KEY) or {"count": 0, "at": None}
        if asks["count"] >= self.settings.consent_asks_max:
            return False
        now = self.consent.clock.now()
        return not (asks["at"] and (now - datetime.fromisoformat(asks["at"])).total_seconds() < REASK_AFTER_S)

    def closing_line(self, turn: TurnInput) -> Reply | None:
        """The consent explanation and question, when due; saying it counts as one ask."""
        if turn.heavy or not self.question_due():
            return None  # never straight after grief, worry or irritation
        asks = self.consent.store.get(ASKS_KEY) or {"count": 0, "at": None}
        self.consent.store.put(ASKS_KEY, {"count": asks["count"] + 1, "at": self.consent.clock.now().isoformat()})
        # only her very next turn answers it: the window is the follow-up window, not minutes later
        return Reply(CONSENT_QUESTION, "emotion_consent_question", asks=Ask("consent", window_s=60.0))

    def claims(self, text: str) -> bool:
        return mood_command(text) is not None

    def handle(self, turn: TurnInput) -> Reply | None:
        """Answer mood-sensing commands ("stop listening to my mood", "you can read my mood again")."""
        command = mood_command(turn.text)
        if command == "off":
            self.consent.set(False, "voice")
            return Reply(REPLY_OFF, "emotion_consent_off")
        if command == "on":
            if self.settings.mode == "off":
                return Reply(REPLY_DISABLED, "emotion_consent_on")
            self.consent.set(True, "voice")
            return Reply(REPLY_ON, "emotion_consent_on")
        if command == "status":
            return Reply(self._spoken_status(), "emotion_status")
        return None

    def answer(self, turn: TurnInput, question: Question) -> Reply | None:
        """Her yes or no to the consent question; anything else passes on (the question is not repeated)."""
        reply = self.handle(turn)  # "stop listening to my mood" is an answer too
        if reply is not None:
            return reply
        yes = consent_answer(turn.text)
        if yes is None:
            return None
        self.consent.set(yes, "asked")
        return Reply(REPLY_YES if yes else REPLY_NO, "emotion_consent_answer")

    def _spoken_status(self) -> str:
        if self.consent.active():
            return ("Yes. With your permission I notice from your voice and words how you seem, to answer more "
                    "kindly. Say 'stop listening to my mood' to stop it.")
        if self.settings.mode == "off":
            return "No. Noticing your mood is switched off in my settings."
        return "No, I'm not paying attention to your mood. Say 'you can read my mood again' if you'd like me to."
