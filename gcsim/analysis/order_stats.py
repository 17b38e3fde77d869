"""Closed-form and numerically integrated order statistics of unit-load delays.

These are the reference values the simulator is validated against (research notes
§9.2–9.3). All are for *unit load*: with per-worker load scaling a worker of load d takes
``d·X``, so a completion time of a scheme with equal loads d is ``d`` times the value here.

* Shifted exponential a + Exp(λ) (Rényi's representation, harmonic numbers):
  ``E[X_(r:n)] = a + (H_n − H_{n−r})/λ`` and ``Var = Σ_{i=n−r+1..n} 1/(λ i)²``.
* Pareto(t_m, α): ``E[X_(r:n)^k] = t_m^k Γ(n+1) Γ(n−r+1−k/α) / (Γ(n−r+1) Γ(n+1−k/α))``,
  finite iff ``n−r+1 > k/α``.
* Any scipy continuous distribution: the mean and variance of
  ``T = max_g X^{(g)}_{(m_g : d_g)}`` (the m_g-th fastest of group g, the slowest group
  deciding), by quadrature of ``E[T] = c + ∫_c^∞ P(T > t) dt − ∫_{−∞}^c P(T ≤ t) dt``
  with ``P(T ≤ t) = Π_g I_{F(t)}(m_g, d_g − m_g + 1)`` (regularised incomplete beta).
  One group of size n with m = r is the r-th order statistic; groups with m = 1 are
  the fractional repetition code (max over groups of the min); groups with m = m give
  the grouped-MDS scheme.

No Monte Carlo here: closed forms use scipy.special; the integrals use a vectorised
adaptive Gauss–Kronrod (7/15) rule, split at quantiles of the parent distribution, with
infinite tails mapped to finite intervals (in log scale, so power-law tails converge).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
from scipy import special

from gcsim._validate import check_real
from gcsim.errors import InvalidInputError

__all__ = [
    "expected_grouped_completion",
    "expected_max_of_group_mins",
    "expected_order_stat",
    "expected_order_stat_pareto",
    "expected_order_stat_shifted_exp",
    "grouped_completion_variance",
    "max_of_group_mins_variance",
    "order_stat_moment_pareto",
    "order_stat_variance",
    "order_stat_variance_pareto",
    "order_stat_variance_shifted_exp",
]


# --------------------------------------------------------------------------- validation


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an integer; got {name}={value!r}")
    if value < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}; got {name}={value!r}")
    return int(value)


def _check_rn(r: Any, n: Any) -> tuple[int, int]:
    n = _check_int("n", n, 1)
    r = _check_int("r", r, 1)
    if r > n:
        raise InvalidInputError(f"r must be in 1..n; got r={r}, n={n}")
    return r, n


#: A finite real, its messages naming the parameter alone (no model).
_check_real = partial(check_real, "")


def _as_dist(dist: Any) -> Any:
    """A scipy frozen distribution (a :class:`~gcsim.delays.DelayModel` gives its own)."""
    from gcsim.delays.base import DelayModel

    if isinstance(dist, DelayModel):
        frozen = dist.dist()
        if frozen is None:
            raise InvalidInputError(
                f"dist: the delay model {dist!r} has no scipy distribution (dist() is None); "
                f"pass a scipy.stats frozen distribution"
            )
        dist = frozen
    if not all(hasattr(dist, a) for a in ("cdf", "sf", "ppf", "support")):
        raise InvalidInputError(
            f"dist must be a scipy.stats frozen distribution (with cdf, sf, ppf, support) or "
            f"a DelayModel with dist(); got {dist!r}"
        )
    return dist


# ------------------------------------------------------------------ shifted exponential


def expected_order_stat_shifted_exp(r: int, n: int, shift: float = 0.0, rate: float = 1.0) -> float:
    """Mean of the r-th smallest of n i.i.d. ``shift + Exp(rate)`` variables.

    ``E[X_(r:n)] = shift + (H_n − H_{n−r}) / rate`` (H_0 = 0). Waiting for the fastest
    n − s workers is r = n − s.

    Parameters
    ----------
    r, n : int
        1 <= r <= n.
    shift : float, default 0.0
        Minimum a >= 0.
    rate : float, default 1.0
        Rate λ > 0.
    """
    r, n = _check_rn(r, n)
    shift = _check_real("shift", shift, ge=0.0)
    rate = _check_real("rate", rate, gt=0.0)
    # H_n - H_{n-r} = ψ(n+1) − ψ(n−r+1)
    return shift + float(special.digamma(n + 1) - special.digamma(n - r + 1)) / rate


def order_stat_variance_shifted_exp(r: int, n: int, shift: float = 0.0, rate: float = 1.0) -> float:
    """Variance of the r-th smallest of n i.i.d. ``shift + Exp(rate)``:
    ``(1/λ²) Σ_{i=n−r+1..n} 1/i²`` (independent of the shift)."""
    r, n = _check_rn(r, n)
    _check_real("shift", shift, ge=0.0)
    rate = _check_real("rate", rate, gt=0.0)
    # Σ_{i=a..n} 1/i² = ψ'(a) − ψ'(n+1)
    s2 = float(special.polygamma(1, n - r + 1) - special.polygamma(1, n + 1))
    return s2 / rate**2


# ------------------------------------------------------------------------------ Pareto


def order_stat_moment_pareto(r: int, n: int, scale: float, alpha: float, k: int = 1) -> float:
    """k-th raw moment of the r-th smallest of n i.i.d. Pareto(scale, alpha).

    ``E[X_(r:n)^k] = t_m^k Γ(n+1) Γ(j − k/α) / (Γ(j) Γ(n+1−k/α))`` with j = n − r + 1
    (X = t_m U^{−1/α}, and X_(r:n) is U_(j:n) with U_(j:n) ~ Beta(j, n − j + 1)).

    Raises
    ------
    InvalidInputError
        When the moment is infinite: it needs ``n − r + 1 > k/alpha``.
    """
    r, n = _check_rn(r, n)
    scale = _check_real("scale", scale, gt=0.0)
    alpha = _check_real("alpha", alpha, gt=0.0)
    k = _check_int("k", k, 1)
    j = n - r + 1
    if not j > k / alpha:
        raise InvalidInputError(
            f"moment {k} of the Pareto order statistic X_({r}:{n}) is infinite: it needs "
            f"n - r + 1 > k/alpha; got n - r + 1 = {j}, k/alpha = {k / alpha:g} (alpha={alpha})"
        )
    e = k / alpha
    logm = (
        special.gammaln(n + 1)
        + special.gammaln(j - e)
        - special.gammaln(j)
        - special.gammaln(n + 1 - e)
    )
    return float(scale**k * np.exp(logm))


def expected_order_stat_pareto(r: int, n: int, scale: float, alpha: float) -> float:
    """Mean of the r-th smallest of n i.i.d. Pareto(scale, alpha) (P(X>t) = (scale/t)^α).

    Valid when ``n − r + 1 > 1/alpha`` (else :class:`InvalidInputError`).
    """
    return order_stat_moment_pareto(r, n, scale, alpha, 1)


def order_stat_variance_pareto(r: int, n: int, scale: float, alpha: float) -> float:
    """Variance of the r-th smallest of n i.i.d. Pareto(scale, alpha).

    Valid when ``n − r + 1 > 2/alpha`` (else :class:`InvalidInputError`).
    """
    m2 = order_stat_moment_pareto(r, n, scale, alpha, 2)
    m1 = order_stat_moment_pareto(r, n, scale, alpha, 1)
    return m2 - m1 * m1


# ---------------------------------------------------------------- generic by quadrature

#: parent-distribution probabilities at which the integration range is split
_GRID = np.array(
    [1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    + [1 - 10.0**-k for k in range(2, 13)]
)

# Gauss–Kronrod 7/15 nodes and weights on [-1, 1] (QUADPACK qk15)
_XK_POS = np.array(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
    ]
)
_WK_POS = np.array(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
    ]
)
_WK_MID = 0.209482141084727828012999174891714
_WG_POS = np.array(
    [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
    ]
)  # at _XK_POS[1], [3], [5]
_WG_MID = 0.417959183673469387755102040816327
_XK = np.concatenate([-_XK_POS, [0.0], _XK_POS[::-1]])
_WK = np.concatenate([_WK_POS, [_WK_MID], _WK_POS[::-1]])
_WG = np.zeros(15)
_WG[[1, 3, 5]] = _WG_POS
_WG[[13, 11, 9]] = _WG_POS
_WG[7] = _WG_MID

_EPSREL = 1e-11
_EPSABS = 1e-13
_MAX_ROUNDS = 80


def _integrate(f: Callable[[np.ndarray], np.ndarray], edges: np.ndarray) -> float:
    """∫ f over [edges[0], edges[-1]] (finite), adaptive Gauss–Kronrod 7/15.

    All intervals of a round are evaluated in one vectorised call of ``f``; an interval
    is bisected until |K15 − G7| is below the tolerance (relative to the interval's value
    and to the running total).
    """
    a, b = edges[:-1].astype(float), edges[1:].astype(float)
    keep = b > a
    a, b = a[keep], b[keep]
    done = 0.0
    for _ in range(_MAX_ROUNDS):
        if a.size == 0:
            return done
        c, h = 0.5 * (a + b), 0.5 * (b - a)
        x = c[:, None] + h[:, None] * _XK[None, :]
        fx = np.asarray(f(x.ravel()), dtype=float).reshape(x.shape)
        k = h * (fx @ _WK)
        err = np.abs(k - h * (fx @ _WG))
        scale = abs(done) + float(np.sum(np.abs(k)))
        ok = (err <= _EPSREL * np.abs(k)) | (err <= _EPSABS + _EPSREL * scale / a.size)
        ok |= h <= 1e-15 * np.maximum(1.0, np.abs(c))  # cannot be split any further
        done += float(np.sum(k[ok]))
        a, b, c = a[~ok], b[~ok], c[~ok]
        a, b = np.concatenate([a, c]), np.concatenate([c, b])
    warnings.warn(
        "order-statistic integral did not reach the requested accuracy",
        RuntimeWarning,
        stacklevel=3,
    )
    c, h = 0.5 * (a + b), 0.5 * (b - a)
    x = c[:, None] + h[:, None] * _XK[None, :]
    fx = np.asarray(f(x.ravel()), dtype=float).reshape(x.shape)
    return done + float(np.sum(h * (fx @ _WK)))


def _tail_integral(fun: Callable[[np.ndarray], np.ndarray], x0: float, sign: float) -> float:
    """∫ from x0 to sign·∞ of fun (sign = +1) or ∫_{−∞}^{x0} fun (sign = −1).

    Away from 0 the tail is taken in log scale, t = sign·e^y, where power-law tails decay
    exponentially, then mapped to [0, 1) by y = y0 + u/(1 − u). Returns inf when the
    integrand does not decay (the moment is infinite)."""
    if sign * x0 > 0:
        y0 = math.log(abs(x0))

        def h(y: np.ndarray) -> np.ndarray:
            yc = np.minimum(y, 700.0)
            e = np.exp(yc)
            out = np.asarray(fun(sign * e), dtype=float) * e
            return np.where(y < 700.0, out, 0.0)
    else:
        y0 = 0.0

        def h(y: np.ndarray) -> np.ndarray:
            return np.asarray(fun(x0 + sign * y), dtype=float)

    probe = h(np.array([y0 + 200.0, y0 + 400.0]))
    if probe[0] > 0 and probe[1] >= probe[0]:
        return math.inf

    def g(u: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            w = 1.0 - u
            y = y0 + u / w
            out = h(np.minimum(y, 1e300)) / (w * w)
        return np.where(np.isfinite(out), out, 0.0)

    return _integrate(g, np.array([0.0, 0.5, 0.9, 0.99, 1.0]))


class _MaxOfGroups:
    """T = max over groups g of the m_g-th smallest of d_g i.i.d. draws of ``dist``."""

    def __init__(self, dist: Any, sizes: Sequence[int], ms: Sequence[int]) -> None:
        self.dist = dist
        pairs, counts = np.unique(
            np.column_stack([np.asarray(sizes), np.asarray(ms)]), axis=0, return_counts=True
        )
        # distinct (d_g, m_g) pairs and their multiplicities, shape (P, 1) for broadcasting
        self.sizes = pairs[:, 0].astype(float)[:, None]
        self.ms = pairs[:, 1].astype(float)[:, None]
        self.counts = counts.astype(float)[:, None]
        lo, hi = (float(v) for v in dist.support())
        self.lo, self.hi = lo, hi
        probs = np.unique(np.concatenate([_GRID, (self.ms / (self.sizes + 1.0)).ravel()]))
        with np.errstate(all="ignore"):
            pts = np.asarray(dist.ppf(probs), dtype=float)
        pts = pts[np.isfinite(pts) & (pts > lo) & (pts < hi)]
        self.points = np.unique(pts)

    def sf(self, t: np.ndarray) -> np.ndarray:
        """P(T > t) = 1 − Π_g P(at least m_g of d_g done by t), vectorised over t."""
        s = np.asarray(self.dist.sf(t), dtype=float)[None, :]
        # P(fewer than m of d done) = P(Bin(d, F) < m) = I_{S}(d − m + 1, m)
        miss = special.betainc(self.sizes - self.ms + 1.0, self.ms, s)
        with np.errstate(divide="ignore"):
            out: np.ndarray = -np.expm1(np.sum(self.counts * np.log1p(-miss), axis=0))
        return out

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """P(T <= t) = Π_g I_{F(t)}(m_g, d_g − m_g + 1), vectorised over t."""
        f = np.asarray(self.dist.cdf(t), dtype=float)[None, :]
        done = special.betainc(self.ms, self.sizes - self.ms + 1.0, f)
        with np.errstate(divide="ignore"):
            out: np.ndarray = np.exp(np.sum(self.counts * np.log(done), axis=0))
        return out

    def _quad(self, fun: Callable[[np.ndarray], np.ndarray], a: float, b: float) -> float:
        """∫_a^b fun, split at the break points (a may be −inf, b may be inf)."""
        if not b > a:
            return 0.0
        inner = self.points[(self.points > a) & (self.points < b)]
        edges = [a, *inner.tolist(), b]
        total = 0.0
        if math.isinf(edges[0]):
            if len(edges) == 2:  # (−inf, inf) without break points: split at 0
                edges.insert(1, 0.0)
            total += _tail_integral(fun, edges[1], -1.0)
            edges = edges[1:]
        if math.isinf(edges[-1]):
            total += _tail_integral(fun, edges[-2], 1.0)
            edges = edges[:-1]
        if len(edges) > 1:
            total += _integrate(fun, np.asarray(edges))
        return total

    def _anchor(self) -> float:
        if math.isfinite(self.lo):
            return self.lo
        return float(self.dist.median())

    def mean(self) -> float:
        """E[T] = c + ∫_c^∞ P(T > t) dt − ∫_{−∞}^c P(T <= t) dt."""
        c = self._anchor()
        upper = self._quad(self.sf, c, self.hi)
        lower = self._quad(self.cdf, self.lo, c)
        return c + upper - lower

    def variance(self) -> float:
        """E[(T − μ)²] = ∫_μ^∞ 2(t − μ) P(T > t) dt + ∫_{−∞}^μ 2(μ − t) P(T <= t) dt."""
        mu = self.mean()
        if not math.isfinite(mu):
            return math.inf if not math.isnan(mu) else math.nan
        upper = self._quad(lambda t: 2.0 * (t - mu) * self.sf(t), mu, self.hi)
        lower = self._quad(lambda t: 2.0 * (mu - t) * self.cdf(t), self.lo, mu)
        return upper + lower


def _groups(sizes: Any, m: Any) -> tuple[list[int], list[int]]:
    if isinstance(sizes, (int, np.integer)) or not isinstance(sizes, (Sequence, np.ndarray)):
        raise InvalidInputError(
            f"sizes must be a sequence of group sizes (ints >= 1); got sizes={sizes!r}"
        )
    sz = [_check_int(f"sizes[{i}]", d, 1) for i, d in enumerate(sizes)]
    if not sz:
        raise InvalidInputError("sizes must name at least one group; got sizes=[]")
    if isinstance(m, (Sequence, np.ndarray)):
        ms = [_check_int(f"m[{i}]", v, 1) for i, v in enumerate(m)]
        if len(ms) != len(sz):
            raise InvalidInputError(
                f"m must be an int or have one entry per group; got {len(ms)} entries for "
                f"{len(sz)} groups"
            )
    else:
        ms = [_check_int("m", m, 1)] * len(sz)
    for g, (d, mg) in enumerate(zip(sz, ms, strict=True)):
        if mg > d:
            raise InvalidInputError(
                f"group {g} has {d} workers, fewer than the m={mg} responses it needs "
                f"(m <= size of every group)"
            )
    return sz, ms


def expected_order_stat(dist: Any, r: int, n: int) -> float:
    """Mean of the r-th smallest of n i.i.d. draws of ``dist`` by quadrature.

    Parameters
    ----------
    dist : scipy.stats frozen distribution or DelayModel
        The parent distribution (a DelayModel gives its :meth:`dist`).
    r, n : int
        1 <= r <= n.
    """
    r, n = _check_rn(r, n)
    return _MaxOfGroups(_as_dist(dist), [n], [r]).mean()


def order_stat_variance(dist: Any, r: int, n: int) -> float:
    """Variance of the r-th smallest of n i.i.d. draws of ``dist`` by quadrature."""
    r, n = _check_rn(r, n)
    return _MaxOfGroups(_as_dist(dist), [n], [r]).variance()


def expected_grouped_completion(dist: Any, sizes: Sequence[int], m: int | Sequence[int]) -> float:
    """E[max over groups g of the m-th smallest of the d_g draws of group g].

    The completion time of a grouped scheme (Kadhe-style grouped MDS: each group of d_g
    workers needs m responses) under i.i.d. unit-load delays; unequal group sizes are
    supported. ``E[T] = ∫_0^∞ [1 − Π_g Φ_g(t)] dt`` for non-negative delays, with
    ``Φ_g(t) = Σ_{j=m..d_g} C(d_g, j) F(t)^j (1 − F(t))^{d_g − j}``.

    Parameters
    ----------
    dist : scipy.stats frozen distribution or DelayModel
        Parent distribution of one worker's duration.
    sizes : sequence of int, shape (groups,)
        Group sizes d_g >= 1.
    m : int or sequence of int
        Responses each group needs (one value, or one per group), 1 <= m <= d_g.
    """
    sz, ms = _groups(sizes, m)
    return _MaxOfGroups(_as_dist(dist), sz, ms).mean()


def grouped_completion_variance(dist: Any, sizes: Sequence[int], m: int | Sequence[int]) -> float:
    """Variance of the grouped completion time of :func:`expected_grouped_completion`."""
    sz, ms = _groups(sizes, m)
    return _MaxOfGroups(_as_dist(dist), sz, ms).variance()


def expected_max_of_group_mins(dist: Any, group_size: int, groups: int) -> float:
    """E[max over ``groups`` groups of the minimum of ``group_size`` draws] — the
    completion time of the fractional repetition code (replica groups of s + 1)."""
    group_size = _check_int("group_size", group_size, 1)
    groups = _check_int("groups", groups, 1)
    return _MaxOfGroups(_as_dist(dist), [group_size] * groups, [1] * groups).mean()


def max_of_group_mins_variance(dist: Any, group_size: int, groups: int) -> float:
    """Variance of the FRC completion time of :func:`expected_max_of_group_mins`."""
    group_size = _check_int("group_size", group_size, 1)
    groups = _check_int("groups", groups, 1)
    return _MaxOfGroups(_as_dist(dist), [group_size] * groups, [1] * groups).variance()
