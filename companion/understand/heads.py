"""Trained heads on sentence embeddings: a class-balanced softmax layer, and labelled exemplar banks.

A head is small (384 × classes floats), trained offline by a script in scripts/ on
a labelled set with a held-apart test split, and shipped as an .npz next to this
module. Exemplar banks keep labelled example sentences: the closest ones explain
a decision ("sounds like: 'I've had a fall'") and catch phrasings the linear head
has not generalised to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.errors import ModelMissingError

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class LinearHead:
    """p(label | embedding) = softmax(x·W + b)."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (dim, classes)
    bias: np.ndarray  # (classes,)

    def probs(self, vec: np.ndarray) -> dict[str, float]:
        """Each label's probability for one embedding."""
        z = vec @ self.weights + self.bias
        z = np.exp(z - z.max())
        z /= z.sum()
        return {label: float(p) for label, p in zip(self.labels, z)}

    def predict(self, vec: np.ndarray) -> tuple[str, float]:
        """The most likely label and its probability."""
        p = self.probs(vec)
        best = max(p, key=p.__getitem__)
        return best, p[best]

    @classmethod
    def train(cls, x: np.ndarray, y: list[str], *, l2: float = 1e-3, labels: tuple[str, ...] | None = None,
              weights: np.ndarray | None = None) -> "LinearHead":
        """Class-balanced multinomial logistic regression (L-BFGS); `weights` scales each example."""
        from scipy.optimize import minimize

        labels = labels or tuple(sorted(set(y)))
        index = {label: i for i, label in enumerate(labels)}
        t = np.array([index[v] for v in y])
        n, d = x.shape
        k = len(labels)
        counts = np.bincount(t, minlength=k).astype(np.float64)
        balance = (n / (k * np.maximum(counts, 1)))[t]
        if weights is not None:
            balance = balance * weights
        onehot = np.eye(k)[t]

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[: d * k].reshape(d, k), theta[d * k:]
            z = x @ w + b
            z -= z.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            nll = -(balance * np.log(np.maximum((p * onehot).sum(1), 1e-12))).sum() / balance.sum()
            g = (p - onehot) * balance[:, None] / balance.sum()
            grad_w = x.T @ g + l2 * w
            return nll + 0.5 * l2 * float((w * w).sum()), np.concatenate([grad_w.ravel(), g.sum(0)])

        res = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
        w, b = res.x[: d * k].reshape(d, k), res.x[d * k:]
        return cls(labels, w.astype(np.float32), b.astype(np.float32))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, labels=np.array(self.labels), weights=self.weights, bias=self.bias)

    @classmethod
    def load(cls, path: Path) -> "LinearHead":
        if not path.is_file():
            raise ModelMissingError(f"{path} is missing; it ships with the package (reinstall with ./setup.sh) "
                                    "or is made by the training script named in its module")
        with np.load(path, allow_pickle=False) as z:
            return cls(tuple(str(s) for s in z["labels"]), z["weights"], z["bias"])


@dataclass(frozen=True)
class ExemplarBank:
    """Labelled example sentences and their embeddings: which labelled examples is this text closest to?"""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    vectors: np.ndarray  # (n, dim), unit length

    def nearest(self, vec: np.ndarray, k: int = 3) -> list[tuple[float, str, str]]:
        """The k closest exemplars as (cosine, label, text), closest first."""
        if not len(self.texts):
            return []
        sims = self.vectors @ vec
        top = np.argsort(-sims)[:k]
        return [(float(sims[i]), self.labels[i], self.texts[i]) for i in top]

    def best_by_label(self, vec: np.ndarray) -> dict[str, float]:
        """The highest cosine to any exemplar of each label."""
        sims = self.vectors @ vec
        out: dict[str, float] = {}
        for s, label in zip(sims, self.labels):
            out[label] = max(out.get(label, -1.0), float(s))
        return out

    @classmethod
    def build(cls, encoder, examples: list[tuple[str, str]]) -> "ExemplarBank":
        """From (text, label) pairs, embedded with `encoder`."""
        texts = tuple(t for t, _ in examples)
        return cls(texts, tuple(label for _, label in examples), encoder.encode_many(list(texts)))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, texts=np.array(self.texts), labels=np.array(self.labels), vectors=self.vectors)

    @classmethod
    def load(cls, path: Path) -> "ExemplarBank":
        if not path.is_file():
            raise ModelMissingError(f"{path} is missing; it ships with the package (reinstall with ./setup.sh)")
        with np.load(path, allow_pickle=False) as z:
            return cls(tuple(str(s) for s in z["texts"]), tuple(str(s) for s in z["labels"]), z["vectors"])
