"""Ignore stragglers: d = 1, sum the first n - s messages and rescale (a biased estimate)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._validate import check_basic, check_options, require_m1, require_s_below_n
from gcsim.codes.base import GradientCode
from gcsim.codes.info import Example, SchemeInfo
from gcsim.codes.tracker import DecodeRule


class IgnoreStragglersCode(GradientCode):
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
        super().__init__(
            n=n,
            k=n,
            s=s,
            m=1,
            supports=[[i] for i in range(n)],
            coefficients=[[[1.0]] for _ in range(n)],
            exact=False,
            cache_size=cache_size,
        )

    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> IgnoreStragglersCode:
        n, s = cls._validate(n, s, m, options)
        return cls(n, s, **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        _, s = cls._validate(n, s, m, options)
        return s, 1

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> tuple[int, int]:
        n, s, m = check_basic(cls.name, n, s, m)
        require_m1(cls.name, m)
        require_s_below_n(cls.name, n, s)
        check_options(cls.name, options, ["cache_size"])
        return n, s

    def _decode_rule(self) -> DecodeRule:
        return DecodeRule.count(self.n - self.s)

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        return len(R) >= self.n - self.s

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        return f"ignore-stragglers needs at least n-s = {self.n - self.s} responders; got {len(R)}"

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        return (np.full((1, len(R)), self.n / len(R)), 1.0, "structured: rescaled partial sum")

    def _encode(self, blocks: np.ndarray) -> np.ndarray:
        return blocks[:, 0, :].copy()


INFO = SchemeInfo(
    cls=IgnoreStragglersCode,
    display_name="Ignore stragglers (inexact)",
    supports_m=False,
    exact=False,
    color="#E69F00",
    marker="s",
    options_help="cache_size",
    examples=(Example(12, 2),),
)
