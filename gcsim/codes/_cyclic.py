"""The cyclic assignment shared by the cyclic repetition, cyclic MDS and Ye–Abbe codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from gcsim.codes.base import GradientCode


class CyclicCode(GradientCode):
    """Worker i holds the d consecutive partitions ``i, i+1, ..., i+d-1 (mod n)`` (k = n).

    ``blocks[i]`` (shape ``(d, m)``) holds worker i's coefficients by offset: row t
    multiplies partition ``(i + t) mod n``; they are stored sorted by partition id. Every
    cyclic construction here decodes from any n - s responders (crc with probability 1,
    cyclic-mds by the MDS property, ye-abbe by interpolation), so such sets need no rank
    test; smaller ones get the generic one unless a subclass knows better.
    """

    def __init__(
        self,
        n: int,
        s: int,
        m: int,
        blocks: Sequence[ArrayLike] | np.ndarray,
        *,
        field: Literal["real", "complex"] = "real",
        cache_size: int = 1024,
        params: dict[str, Any] | None = None,
    ) -> None:
        supports, coefs = [], []
        for i, block in enumerate(blocks):
            rows = np.asarray(block)
            cols = (i + np.arange(len(rows))) % n
            order = np.argsort(cols)
            supports.append(cols[order])
            coefs.append(rows[order])
        super().__init__(
            n=n,
            k=n,
            s=s,
            m=m,
            supports=supports,
            coefficients=coefs,
            exact=True,
            field=field,
            cache_size=cache_size,
            params=params,
        )

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        if len(R) >= self.n - self.s:
            return True
        return super()._is_decodable(R)
