"""Approximate fractional repetition (Charles, Papailiopoulos, Ellenberg 2017): FRC with
fewer responders than the exact code needs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gcsim.codes._approx import ApproximateCode, check_decoder, check_load
from gcsim.codes._validate import check_full_length, check_int, check_options
from gcsim.codes.grouped import group_sizes
from gcsim.codes.info import Example, SchemeInfo
from gcsim.errors import InvalidInputError


class ApproximateFRCCode(ApproximateCode):
    """Replica groups of ``d`` consecutive workers (``n // d`` groups of sizes ``n // G``
    or one more, as ``grouped`` splits them); every worker of a group holds the group's
    partitions and sends their sum divided by the group size (so the columns sum to 1).

    The exact FRC needs ``d >= s + 1``; here ``d`` is free and a round may end with whole
    groups missing. One-step decoder: the first responder of each group that has one,
    weight = group size, and the sum rescaled by ``k / covered`` (the partitions
    covered), an estimate that is exact when every group is present. Optimal decoder:
    least squares, which keeps the covered groups exact and leaves the missing ones out
    (no rescaling).
    """

    name = "frc-approx"
    summary = "FRC with groups of d and any s: missing groups dropped, sum rescaled (inexact)"
    constraints = "m = 1, 0 <= s < n, 1 <= d <= n (group size; default s+1)"
    one_step_name = "first responder per group, rescaled by k/covered"

    def __init__(
        self,
        n: int,
        s: int,
        d: int,
        *,
        decoder: str = "one-step",
        cache_size: int = 1024,
    ) -> None:
        sizes = group_sizes(n, d)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._sizes = np.asarray(sizes, dtype=np.int64)
        self._group_of = np.repeat(np.arange(len(sizes)), sizes)
        supports, coefs = [], []
        for size, start in zip(sizes, starts.tolist(), strict=True):
            part = np.arange(start, start + size)
            for _ in range(size):
                supports.append(part)
                coefs.append(np.full((size, 1), 1.0 / size))
        super().__init__(
            n=n,
            s=s,
            supports=supports,
            coefficients=coefs,
            decoder=decoder,
            cache_size=cache_size,
            params={"group_size": d},
        )

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "d", "decoder"])
        d = check_load(cls.name, options.pop("d", min(s + 1, n)), n)
        decoder = check_decoder(cls.name, options.pop("decoder", "one-step"))
        return {"n": n, "s": s, "d": d, "decoder": decoder}

    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> ApproximateFRCCode:
        """Validate, then construct (deterministic: ``rng`` unused)."""
        return cls(**cls._validate(n, s, m, options), **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """``(s, largest group)`` without building."""
        args = cls._validate(n, s, m, options)
        return args["s"], max(group_sizes(args["n"], args["d"]))

    @property
    def group_sizes(self) -> list[int]:
        """The replica groups' sizes, in worker order."""
        return self._sizes.tolist()

    def _one_step(self, R: tuple[int, ...]) -> np.ndarray:
        groups = self._group_of[np.asarray(R, dtype=np.int64)]
        first = np.ones(len(R), dtype=bool)
        first[1:] = groups[1:] != groups[:-1]  # R sorted: a group's responders are adjacent
        covered = int(self._sizes[groups[first]].sum())
        return np.where(first, self._sizes[groups] * (self.k / covered), 0.0)

    def covered_distribution(self, stragglers: int) -> dict[int, int]:
        """How many straggler sets of the given size leave exactly ``c`` partitions
        covered, for every ``c`` (a count over all ``C(n, stragglers)`` sets)."""
        s = int(stragglers)
        # ways[(used, covered)]: straggler choices within the groups seen so far
        ways: dict[tuple[int, int], int] = {(0, 0): 1}
        for size in self._sizes.tolist():
            nxt: dict[tuple[int, int], int] = {}
            for (used, cov), w in ways.items():
                for t in range(0, min(size, s - used) + 1):
                    key = (used + t, cov + (0 if t == size else size))
                    nxt[key] = nxt.get(key, 0) + w * math.comb(size, t)
            ways = nxt
        return {cov: w for (used, cov), w in ways.items() if used == s}

    def expected_error(self, stragglers: int) -> float:
        """Mean squared coefficient error ``E ||B_R^T a - 1||^2 / k`` of the one-step
        decoder over a uniformly random straggler set of the given size (exact): with
        ``c`` partitions covered the rescaled estimate has squared error
        ``(k - c) + c (k / c - 1)^2 = k (k - c) / c``."""
        n, k = self.n, self.k
        s = check_int("stragglers", stragglers, minimum=0, scheme=self.name)
        if s >= n:
            raise InvalidInputError(f"{self.name}: stragglers must be < n={n}; got {s}")
        dist = self.covered_distribution(s)
        return sum(w * (k - c) / c for c, w in dist.items()) / math.comb(n, s)

    def expected_optimal_error(self, stragglers: int) -> float:
        """``E ||B_R^T a - 1||^2 / k`` of the optimal decoder over a uniformly random
        straggler set of the given size: a group is lost exactly when all its workers
        straggle, and then its partitions get weight 0, so the mean squared error is
        ``sum_g size_g C(n - size_g, s - size_g) / C(n, s) / k``."""
        n, s = self.n, int(stragglers)
        total = math.comb(n, s)
        lost = sum(
            int(size) * math.comb(n - int(size), s - int(size)) for size in self._sizes if s >= size
        )
        return lost / total / self.k


INFO = SchemeInfo(
    cls=ApproximateFRCCode,
    display_name="Approximate fractional repetition (Charles et al., inexact)",
    supports_m=False,
    exact=False,
    color="#117733",
    marker=">",
    options_help=(
        "d=group size (default s+1); decoder='one-step' (default: one responder per group, "
        "rescaled) | 'optimal' (least squares); cache_size"
    ),
    examples=(Example(12, 4, 1, {"d": 2}), Example(12, 4, 1, {"d": 3, "decoder": "optimal"})),
)
