"""Logistic regression on a synthetic data set generated from a seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.errors import InvalidInputError
from gcsim.workload.base import Workload, check_positive


def expit(z: np.ndarray) -> np.ndarray:
    """The logistic sigmoid, overflow-free (numpy only: scipy.special costs ~0.4 s to
    import in every MPI rank)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def log_expit(z: np.ndarray) -> np.ndarray:
    """log(sigmoid(z)), stable for large |z|."""
    return -np.logaddexp(0.0, -z)


__all__ = ["LogisticRegression"]


def _positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> Any:
    return check_positive("logistic", name, value, integer=integer, allow_zero=allow_zero)


class LogisticRegression(Workload):
    """L2-regularised logistic regression trained by gradient descent.

    Data: ``samples`` rows with ``features`` i.i.d. N(0, 1/features) entries, a true
    weight vector w* ~ N(0, separation^2 I), labels y ~ Bernoulli(sigmoid(x . w*)).
    Rows are split into k partitions as evenly as possible (``numpy.array_split``).

    Partial gradient of partition j at w: ``X_j^T (sigmoid(X_j w) - y_j) / N + reg * w / k``
    so that the partials sum to the full gradient of
    ``loss(w) = mean_i BCE(x_i . w, y_i) + reg / 2 * ||w||^2``. Update: ``w -= lr * g_hat``.
    """

    name = "logistic"
    static = False

    def __init__(
        self,
        *,
        samples: int = 2000,
        features: int = 100,
        lr: float = 4.0,
        reg: float = 1e-3,
        separation: float = 3.0,
    ) -> None:
        self.samples = int(_positive("samples", samples, integer=True))
        self.features = int(_positive("features", features, integer=True))
        self.lr = float(_positive("lr", lr))
        self.reg = float(_positive("reg", reg, allow_zero=True))
        self.separation = float(_positive("separation", separation, allow_zero=True))
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._z: np.ndarray | None = None
        self._w: np.ndarray | None = None  # allocated when first used, never to validate

    @property
    def w(self) -> np.ndarray:
        """The model (weights); zeros until :meth:`setup` or :meth:`set_model`."""
        if self._w is None:
            self._w = np.zeros(self.features)
        return self._w

    @w.setter
    def w(self, value: np.ndarray) -> None:
        self._w = value

    @property
    def dimension(self) -> int:
        return self.features

    def check(self, k: int) -> None:
        if self.samples < k:
            raise InvalidInputError(
                f"logistic: samples ({self.samples}) must be at least the number of "
                f"partitions k={k}"
            )

    def setup(self, k: int, rng: np.random.Generator) -> None:
        self.check(k)
        X = rng.standard_normal((self.samples, self.features)) / np.sqrt(self.features)
        w_true = self.separation * rng.standard_normal(self.features)
        y = (rng.random(self.samples) < expit(X @ w_true)).astype(float)
        self._X, self._y = X, y
        self._k = k
        self._parts = [
            (Xj, yj) for Xj, yj in zip(np.array_split(X, k), np.array_split(y, k), strict=True)
        ]
        self._bounds = np.cumsum([0, *(len(yj) for _, yj in self._parts)])
        self.set_model(np.zeros(self.features))

    def _margins(self) -> np.ndarray:
        """``X @ w`` at the current model, computed once per model (the partial
        gradients and the loss both need it)."""
        if self._z is None:
            self._z = self._X @ self.w
        return self._z

    def partials(self) -> np.ndarray:
        if not self._parts:
            raise InvalidInputError("logistic: call setup() before partials()")
        z = self._margins()
        out = np.empty((self._k, self.features))
        for j, (Xj, yj) in enumerate(self._parts):
            zj = z[self._bounds[j] : self._bounds[j + 1]]
            out[j] = _partial_gradient(Xj, yj, zj, self.w, self.samples, self.reg, self._k)
        return out

    def payload(self, j: int) -> Any:
        Xj, yj = self._parts[j]
        return {"X": Xj, "y": yj, "N": self.samples, "reg": self.reg, "k": self._k}

    @staticmethod
    def partial(payload: Any, model: np.ndarray | None) -> np.ndarray:
        w = np.asarray(model, dtype=float)
        X, y = payload["X"], payload["y"]
        return _partial_gradient(X, y, X @ w, w, payload["N"], payload["reg"], payload["k"])

    @property
    def model(self) -> np.ndarray | None:
        return self.w

    def set_model(self, model: np.ndarray | None) -> None:
        self.w = np.array(model, dtype=float)
        self._z = None

    def update(self, gradient: np.ndarray) -> None:
        self.set_model(self.w - self.lr * np.asarray(gradient, dtype=float))

    def loss(self) -> float:
        z = self._margins()
        bce = -(self._y * log_expit(z) + (1 - self._y) * log_expit(-z)).mean()
        return float(bce + 0.5 * self.reg * self.w @ self.w)

    def params(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "features": self.features,
            "lr": self.lr,
            "reg": self.reg,
            "separation": self.separation,
        }


def _partial_gradient(
    X: np.ndarray, y: np.ndarray, z: np.ndarray, w: np.ndarray, N: int, reg: float, k: int
) -> np.ndarray:
    """One partition's share of the gradient at ``w``, given its margins ``z = X @ w``:
    ``X^T (sigmoid(z) - y) / N + reg * w / k`` (the shares sum to the full gradient)."""
    return X.T @ (expit(z) - y) / N + reg * w / k
