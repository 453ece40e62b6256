"""While she is speaking: her audio, the recogniser's words so far, when her speech ended, and a speculation.

A `Listening` exists from the moment the loop starts listening to her until
her turn is decided; dropping it is how an utterance ends (no counters). After
an endpoint it is kept for a short while (`ResumeWindow`): if she goes on, her
new words join the old ones in one turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from companion.ears.endpoint import Completeness, Endpointer, EndpointEvent
from companion.ears.stt import SpeechRecognizer
from companion.ears.words import Hypothesis, Transcript
from companion.loop.turn import Turn
from companion.voice.replies import ReplyJob

log = logging.getLogger(__name__)

RESUME_WINDOW_S = 1.5  # she goes on this soon after an endpoint: the same turn, not a new one
RESUME_LEAD_BLOCKS = 8  # ~250 ms kept before her resumed speech was confirmed (its first syllable)
PAUSE_KEPT_BLOCKS = 5  # of a pause inside her turn the recogniser hears ~160 ms at each side (long
# stretches of silence inside an utterance make Whisper stop early or repeat itself)
LEAD_BLOCKS = 16  # up to ~510 ms before her speech began is given to the recogniser (her first soft words)
ROOM_RUN_BLOCKS = 3  # ~100 ms that sound like the room: the lead-in starts after them


@dataclass(frozen=True)
class Speculation:
    """A reply started during her trailing silence for these words, held back until the turn is confirmed."""

    text: str  # her words, normalised, that the reply answers
    job: ReplyJob


class Listening:
    """One utterance being heard."""

    def __init__(self, turn: Turn, recognizer: SpeechRecognizer, endpointer: Endpointer, *, paced: bool,
                 prefix: str = "") -> None:
        self.turn = turn
        self.recognizer = recognizer
        self.endpointer = endpointer
        self.paced = paced  # False: audio comes faster than real time, so wait for each decode
        self.prefix = prefix  # words heard before an endpoint she went on after (streaming recognisers)
        self.blocks: list[np.ndarray] = []  # everything heard since listening began (for the mood stage)
        self.fed: list[np.ndarray] = []  # exactly what the recogniser was given (long pauses cut)
        self.held: list[np.ndarray] = []  # silence after her speech, not yet given to the recogniser
        self._lead_room: list[bool] = []  # for each block held before she spoke: did it sound like the room?
        self.speech_end_s: float | None = None  # audio clock: end of her last speech block
        self.speech_end_captured: float | None = None  # monotonic capture time of that block
        self.speculation: Speculation | None = None
        self.before = ""  # words heard up to an endpoint she went on after (whole-utterance recognisers)
        self.new_from = 0  # where in `fed` her going on begins

    @property
    def speaking(self) -> bool:
        """Has she started speaking?"""
        return self.endpointer.state.speech_start_s is not None

    def hypothesis(self) -> Hypothesis:
        """The recogniser's words so far, after any words from before a resumed endpoint."""
        hyp = self.recognizer.hypothesis()
        if not self.prefix:
            return hyp
        return Hypothesis(f"{self.prefix} {hyp.text}".strip(), hyp.last_word_confidence if hyp.text else 1.0,
                          hyp.settled, hyp.pending)

    def hear(self, block: np.ndarray, speech: bool, stream_s: float, captured: float, *,
             room: bool = False) -> EndpointEvent:
        """One microphone block (`speech`: the VAD and the level gate call it her voice).

        The recogniser hears her speech, a short lead-in before it and the edges of her pauses
        as they were, soft syllables and all: her first and last sounds are often below the
        gate. The lead-in starts after the last stretch that sounded like the room (`room`: no
        louder than its usual level, a TV's talk), so the TV's last words before hers are not
        taken for hers (`lead_in`). The middle of a long pause is never given to it (`shorten`).
        """
        ep = self.endpointer
        started = self.speaking
        event = ep.update(block, speech, self.hypothesis())
        counted = speech and ep.state.last_speech_s is not None and ep.state.last_speech_s >= ep.t - 1e-9
        if not self.speaking:  # before she speaks: only a short lead-in
            self.held = (self.held + [block])[-LEAD_BLOCKS:]
            self._lead_room = (self._lead_room + [room and not speech])[-LEAD_BLOCKS:]
        elif not started:  # she began: her first sounds, back to where the room last talked on its own
            self._feed(lead_in(self.held, self._lead_room) + [block])
            self.held = []
            if counted:
                self.speech_end_s, self.speech_end_captured = stream_s, captured
        elif counted:  # she went on: the recogniser gets the pause it skipped, shortened
            self._feed(shorten(self.held) + [block])
            self.held = []
            self.speech_end_s, self.speech_end_captured = stream_s, captured
        else:
            # Trailing silence: the words cannot change, so spare the CPU for the speculative reply.
            self.held.append(block)
        self.blocks.append(block)
        if event is EndpointEvent.PAUSED:
            self.recognizer.settle()  # a non-streaming recogniser decodes now, while the silence is timed
            if not self.paced:
                self.recognizer.wait()
        return event

    def _feed(self, blocks: list[np.ndarray]) -> None:
        for block in blocks:
            self.recognizer.accept(block)
        self.fed.extend(blocks)

    def audio(self) -> np.ndarray | None:
        """Everything heard in this utterance (int16), for the mood stage."""
        return np.concatenate(self.blocks) if self.blocks else None

    def cancel_speculation(self) -> None:
        """Drop the held-back reply (she went on, or the words changed)."""
        if self.speculation is not None:
            self.speculation.job.stop()
            self.speculation = None

    def ended_too_early(self, final: Hypothesis) -> bool:
        """Check an endpoint against the final words (a streaming partial can differ from them).

        If those words need a longer silence than she has left, the endpointer
        keeps listening, judging by them, and True is returned.
        """
        ep, st = self.endpointer, self.endpointer.state
        if st.speech_start_s is None or ep.t - st.speech_start_s >= ep.settings.max_utterance_s:
            return False
        s = ep.settings
        required = {Completeness.COMPLETE: s.complete_silence_ms, Completeness.UNSURE: s.default_silence_ms,
                    Completeness.INCOMPLETE: s.incomplete_silence_ms}[ep.completeness(final)]
        if st.silence_ms(ep.t) >= required:
            return False
        log.info("final words %r need %d ms of silence, not %d: still listening", final.text, required,
                 st.required_silence_ms)
        ep.reopen(final)
        return True

    def kept_words(self, joined: Transcript) -> Transcript:
        """The final words of a turn she went on with: the joined decode, unless it lost words.

        A whole-utterance recogniser hears everything again after she goes on, which usually
        gives better words. But Whisper folds a repeated sentence ("Where are my glasses? Where
        are my glasses?") into one. So what she added is also decoded on its own (a short piece,
        only in a turn she went on with); if the joined words are two or more short of the words
        from before plus those, the words from before stand and hers are added to them (as a
        streaming recogniser does anyway).
        """
        if not self.before:
            return joined
        added = self.recognizer.transcribe(np.concatenate(self.fed[self.new_from:])) if self.fed[self.new_from:] \
            else Transcript("")
        if len(joined.text.split()) >= len(self.before.split()) + len(added.text.split()) - 1:
            return joined
        log.info("the joined decode %r lost words of %r + %r: keeping both", joined.text, self.before, added.text)
        self.prefix, self.before = self.before, ""
        self.fed, self.new_from = self.fed[self.new_from:], 0
        return added

    def refeed(self) -> None:
        """Give the recogniser this utterance again from the start (after an early endpoint was revoked)."""
        self.recognizer.start()
        for block in self.fed:
            self.recognizer.accept(block)


def lead_in(held: list[np.ndarray], room: list[bool]) -> list[np.ndarray]:
    """The blocks before her speech began that are hers: back to the last run of room-like blocks.

    Her soft first syllables and the dips between her first words are short; a TV's talk is
    room-like for longer stretches. Cut out, not silenced: Whisper hears words in digital silence.
    """
    start, run = len(held), 0
    for i in range(len(held) - 1, -1, -1):
        run = run + 1 if room[i] else 0
        if run >= ROOM_RUN_BLOCKS:
            break
        start = i
    while start < len(held) and room[start]:
        start += 1
    return held[start:]


def shorten(pause: list[np.ndarray]) -> list[np.ndarray]:
    """A pause as the recogniser hears it: its beginning and end, not the silence between."""
    if len(pause) <= 2 * PAUSE_KEPT_BLOCKS:
        return pause
    return pause[:PAUSE_KEPT_BLOCKS] + pause[-PAUSE_KEPT_BLOCKS:]


class ResumeWindow:
    """The moments after an endpoint: if she goes on now, it is the same turn."""

    def __init__(self, listening: Listening, text: str, ended_s: float) -> None:
        self.listening = listening
        self.text = text  # her final words up to the endpoint
        self.ended_s = ended_s  # audio clock
        self.gap: list[np.ndarray] = []  # everything since the endpoint
        self.gap_room: list[bool] = []  # for each: did it sound like the room (a TV's talk), not like her?
        self._speech_blocks = 0

    def open(self, now_s: float) -> bool:
        """Is it still soon enough after the endpoint?"""
        return now_s - self.ended_s <= RESUME_WINDOW_S

    def hear(self, block: np.ndarray, gated: bool, *, echo_ok: bool, room: bool = False) -> bool:
        """Feed a block heard after the endpoint; True once she has clearly gone on (three blocks of her voice).

        `gated`: the VAD and the level gate call it her voice; `echo_ok`: the reply's echo cannot
        explain the microphone's level (nothing plays, or the double-talk checks say so); `room`:
        it sounds like the room (see `Listening.hear`).
        """
        self.gap.append(block)
        self.gap_room.append(room)
        hers = gated and echo_ok
        self._speech_blocks = self._speech_blocks + 1 if hers else 0
        return self._speech_blocks >= 3

    def continued(self, now_s: float) -> Listening:
        """The same utterance, listening again: audio so far plus the gap; words joined."""
        lst = self.listening
        ep = lst.endpointer
        ep.resume(now_s - self.ended_s)
        lst.speculation = None
        lst.recognizer.start()
        # The pause as the recogniser hears it: the end of her words before it, and her going on
        # back to where the room last talked on its own (never the TV's words in between).
        pause, room = lst.held + self.gap, [False] * len(lst.held) + self.gap_room
        head = min(PAUSE_KEPT_BLOCKS, max(0, len(pause) - RESUME_LEAD_BLOCKS))
        n = RESUME_LEAD_BLOCKS + PAUSE_KEPT_BLOCKS
        lead = lead_in(pause[head:][-n:], room[head:][-n:])
        if lst.recognizer.streaming:
            lst.prefix = self.text  # the words are known; the recogniser starts on the new ones
            lst.fed = []
            lst._feed(lead)
        else:  # a whole-utterance recogniser hears it all again, the pause shortened: better words
            lst.prefix, lst.before = "", self.text
            fed, lst.fed = lst.fed, []
            lst._feed(fed + pause[:head])
            lst.new_from = len(lst.fed)
            lst._feed(lead)
        lst.held = []
        lst.blocks.extend(self.gap)
        return lst
