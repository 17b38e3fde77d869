"""Random-vectors workload: fixed N(0, scale^2) partial gradients, for speed."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.errors import InvalidInputError, excerpt
from gcsim.workload.base import Workload

__all__ = ["RandomVectors"]


class RandomVectors(Workload):
    """Partial gradients drawn once per run from the data stream and kept fixed.

    There is no model: the messages are identical every round, so the simulator
    encodes them once (exactly, not as an approximation) and decodes every round with
    that round's responders, measuring the decoder's condition number and error.
    """

    name = "random-vectors"
    static = True

    def __init__(
        self, dimension: int = 1000, *, scale: float = 1.0, dtype: str = "float64"
    ) -> None:
        if (
            isinstance(dimension, bool)
            or not isinstance(dimension, (int, np.integer))
            or dimension < 1
        ):
            raise InvalidInputError(
                f"random-vectors: dimension must be a positive integer; got {excerpt(dimension)}"
            )
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float, np.integer, np.floating))
            or not np.isfinite(scale)
            or scale <= 0
        ):
            raise InvalidInputError(
                f"random-vectors: scale must be a finite number > 0; got {excerpt(scale)}"
            )
        if dtype not in ("float32", "float64"):
            raise InvalidInputError(
                f"random-vectors: dtype must be 'float32' or 'float64'; got {excerpt(dtype)}"
            )
        self._l = int(dimension)
        self.scale = float(scale)
        self.dtype = dtype
        self._P: np.ndarray | None = None

    @property
    def dimension(self) -> int:
        return self._l

    def setup(self, k: int, rng: np.random.Generator) -> None:
        self._P = (self.scale * rng.standard_normal((k, self._l))).astype(self.dtype)
        self._P.flags.writeable = False

    def partials(self) -> np.ndarray:
        if self._P is None:
            raise InvalidInputError("random-vectors: call setup() before partials()")
        return self._P

    def params(self) -> dict[str, Any]:
        return {"dimension": self._l, "scale": self.scale, "dtype": self.dtype}
