"""What the heterogeneous codes share: loads from worker speeds, the cyclic placement of
replicas, and the universal null-space construction of an exact code for ANY placement.

Placement. With k = n partitions each held by ``r`` distinct workers there are ``r k``
partition slots; worker i gets ``d_i`` of them, proportional to its speed ``c_i``
(:func:`loads_from_speeds`: ``1 <= d_i <= k``, largest remainders, caps redistributed).
The slots are laid out as ``0, 1, ..., k-1, 0, 1, ...`` (r rounds) and worker i takes the
next ``d_i`` of them (:func:`cyclic_placement`): a window of at most k consecutive slots
holds distinct partitions, and the r copies of a partition lie k slots apart, so in r
distinct workers.

Construction (:func:`null_space_code`). Let ``N = n - s`` and ``G`` an ``N x n`` matrix
any N of whose columns are invertible. Every row of B is a combination of the rows of
one ``N x (k m)`` matrix Q: ``B[i] = G[:, i]^T Q``. For a responder set R of N workers
``B_R = G_R^T Q`` with ``G_R`` invertible, so ``A_R = F G_R^{-T}`` gives
``A_R B_R = F Q`` for any fixed ``m x N`` matrix F; asking ``F Q = [I_m ... I_m]`` makes
every N-set decode the sum exactly. The support constraint is linear in Q: the column
of partition j, block u must satisfy ``G[:, i]^T Q[:, (j, u)] = 0`` for the ``n - r_j``
workers i that lack j, plus the m equations ``F Q[:, (j, u)] = e_u``. The first set
leaves a space of dimension ``r_j - s`` (any ``n - r_j <= N`` columns of G are
independent), on which a random F (Gaussian, seeded; orthonormal rows) has rank m with
probability 1 whenever ``r_j - s >= m``; the least-norm solution is taken. So any
placement whose least-replicated partition has ``r = min_j r_j`` copies gives an exact
code with messages of ``ceil(l / m)`` values for every ``m <= r - s`` (the optimum of
Jahani-Nezhad and Maddah-Ali), and any N workers decode exactly (by an s x s solve: see
:meth:`HeterogeneousCode._structured_decoder`).

G is an orthonormal basis of the null space of a parity matrix ``H`` (s x n) of real
trigonometric functions at equally spaced angles (:func:`trig_parity`). Then
``G_R`` is invertible exactly when the s columns of H at the stragglers are, which a
Chebyshev system guarantees, and its condition number is ``1 / sigma_min`` of those
s columns (after orthonormalising H's rows): it grows only polynomially in n / s (n = 40:
worst over every straggler set 81 at s = 2, 766 at s = 3, 5.4e3 at s = 4), where a
Gaussian G reaches 1e6 to 5e8 at s = 3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.errors import InvalidInputError, excerpt

__all__ = [
    "HeterogeneousCode",
    "check_placement",
    "check_speeds",
    "cyclic_placement",
    "loads_from_speeds",
    "null_space_code",
]


def check_speeds(scheme: str, speeds: Any, n: int) -> np.ndarray:
    """``speeds`` as a float array of n finite positive numbers (``None``: all equal)."""
    if speeds is None:
        return np.ones(n)
    if isinstance(speeds, str):
        hint = (
            " ('cluster' is resolved by a scenario from its delays.compute model; from "
            "Python pass the speeds themselves)"
            if speeds == "cluster"
            else ""
        )
        raise InvalidInputError(
            f"{scheme}: speeds must be a list of {n} positive numbers (relative "
            f"throughputs, one per worker); got {excerpt(speeds)}{hint}"
        )
    try:
        arr = np.asarray(speeds, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"{scheme}: speeds must be a list of {n} positive numbers; got {excerpt(speeds)}"
        ) from None
    if arr.shape != (n,):
        raise InvalidInputError(
            f"{scheme}: speeds must have one entry per worker (n={n}); got shape {arr.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
    if bad.size:
        raise InvalidInputError(
            f"{scheme}: speeds must be finite and > 0; got speeds[{bad[0]}]={float(arr[bad[0]])!r}"
        )
    return arr


def loads_from_speeds(speeds: np.ndarray, total: int, cap: int) -> np.ndarray:
    """Integer loads ``1 <= d_i <= cap`` summing to ``total``, proportional to ``speeds``.

    Workers whose share falls outside ``[1, cap]`` are fixed at the bound and the rest
    shared again among the others (water filling); the remaining fractional parts go to
    the largest remainders (ties to the lower worker id). Needs ``n <= total <= n cap``.
    """
    c = np.asarray(speeds, dtype=float)
    c = np.maximum(c / c.max(), 1e-300)  # only ratios matter; no overflow for huge speeds
    n = len(c)
    if not n <= total <= n * cap:
        raise AssertionError("internal: loads need n <= total <= n * cap")
    fixed = np.full(n, -1.0)
    while True:
        free = fixed < 0
        left = total - fixed[~free].sum()
        share = np.where(free, left * c / c[free].sum(), fixed)
        over = free & (share > cap)
        under = free & (share < 1)
        if over.any():
            fixed[over] = cap
        elif under.any():
            fixed[under] = 1
        else:
            break
    base = np.floor(share + 1e-9).astype(np.int64)
    base = np.clip(base, 1, cap)
    rest = int(total - base.sum())
    frac = share - base
    order = np.lexsort((np.arange(n), -frac))  # largest remainder first, then lower id
    for i in order:
        if rest <= 0:
            break
        if base[i] < cap:
            base[i] += 1
            rest -= 1
    if rest != 0 or not np.all((base >= 1) & (base <= cap)):
        raise AssertionError("internal: load allocation did not sum to the total")
    return base


def cyclic_placement(loads: Sequence[int] | np.ndarray, k: int) -> list[np.ndarray]:
    """Worker i holds the next ``loads[i]`` slots of ``0, 1, ..., k-1, 0, 1, ...``
    (sorted partition ids; distinct while every load is at most k)."""
    out, pos = [], 0
    for d in loads:
        out.append(np.sort((pos + np.arange(int(d))) % k))
        pos += int(d)
    return out


def check_placement(scheme: str, placement: Any, n: int) -> tuple[list[np.ndarray], int]:
    """An explicit placement (n lists of partition ids) as sorted arrays, and k.

    Partitions are numbered 0..k-1 and every one of them must be held by someone."""
    if isinstance(placement, (str, bytes)) or not hasattr(placement, "__len__"):
        raise InvalidInputError(
            f"{scheme}: placement must be a list of n={n} lists of partition ids; got "
            f"{excerpt(placement)}"
        )
    if len(placement) != n:
        raise InvalidInputError(
            f"{scheme}: placement must list the partitions of each of the n={n} workers; "
            f"got {len(placement)} lists"
        )
    sups: list[np.ndarray] = []
    for i, row in enumerate(placement):
        try:
            arr = np.asarray(row)
        except (TypeError, ValueError):
            arr = np.asarray([None])
        if (
            arr.ndim != 1
            or arr.size == 0
            or arr.dtype.kind not in "iu"
            or arr.min() < 0
            or len(set(arr.tolist())) != arr.size
        ):
            raise InvalidInputError(
                f"{scheme}: placement[{i}] must be a non-empty list of distinct partition "
                f"ids >= 0; got {excerpt(row)}"
            )
        sups.append(np.sort(arr.astype(np.int64)))
    k = int(max(int(x.max()) for x in sups)) + 1
    held = np.zeros(k, dtype=bool)
    for x in sups:
        held[x] = True
    if not held.all():
        raise InvalidInputError(
            f"{scheme}: partitions are numbered 0..k-1 and each must be held by a worker; "
            f"nobody holds {np.flatnonzero(~held)[:5].tolist()}"
        )
    return sups, k


def replication(supports: Sequence[np.ndarray], k: int) -> np.ndarray:
    """How many workers hold each partition, shape (k,)."""
    r = np.zeros(k, dtype=np.int64)
    for x in supports:
        r[x] += 1
    return r


def trig_parity(n: int, s: int) -> np.ndarray:
    """``H`` (s x n): real trigonometric functions of s symmetric frequencies
    (``-(s-1)/2 .. (s-1)/2``, half-integers when s is even) at the n angles
    ``2 pi i / n``. They form a Chebyshev (Haar) system on those angles, so every s
    columns of H are independent, and adjacent angles cost only a factor polynomial in
    n / s in their conditioning."""
    th = 2 * np.pi * np.arange(n) / n
    rows: list[np.ndarray] = []
    f = 0.0 if s % 2 else 0.5
    if s % 2:
        rows.append(np.ones(n))
        f = 1.0
    while len(rows) < s:
        rows += [np.cos(f * th), np.sin(f * th)]
        f += 1.0
    return np.array(rows[:s]).reshape(s, n)


def null_space_code(
    supports: Sequence[np.ndarray], k: int, s: int, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """``G`` (N x n), ``P`` (s x n: an orthonormal basis of H's rows, so that [G; P] is
    orthogonal), ``F`` (m x N) and the coefficient blocks (d_i x m) of the construction
    in the module docstring; needs every partition held by at least ``s + m`` workers."""
    n = len(supports)
    N = n - s
    H = trig_parity(n, s)
    # rows of G: an orthonormal basis of the null space of H (every N columns invertible)
    Vt = np.linalg.svd(H)[2] if s else np.eye(n)
    G, P = Vt[s:], Vt[:s]
    F = np.linalg.qr(rng.standard_normal((N, m)))[0].T  # (m, N), orthonormal rows
    FG = F @ G  # (m, n)
    holders: list[list[int]] = [[] for _ in range(k)]
    for i, x in enumerate(supports):
        for j in x.tolist():
            holders[j].append(i)
    coefs = [np.zeros((len(x), m)) for x in supports]
    where = [{int(j): t for t, j in enumerate(x.tolist())} for x in supports]
    for j in range(k):
        W = holders[j]
        # The column v = G^T x of partition j lies in the null space of H and vanishes
        # off its holders W: v_W spans the null space of H[:, W] (dimension |W| - s),
        # and F x = F G v = e_u fixes it; the least-norm v is the least-norm x (G has
        # orthonormal rows). An s x |W| problem per partition, not an N x N one.
        Z = np.linalg.svd(H[:, W])[2][s:].T if s else np.eye(len(W))
        vals = Z @ np.linalg.pinv(FG[:, W] @ Z)  # (|W|, m): B's entries of partition j
        for t, i in enumerate(W):
            coefs[i][where[i][j]] = vals[t]
    return G, P, F, coefs


class HeterogeneousCode(GradientCode):
    """An exact code on an arbitrary placement by the null-space construction (see the
    module docstring): any ``n - s`` responders decode with one ``s x s`` solve;
    smaller sets that happen to decode are found by the generic check."""

    def __init__(
        self,
        *,
        n: int,
        s: int,
        m: int,
        supports: Sequence[np.ndarray],
        k: int,
        rng: np.random.Generator,
        cache_size: int = 1024,
        params: dict[str, Any] | None = None,
    ) -> None:
        G, P, F, coefs = null_space_code(supports, k, s, m, rng)
        self._G, self._P, self._F = G, P, F
        self._FG = F @ G  # (m, n)
        for a in (self._G, self._P, self._F, self._FG):
            a.flags.writeable = False
        self._replication = replication(supports, k)
        super().__init__(
            n=n,
            k=k,
            s=s,
            m=m,
            supports=supports,
            coefficients=coefs,
            exact=True,
            cache_size=cache_size,
            params=params,
        )

    @property
    def replication(self) -> np.ndarray:
        """Workers holding each partition, shape (k,) (a copy)."""
        return self._replication.copy()

    @property
    def min_replication(self) -> int:
        """r: the fewest workers holding any partition (the optimal m is ``r - s``)."""
        return int(self._replication.min())

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        if len(R) >= self.n - self.s:
            return True
        return super()._is_decodable(R)

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str] | None:
        N = self.n - self.s
        if len(R) < N:
            return None  # a smaller set that decodes: the generic least squares
        use = np.asarray(R[:N], dtype=np.int64)
        A = np.zeros((self.m, len(R)))
        if self.s == 0:  # G = I: the decoder is F itself
            A[:, :N] = self._F
            return A, 1.0, "structured: F (no stragglers to cover)"
        # [G; P] is orthogonal (P: an orthonormal basis of H's rows), so with S the s
        # workers left out G_R^{-T} = G_R - G_S P_S^{-1} P_R: an s x s solve instead of an
        # N x N one, and the singular values of G_R are those of P_S and ones, so
        # cond(G_R) = 1 / sigma_min(P_S) (both exact identities, no cancellation).
        out = np.setdiff1d(np.arange(self.n), use)
        PS = self._P[:, out]  # (s, s)
        A[:, :N] = self._FG[:, use] - self._FG[:, out] @ np.linalg.solve(PS, self._P[:, use])
        # G_R's singular values are P_S's without s - N of its ones (N <= s) or with
        # N - s more ones (N > s)
        sv = np.sort(np.linalg.svd(PS, compute_uv=False))
        top = 1.0 if N > self.s else float(sv[N - 1])
        cond = top / float(sv[0]) if sv[0] > 0 else math.inf
        return A, max(cond, 1.0), "structured: F G_R^-T by an s x s solve"
