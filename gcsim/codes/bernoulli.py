"""Bernoulli gradient code of Charles, Papailiopoulos and Ellenberg (2017), inexact."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._approx import ApproximateCode, check_decoder, check_load
from gcsim.codes._validate import check_full_length, check_options
from gcsim.codes.info import Example, SchemeInfo


class BernoulliCode(ApproximateCode):
    """Worker i holds partition j with probability ``d / n``, independently.

    The assignment is a sparse random bipartite graph: ``B[i, j] ~ Bernoulli(d / n)``
    i.i.d. (seeded with ``rng``). Two repairs make every draw usable: a partition no
    worker drew is given to one uniformly random worker, and a worker that drew no
    partition is given one uniformly random partition; the loads therefore vary (``code.d``
    is the largest). Coefficients are column-normalised, ``B[i, j] = 1 / c_j`` with
    ``c_j`` the number of holders of partition ``j``, so the columns sum to 1: with
    every worker responding the one-step decoder (``n / |R|`` on every responder) is
    exact, and for a uniformly random responder set it is unbiased.
    """

    name = "bernoulli"
    summary = "Charles et al. Bernoulli code: B[i,j] ~ Bernoulli(d/n), normalised (inexact)"
    constraints = "m = 1, 0 <= s < n, 1 <= d <= n (expected load; default s+1)"

    @classmethod
    def build(cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any) -> BernoulliCode:
        n, s, d, decoder = cls._validate(n, s, m, options)
        from gcsim.rng import as_generator  # numpy.random: only when building

        gen = as_generator(rng)
        supports = bernoulli_supports(n, d, gen)
        holders = np.bincount(np.concatenate(supports), minlength=n)
        coefs = [(1.0 / holders[sup])[:, None] for sup in supports]
        return cls(
            n=n,
            s=s,
            supports=supports,
            coefficients=coefs,
            decoder=decoder,
            params={"expected_load": d},
            **options,
        )

    @classmethod
    def _validate(
        cls, n: Any, s: Any, m: Any, options: dict[str, Any]
    ) -> tuple[int, int, int, str]:
        """Check (n, s, m) and the options; pops ``d`` and ``decoder``."""
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "d", "decoder"])
        d = check_load(cls.name, options.pop("d", min(s + 1, n)), n)
        decoder = check_decoder(cls.name, options.pop("decoder", "one-step"))
        return n, s, d, decoder


def bernoulli_supports(n: int, d: int, gen: np.random.Generator) -> list[np.ndarray]:
    """Each worker draws each of the n partitions with probability d / n (i.i.d. over the
    n x n grid, drawn as geometric gaps between successes: O(n d), no n x n array);
    uncovered partitions go to a random worker, empty workers get a random partition."""
    p = d / n
    total = n * n
    chunks, last = [], -1
    while last < total:
        gaps = gen.geometric(p, size=int(1.2 * n * d) + 64)
        pos = last + np.cumsum(gaps)
        chunks.append(pos[pos < total])
        last = int(pos[-1])
    flat = np.concatenate(chunks)
    rows, cols = np.divmod(flat, n)
    uncovered = np.setdiff1d(np.arange(n), cols)
    rows = np.concatenate([rows, gen.integers(0, n, size=len(uncovered))])
    cols = np.concatenate([cols, uncovered])
    empty = np.setdiff1d(np.arange(n), rows)
    rows = np.concatenate([rows, empty])
    cols = np.concatenate([cols, gen.integers(0, n, size=len(empty))])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n + 1))
    return [cols[starts[i] : starts[i + 1]].astype(np.int64) for i in range(n)]


INFO = SchemeInfo(
    cls=BernoulliCode,
    display_name="Bernoulli gradient code (Charles et al., inexact)",
    supports_m=False,
    exact=False,
    color="#882255",
    marker="<",
    options_help=(
        "d=expected load (default s+1); decoder='one-step' (default, n/|R| weights) | "
        "'optimal' (least squares); cache_size"
    ),
    examples=(Example(12, 2), Example(12, 4, 1, {"d": 3, "decoder": "optimal"})),
)
