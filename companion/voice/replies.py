"""One reply in flight: text source → TTS per sentence → speaker, each stage its own thread.

Sentence 1 is playing while sentence 2 is generated and synthesised. A
speculative reply (started during her trailing silence) is produced but
held back from the speaker until the turn is confirmed, or cancelled.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from companion.audio.frames import AudioChunk, Speaker
from companion.voice.tts import PiperTTS

log = logging.getLogger(__name__)

_END = object()  # end-of-stream marker inside the job's own queues
POLL_S = 0.05  # every queue wait has a timeout so cancellation is noticed
FIRST_AUDIO_WAIT_S = 2.0  # once released, the text source waits at most this long for the first words to play


@dataclass
class JobTimings:
    """Monotonic timestamps of one reply's milestones (None until reached)."""

    started: float = field(default_factory=time.monotonic)
    first_sentence: float | None = None
    first_audio_ready: float | None = None
    tts_first_ms: float | None = None
    first_played: float | None = None
    finished: float | None = None


class ReplyJob:
    """Plays the sentences of `text_source` as they come; cancellable at any moment."""

    def __init__(self, text_source: Callable[[threading.Event], Iterable[str]], tts: PiperTTS, speaker: Speaker, *,
                 style: tuple[float, float], chime: bool = False, hold: bool = False,
                 sentence_filter: Callable[[str], str] | None = None, pause_ms: int = 250,
                 on_first_audio: Callable[["ReplyJob"], None] | None = None,
                 on_done: Callable[["ReplyJob"], None] | None = None, streaming: bool = True,
                 turn: object | None = None) -> None:
        self.turn = turn  # the loop's turn this reply answers (opaque here: the voice sits below the loop)
        self._text_source = text_source
        self._tts = tts
        self._speaker = speaker
        self.length_scale, self.volume = style
        self._chime = chime
        self._filter = sentence_filter
        self._pause_ms = pause_ms
        self._on_first_audio = on_first_audio
        self._on_done = on_done
        self.streaming = streaming  # False: whole reply text, then all of its audio, then play (for comparison)
        self.cancel = threading.Event()
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.done = threading.Event()
        self.playing = threading.Event()  # the first words are at the speaker
        self.timings = JobTimings()
        self.sentences: list[str] = []  # what the text source produced (after the filter)
        self.spoken: list[str] = []  # sentences whose audio was played completely
        self.error: BaseException | None = None
        self._sentences: "queue.Queue[object]" = queue.Queue()
        self._audio: "queue.Queue[object]" = queue.Queue(maxsize=8)
        self._threads = [threading.Thread(target=self._guard(self._produce_text), name="reply-text", daemon=True),
                         threading.Thread(target=self._guard(self._synthesize), name="reply-tts", daemon=True),
                         threading.Thread(target=self._guard(self._play), name="reply-play", daemon=True)]

    def start(self) -> "ReplyJob":
        """Begin producing (and, once released, playing)."""
        for t in self._threads:
            t.start()
        return self

    def release(self) -> None:
        """Let a held (speculative) reply reach the speaker."""
        self.released.set()

    def stop(self) -> None:
        """Barge-in or discarded speculation: stop generating and playing at once."""
        self.cancel.set()
        self._speaker.abort()

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the reply finished or was stopped."""
        return self.done.wait(timeout_s)

    # ---------------------------------------------------------------- stages

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # one bad reply must not kill the loop
                log.exception("reply stage %s failed", fn.__name__)
                self.error = exc
                self.cancel.set()
                for q in (self._sentences, self._audio):
                    try:
                        q.put_nowait(_END)
                    except queue.Full:
                        pass
                if fn is self._play:
                    self._finish()
        return run

    def _put(self, q: "queue.Queue[object]", item: object) -> bool:
        while not self.cancel.is_set():
            try:
                q.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: "queue.Queue[object]") -> object:
        while not self.cancel.is_set():
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                continue
        return _END

    def _produce_text(self) -> None:
        generator = self._text_source(self.cancel)
        try:
            source = generator if self.streaming else list(generator)
            for sentence in source:
                if self.cancel.is_set():
                    break
                if self._filter:
                    sentence = self._filter(sentence)
                if not sentence.strip():
                    continue
                if self.timings.first_sentence is None:
                    self.timings.first_sentence = time.monotonic()
                self.sentences.append(sentence)
                if not self._put(self._sentences, sentence):
                    break
                if self.streaming and len(self.sentences) == 1:
                    self._wait_until_playing()
        finally:
            # Close the text source now, whatever happened: an LLM generation holds the model's
            # lock until its generator is closed, and a traceback could keep it alive for ever.
            close = getattr(generator, "close", None)
            if close is not None:
                close()
        self._put(self._sentences, _END)

    def _wait_until_playing(self) -> None:
        """Hold the text source until the first words are playing.

        The first sentence comes first: the source (the acknowledgement, then the
        language model) goes on once she hears it, so the model never delays the
        first words, never competes with the voice for the two cores, and never
        runs for a speculative reply that is thrown away. Sentence 2 is not needed
        before sentence 1 has played.
        """
        released_at = None
        while not self.playing.wait(POLL_S) and not self.cancel.is_set() and not self.done.is_set():
            if self.released.is_set():
                released_at = released_at or time.monotonic()
                if time.monotonic() - released_at > FIRST_AUDIO_WAIT_S:
                    return

    def _synthesize(self) -> None:
        if self._chime:
            self._put(self._audio, (self._tts.chime(), ""))
        if not self.streaming:
            self._synthesize_all()
            return
        first = True
        while True:
            sentence = self._get(self._sentences)
            if sentence is _END:
                break
            t0 = time.monotonic()
            chunks: Iterator[AudioChunk] = self._tts.synthesize(str(sentence), length_scale=self.length_scale,
                                                                volume=self.volume)
            for chunk in chunks:
                if first:
                    self.timings.tts_first_ms = (time.monotonic() - t0) * 1000
                    self.timings.first_audio_ready = time.monotonic()
                    first = False
                if not self._put(self._audio, (chunk, "")):
                    return
                if self.cancel.is_set():
                    return
            self._put(self._audio, (self._tts.silence(self._pause_ms), str(sentence)))
        self._put(self._audio, _END)

    def _synthesize_all(self) -> None:
        """Sequential mode: every sentence synthesised before anything is played."""
        items: list[object] = []
        t0 = time.monotonic()
        while (sentence := self._get(self._sentences)) is not _END:
            for chunk in self._tts.synthesize(str(sentence), length_scale=self.length_scale, volume=self.volume):
                items.append((chunk, ""))
            items.append((self._tts.silence(self._pause_ms), str(sentence)))
        self.timings.tts_first_ms = (time.monotonic() - t0) * 1000
        self.timings.first_audio_ready = time.monotonic()
        for item in items + [_END]:
            if not self._put(self._audio, item):
                return

    def _play(self) -> None:
        began = False
        try:
            while True:
                item = self._get(self._audio)
                if item is _END:
                    break
                while not self.released.wait(POLL_S):
                    if self.cancel.is_set():
                        return
                chunk, finished_sentence = item  # type: ignore[misc]
                if not began:
                    self._speaker.begin(chunk.rate)
                    began = True
                    self.timings.first_played = time.monotonic()
                    self.playing.set()
                    if self._on_first_audio:
                        self._on_first_audio(self)
                self._speaker.write(chunk.samples)
                if self.cancel.is_set():
                    return
                if finished_sentence:
                    self.spoken.append(finished_sentence)
        finally:
            if began:
                self._speaker.end()
            self._finish()

    def _finish(self) -> None:
        if self.done.is_set():
            return
        self.timings.finished = time.monotonic()
        self.done.set()
        if self._on_done:
            try:
                self._on_done(self)
            except Exception:
                log.exception("reply completion handler failed")
