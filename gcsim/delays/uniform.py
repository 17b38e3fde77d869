"""Uniform durations on [low, high]."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel
from gcsim.errors import InvalidInputError


class UniformDelay(DelayModel):
    """Unit-load duration uniform on [low, high] (also handy as a speed spec for
    :class:`~gcsim.delays.heterogeneous.HeterogeneousDelay`).

    Parameters
    ----------
    low : float, default 0.0
        Lower end, >= 0.
    high : float, default 1.0
        Upper end, > low.
    """

    name = "uniform"

    def __init__(self, low: float = 0.0, high: float = 1.0) -> None:
        self.low = check_real(self.name, "low", low, ge=0.0)
        self.high = check_real(self.name, "high", high)
        if not self.high > self.low:
            raise InvalidInputError(
                f"{self.name}: high must be > low; got low={self.low!r}, high={self.high!r}"
            )

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def dist(self) -> Any:
        from scipy import stats  # lazy: importing scipy.stats costs ~1 s

        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def params(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high}
