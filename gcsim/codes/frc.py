"""Fractional repetition code of Tandon, Lei, Dimakis and Karampatziakis (ICML 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._validate import (
    ValidatedBuild,
    check_full_length,
    check_options,
    fmt_values,
    nearest,
)
from gcsim.codes.info import Example, SchemeInfo, slot_style
from gcsim.codes.tracker import DecodeRule
from gcsim.errors import InfeasibleParametersError


class FractionalRepetitionCode(ValidatedBuild):
    """Replica groups of s+1 consecutive workers; every worker of group r holds the
    group's s+1 partitions ``r(s+1) .. r(s+1)+s`` and sends their plain sum.

    Decodable as soon as every group has one responder (the decoder adds the message of
    the lowest-numbered responder of each group); numerically exact (0/1 coefficients).
    """

    name = "frc"
    summary = "Tandon et al. fractional repetition: replica groups of s+1, plain sums"
    constraints = "m = 1, (s+1) divides n"

    def __init__(self, n: int, s: int, *, cache_size: int = 1024) -> None:
        r = s + 1
        supports = [list(range((i // r) * r, (i // r) * r + r)) for i in range(n)]
        coefs = [np.ones((r, 1)) for _ in range(n)]
        super().__init__(
            n=n,
            k=n,
            s=s,
            m=1,
            supports=supports,
            coefficients=coefs,
            exact=True,
            cache_size=cache_size,
        )
        self._r = r

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        n, s = check_full_length(cls.name, n, s, m)
        if n % (s + 1):
            feas_s = [t - 1 for t in range(1, n + 1) if n % t == 0]
            feas_n = nearest([(s + 1) * q for q in range(1, n // (s + 1) + 3)], n)
            raise InfeasibleParametersError(
                f"frc needs (s+1) to divide n; got n={n}, s={s} "
                f"(feasible s for n={n}: {fmt_values(feas_s)}; nearest n for s={s}: "
                f"{fmt_values(feas_n)}; 'grouped' with generator='repetition' allows any n)"
            )
        check_options(cls.name, options, ["cache_size"])
        return {"n": n, "s": s}

    @classmethod
    def _effective(cls, args: dict[str, Any]) -> tuple[int, int]:
        return args["s"], args["s"] + 1

    def _decode_rule(self) -> DecodeRule:
        groups = self.n // self._r
        return DecodeRule.groups(
            np.arange(self.n) // self._r, np.ones(groups, dtype=int), self.n - self.s
        )

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        groups = np.zeros(self.n // self._r, dtype=bool)
        groups[np.asarray(R, dtype=np.int64) // self._r] = True
        return bool(groups.all())

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        have = {i // self._r for i in R}
        lost = [g for g in range(self.n // self._r) if g not in have]
        spans = ", ".join(
            f"{g} (workers {g * self._r}..{g * self._r + self._r - 1})" for g in lost[:5]
        )
        return f"frc: replica group(s) with no responder: {spans}{'...' if len(lost) > 5 else ''}"

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        A = np.zeros((1, len(R)))
        seen: set[int] = set()
        for t, i in enumerate(R):
            g = i // self._r
            if g not in seen:
                seen.add(g)
                A[0, t] = 1.0
        return A, 1.0, "structured: first responder per replica group"

    def _encode(self, blocks: np.ndarray) -> np.ndarray:
        q = blocks.shape[2]
        sums = blocks[:, 0, :].reshape(self.n // self._r, self._r, q).sum(axis=1)
        return np.repeat(sums, self._r, axis=0)

    def _encode_worker(self, i: int, own_blocks: np.ndarray) -> np.ndarray:
        return own_blocks[:, 0, :].sum(axis=0)


INFO = SchemeInfo(
    cls=FractionalRepetitionCode,
    display_name="Fractional repetition (Tandon et al.)",
    supports_m=False,
    exact=True,
    **slot_style(2),
    options_help="cache_size",
    examples=(Example(12, 2),),
)
