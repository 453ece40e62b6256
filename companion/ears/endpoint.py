"""End of her turn: quick when her words are finished, patient when she is looking for the next word.

The endpointer is fed one 32 ms block at a time with whether it is her voice
(VAD + the level gate of ears.level) and the recogniser's hypothesis. It
adapts the silence it waits for: complete words (and a falling pitch) end the
turn after a short silence; an unfinished phrase ("...and my") or a rising
pitch waits long enough for a word-finding pause; anything else waits a middle
amount. It never takes the short silence on a last word the recogniser is
unsure of, nor before a non-streaming recogniser has decoded her words.
All times are on the audio clock (stream seconds of the microphone).
"""

from __future__ import annotations

import enum
import logging
import re
from collections import deque
from dataclasses import dataclass

import numpy as np

from companion.audio.frames import BLOCK_S, BLOCK_SAMPLES, SAMPLE_RATE
from companion.config import VadSettings
from companion.ears.words import Hypothesis

log = logging.getLogger(__name__)

# A phrase that ends on one of these is unfinished: she is looking for the next word.
CONTINUATION_WORDS = frozenset("""
and but or so because since though although unless until while when whenever if than as
the a an my your his her our their its these those some any every each no
to of for with from in on at by about into onto over under after before between through like
is are were be been will would could should can shall must might may have has had
i we he she they who whom whose which
very really quite just most um uh er erm hmm also
""".split())  # words that end complete sentences too ("is it", "I did", "I like that") are left out
# Endings that close sentences ("I like that") but are also what the recogniser makes of an
# unfinished "...the" / "...my" / "...and" ("that", "mike", "end"): wait the unsure time.
AMBIGUOUS_ENDINGS = frozenset("that it this them then there mike mine mind me end do did up out well more "
                              "too so".split())
AUX_STARTS = frozenset("is are was were am do does did can could would will should shall may might have has "
                       "tell".split())  # "tell me ..." asks too
WH_STARTS = frozenset("what when where who why how which whose what's where's who's how's when's why's whats "
                      "wheres".split())
QUESTION_STARTS = AUX_STARTS | WH_STARTS
SUBJECTS = frozenset("i you we they he she it my your his her our their".split())  # "what I mean is ..."
QUESTION_ENDINGS = frozenset(("is", "are", "like", "to"))  # "...what time it is", "what's it like", "who was it to"
INFINITIVE_BEFORE_TO = frozenset("want wants wanted like love going got have has need needs used able ought "
                                 "try trying tried".split())  # "do you want to ..." is unfinished
MIN_LAST_WORD_CONFIDENCE = 0.5  # below this the short silence is never taken on the last word
SOFT_WINDOW_BLOCKS = 10  # ~320 ms: in a pause, her soft syllables under a TV come through the gate
SOFT_SPEECH_BLOCKS = 3  # in broken-up blocks; this many of them in the window mean she is still talking


class Completeness(enum.Enum):
    """How finished the words so far sound."""

    COMPLETE = "complete"
    UNSURE = "unsure"
    INCOMPLETE = "incomplete"


def is_question(words: list[str]) -> bool:
    """Do these words open a question ("what's ...", "could you ...")? "what I mean is ..." does not."""
    if len(words) < 2:
        return False
    if words[0] in AUX_STARTS:
        return True
    return words[0] in WH_STARTS and words[1] not in SUBJECTS


def text_completeness(text: str) -> Completeness:
    """Judge from the words alone whether she has finished her sentence."""
    words = re.findall(r"[a-z']+", text.lower())
    if not words:
        return Completeness.UNSURE
    last, question = words[-1], is_question(words)
    if (question and last in QUESTION_ENDINGS and len(words) >= 3
            and not (last == "to" and words[-2] in INFINITIVE_BEFORE_TO)):
        return Completeness.COMPLETE  # "could you tell me what time it is"
    if last in CONTINUATION_WORDS:
        return Completeness.INCOMPLETE
    if last in AMBIGUOUS_ENDINGS:
        return Completeness.COMPLETE if question else Completeness.UNSURE
    if len(words) >= 3 or question:
        return Completeness.COMPLETE
    return Completeness.UNSURE


def final_pitch_slope(audio: np.ndarray, window_s: float = 0.6) -> float | None:
    """Pitch movement (semitones per second) over the last voiced `window_s`; None if too little voicing.

    A falling end (negative) sounds finished; a level or rising end sounds
    like more is coming. Uses the prosody module's pitch tracker and a
    Theil–Sen fit, which shrugs off the odd octave error.
    """
    from scipy.stats import theilslopes

    from companion.audio.prosody import track_pitch

    seg = audio[-int(window_s * SAMPLE_RATE):].astype(np.float32) / 32768.0
    if len(seg) < SAMPLE_RATE // 5:
        return None
    f0, _ = track_pitch(seg)
    idx = np.nonzero(f0 > 0)[0]
    if len(idx) < 8:
        return None
    semis = 12 * np.log2(f0[idx] / 100.0)
    return float(theilslopes(semis, idx * 0.01)[0])


class EndpointEvent(enum.Enum):
    """What the endpointer decided for the latest block."""

    NONE = "none"
    SPEECH_STARTED = "speech_started"
    PAUSED = "paused"  # the first silent block after her speech: a non-streaming recogniser starts decoding
    SPECULATE = "speculate"  # silence long enough (and words known) to start a reply speculatively
    RESUMED = "resumed"  # she went on after a pause: discard the speculation and any decode
    ENDED = "ended"
    NO_SPEECH = "no_speech"


@dataclass
class EndpointState:
    """Timings of the current utterance, in stream seconds (the audio clock)."""

    speech_start_s: float | None = None
    last_speech_s: float | None = None  # end of her last speech block
    speculated: bool = False
    paused: bool = False
    required_silence_ms: int = 0
    completeness: Completeness = Completeness.UNSURE

    def silence_ms(self, now_s: float) -> float:
        """Silence since her last speech block."""
        return 0.0 if self.last_speech_s is None else (now_s - self.last_speech_s) * 1000


class Endpointer:
    """Decides when her turn is over, adapting the silence it waits for."""

    def __init__(self, settings: VadSettings) -> None:
        self.settings = settings
        self._history = np.zeros(0, np.int16)
        self.state = EndpointState()
        self.t = 0.0  # stream seconds fed so far
        self._started_s = 0.0
        self._speech_blocks = 0
        self._recent: deque[bool] = deque(maxlen=SOFT_WINDOW_BLOCKS)  # her voice or not, block by block
        self._timeout_s = settings.no_speech_timeout_s
        self._slope: float | None = None
        self._slope_key: float | None = -1.0
        self._final: Hypothesis | None = None  # the recogniser's final words, trusted until she speaks again

    def start(self, no_speech_timeout_s: float | None = None) -> None:
        """Begin listening for a new utterance (after the wake word, or in the follow-up window)."""
        self._timeout_s = no_speech_timeout_s if no_speech_timeout_s is not None else self.settings.no_speech_timeout_s
        self.state = EndpointState()
        self._history = np.zeros(0, np.int16)
        self._started_s = self.t
        self._speech_blocks = 0
        self._recent.clear()
        self._final = None

    def resume(self, gap_s: float) -> None:
        """She went on `gap_s` after the endpoint: the same utterance continues (speech already started)."""
        self.t += gap_s
        self.state.last_speech_s = self.t
        self.state.speculated = self.state.paused = False
        self._final = None

    def reopen(self, final: Hypothesis) -> None:
        """The final words say the turn is not over: keep listening, judging by these words until she speaks."""
        self._final = final
        self.state.speculated = True  # the reply for these words was already decided against

    def update(self, block: np.ndarray, speech: bool, hyp: Hypothesis | str) -> EndpointEvent:
        """Feed one block, whether it is her voice, and the recogniser's hypothesis so far."""
        if isinstance(hyp, str):
            hyp = Hypothesis(hyp)
        self.t += len(block) / SAMPLE_RATE
        st, s = self.state, self.settings
        self._history = np.concatenate([self._history, block])[-SAMPLE_RATE * 2:]
        if st.speech_start_s is not None and self.t - st.speech_start_s >= s.max_utterance_s:
            return EndpointEvent.ENDED  # she may go on, but a turn has to end somewhere
        self._recent.append(speech)
        if speech:
            self._speech_blocks += 1
            first = st.speech_start_s is None and self._speech_blocks >= 2  # 64 ms: not a click
            if first:
                st.speech_start_s = self.t - 2 * BLOCK_S
            # After a pause, one stray block (a cough, a loud syllable on the TV) does not end it: two in
            # a row do, or a few close together (her soft "...to the" under a TV passes the gate only in
            # its louder blocks; a TV alone rarely puts three of ten blocks over it).
            if st.speech_start_s is not None and (first or not st.paused or self._speech_blocks >= 2
                                                  or sum(self._recent) >= SOFT_SPEECH_BLOCKS):
                went_on = st.paused and not first
                st.last_speech_s = self.t
                st.speculated = st.paused = False
                self._final = None
                if first:
                    return EndpointEvent.SPEECH_STARTED
                if went_on:
                    return EndpointEvent.RESUMED
            return EndpointEvent.NONE
        self._speech_blocks = 0
        if st.speech_start_s is None:
            if self.t - self._started_s >= self._timeout_s:
                return EndpointEvent.NO_SPEECH
            return EndpointEvent.NONE
        if not st.paused:
            st.paused = True
            self._recent.clear()  # only what comes in the pause counts towards her going on
            return EndpointEvent.PAUSED  # the hypothesis is decoded now; the verdict comes with the next blocks
        return self._judge(hyp if self._final is None else self._final)

    def _judge(self, hyp: Hypothesis) -> EndpointEvent:
        st, s = self.state, self.settings
        silence_ms = st.silence_ms(self.t)
        if hyp.pending:  # the words are being decoded: never end before they are known, unless it takes ages
            st.required_silence_ms = s.incomplete_silence_ms
            return EndpointEvent.ENDED if silence_ms >= st.required_silence_ms else EndpointEvent.NONE
        st.completeness = self.completeness(hyp)
        st.required_silence_ms = {
            Completeness.COMPLETE: s.complete_silence_ms,
            Completeness.UNSURE: s.default_silence_ms,
            Completeness.INCOMPLETE: s.incomplete_silence_ms,
        }[st.completeness]
        if silence_ms >= st.required_silence_ms:
            return EndpointEvent.ENDED
        # Speculate on words that sound finished at once; on unsure ones halfway through their wait
        # (a speculation that she talks over costs the CPU her next words need).
        start_after = {Completeness.COMPLETE: s.speculate_after_ms,
                       Completeness.UNSURE: max(s.speculate_after_ms, st.required_silence_ms // 2)}
        if (not st.speculated and st.completeness in start_after and silence_ms >= start_after[st.completeness]
                and hyp.text.strip()):
            st.speculated = True
            return EndpointEvent.SPECULATE
        return EndpointEvent.NONE

    def completeness(self, hyp: Hypothesis) -> Completeness:
        """Words, the trust in the last one, and the pitch of her voiced end, together."""
        by_words = text_completeness(hyp.text)
        if by_words is Completeness.INCOMPLETE:
            return by_words
        if by_words is Completeness.COMPLETE and hyp.last_word_confidence < MIN_LAST_WORD_CONFIDENCE:
            return Completeness.UNSURE  # the verdict rests on a word the recogniser is not sure of
        key = self.state.last_speech_s
        if self._slope_key != key:  # the pitch of the voiced end only changes when speech does
            silence_blocks = int((self.t - (key or self.t)) / BLOCK_S) + 1
            voiced = self._history[: max(0, len(self._history) - silence_blocks * BLOCK_SAMPLES)]
            self._slope = final_pitch_slope(voiced) if len(voiced) > SAMPLE_RATE // 4 else None
            self._slope_key = key
        slope = self._slope
        words = re.findall(r"[a-z']+", hyp.text.lower())
        if is_question(words) and by_words is Completeness.COMPLETE:
            return by_words  # questions may rise at the end and still be finished
        if slope is not None and slope > 3.0:  # still rising: more to come
            return Completeness.UNSURE if by_words is Completeness.COMPLETE else Completeness.INCOMPLETE
        if (slope is not None and slope < -2.0 and by_words is Completeness.UNSURE and words
                and words[-1] not in AMBIGUOUS_ENDINGS and hyp.last_word_confidence >= MIN_LAST_WORD_CONFIDENCE):
            return Completeness.COMPLETE  # a short reply ("Yes, thank you.") that fell
        return by_words
