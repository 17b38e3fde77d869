"""Cyclic repetition code of Tandon et al. (ICML 2017), random construction."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._cyclic import CyclicCode
from gcsim.codes._validate import MAX_DRAWS, MAX_PROBE, check_full_length, check_int, check_options
from gcsim.codes.info import Example, SchemeInfo, slot_style


def crc_matrix(n: int, s: int, rng: np.random.Generator) -> np.ndarray:
    """Dense B (n x n) of the random cyclic repetition code.

    ``H`` (s x n) has i.i.d. N(0,1) columns except the last, which makes ``H 1 = 0``;
    row i has support ``{i, ..., i+s} mod n``, a 1 on its first entry and the rest solved
    so that ``H b_i = 0``. With probability 1 any n-s rows span null(H), which holds 1.
    """
    B = np.zeros((n, n))
    if s == 0:
        np.fill_diagonal(B, 1.0)
        return B
    Ht = rng.standard_normal((s, n - 1))
    H = np.hstack([Ht, -Ht.sum(axis=1, keepdims=True)])
    for i in range(n):
        S = [(i + t) % n for t in range(s + 1)]
        B[i, S[0]] = 1.0
        B[i, S[1:]] = -np.linalg.solve(H[:, S[1:]], H[:, S[0]])
    return B


class CyclicRepetitionCode(CyclicCode):
    """Worker i holds partitions ``i..i+s (mod n)``; coefficients from a random null space.

    Decoded with the generic least-squares solver on the responders' rows (as the
    authors' code does). ``draws > 1`` draws several H and keeps the construction whose
    worst condition number over ``probe`` random straggler sets is smallest.
    """

    name = "crc"
    summary = "Tandon et al. cyclic repetition, random construction (seeded)"
    constraints = "m = 1, 0 <= s < n"

    def __init__(
        self,
        n: int,
        s: int,
        B: np.ndarray,
        *,
        cache_size: int = 1024,
        params: dict[str, Any] | None = None,
    ) -> None:
        offsets = np.arange(s + 1)
        blocks = [B[i, (i + offsets) % n][:, None] for i in range(n)]
        super().__init__(n, s, 1, blocks, cache_size=cache_size, params=params)

    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> CyclicRepetitionCode:
        n, s, draws, probe = cls._validate(n, s, m, options)
        from gcsim.rng import as_generator  # numpy.random: only when building

        gen = as_generator(rng)
        best, best_cond = None, np.inf
        for _ in range(draws):
            B = crc_matrix(n, s, gen)
            if draws == 1:
                best = B
                break
            worst = 0.0
            for _ in range(probe):
                alive = np.sort(gen.choice(n, n - s, replace=False))
                worst = max(worst, float(np.linalg.cond(B[alive])))
            if worst < best_cond:
                best, best_cond = B, worst
        assert best is not None
        return cls(n, s, best, params={"draws": draws}, **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        _, s, _, _ = cls._validate(n, s, m, options)
        return s, s + 1

    @classmethod
    def _validate(
        cls, n: Any, s: Any, m: Any, options: dict[str, Any]
    ) -> tuple[int, int, int, int]:
        """Check (n, s, m) and the options; pops ``draws`` and ``probe`` from ``options``."""
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "draws", "probe"])
        draws = check_int(
            "draws", options.pop("draws", 1), minimum=1, maximum=MAX_DRAWS, scheme=cls.name
        )
        probe = check_int(
            "probe", options.pop("probe", 50), minimum=1, maximum=MAX_PROBE, scheme=cls.name
        )
        return n, s, draws, probe


INFO = SchemeInfo(
    cls=CyclicRepetitionCode,
    display_name="Cyclic repetition (Tandon et al.)",
    supports_m=False,
    exact=True,
    **slot_style(3),
    options_help=(
        "draws=K keeps the best of K random constructions by worst condition number over "
        "probe=P random straggler sets (default 1 and 50); cache_size"
    ),
    examples=(Example(12, 2),),
)
