"""Bimodal ("straggler or not") durations: each draw is slow with probability p."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gcsim.delays._validate import as_model, check_prob, check_real, require
from gcsim.delays.base import DelayModel
from gcsim.errors import InvalidInputError


class BimodalDelay(DelayModel):
    """Unit-load duration ``X · κ^B`` with X a draw of ``base`` and B ~ Bernoulli(p)
    independent of X: each draw (each worker, each round) is independently slow with
    probability p, and a slow draw takes κ times longer.

    For persistent slowness across rounds use
    :class:`~gcsim.delays.persistent.PersistentDelay`.

    Parameters
    ----------
    base : DelayModel, str or dict, default ``{"model": "constant", "value": 1.0}``
        i.i.d. model of a normal draw (with the default every task takes 1 or κ).
    p : float
        Probability in [0, 1] that a draw is slow (required).
    factor : float
        Slow-down κ >= 1 of a slow draw (required).
    """

    name = "bimodal"
    required = ("p", "factor")
    row_stable = False  # two streams (base, Bernoulli) per call

    def __init__(
        self,
        base: DelayModel | str | Mapping[str, Any] | None = None,
        p: float | None = None,
        factor: float | None = None,
    ) -> None:
        self.base = as_model(self.name, "base", {"model": "constant"} if base is None else base)
        if not self.base.iid:
            raise InvalidInputError(
                f"{self.name}: base must be an i.i.d. model; got base={self.base!r} "
                f"(iid=False; wrap the bimodal model inside it instead)"
            )
        self.p = check_prob(self.name, "p", require(self.name, "p", p))
        self.factor = check_real(self.name, "factor", require(self.name, "factor", factor), ge=1.0)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        x = self.base.sample(rng, size)
        slow = rng.random(size) < self.p
        return np.where(slow, x * self.factor, x)

    def params(self) -> dict[str, Any]:
        return {"base": self.base.spec(), "p": self.p, "factor": self.factor}
