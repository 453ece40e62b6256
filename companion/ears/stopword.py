"""Hearing "stop" while the companion speaks: PocketSphinx keyword spotting plus the echo check.

While a reply plays, no recogniser transcribes her; this spotter listens
only for a few stop phrases, so she can say "stop" (or "be quiet") without
the wake word. Phrases the companion itself says ("don't stop...") are
rejected by the same double-talk check the wake word uses.
"""

from __future__ import annotations

import logging
import os
import tempfile

import numpy as np

from companion.audio.echo import DoubleTalk
from companion.audio.frames import SAMPLE_RATE

log = logging.getLogger(__name__)

# phrase → PocketSphinx keyword threshold (lower = more eager). A single short word
# needs a stricter threshold than a phrase to avoid false alarms (measured on Piper speech).
STOP_PHRASES = {
    "stop": "1e-5",
    "stop talking": "1e-20",
    "please stop": "1e-20",
    "be quiet": "1e-15",
    "that's enough": "1e-15",
}


class StopPhraseSpotter:
    """Feed microphone blocks while speaking; `process` returns the stop phrase she said, or None."""

    def __init__(self, double_talk: DoubleTalk) -> None:
        from pocketsphinx import Config, Decoder

        # PocketSphinx reads keyword lists from a file only; it is read once, here.
        fd, path = tempfile.mkstemp(suffix=".kws", prefix="companion-stop-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.writelines(f"{phrase} /{threshold}/\n" for phrase, threshold in STOP_PHRASES.items())
            self._decoder = Decoder(Config(samprate=SAMPLE_RATE, kws=path, loglevel="FATAL"))
        finally:
            os.unlink(path)
        self.double_talk = double_talk  # shared with the wake word; the loop feeds it every block
        self._in_utt = False
        self.suppressed = 0  # phrases rejected as our own echo

    def reset(self) -> None:
        """Forget what was heard (called when a reply starts)."""
        if self._in_utt:
            self._decoder.end_utt()
        self._decoder.start_utt()
        self._in_utt = True

    def process(self, block: np.ndarray) -> str | None:
        """The stop phrase heard in this block (her voice, not our echo), or None."""
        if not self._in_utt:
            self.reset()
        self._decoder.process_raw(block.astype(np.int16).tobytes(), False, False)
        hyp = self._decoder.hyp()
        if hyp is None:
            return None
        phrase = hyp.hypstr.strip().split("  ")[0].strip()
        self.reset()
        if not self.double_talk.her_voice():
            self.suppressed += 1
            log.debug("stop phrase %r rejected as our own echo", phrase)
            return None
        log.info("she said %r while the companion was speaking", phrase)
        return phrase

    def close(self) -> None:
        """End the spotting utterance; safe to call twice."""
        if self._in_utt:
            self._decoder.end_utt()
            self._in_utt = False
