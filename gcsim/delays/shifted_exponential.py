"""Shifted exponential of Lee, Lam, Pedarsani, Papailiopoulos and Ramchandran (2018)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel


class ShiftedExponentialDelay(DelayModel):
    """Unit-load duration ``shift + Exp(rate)``.

    With the default per-worker load scaling a worker with load d takes
    ``d·shift + d·Exp(rate)``: both the deterministic part and the mean of the random part
    grow with the partitions computed, as in Lee et al. (``T = (d/k)(1 + E/μ)`` is
    ``shift = 1/k, rate = kμ`` in these units).

    Parameters
    ----------
    shift : float, default 1.0
        Minimum duration a >= 0.
    rate : float, default 1.0
        Rate λ > 0 of the exponential part.
    """

    name = "shifted-exponential"

    def __init__(self, shift: float = 1.0, rate: float = 1.0) -> None:
        self.shift = check_real(self.name, "shift", shift, ge=0.0)
        self.rate = check_real(self.name, "rate", rate, gt=0.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        out = rng.exponential(1.0 / self.rate, size)
        out += self.shift  # in place: one array per draw
        return out

    def dist(self) -> Any:
        from scipy import stats  # lazy: importing scipy.stats costs ~1 s

        return stats.expon(loc=self.shift, scale=1.0 / self.rate)

    def params(self) -> dict[str, Any]:
        return {"shift": self.shift, "rate": self.rate}
