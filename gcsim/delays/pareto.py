"""Pareto (type I) durations: a heavy power-law tail."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real, require
from gcsim.delays.base import DelayModel


class ParetoDelay(DelayModel):
    """Unit-load duration with P(X > t) = (scale/t)^alpha for t >= scale.

    The mean is finite only for alpha > 1, the variance only for alpha > 2.

    Parameters
    ----------
    scale : float, default 1.0
        Minimum duration t_m > 0.
    alpha : float
        Tail index > 0 (required).
    """

    name = "pareto"

    required = ("alpha",)

    def __init__(self, scale: float = 1.0, alpha: float | None = None) -> None:
        self.scale = check_real(self.name, "scale", scale, gt=0.0)
        self.alpha = check_real(self.name, "alpha", require(self.name, "alpha", alpha), gt=0.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        # numpy's pareto is the Lomax (Pareto II) law on [0, inf): shift it to type I
        return self.scale * (1.0 + rng.pareto(self.alpha, size))

    def dist(self) -> Any:
        from scipy import stats  # lazy: importing scipy.stats costs ~1 s

        return stats.pareto(b=self.alpha, scale=self.scale)

    def params(self) -> dict[str, Any]:
        return {"scale": self.scale, "alpha": self.alpha}
