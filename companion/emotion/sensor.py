"""The mood sensor: one estimate per turn from her voice's prosody and her words, when she agreed.

An explicit stage of the loop (not a skill): the dialogue calls `estimate`
on every finished turn before the skills see it. Raw audio is dropped as soon
as the features are extracted; only the estimate is kept, in the `mood` table,
and her voice baseline (running feature statistics) in the store.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from companion.audio import prosody
from companion.clock import Clock
from companion.config import EmotionSettings
from companion.emotion.consent import MoodConsent
from companion.emotion.fusion import EmotionEstimate, fuse
from companion.emotion.model import Baseline, EmotionModel
from companion.errors import AudioFormatError
from companion.loop.skills import TurnInput
from companion.store.journal import MoodRow

log = logging.getLogger(__name__)

BASELINE_KEY = "emotion.baseline"  # Baseline.to_dict()


class MoodSensor:
    """Per-turn mood estimates against her own voice baseline; nothing at all without consent."""

    def __init__(self, consent: MoodConsent, model: EmotionModel | None = None) -> None:
        self.consent = consent
        self.store = consent.store
        self.settings: EmotionSettings = consent.settings
        self._model = model  # loaded on first use: start-up stays fast when sensing is off
        self._baseline: Baseline | None = None

    @classmethod
    def from_settings(cls, settings: EmotionSettings, store: Any, clock: Clock) -> "MoodSensor":
        """The sensor with the configured (or shipped) model."""
        model = EmotionModel.load(settings.model_path) if settings.model_path else None
        return cls(MoodConsent(store, settings, clock), model)

    @property
    def model(self) -> EmotionModel:
        """The voice classifier (the shipped weights unless one was injected)."""
        if self._model is None:
            self._model = EmotionModel.load()
        return self._model

    def active(self) -> bool:
        """Is mood sensing on now (for the LED)?"""
        return self.consent.active()

    def warm_up(self) -> None:
        """Load the weights and the sentiment lexicon now, so the first turn doesn't pay for it."""
        from companion.emotion.fusion import text_sentiment

        if self.settings.mode != "off":
            _ = self.model
            text_sentiment("hello")
            noise = np.random.default_rng(0).standard_normal(prosody.SAMPLE_RATE_HZ).astype(np.float32) * 0.01
            prosody.extract(noise)  # imports scipy's signal/fft modules and builds the filterbanks

    def status(self) -> str:
        """One line for `companion doctor` ("on (...)" or "off (...)"), after its "mood sensing" label."""
        b = self._load_baseline()
        need = self.settings.baseline_min_utterances
        personal = "in use" if b.count >= need else f"not yet ({need} needed)"
        return f"{self.consent.describe()}; voice baseline {b.count} utterances, {personal}"

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
        if not self.consent.active():
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
