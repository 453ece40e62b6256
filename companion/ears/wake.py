"""Wake word detection (pymicro-wakeword) with a refractory period and barge-in rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from companion.audio.echo import DoubleTalk
from companion.config import WakeSettings
from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

WAKE_FRAME_S = 0.01  # one microWakeWord feature frame (10 ms)


@dataclass(frozen=True)
class WakeDetection:
    """One wake word detection."""

    name: str
    probability: float
    stream_s: float  # position in the audio stream


class WakeWordDetector:
    """Feeds audio to microWakeWord and decides when it counts as a detection.

    While idle a probability above `threshold` is a detection. While the
    companion is speaking (`speaking=True`) its own voice must not wake it:
    only a probability above `speaking_threshold` counts, and only when the
    microphone is clearly louder than the echo of what is being played
    (a Geigel-style double-talk check against the speaker's recent peak).
    After a detection, further ones are ignored for `refractory_s`.
    """

    def __init__(self, settings: WakeSettings, double_talk: DoubleTalk | None = None) -> None:
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise ModelMissingError(
                "pymicro-wakeword is not installed; run ./setup.sh (pip install pymicro-wakeword)"
            ) from exc
        self.settings = settings
        self._model = MicroWakeWord.from_builtin(Model(settings.model))
        self._features = MicroWakeWordFeatures()
        self.name = self._model.wake_word
        self._stream_s = 0.0
        self._last_detection_s = -1e9
        self.speaking = False
        self.last_probability = 0.0
        self.suppressed = 0  # detections rejected as our own voice (for tests and logs)
        # shared with the stop-phrase spotter; the loop feeds it every microphone block
        self.double_talk = double_talk or DoubleTalk(None, settings.echo_ratio)

    def process(self, block: np.ndarray) -> WakeDetection | None:
        """Feed one block of 16 kHz int16 audio; returns a WakeDetection or None."""
        found: WakeDetection | None = None
        for features in self._features.process_streaming(block.tobytes()):
            prob = self._model.process_streaming_prob(features)
            self._stream_s += WAKE_FRAME_S
            if prob is None:
                continue
            self.last_probability = prob
            if found is None and self._accept(prob):
                found = WakeDetection(self.name, prob, self._stream_s)
        if found:
            self._last_detection_s = found.stream_s
            log.info("wake word %r (p=%.2f%s)", found.name, found.probability, ", barge-in" if self.speaking else "")
        return found

    def _accept(self, prob: float) -> bool:
        if self._stream_s - self._last_detection_s < self.settings.refractory_s:
            return False
        if not self.speaking:
            return prob > self.settings.threshold
        if prob <= self.settings.speaking_threshold:
            return False
        if not self.double_talk.her_voice():
            self.suppressed += 1
            log.debug("wake word while speaking rejected as our own echo")
            return False
        return True

    def reset(self) -> None:
        """Forget the audio history (after a detection the next phrase starts fresh)."""
        self._features.reset()

    def close(self) -> None:
        """Release the TFLite interpreter; safe to call twice."""
        self._model.close()
