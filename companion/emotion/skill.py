"""Mood sensing as a skill: her consent, her voice baseline, and one estimate per turn.

Nothing is sensed until she agrees (or the family pre-approved it with
`[emotion] mode = "on"`); she can stop it or allow it again by voice at any
time, and the answer persists in the store. Raw audio is dropped as soon as
the features are extracted; only the estimate is kept, in the `mood` table.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

import numpy as np

from companion.audio import prosody
from companion.clock import Clock
from companion.emotion.fusion import EmotionEstimate, fuse
from companion.emotion.model import Baseline, EmotionModel
from companion.errors import AudioFormatError
from companion.loop.skills import BaseSkill, Reply, TurnInput
from companion.store.journal import MoodRow

log = logging.getLogger(__name__)

CONSENT_KEY = "emotion.consent"  # {"answer": "yes"|"no", "at": iso, "how": "asked"|"voice"}
ASKS_KEY = "emotion.asks"  # {"count": n, "at": iso of the last ask} while she has not answered
REASK_AFTER_S = 20 * 3600  # an unanswered question comes back on a later day, never within a conversation
BASELINE_KEY = "emotion.baseline"  # Baseline.to_dict()

CONSENT_QUESTION = (
    "One thing before we chat: with your permission, I can notice from your voice and your words "
    "whether you seem cheerful, tired or low, so that I can answer more kindly. It stays on this device, "
    "and you can tell me to stop at any time. Is that all right with you?"
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
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|ok|okay|alright|all right|fine|of course|certainly|please|go ahead|that's fine|"
    r"that's all right|that's ok|that's okay|i don't mind|no problem|no worries|why not|please do|i suppose so|i agree)\b"
)
_NO = re.compile(r"^(?:no|nope|nah|not really|i'd rather not|rather not|i don't want|please don't|don't|do not|no thank)\b")


def mood_command(text: str) -> str | None:
    """'off', 'on' or 'status' when she talks about the mood sensing itself, else None."""
    t = _norm(text)
    if not (_MOOD.search(t) and _VERB.search(t)) and "mood sensing" not in t:
        return None
    if _OFF.search(t):
        return "off"
    if _QUESTION.search(t):
        return "status"
    return "on" if _ON.search(t) else None


def consent_answer(text: str) -> bool | None:
    """Her yes (True) or no (False) to the consent question, or None if she said something else."""
    t = _norm(text)
    if _YES.search(t):
        return True
    if _NO.search(t):
        return False
    return None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", text.lower().replace("’", "'"))).strip()


class EmotionSkill(BaseSkill):
    """Consent commands, the first-conversation question, and per-turn mood estimates."""

    name = "emotion"

    def __init__(self, store: Any, settings: Any, clock: Clock, model: EmotionModel | None = None) -> None:
        self.store = store
        self.settings = getattr(settings, "emotion", settings)  # a whole Settings or its [emotion] section
        self.clock = clock
        self._model = model  # loaded on first use: start-up stays fast when sensing is off
        self._awaiting_answer = False
        self._baseline: Baseline | None = None

    @classmethod
    def from_settings(cls, settings: Any, store: Any, clock: Clock) -> "EmotionSkill":
        """The skill with the configured (or shipped) model."""
        path = getattr(getattr(settings, "emotion", settings), "model_path", "")
        return cls(store, settings, clock, EmotionModel.load(path) if path else None)

    def warm_up(self) -> None:
        """Load the weights and the sentiment lexicon now, so the first turn doesn't pay for it."""
        from companion.emotion.fusion import text_sentiment

        if self.settings.mode != "off":
            _ = self.model
            text_sentiment("hello")
            noise = np.random.default_rng(0).standard_normal(prosody.SAMPLE_RATE_HZ).astype(np.float32) * 0.01
            prosody.extract(noise)  # imports scipy's signal/fft modules and builds the filterbanks

    # ------------------------------------------------------------------ consent

    @property
    def model(self) -> EmotionModel:
        """The voice classifier (the shipped weights unless one was injected)."""
        if self._model is None:
            self._model = EmotionModel.load()
        return self._model

    def consent(self) -> bool | None:
        """Her stored answer: True, False, or None if she has not answered."""
        c = self.store.get(CONSENT_KEY)
        return None if not c else c.get("answer") == "yes"

    def active(self) -> bool:
        """Whether mood sensing runs now (config mode and her answer)."""
        if self.settings.mode == "off":
            return False
        answer = self.consent()
        return answer if answer is not None else self.settings.mode == "on"

    def _set_consent(self, yes: bool, how: str) -> None:
        self.store.put(CONSENT_KEY, {"answer": "yes" if yes else "no", "at": self.clock.now().isoformat(), "how": how})
        log.info("mood sensing consent: %s (%s)", "yes" if yes else "no", how)

    def first_conversation_prompt(self) -> str | None:
        """The consent explanation and question to speak at the start of a conversation, or None.

        Asked while mode is "ask" and she has not answered, at most once a day
        and `consent_asks_max` times in all; only her next turn can answer it.
        """
        if self.settings.mode != "ask" or self.consent() is not None:
            return None
        asks = self.store.get(ASKS_KEY) or {"count": 0, "at": None}
        now = self.clock.now()
        if asks["count"] >= self.settings.consent_asks_max:
            return None
        if asks["at"] and (now - datetime.fromisoformat(asks["at"])).total_seconds() < REASK_AFTER_S:
            return None
        self.store.put(ASKS_KEY, {"count": asks["count"] + 1, "at": now.isoformat()})
        self._awaiting_answer = True
        return CONSENT_QUESTION

    def opening_line(self, turn: TurnInput) -> str | None:
        """`first_conversation_prompt()` in the engine's opener signature."""
        return self.first_conversation_prompt()

    def handle(self, turn: TurnInput) -> Reply | None:
        """Answer mood-sensing commands and her answer to the consent question."""
        command = mood_command(turn.text)
        awaiting, self._awaiting_answer = self._awaiting_answer, False  # one chance: never hijack later turns
        if command == "off":
            self._set_consent(False, "voice")
            return Reply(REPLY_OFF, "emotion_consent_off")
        if command == "on":
            if self.settings.mode == "off":
                return Reply(REPLY_DISABLED, "emotion_consent_on")
            self._set_consent(True, "voice")
            return Reply(REPLY_ON, "emotion_consent_on")
        if command == "status":
            return Reply(self._spoken_status(), "emotion_status")
        if awaiting:
            answer = consent_answer(turn.text)
            if answer is not None:
                self._set_consent(answer, "asked")
                return Reply(REPLY_YES if answer else REPLY_NO, "emotion_consent_answer")
        return None

    def _spoken_status(self) -> str:
        if self.active():
            return "Yes. With your permission I notice from your voice and words how you seem, to answer more kindly. Say 'stop listening to my mood' to stop it."
        if self.settings.mode == "off":
            return "No. Noticing your mood is switched off in my settings."
        return "No, I'm not paying attention to your mood. Say 'you can read my mood again' if you'd like me to."

    def status(self) -> str:
        """One line for `companion doctor` ("on (...)" or "off (...)"), after its "mood sensing" label."""
        c = self.store.get(CONSENT_KEY) or {}
        answer = f"her answer: {c['answer']} ({c.get('how')}, {c.get('at')})" if c else "she has not answered yet"
        state = "on" if self.active() else "off"
        b = self._load_baseline()
        need = self.settings.baseline_min_utterances
        personal = "in use" if b.count >= need else f"not yet ({need} needed)"
        return f"{state} (mode={self.settings.mode}, {answer}); voice baseline {b.count} utterances, {personal}"

    # ------------------------------------------------------------------ estimates

    def _load_baseline(self) -> Baseline:
        if self._baseline is None:
            n = len(prosody.FEATURE_NAMES)
            stored = self.store.get(BASELINE_KEY)
            window = self.settings.baseline_window_utterances
            self._baseline = Baseline.from_dict(stored, n) if stored else Baseline(n, window)
            self._baseline.window = window
        return self._baseline

    def estimate(self, turn: TurnInput, record: bool = True) -> EmotionEstimate | None:
        """This turn's mood (None when sensing is off); drops the raw audio.

        With `record` (a finished turn, not a speculative partial) the estimate
        is logged to `mood` and the utterance joins her voice baseline.
        """
        if not self.active():
            turn.discard_audio()
            return None
        voice = None
        if turn.audio is not None:
            try:
                feats = prosody.extract(turn.audio, words=turn.words)
            except AudioFormatError as exc:
                log.info("no prosody for this turn: %s", exc)
                feats = None
            turn.discard_audio()
            if feats is not None and feats.voiced_s >= self.settings.min_voiced_s:
                baseline = self._load_baseline()
                personal = baseline if baseline.count >= self.settings.baseline_min_utterances else None
                voice = self.model.predict(feats.vector, personal)
                if record:  # after predicting: the turn is judged against her past, not itself
                    baseline.update(feats.vector)
                    self.store.put(BASELINE_KEY, baseline.to_dict(), defer=True)  # written with the turn
        if voice is None and not turn.text.strip():
            return None
        est = fuse(turn.at, turn.text, voice)
        if record:
            self.store.journal.append(MoodRow.from_dict(est.to_dict()), defer=True)  # written with the turn
        turn.emotion = est
        return est

    def context(self, turn: TurnInput) -> str:
        """Nothing: the engine adds `turn.emotion.prompt_hint()` itself (adding it here would repeat it)."""
        return ""
