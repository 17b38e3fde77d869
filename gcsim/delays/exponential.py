"""Exponential durations (memoryless; the a = 0 case of the shifted exponential)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel
from gcsim.errors import InvalidInputError


class ExponentialDelay(DelayModel):
    """Unit-load duration ~ Exp(rate): P(X > t) = exp(-rate·t).

    Parameters
    ----------
    rate : float, optional
        Rate λ > 0 (default 1.0 when ``mean`` is not given either).
    mean : float, optional
        Mean 1/λ > 0; give ``rate`` or ``mean``, not both.
    """

    name = "exponential"

    def __init__(self, rate: float | None = None, *, mean: float | None = None) -> None:
        if rate is not None and mean is not None:
            raise InvalidInputError(
                f"{self.name}: give rate or mean, not both; got rate={rate!r}, mean={mean!r}"
            )
        if mean is not None:
            self.rate = 1.0 / check_real(self.name, "mean", mean, gt=0.0)
        else:
            self.rate = check_real(self.name, "rate", 1.0 if rate is None else rate, gt=0.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return rng.exponential(1.0 / self.rate, size)

    def dist(self) -> Any:
        from scipy import stats  # lazy: importing scipy.stats costs ~1 s

        return stats.expon(scale=1.0 / self.rate)

    def params(self) -> dict[str, Any]:
        return {"rate": self.rate}
