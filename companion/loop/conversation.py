"""The one state machine that owns the conversation: every transition goes through it."""

from __future__ import annotations

import enum
import logging
import threading
from typing import Callable

from companion.loop.events import Source, State

log = logging.getLogger(__name__)


class Trigger(enum.Enum):
    """What can move the conversation."""

    WAKE = "wake"  # wake word or talk button
    SPEECH_ENDED = "speech_ended"  # the endpointer closed her turn
    NO_SPEECH = "no_speech"  # nobody spoke (after wake or in the follow-up window)
    SPEAKING = "speaking"  # first reply audio is playing
    REPLY_DONE = "reply_done"  # the reply finished; open the follow-up window
    DONE = "done"  # finished, and nothing to follow up (e.g. "stop")
    BARGE_IN = "barge_in"  # she interrupted: stop and listen
    RESUMED = "resumed"  # she went on right after an endpoint: stop the reply, the same turn goes on
    ANNOUNCE = "announce"  # the companion speaks first (routine, alert confirmation)
    MUTE = "mute"
    UNMUTE = "unmute"
    ERROR = "error"  # a turn failed: apologise and go idle


S, T = State, Trigger
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (S.IDLE, T.WAKE): S.LISTENING,
    (S.IDLE, T.ANNOUNCE): S.THINKING,
    (S.LISTENING, T.WAKE): S.LISTENING,
    (S.LISTENING, T.SPEECH_ENDED): S.THINKING,
    (S.LISTENING, T.NO_SPEECH): S.IDLE,
    (S.LISTENING, T.ANNOUNCE): S.THINKING,
    (S.THINKING, T.SPEAKING): S.SPEAKING,
    (S.THINKING, T.REPLY_DONE): S.LISTENING,
    (S.THINKING, T.DONE): S.IDLE,
    (S.THINKING, T.BARGE_IN): S.LISTENING,
    (S.THINKING, T.WAKE): S.LISTENING,
    (S.THINKING, T.RESUMED): S.LISTENING,
    (S.SPEAKING, T.RESUMED): S.LISTENING,
    (S.SPEAKING, T.REPLY_DONE): S.LISTENING,
    (S.SPEAKING, T.DONE): S.IDLE,
    (S.SPEAKING, T.BARGE_IN): S.LISTENING,
    (S.SPEAKING, T.WAKE): S.LISTENING,
    (S.MUTED, T.UNMUTE): S.IDLE,
}
for _s in (S.IDLE, S.LISTENING, S.THINKING, S.SPEAKING):
    TRANSITIONS[(_s, T.MUTE)] = S.MUTED
    TRANSITIONS[(_s, T.ERROR)] = S.IDLE
TRANSITIONS[(S.MUTED, T.ERROR)] = S.MUTED


class Conversation:
    """Holds the current State; `fire` applies a trigger if it is allowed from here.

    Listeners (LEDs, logs, tests) are called after every change with
    (previous, current). Illegal triggers are ignored and logged at debug
    level, because they are normal races (a button pressed twice).
    """

    def __init__(self, initial: State = State.IDLE) -> None:
        self._state = initial
        self._lock = threading.RLock()
        self._listeners: list[Callable[[State, State], None]] = []
        self.listening_source: Source | None = None  # why we are listening (wake word, button, follow-up)
        self.history: list[tuple[State, Trigger, State]] = []

    @property
    def state(self) -> State:
        return self._state

    def add_listener(self, fn: Callable[[State, State], None]) -> None:
        """Call `fn(previous, current)` after every transition."""
        self._listeners.append(fn)

    def fire(self, trigger: Trigger, source: Source | None = None) -> bool:
        """Apply `trigger`; returns False (and changes nothing) if not allowed now."""
        with self._lock:
            prev = self._state
            nxt = TRANSITIONS.get((prev, trigger))
            if nxt is None:
                log.debug("ignored %s in %s", trigger.value, prev.value)
                return False
            self._state = nxt
            if nxt is State.LISTENING:
                self.listening_source = Source.FOLLOW_UP if trigger is Trigger.REPLY_DONE else (source or Source.WAKE_WORD)
            self.history.append((prev, trigger, nxt))
            del self.history[:-200]
        if nxt is not prev:
            log.info("state %s → %s (%s)", prev.value, nxt.value, trigger.value)
        for fn in list(self._listeners):
            try:
                fn(prev, nxt)
            except Exception:  # a broken LED must not break the conversation
                log.exception("state listener failed")
        return True
