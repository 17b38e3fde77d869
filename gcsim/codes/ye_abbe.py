"""Ye and Abbe's communication-efficient polynomial gradient code (ICML 2018).

Worker w holds partitions ``w .. w+d-1 (mod n)`` with d = s+m and evaluates, at its
point theta_w, the polynomials p_j^(u) (degree <= n-s-1) that vanish at the n-d workers
not holding partition j and whose top-m coefficients form the unit vector e_u. The
server interpolates the vector polynomial from any n-s evaluations (a Vandermonde solve)
and reads the gradient blocks off the coefficients n-d .. n-d+m-1.

The decoder inverts a real Vandermonde matrix whose condition number grows
exponentially with n-s: expect float64 breakdown around n = 30-40 (measured in
``benchmarks/``), which is the weakness the any-linear-code framework removes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gcsim.codes._cyclic import CyclicCode
from gcsim.codes._validate import ValidatedBuild, check_basic, check_options
from gcsim.codes.info import Example, SchemeInfo, slot_style
from gcsim.codes.tracker import DecodeRule
from gcsim.errors import InfeasibleParametersError, InvalidInputError, excerpt


def evaluation_points(n: int, kind: Any = "paper") -> np.ndarray:
    """n distinct real evaluation points.

    ``"paper"``: 0 (n odd only), ±1, ±1.5, ±2, ... (the points of the reference
    implementation); ``"chebyshev"``: cos((2i+1)pi/(2n)); ``"equispaced"``: linspace(-1, 1);
    or an explicit array of n distinct finite reals.
    """
    if isinstance(kind, str):
        if kind == "paper":
            half = [1.0 + i / 2 for i in range(n // 2)]
            paper: list[float] = [0.0] if n % 2 else []
            for h in half:
                paper += [h, -h]
            return np.asarray(paper)
        if kind == "chebyshev":
            return np.cos((2 * np.arange(n) + 1) * np.pi / (2 * n))
        if kind == "equispaced":
            return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
        raise InvalidInputError(
            f"ye-abbe: points must be 'paper', 'chebyshev', 'equispaced' or an array of "
            f"{n} distinct reals; got {excerpt(kind)}"
        )
    pts = np.asarray(kind, dtype=float)
    if pts.shape != (n,) or not np.all(np.isfinite(pts)) or len(np.unique(pts)) != n:
        raise InvalidInputError(
            f"ye-abbe: explicit points must be {n} distinct finite reals; got shape "
            f"{pts.shape} with {len(np.unique(pts)) if pts.ndim == 1 else '?'} distinct values"
        )
    return pts


def ye_abbe_coefficients(theta: np.ndarray, s: int, m: int) -> np.ndarray:
    """E[w, t, u] = p_{(w+t) mod n}^(u)(theta_w) for t = 0..d-1 (the held partitions).

    Values are evaluated in product form, so they are exactly zero at non-holders by
    construction and only holders' values are returned. The recursion
    p^(u) = x p^(u-1) - c^(u-1) p^(1), c = coefficient of x^(n-d-1) in p^(u-1), is run on
    coefficient vectors to obtain the c's.
    """
    n = len(theta)
    d = s + m
    E = np.zeros((n, d, m))
    for j in range(n):
        non_holders = [(j + t) % n for t in range(1, n - d + 1)]
        p1c = np.poly(theta[non_holders])[::-1] if non_holders else np.ones(1)  # ascending
        holders = [(j - t) % n for t in range(d)]  # worker w = j - t holds j at offset t
        th = theta[holders]
        v1 = (
            np.prod(th[:, None] - theta[non_holders][None, :], axis=1)
            if non_holders
            else np.ones(len(holders))
        )
        vals = v1.copy()
        coeff = np.zeros(n - s)
        coeff[: len(p1c)] = p1c
        for u in range(m):
            for idx, w in enumerate(holders):
                E[w, (j - w) % n, u] = vals[idx]
            if u + 1 < m:
                c = coeff[n - d - 1] if n - d - 1 >= 0 else 0.0
                shifted = np.concatenate([[0.0], coeff[:-1]])
                p1full = np.zeros(n - s)
                p1full[: len(p1c)] = p1c
                coeff = shifted - c * p1full
                vals = th * vals - c * v1
    return E


def may_overflow(theta: np.ndarray, s: int, m: int) -> bool:
    """Whether :func:`ye_abbe_coefficients` may overflow float64: ``False`` is a proof
    (a cheap log-domain bound) that it does not, ``True`` means "compute and look".

    For partition j every intermediate is bounded by the product over its n - d
    non-holders r of ``1 + T + |theta_r|`` (T = max |theta|): the coefficients of the
    monic polynomial with those roots, and the values v1 at the holders. Each step of
    the recursion multiplies the coefficient bound by at most ``1 + e^B`` and adds
    ``T`` times the value bound. The worst partition is bounded by the n - d largest
    factors.
    """
    n, d = len(theta), s + m
    big_t = float(np.max(np.abs(theta)))
    logs = np.sort(np.log1p(big_t + np.abs(theta)))[::-1]
    b = float(np.sum(logs[: max(n - d, 0)]))
    log_t = math.log(big_t) if big_t > 0 else -math.inf
    log_c = log_v = b
    for _ in range(m - 1):
        log_v = float(np.logaddexp(log_t + log_v, log_c + b))
        log_c += float(np.logaddexp(0.0, b))
    return max(log_c, log_v) > 700.0  # float64 overflows at ~709.78


def must_overflow(theta: np.ndarray, s: int, m: int, *, partitions: int = 4) -> bool:
    """Whether :func:`ye_abbe_coefficients` certainly overflows float64: ``True`` is a
    proof (a value of the first ``partitions`` partitions' ``v1``, the products of
    point differences that the coefficients contain, exceeds float64 in the log
    domain), ``False`` means "compute and look". O(partitions * d * n): it spares the
    O(n^3) computation (10 s at n = 1000) of a code that cannot be built."""
    n, d = len(theta), s + m
    if n - d <= 0:
        return False
    with np.errstate(divide="ignore"):
        for j in range(min(n, partitions)):
            non_holders = theta[[(j + t) % n for t in range(1, n - d + 1)]]
            holders = theta[[(j - t) % n for t in range(d)]]
            logs = np.log(np.abs(holders[:, None] - non_holders[None, :])).sum(axis=1)
            if float(np.max(logs)) > 709.79:  # float64 overflows at ~709.78
                return True
    return False


def build_seconds(n: int) -> float:
    """Estimated time to compute the coefficients: one polynomial of degree about n per
    partition, O(n^3) (measured: 10 s at n = 1000 on a 2-core machine)."""
    return 1e-8 * float(n) ** 3


def _overflow_error(n: int, s: int, m: int, points: Any) -> InfeasibleParametersError:
    label = points if isinstance(points, str) else "custom"
    return InfeasibleParametersError(
        f"ye-abbe: the encoding coefficients overflow float64 at n={n}, s={s}, m={m} "
        f"with points={label!r} (products of n-d = {n - s - m} point differences); "
        "use points='chebyshev', a smaller n, or the numerically stable 'grouped' code"
    )


class YeAbbeCode(CyclicCode, ValidatedBuild):
    """Polynomial communication-efficient gradient code (see module docstring)."""

    name = "ye-abbe"
    summary = "Ye-Abbe polynomial code: d = s+m, Vandermonde decode (unstable for large n)"
    constraints = "m >= 1, s >= 0, n >= s+m"

    def __init__(
        self, n: int, s: int, m: int, points: Any = "paper", *, cache_size: int = 1024
    ) -> None:
        theta = evaluation_points(n, points)
        if may_overflow(theta, s, m) and must_overflow(theta, s, m):
            raise _overflow_error(n, s, m, points)
        from gcsim.resources import Estimate

        Estimate(0.0, build_seconds(n), {}).check(f"building ye-abbe with n={n}, s={s}, m={m}")
        with np.errstate(over="ignore", invalid="ignore"):
            E = ye_abbe_coefficients(theta, s, m)
        if not np.all(np.isfinite(E)):
            raise _overflow_error(n, s, m, points)
        label = points if isinstance(points, str) else "custom"
        super().__init__(n, s, m, E, cache_size=cache_size, params={"points": label})
        self._theta = theta
        self._theta.flags.writeable = False

    @property
    def points(self) -> np.ndarray:
        """The evaluation points theta_0..theta_{n-1}."""
        return self._theta

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        """Check (n, s, m) and the options; pops ``points`` from ``options``."""
        n, s, m = check_basic(cls.name, n, s, m)
        if s + m > n:
            raise InfeasibleParametersError(
                f"ye-abbe needs n >= d = s+m; got n={n}, s={s}, m={m} "
                f"(feasible: s <= {max(n - m, 0)} at m={m}, or m <= {max(n - s, 0)} at s={s})"
                if n - m >= 0 or n - s >= 1
                else f"ye-abbe needs n >= d = s+m; got n={n}, s={s}, m={m}"
            )
        check_options(cls.name, options, ["cache_size", "points"])
        return {"n": n, "s": s, "m": m, "points": options.pop("points", "paper")}

    @classmethod
    def _effective(cls, args: dict[str, Any]) -> tuple[int, int]:
        n, s, m, points = args["n"], args["s"], args["m"], args["points"]
        theta = evaluation_points(n, points)
        if may_overflow(theta, s, m):  # rare (large n): compute the coefficients
            if must_overflow(theta, s, m):
                raise _overflow_error(n, s, m, points)
            with np.errstate(over="ignore", invalid="ignore"):
                E = ye_abbe_coefficients(theta, s, m)
            if not np.all(np.isfinite(E)):
                raise _overflow_error(n, s, m, points)
        return s, s + m

    def _decode_rule(self) -> DecodeRule:
        return DecodeRule.count(self.n - self.s)

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        # The messages are evaluations of a polynomial of degree n-s-1 whose top
        # coefficients carry the gradient; fewer than n-s evaluations never fix them.
        return len(R) >= self.n - self.s

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        return (
            f"ye-abbe needs n-s = {self.n - self.s} responders to interpolate a "
            f"degree-{self.n - self.s - 1} polynomial; got {len(R)}"
        )

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        L = self.n - self.s
        d = self.s + self.m
        F = np.asarray(R[:L])
        V = np.vander(self._theta[F], L, increasing=True)  # V[r, t] = theta_r^t
        sel = np.zeros((self.m, L))
        sel[np.arange(self.m), (self.n - d) + np.arange(self.m)] = 1.0
        with np.errstate(all="ignore"):
            try:
                At = np.linalg.solve(V.T, sel.T)  # rows n-d.. of V^{-1}
                cond = float(np.linalg.cond(V))
            except np.linalg.LinAlgError:
                At = np.full((L, self.m), np.nan)
                cond = float("inf")
        A = np.zeros((self.m, len(R)))
        A[:, :L] = At.T
        return A, cond, "structured: Vandermonde solve"


INFO = SchemeInfo(
    cls=YeAbbeCode,
    display_name="Polynomial code (Ye & Abbe)",
    supports_m=True,
    exact=True,
    **slot_style(5),
    options_help=(
        "points='paper' (default) | 'chebyshev' | 'equispaced' | an array of n distinct "
        "reals; cache_size"
    ),
    examples=(Example(12, 2, 2, {"points": "paper"}), Example(12, 2, 2, {"points": "chebyshev"})),
)
