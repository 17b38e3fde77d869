"""Workload interface: where the real partial gradients come from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

__all__ = ["Workload"]


class Workload(ABC):
    """A source of real partial gradients, one per data partition, and a model to update.

    Life cycle in one run: :meth:`setup` (once, with the number of partitions and the
    run's data generator), then per round :meth:`partials` -> the code encodes and
    decodes -> :meth:`update` with the decoded gradient; :meth:`loss` after each update.
    """

    #: registry name
    name: str = "abstract"
    #: True when the partial gradients never change (messages can be encoded once)
    static: bool = False

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Gradient length l."""

    @abstractmethod
    def setup(self, k: int, rng: np.random.Generator) -> None:
        """Generate the data for ``k`` partitions from ``rng`` and reset the model."""

    @abstractmethod
    def partials(self) -> np.ndarray:
        """Partial gradients at the current model, shape (k, l)."""

    def update(self, gradient: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Apply a decoded gradient (no-op for workloads without a model)."""

    def loss(self) -> float:
        """Training loss at the current model (NaN when there is none)."""
        return float("nan")

    def params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({inner})"
