"""Workload interface: where the real partial gradients come from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

__all__ = ["Workload", "check_positive"]


def check_positive(
    workload: str, name: str, value: Any, *, integer: bool = False, allow_zero: bool = False
) -> Any:
    """``value`` when it is a finite number (an integer with ``integer``) > 0 (>= 0 with
    ``allow_zero``); else one InvalidInputError line naming the workload parameter."""
    from gcsim.errors import InvalidInputError, excerpt

    ok = (
        isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if integer
        else isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and np.isfinite(value)
    )
    if not ok or (value < 0 if allow_zero else value <= 0):
        kind = "an integer" if integer else "a number"
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInputError(f"{workload}: {name} must be {kind} {bound}; got {excerpt(value)}")
    return value


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

    def check(self, k: int) -> None:  # noqa: B027 - optional hook
        """Raise InvalidInputError when the workload cannot be split into k partitions."""

    # ---- distributed execution (the live backend): data travel once, models each round
    def payload(self, j: int) -> Any:
        """The data a worker needs to compute partition j's partial gradient."""
        return self.partials()[j]

    @staticmethod
    def partial(payload: Any, model: np.ndarray | None) -> np.ndarray:
        """Partition's partial gradient from its payload at ``model`` (on a worker)."""
        return np.asarray(payload)

    @property
    def model(self) -> np.ndarray | None:
        """The current model (broadcast every round), or None."""
        return None

    def set_model(self, model: np.ndarray | None) -> None:  # noqa: B027 - optional hook
        """Replace the current model (used to recompute losses after a live run)."""

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
