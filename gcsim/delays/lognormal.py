"""Log-normal durations."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel


class LognormalDelay(DelayModel):
    """Unit-load duration ``exp(N(mu, sigma²))``.

    Parameters
    ----------
    mu : float, default 0.0
        Mean of the underlying normal (the median duration is ``exp(mu)``).
    sigma : float, default 1.0
        Standard deviation of the underlying normal, > 0.
    """

    name = "lognormal"

    def __init__(self, mu: float = 0.0, sigma: float = 1.0) -> None:
        self.mu = check_real(self.name, "mu", mu)
        self.sigma = check_real(self.name, "sigma", sigma, gt=0.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)

    def dist(self) -> Any:
        from scipy import stats  # lazy: importing scipy.stats costs ~1 s

        return stats.lognorm(s=self.sigma, scale=float(np.exp(self.mu)))

    def params(self) -> dict[str, Any]:
        return {"mu": self.mu, "sigma": self.sigma}
