"""Generator matrices of short linear codes over the reals, and their real minimum distance.

A generator ``Gen`` has shape (m, d): m = dimension (communication reduction), d = block
length (computation load). Its real minimum distance d_min fixes the stragglers a group
tolerates: any ``d - d_min + 1`` columns have rank m, so ``d_min - 1`` stragglers per group
are harmless.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from gcsim.errors import InfeasibleParametersError

#: Systematic generator of the binary [7, 4, 3] Hamming code, used over the reals.
HAMMING_7_4 = np.array(
    [
        [1, 0, 0, 0, 1, 1, 0],
        [0, 1, 0, 0, 1, 0, 1],
        [0, 0, 1, 0, 0, 1, 1],
        [0, 0, 0, 1, 1, 1, 1],
    ],
    dtype=float,
)

#: Largest number of column subsets :func:`real_tolerance` is willing to check.
MAX_SUBSETS = 200_000


def gaussian(m: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """i.i.d. N(0, 1) entries: MDS with probability 1."""
    return rng.standard_normal((m, d))


def vandermonde(m: int, d: int) -> np.ndarray:
    """Real Vandermonde on d equispaced nodes in [-1, 1]: Gen[u, p] = x_p^u (MDS)."""
    x = np.linspace(-1.0, 1.0, d) if d > 1 else np.zeros(1)
    return np.vander(x, m, increasing=True).T.copy()


def chebyshev(m: int, d: int) -> np.ndarray:
    """Chebyshev-Vandermonde: Gen[u, p] = T_u(x_p) at the d Chebyshev nodes (MDS)."""
    x = np.cos((2 * np.arange(d) + 1) * np.pi / (2 * d))
    return np.polynomial.chebyshev.chebvander(x, m - 1).T.copy()


def repetition(d: int) -> np.ndarray:
    """[d, 1, d] repetition code: every worker sends the group sum."""
    return np.ones((1, d))


def parity(m: int) -> np.ndarray:
    """[m+1, m, 2] single-parity-check code ``[I_m | 1]`` (MDS, one straggler per group)."""
    return np.hstack([np.eye(m), np.ones((m, 1))])


def _subsets(d: int, size: int, limit: int, rng: np.random.Generator | None) -> np.ndarray:
    total = math.comb(d, size)
    if total <= limit or rng is None:
        if total > MAX_SUBSETS:
            raise InfeasibleParametersError(
                f"checking all {total} column subsets of size {size} of a length-{d} code "
                f"exceeds the limit of {MAX_SUBSETS}; use a shorter code"
            )
        return np.array(list(itertools.combinations(range(d), size)), dtype=np.int64)
    return np.sort(np.array([rng.choice(d, size, replace=False) for _ in range(limit)]), axis=1)


def worst_condition(
    gen: np.ndarray, *, limit: int = 2000, rng: np.random.Generator | None = None
) -> float:
    """Worst 2-norm condition number over the m-column submatrices (all, or ``limit``
    random ones when there are more than ``limit``)."""
    m, d = gen.shape
    subsets = _subsets(d, m, limit, rng)
    mats = gen[:, subsets].transpose(1, 0, 2)  # (S, m, m)
    with np.errstate(all="ignore"):
        c = np.linalg.cond(mats)
    return float(np.max(c))


def real_tolerance(gen: np.ndarray, *, rtol: float = 1e-10) -> int:
    """Largest t such that every set of d - t columns of ``gen`` has rank m over the reals
    (t = d_min - 1). Raises when the rows are linearly dependent (rank < m)."""
    m, d = gen.shape
    if np.linalg.matrix_rank(gen) < m:
        raise InfeasibleParametersError(
            f"generator rows must be linearly independent (rank {m}); got rank "
            f"{np.linalg.matrix_rank(gen)} for shape {gen.shape}"
        )
    scale = float(np.abs(gen).max())
    # if every r-subset has rank m so does every larger one: find the smallest such r
    for r in range(m, d + 1):
        subsets = _subsets(d, r, MAX_SUBSETS, None)
        mats = gen[:, subsets].transpose(1, 0, 2)  # (S, m, r)
        sv = np.linalg.svd(mats, compute_uv=False)  # (S, m)
        if np.all(sv[:, -1] > rtol * scale * max(m, d)):
            return d - r
    raise AssertionError("unreachable: the full column set has rank m")


def is_mds(gen: np.ndarray) -> bool:
    m, d = gen.shape
    return real_tolerance(gen) == d - m
