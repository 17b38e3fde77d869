"""Ignore stragglers: d = 1, sum the first n - s messages and rescale (a biased estimate)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._validate import check_full_length, check_options
from gcsim.codes.info import Example, SchemeInfo, slot_style
from gcsim.codes.uncoded import OnePartitionCode


class IgnoreStragglersCode(OnePartitionCode):
    """Approximate baseline (``exact = False``).

    Worker i computes partition i; any ``n - s`` or more responders "decode" to
    ``n / |R| * sum_{i in R} f_i``, the rescaled partial sum used by the authors' code of
    Tandon et al. (``avoidstragg``). The decode never raises for the residual; its error
    against the true sum is in ``decoder(R).residual`` (coefficient error) and
    :meth:`decoding_error` (gradient error for given partials).
    """

    name = "ignore-stragglers"
    summary = "no redundancy: sum the first n-s messages, rescaled by n/(n-s) (inexact)"
    constraints = "m = 1, 0 <= s < n"

    def __init__(self, n: int, s: int, *, cache_size: int = 1024) -> None:
        super().__init__(n, s, exact=False, cache_size=cache_size)

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size"])
        return {"n": n, "s": s}

    @classmethod
    def _effective(cls, args: dict[str, Any]) -> tuple[int, int]:
        return args["s"], 1

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        return f"ignore-stragglers needs at least n-s = {self.n - self.s} responders; got {len(R)}"

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        return (np.full((1, len(R)), self.n / len(R)), 1.0, "structured: rescaled partial sum")


INFO = SchemeInfo(
    cls=IgnoreStragglersCode,
    display_name="Ignore stragglers (inexact)",
    supports_m=False,
    exact=False,
    **slot_style(1),
    options_help="cache_size",
    examples=(Example(12, 2),),
)
