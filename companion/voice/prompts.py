"""What the language model is asked, per reply strategy, and the KV states of those prompts' prefixes."""

from __future__ import annotations

import ctypes
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.errors import ModelMissingError

PROMPTS_PATH = Path(__file__).parent / "data" / "prompts.toml"


@dataclass(frozen=True)
class StrategyPrompt:
    """How the model is asked for its one sentence in one strategy (voice/data/prompts.toml)."""

    instruction: str  # for an instruct model; "{ack}" is what was already said
    examples: tuple[tuple[str, str, str], ...]  # (her words, acknowledgement, the question to add)


@dataclass(frozen=True)
class Prompts:
    """The persona lines and the per-strategy prompts."""

    transcript: str
    chat: str
    strategies: dict[str, StrategyPrompt]

    @classmethod
    def load(cls, path: Path = PROMPTS_PATH) -> "Prompts":
        """Read the prompts file (ModelMissingError names the file if it is missing or broken)."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            persona = raw.pop("persona")
            strategies = {k: StrategyPrompt(v["instruction"], tuple(tuple(e) for e in v["examples"]))
                          for k, v in raw.items()}
            return cls(persona["transcript"], persona["chat"], strategies)
        except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
            raise ModelMissingError(f"the LLM prompts {path} cannot be read ({exc}); reinstall with ./setup.sh") from exc


class PrefixStates:
    """The KV-cache state after each strategy's prefix, so switching strategy costs a copy, not a re-evaluation.

    llama-cpp-python's own save_state() also copies its logits buffer (n_batch × vocabulary
    floats, about 0.5 GB for Gemma 3); here only the context's state data and the prefix's
    tokens are kept (a few MB per prefix). Restoring is safe because the prompt always goes
    on past the prefix, so the model evaluates at least one new token before sampling.
    """

    def __init__(self) -> None:
        self._states: dict[str, tuple[Any, bytes]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._states

    def save(self, key: str, llama: Any) -> int:
        """Keep the state of what the model has evaluated now; returns its size in bytes."""
        import llama_cpp

        ctx = llama._ctx.ctx  # noqa: SLF001 - the low-level context; the high-level API copies the logits too
        size = llama_cpp.llama_state_get_size(ctx)
        buf = (ctypes.c_uint8 * int(size))()
        n = int(llama_cpp.llama_state_get_data(ctx, buf, size))
        self._states[key] = (llama.input_ids[: llama.n_tokens].copy(), ctypes.string_at(buf, n))
        return n

    def restore(self, key: str, llama: Any) -> bool:
        """Put the model back to just after prefix `key` (False if it was never saved)."""
        import llama_cpp

        if key not in self._states:
            return False
        ids, data = self._states[key]
        n = len(ids)
        if llama.n_tokens >= n and (llama.input_ids[:n] == ids).all():
            return True  # already there (or further on the same prefix): the cache is reused as it is
        arr = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, arr, len(data)) != len(data):  # noqa: SLF001
            raise RuntimeError("llama.cpp refused a saved prefix state")
        llama.input_ids[:n] = ids
        llama.n_tokens = n
        if hasattr(llama, "_requires_eval"):
            llama._requires_eval = True  # noqa: SLF001 - the logits are stale until the next token is evaluated
        return True
