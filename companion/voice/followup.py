"""The one follow-up question the model may propose after a reply's acknowledgement, per strategy.

A mixin of voice.llm.ReplyGenerator (it uses its model, lock, prompts, prefix states
and fit): per-strategy few-shot prefixes for a base model, whose KV states are cached,
or system instructions for an instruct model. Generation stops as soon as the words
cannot be a question; the reply flow's guard judges what comes back.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from companion.voice.generation import LOCK_GRACE_S, Generation

FOLLOW_UP_TOKENS = 28  # a follow-up question is short: the cap keeps a bad one from costing time
QUESTION_OPENERS = frozenset("what how who where when which whose do did does have has had is was are were would could "
                             "can will shall".split())


class FollowUps:
    """Follow-up questions per reply strategy (mixed into ReplyGenerator)."""

    _llama: Any
    _lock: threading.Lock
    settings: Any
    style: str
    name: str
    prompts: Any
    states: Any
    generations: int

    def strategy_prefix(self, strategy: str) -> str:
        """The byte-identical few-shot start of every follow-up prompt in one strategy (base model)."""
        sp = self.prompts.strategies[strategy]
        lines = [self.prompts.transcript.format(name=self.name), ""]
        for user, ack, question in sp.examples:
            lines += [f"User: {user}", f"{self.name}: {ack} {question}"]
        return "\n".join(lines) + "\n"

    def _follow_up_prompt(self, strategy: str, text: str, ack: str, history: list[tuple[str, str]]) -> str:
        parts = [self.strategy_prefix(strategy)]
        for user, reply in history[-1:]:
            parts.append(f"User: {user}\n{self.name}: {reply}\n")
        parts.append(f"User: {text}\n{self.name}: {ack}")
        return "".join(parts)

    def _follow_up_messages(self, strategy: str, text: str, ack: str,
                            history: list[tuple[str, str]]) -> list[dict[str, str]]:
        sp = self.prompts.strategies[strategy]
        system = self.prompts.chat.format(name=self.name) + " " + sp.instruction.format(ack=ack)
        msgs = [{"role": "system", "content": system}]
        for user, reply in history[-1:]:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        msgs.append({"role": "user", "content": text})
        return msgs

    def follow_up(self, strategy: str, text: str, ack: str, *, history: list[tuple[str, str]] | None = None,
                  cancel: threading.Event | None = None, gen: Generation | None = None,
                  max_tokens: int = FOLLOW_UP_TOKENS) -> str:
        """The one question the model proposes after `ack` in `strategy` ("" if it offers none).

        Generation stops at the first sentence end, and as soon as the sentence
        cannot be a question (its first word is not a question word): only a
        question is ever wanted, and the caller's guard judges it before it is said.
        """
        gen = gen if gen is not None else Generation()
        cancel = cancel or threading.Event()
        if strategy not in self.prompts.strategies:
            return ""
        self.generations += 1
        fitted = self.fit(text, "", history)  # her words cut to what the context window holds
        text, history = fitted.text, fitted.history
        t0 = time.monotonic()
        deadline = t0 + self.settings.max_reply_s
        s = self.settings
        common = dict(max_tokens=max_tokens, temperature=s.temperature, top_p=0.9, repeat_penalty=1.15, stream=True)
        if not self._lock.acquire(timeout=s.max_reply_s + LOCK_GRACE_S):
            raise RuntimeError("the LLM is still busy with an earlier reply")
        buf = ""
        try:
            if self.style == "chat":
                chunks = self._llama.create_chat_completion(
                    self._follow_up_messages(strategy, text, ack, history or []), **common)
                pieces = (c["choices"][0]["delta"].get("content") or "" for c in chunks)
            else:
                self.states.restore(strategy, self._llama)
                stops = ["\n", "User:", f"{self.name}:", "<end_of_turn>"]
                chunks = self._llama.create_completion(
                    self._follow_up_prompt(strategy, text, ack, history or []), stop=stops, **common)
                pieces = (c["choices"][0]["text"] for c in chunks)
            try:
                for piece in pieces:
                    gen.token(t0)
                    buf += piece
                    words = buf.split()
                    if len(words) >= 2 or (words and buf[-1:].isspace()):
                        if words[0].strip("\"'*").lower() not in QUESTION_OPENERS:
                            gen.stopped = "not_a_question"
                            break
                    end = re.search(r"[.!?]", buf)
                    if end:
                        buf = buf[: end.end()]
                        gen.stopped = "sentence"
                        break
                    if gen.cut_short(cancel, deadline):
                        break
                else:
                    gen.stopped = "max_tokens" if gen.tokens >= max_tokens else "eos"
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()
        finally:
            self._lock.release()
        if gen.stopped != "sentence":
            return ""
        sentence = " ".join(buf.replace("*", "").split()).strip(" -\"'")
        gen.sentences.append(sentence)
        gen.first_sentence_ms = (time.monotonic() - t0) * 1000
        return sentence

