"""Weibull durations (shape < 1: heavier than exponential tail; > 1: lighter)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel


class WeibullDelay(DelayModel):
    """Unit-load duration with P(X > t) = exp(-(t/scale)^shape).

    Parameters
    ----------
    shape : float
        Shape k > 0 (required; k = 1 is the exponential with mean ``scale``).
    scale : float, default 1.0
        Scale > 0.
    """

    name = "weibull"

    def __init__(self, shape: float, scale: float = 1.0) -> None:
        self.shape = check_real(self.name, "shape", shape, gt=0.0)
        self.scale = check_real(self.name, "scale", scale, gt=0.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, size)

    def dist(self) -> Any:
        from scipy import stats  # lazy: importing scipy.stats costs ~1 s

        return stats.weibull_min(c=self.shape, scale=self.scale)

    def params(self) -> dict[str, Any]:
        return {"shape": self.shape, "scale": self.scale}
