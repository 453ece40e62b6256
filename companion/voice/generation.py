"""What one generation of the language model produced and cost (shared by replies and follow-up questions)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol


class _Flag(Protocol):
    def is_set(self) -> bool: ...


LOCK_GRACE_S = 5.0  # beyond the reply time cap, how long a new reply waits for the model


@dataclass(frozen=True)
class Fitted:
    """A prompt's parts cut down to fit the model's context window."""

    text: str
    context: str
    history: list[tuple[str, str]]
    trimmed: bool  # True when her own words were cut (she is told)


@dataclass
class Generation:
    """Timings of one streamed reply (milliseconds from the call)."""

    first_token_ms: float | None = None
    first_token_at: float | None = None  # time.monotonic() of the first token
    first_sentence_ms: float | None = None
    tokens: int = 0
    stopped: str = ""  # "eos" | "max_tokens" | "deadline" | "cancelled" | "degenerate" | "sentence" | "not_a_question"
    sentences: list[str] = field(default_factory=list)
    on_first_token: Callable[[float], None] | None = None  # told first_token_ms as soon as it is known

    def token(self, started: float) -> None:
        """Count one token of a generation begun at `started` (time.monotonic()); the first is timed and told."""
        if self.first_token_ms is None:
            self.first_token_at = time.monotonic()
            self.first_token_ms = (self.first_token_at - started) * 1000
            if self.on_first_token is not None:
                self.on_first_token(self.first_token_ms)
        self.tokens += 1

    def cut_short(self, cancel: _Flag, deadline: float) -> bool:
        """Stop now? Barge-in (`cancel`) or the time cap (`deadline`, time.monotonic()); says which in `stopped`."""
        if cancel.is_set():
            self.stopped = "cancelled"
        elif time.monotonic() > deadline:
            self.stopped = "deadline"
        return self.stopped in ("cancelled", "deadline")
