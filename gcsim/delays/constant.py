"""Deterministic duration (``value = 0`` is the ideal, straggler-free cluster)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel


class ConstantDelay(DelayModel):
    """Every unit-load task takes exactly ``value`` (so a worker with load d takes d·value).

    Parameters
    ----------
    value : float, default 1.0
        Duration per unit load, >= 0. Registry aliases ``"ideal"`` and ``"zero"`` give
        ``value = 0``.
    """

    name = "constant"

    def __init__(self, value: float = 1.0) -> None:
        self.value = check_real(self.name, "value", value, ge=0.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return np.full(size, self.value)

    def params(self) -> dict[str, Any]:
        return {"value": self.value}
