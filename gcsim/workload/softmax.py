"""Softmax (multinomial logistic) regression on a real data set or a synthetic one."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gcsim.errors import InvalidInputError, excerpt
from gcsim.workload.base import Workload, check_positive

__all__ = ["DATASETS", "SoftmaxRegression", "load_dataset"]

#: Data sets that ship inside scikit-learn (no download at run time): name ->
#: (loader in sklearn.datasets, what it is).
DATASETS: dict[str, tuple[str, str]] = {
    "digits": ("load_digits", "8x8 images of handwritten digits: 1797 x 64, 10 classes"),
    "wine": ("load_wine", "wine chemistry: 178 x 13, 3 classes"),
    "iris": ("load_iris", "iris flowers: 150 x 4, 3 classes"),
    "breast-cancer": ("load_breast_cancer", "tumour features: 569 x 30, 2 classes"),
}


@functools.lru_cache(maxsize=4)
def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a data set of :data:`DATASETS` (read once per process; read-only).

    Raises
    ------
    InvalidInputError
        Unknown name, or scikit-learn (which ships the data files) not installed.
    """
    if name not in DATASETS:
        raise InvalidInputError(
            f"softmax: unknown dataset {excerpt(name)}; known: synthetic, {', '.join(DATASETS)}"
        )
    try:
        from sklearn import datasets
    except ImportError:
        raise InvalidInputError(
            f"softmax: dataset {name!r} ships inside scikit-learn, which is not installed: "
            "pip install 'gcsim[data]' (or scikit-learn); or use dataset = 'synthetic'"
        ) from None
    X, y = getattr(datasets, DATASETS[name][0])(return_X_y=True)
    X = np.asarray(X, dtype=float)
    y = np.unique(np.asarray(y), return_inverse=True)[1].astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _check(name: str, value: Any, *, integer: bool = False, zero: bool = False) -> Any:
    return check_positive("softmax", name, value, integer=integer, allow_zero=zero)


class SoftmaxRegression(Workload):
    """L2-regularised softmax regression trained by gradient descent.

    Data: ``dataset`` — one of :data:`DATASETS` (real data shipped inside scikit-learn,
    features standardised, a bias column added, rows shuffled by the run's data stream
    before the split), or ``"synthetic"``: ``samples`` rows of ``features`` N(0, 1)
    entries labelled by the arg-max of ``X W* + noise`` over ``classes`` classes.
    ``samples`` > 0 with a real data set keeps that many rows (a random subset).

    The model W has shape (features + 1, classes), flattened: the gradient length is
    l = (features + 1) * classes. Partial gradient of partition j:
    ``X_j^T (softmax(X_j W) - Y_j) / N + reg * W / k`` (they sum to the gradient of the
    mean cross-entropy plus ``reg / 2 * ||W||^2``). Update ``W -= lr * g_hat``.
    """

    name = "softmax"
    static = False

    def __init__(
        self,
        *,
        dataset: str = "digits",
        samples: int = 0,
        features: int = 20,
        classes: int = 4,
        lr: float = 1.0,
        reg: float = 1e-3,
    ) -> None:
        if not isinstance(dataset, str) or dataset not in ("synthetic", *DATASETS):
            raise InvalidInputError(
                f"softmax: dataset must be one of synthetic, {', '.join(DATASETS)}; "
                f"got {excerpt(dataset)}"
            )
        self.dataset = dataset
        self.samples = int(_check("samples", samples, integer=True, zero=True))
        self.features = int(_check("features", features, integer=True))
        self.classes = int(_check("classes", classes, integer=True))
        if dataset == "synthetic":
            if self.classes < 2:
                raise InvalidInputError(f"softmax: classes must be >= 2; got {self.classes}")
            if self.samples == 0:
                self.samples = 2000
        self.lr = float(_check("lr", lr))
        self.reg = float(_check("reg", reg, zero=True))
        self._W: np.ndarray | None = None
        self._k = 0

    # ------------------------------------------------------------------ data
    def _shape(self) -> tuple[int, int, int]:
        """(rows, features + 1, classes) without loading anything big."""
        if self.dataset == "synthetic":
            return self.samples, self.features + 1, self.classes
        X, y = load_dataset(self.dataset)
        rows = min(self.samples, len(y)) if self.samples else len(y)
        return rows, X.shape[1] + 1, int(y.max()) + 1

    @property
    def dimension(self) -> int:
        _, f, c = self._shape()
        return f * c

    def check(self, k: int) -> None:
        rows, _, _ = self._shape()
        if rows < k:
            raise InvalidInputError(
                f"softmax: the data set has {rows} rows, fewer than the k = {k} partitions"
            )

    def setup(self, k: int, rng: np.random.Generator) -> None:
        self.check(k)
        if self.dataset == "synthetic":
            X = rng.standard_normal((self.samples, self.features))
            W_true = 2.0 * rng.standard_normal((self.features, self.classes))
            noise = rng.gumbel(size=(self.samples, self.classes))
            y = np.argmax(X @ W_true / np.sqrt(self.features) + noise, axis=1)
        else:
            X0, y0 = load_dataset(self.dataset)
            order = rng.permutation(len(y0))
            if self.samples:
                order = order[: self.samples]
            X, y = X0[order], y0[order]
            std = X.std(axis=0)
            X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
        X = np.hstack([X, np.ones((len(X), 1))])
        self._N, self._f = X.shape
        self._c = int(self._shape()[2])
        Y = np.zeros((self._N, self._c))
        Y[np.arange(self._N), y] = 1.0
        self._X, self._Y = X, Y
        self._k = k
        self._parts = list(zip(np.array_split(X, k), np.array_split(Y, k), strict=True))
        self.set_model(np.zeros(self._f * self._c))

    # ------------------------------------------------------------------ model
    @property
    def model(self) -> np.ndarray | None:
        return self._W

    def set_model(self, model: np.ndarray | None) -> None:
        self._W = None if model is None else np.array(model, dtype=float)
        self._P: np.ndarray | None = None

    def _probs(self) -> np.ndarray:
        """softmax(X W) at the current model, once per model (partials and loss)."""
        if self._P is None:
            self._P = _softmax(self._X @ self._W_matrix())
        return self._P

    def _W_matrix(self) -> np.ndarray:
        if self._W is None:
            raise InvalidInputError("softmax: call setup() before using the model")
        return self._W.reshape(self._f, self._c)

    def partials(self) -> np.ndarray:
        if not self._k:
            raise InvalidInputError("softmax: call setup() before partials()")
        P = self._probs()
        W = self._W_matrix()
        out = np.empty((self._k, self._f * self._c))
        start = 0
        for j, (Xj, Yj) in enumerate(self._parts):
            stop = start + len(Xj)
            g = Xj.T @ (P[start:stop] - Yj) / self._N + self.reg * W / self._k
            out[j] = g.ravel()
            start = stop
        return out

    def payload(self, j: int) -> Any:
        Xj, Yj = self._parts[j]
        return {"X": Xj, "Y": Yj, "N": self._N, "reg": self.reg, "k": self._k}

    @staticmethod
    def partial(payload: Any, model: np.ndarray | None) -> np.ndarray:
        X, Y = payload["X"], payload["Y"]
        W = np.asarray(model, dtype=float).reshape(X.shape[1], Y.shape[1])
        g = X.T @ (_softmax(X @ W) - Y) / payload["N"] + payload["reg"] * W / payload["k"]
        return np.asarray(g.ravel())

    def update(self, gradient: np.ndarray) -> None:
        assert self._W is not None
        self.set_model(self._W - self.lr * np.asarray(gradient, dtype=float))

    def loss(self) -> float:
        if not self._k:
            return float("nan")
        P = self._probs()
        ce = -np.log(np.clip((P * self._Y).sum(axis=1), 1e-300, None)).mean()
        assert self._W is not None
        return float(ce + 0.5 * self.reg * self._W @ self._W)

    def accuracy(self) -> float:
        """Training accuracy at the current model."""
        return float((self._probs().argmax(axis=1) == self._Y.argmax(axis=1)).mean())

    def params(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "samples": self.samples,
            "features": self.features,
            "classes": self.classes,
            "lr": self.lr,
            "reg": self.reg,
        }


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return np.asarray(E / E.sum(axis=1, keepdims=True))
