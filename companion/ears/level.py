"""Her voice or the room? A level gate on top of the VAD, so a TV below her voice does not hold her turn open.

WebRTC's VAD says "speech" for any speech, a television's included. The gate
keeps two levels: the room's (what the microphone hears when she is not
talking, measured all the time, a TV included) and hers (from the wake word
she just said until she has spoken a few syllables, then from her own speech:
people raise their voice for a wake word). A block counts as her voice only if
the VAD calls it speech *and* it is clearly above the room and not far below
her. Starting an utterance asks more than going on with one (hysteresis): an
onset must stand well above the room, so a TV's loud syllables cannot open a
turn, while her soft syllables mid-sentence still count.
Levels are block RMS in dB relative to full scale.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

ROOM_BLOCKS = 312  # ~10 s of 32 ms blocks: how much of the room's recent sound sets its level
HER_BLOCKS = 94  # ~3 s of her voiced blocks set her level
ROOM_PERCENTILE = 80  # a TV's loud syllables, not its pauses, are what must be kept out
HER_PERCENTILE = 80
ABOVE_ROOM_DB = 6.0  # her voice is at least this much above the room's
BELOW_HER_DB = 25.0  # and at most this much below her own level (her softest syllables lie ~20-30 dB under)
ONSET_ROOM_EXTRA_DB = 6.0  # to start an utterance a block must be 12 dB above the room: a TV's loud syllables
# reach ~9 dB over its usual level, her first stressed syllable is well above that
LIKE_ROOM_DB = 3.0  # a block at most this far above the room's level is the room (a TV's usual syllables)
HER_SETTLED_BLOCKS = 8  # after this many blocks of her speech, the wake word no longer sets her level
FLOOR_DB = -90.0


class Heard(NamedTuple):
    """What one block was: her voice, or speech that sounds like the room (a TV's talk), or neither."""

    hers: bool
    room: bool


def level_db(block: np.ndarray) -> float:
    """RMS level of an int16 block in dB full scale."""
    if not len(block):
        return FLOOR_DB
    rms = float(np.sqrt(np.mean(block.astype(np.float64) ** 2))) / 32768.0
    return max(FLOOR_DB, 20.0 * np.log10(rms + 1e-12))


class VoiceGate:
    """Decides, block by block, whether the VAD's "speech" is her voice or the room under it."""

    def __init__(self, above_room_db: float = ABOVE_ROOM_DB, below_her_db: float = BELOW_HER_DB) -> None:
        self.above_room_db = above_room_db
        self.below_her_db = below_her_db
        self._room: deque[float] = deque(maxlen=ROOM_BLOCKS)
        self._her: deque[float] = deque(maxlen=HER_BLOCKS)
        self._wake: list[float] = []  # the wake word's loud blocks: her level until her speech says otherwise
        self._recent: deque[float] = deque(maxlen=32)  # the last ~1 s, whatever it was (holds the wake word)

    @property
    def room_db(self) -> float | None:
        """The room's level (a high percentile of what it sounds like without her), None until heard."""
        return float(np.percentile(self._room, ROOM_PERCENTILE)) if len(self._room) >= 8 else None

    @property
    def her_db(self) -> float | None:
        """Her speaking level, None until she has spoken (or said the wake word)."""
        levels = list(self._her) if len(self._her) >= HER_SETTLED_BLOCKS else self._wake + list(self._her)
        return float(np.percentile(levels, HER_PERCENTILE)) if levels else None

    def threshold_db(self, *, onset: bool = False) -> float:
        """The level a speech block must reach to be hers (`onset`: to start an utterance)."""
        t = FLOOR_DB
        if (room := self.room_db) is not None:
            t = max(t, room + self.above_room_db + (ONSET_ROOM_EXTRA_DB if onset else 0.0))
        if (her := self.her_db) is not None:
            t = max(t, her - self.below_her_db)
        return t

    def listen_room(self, block: np.ndarray) -> None:
        """Feed a block heard while nobody is being listened to (idle, speaking): it is the room."""
        db = level_db(block)
        self._recent.append(db)
        self._room.append(db)

    def heard_wake_word(self) -> None:
        """She just said the wake word: its loudest part sets her level, and it is no part of the room."""
        if not self._recent:
            return
        loud = sorted(self._recent)[-max(1, len(self._recent) // 4):]  # the wake word's voiced quarter
        self._her.clear()
        self._wake = loud
        for _ in range(min(len(self._room), len(self._recent))):
            self._room.pop()  # those blocks were her, not the room

    def forget_her(self) -> None:
        """A new voice may speak (the talk button, a long silence): judge by the room alone."""
        self._her.clear()
        self._wake = []

    def judge(self, block: np.ndarray, vad_speech: bool, *, learn_room: bool = True, onset: bool = False) -> Heard:
        """Her voice, the room's talk, or neither? Updates her level, and the room's (unless our reply is playing).

        `onset`: she has not started speaking yet, so the block must meet the stricter onset level.
        Speech that is not hers "sounds like the room" when it is no louder than the room's usual
        level (a TV's usual syllables), not like someone close by.
        """
        db = level_db(block)
        self._recent.append(db)
        hers = vad_speech and db >= self.threshold_db(onset=onset)
        if hers:
            self._her.append(db)
        elif learn_room:
            self._room.append(db)
        room = self.room_db
        return Heard(hers, vad_speech and not hers and room is not None and db < room + LIKE_ROOM_DB)
