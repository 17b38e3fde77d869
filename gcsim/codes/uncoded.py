"""Uncoded baseline: worker i computes partition i and the server waits for everyone."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._validate import ValidatedBuild, check_basic, check_options, require_m1
from gcsim.codes.info import Example, SchemeInfo, slot_style
from gcsim.codes.tracker import DecodeRule
from gcsim.errors import InfeasibleParametersError


class OnePartitionCode(ValidatedBuild):
    """d = 1, B = I: worker i computes partition i alone and any n - s messages are
    summed (the common part of ``uncoded``, where s = 0, and ``ignore-stragglers``)."""

    def __init__(self, n: int, s: int, *, exact: bool, cache_size: int = 1024) -> None:
        super().__init__(
            n=n,
            k=n,
            s=s,
            m=1,
            supports=[[i] for i in range(n)],
            coefficients=[[[1.0]] for _ in range(n)],
            exact=exact,
            cache_size=cache_size,
        )

    def _decode_rule(self) -> DecodeRule:
        return DecodeRule.count(self.n - self.s)

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        return len(R) >= self.n - self.s

    def _encode(self, blocks: np.ndarray) -> np.ndarray:
        return blocks[:, 0, :].copy()


class UncodedCode(OnePartitionCode):
    """d = 1, B = I: the gradient is the plain sum of all n messages (s must be 0)."""

    name = "uncoded"
    summary = "no redundancy: worker i computes partition i; waits for all n workers"
    constraints = "s = 0, m = 1, any n >= 1"

    def __init__(self, n: int, *, cache_size: int = 1024) -> None:
        super().__init__(n, 0, exact=True, cache_size=cache_size)

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        n, s, m = check_basic(cls.name, n, s, m)
        require_m1(cls.name, m)
        if s != 0:
            raise InfeasibleParametersError(
                f"uncoded tolerates no stragglers: it needs s=0; got s={s} "
                "(use 'ignore-stragglers' to drop the slowest s, or a gradient code)"
            )
        check_options(cls.name, options, ["cache_size"])
        return {"n": n}

    @classmethod
    def _effective(cls, args: dict[str, Any]) -> tuple[int, int]:
        return 0, 1

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        missing = sorted(set(range(self.n)) - set(R))
        more = "..." if len(missing) > 10 else ""
        return f"uncoded needs every worker; missing {missing[:10]}{more}"

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        return np.ones((1, self.n)), 1.0, "structured: plain sum"


INFO = SchemeInfo(
    cls=UncodedCode,
    display_name="Uncoded",
    supports_m=False,
    exact=True,
    **slot_style(0),
    options_help="cache_size",
    examples=(Example(12, 0),),
    supports_s=False,
)
