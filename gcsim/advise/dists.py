"""Distributions of one worker's arrival time, and order statistics of unit-load delays.

With per-worker load scaling a worker of load ``d`` whose message is a fraction ``f`` of
the gradient answers after ``A = d·C + f·X + c`` (C the unit-load compute delay, X the
full-message communication delay, c the deterministic network and encode time). Its law
is known in closed form when

* one of C, X is constant: an affine image of the other's scipy distribution;
* both are (shifted) exponentials: a shifted hypoexponential (the sum of two
  exponentials, Ye–Abbe's simulation model);
* both are constant: a point mass.

:func:`arrival_distribution` returns an object with the scipy frozen-distribution
methods :mod:`gcsim.analysis.order_stats` needs (``cdf``, ``sf``, ``ppf``, ``support``,
``median``), or ``None`` when no closed form applies (the advisor then simulates).

:class:`UnitOrderStats` gives, for r = 1..n, the mean and a quantile of the r-th smallest
of the n unit-load compute and communication delays of one round, the raw material of
the advisor's lower bounds: closed forms for constant, (shifted) exponential and Pareto
models, the exact quantile ``F^-1(B^-1_{r, n-r+1}(p))`` for any scipy distribution, and
Monte Carlo over the model's own sampler (so per-worker speeds and traces count) for the
rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from gcsim.delays.base import DelayModel

__all__ = [
    "Affine",
    "ArrivalLaw",
    "HypoExponential",
    "PointMass",
    "UnitOrderStats",
    "arrival_distribution",
    "classify",
]


# ------------------------------------------------------------------------ classification


@dataclass(frozen=True)
class ModelKind:
    """What the advisor knows about a delay model in closed form.

    ``kind`` is ``"const"`` (``value``), ``"exp"`` (``shift + Exp(rate)``), ``"pareto"``
    (``scale``, ``alpha``), ``"scipy"`` (any frozen distribution, ``frozen``) or
    ``"other"`` (no closed form: not i.i.d., or no scipy distribution).
    """

    kind: str
    value: float = 0.0
    shift: float = 0.0
    rate: float = 1.0
    scale: float = 1.0
    alpha: float = 1.0
    frozen: Any = None


def classify(model: DelayModel) -> ModelKind:
    """The closed-form family of a delay model (see :class:`ModelKind`)."""
    if not model.iid:
        return ModelKind("other")
    params = model.params()
    if model.name == "constant":
        return ModelKind("const", value=float(params.get("value", 1.0)))
    frozen = model.dist()
    if frozen is None:
        return ModelKind("other")
    family = getattr(getattr(frozen, "dist", None), "name", "")
    if family == "expon":
        scale = float(frozen.std())
        return ModelKind("exp", shift=float(frozen.mean()) - scale, rate=1.0 / scale, frozen=frozen)
    if family == "pareto" and model.name == "pareto":
        return ModelKind(
            "pareto",
            scale=float(params["scale"]),
            alpha=float(params["alpha"]),
            frozen=frozen,
        )
    return ModelKind("scipy", frozen=frozen)


# ------------------------------------------------------------------- arrival distributions


def _bisect_ppf(cdf: Any, p: np.ndarray, lo: float, hi: float, iterations: int = 80) -> np.ndarray:
    """Vectorised bisection for ``cdf(x) = p`` on [lo, hi] (cdf continuous, increasing)."""
    a = np.full(p.shape, lo, dtype=float)
    b = np.full(p.shape, hi, dtype=float)
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        below = np.asarray(cdf(mid)) < p
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
    return 0.5 * (a + b)


class ArrivalLaw:
    """Base of the arrival laws: the frozen-distribution interface of scipy that
    :mod:`gcsim.analysis.order_stats` uses (``cdf``, ``sf``, ``ppf``, ``support``,
    ``median``), vectorised with numpy."""

    def cdf(self, t: Any) -> np.ndarray:
        return 1.0 - self.sf(t)

    def sf(self, t: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def ppf(self, p: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def support(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def median(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])

    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class PointMass(ArrivalLaw):
    """Every worker answers after exactly ``value``."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def sf(self, t: Any) -> np.ndarray:
        return (np.asarray(t, dtype=float) < self.value).astype(float)

    def cdf(self, t: Any) -> np.ndarray:
        return (np.asarray(t, dtype=float) >= self.value).astype(float)

    def ppf(self, p: Any) -> np.ndarray:
        return np.full(np.shape(p), self.value)

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    def mean(self) -> float:
        return self.value


class Affine(ArrivalLaw):
    """``a·Y + b`` for a scipy frozen distribution Y and a > 0."""

    def __init__(self, frozen: Any, a: float, b: float) -> None:
        self.frozen, self.a, self.b = frozen, float(a), float(b)

    def cdf(self, t: Any) -> np.ndarray:
        return np.asarray(self.frozen.cdf((np.asarray(t, dtype=float) - self.b) / self.a))

    def sf(self, t: Any) -> np.ndarray:
        return np.asarray(self.frozen.sf((np.asarray(t, dtype=float) - self.b) / self.a))

    def ppf(self, p: Any) -> np.ndarray:
        return self.a * np.asarray(self.frozen.ppf(p), dtype=float) + self.b

    def support(self) -> tuple[float, float]:
        lo, hi = (float(v) for v in self.frozen.support())
        return self.a * lo + self.b, self.a * hi + self.b

    def mean(self) -> float:
        return self.a * float(self.frozen.mean()) + self.b


class HypoExponential(ArrivalLaw):
    """``shift + Exp(r1) + Exp(r2)`` (independent), the sum of a scaled shifted-exponential
    compute time and a scaled shifted-exponential communication time.

    With a = min(r1, r2), b = max(r1, r2), δ = b − a and u = t − shift >= 0:
    ``P(A > t) = e^{−a u} (1 + a (1 − e^{−δ u}) / δ)``, written with ``expm1`` so that it
    stays accurate as δ → 0 (where it tends to the Erlang-2 tail ``e^{−a u}(1 + a u)``).
    """

    def __init__(self, r1: float, r2: float, shift: float) -> None:
        self.a, self.b = min(r1, r2), max(r1, r2)
        self.shift = float(shift)

    def sf(self, t: Any) -> np.ndarray:
        u = np.maximum(np.asarray(t, dtype=float) - self.shift, 0.0)
        a, delta = self.a, self.b - self.a
        if delta > 1e-12 * self.b:
            g = -np.expm1(-delta * u) / delta
        else:
            g = u
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.exp(-a * u) * (1.0 + a * g)
        return np.where(np.isfinite(out), np.minimum(out, 1.0), 0.0)

    def ppf(self, p: Any) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        q = np.clip(p, 0.0, 1.0 - 1e-16)
        # P(E1 + E2 > u) <= 2 e^{−a u / 2}: an upper bracket for every p < 1
        hi = 2.0 * (math.log(2.0) - float(np.log1p(-q.max(initial=0.0)))) / self.a
        u = _bisect_ppf(lambda x: 1.0 - self._sf_u(x), q, 0.0, max(hi, 1e-300))
        return np.where(p >= 1.0, np.inf, self.shift + u)

    def _sf_u(self, u: np.ndarray) -> np.ndarray:
        return self.sf(u + self.shift)

    def support(self) -> tuple[float, float]:
        return self.shift, math.inf

    def mean(self) -> float:
        return self.shift + 1.0 / self.a + 1.0 / self.b


def arrival_distribution(
    compute: ModelKind, comm: ModelKind, load: float, frac: float, const: float
) -> ArrivalLaw | None:
    """Law of ``load·C + frac·X + const`` when it is known in closed form, else None."""
    kinds = (compute.kind, comm.kind)
    if "other" in kinds:
        return None
    if compute.kind == "const" and comm.kind == "const":
        return PointMass(load * compute.value + frac * comm.value + const)
    if comm.kind == "const":
        return Affine(compute.frozen, load, frac * comm.value + const) if load > 0 else None
    if compute.kind == "const":
        return Affine(comm.frozen, frac, load * compute.value + const) if frac > 0 else None
    if compute.kind == "exp" and comm.kind == "exp" and load > 0 and frac > 0:
        return HypoExponential(
            compute.rate / load,
            comm.rate / frac,
            load * compute.shift + frac * comm.shift + const,
        )
    return None


# --------------------------------------------------------------- unit order statistics


class UnitOrderStats:
    """Mean and p-quantile of the r-th smallest of the n unit-load draws of one round,
    for r = 1..n (index r - 1), and the model's lower support bound.

    Parameters
    ----------
    model : DelayModel
    n : int
    quantile : float
        The p of :attr:`quantile` (0.95 for the p95 objective).
    rng : numpy Generator
        For the Monte Carlo estimate of models without a closed form.
    mc_rounds : int
        Rounds drawn for that estimate (its standard error is subtracted three times,
        so the estimate errs low, as a bound should).

    Attributes
    ----------
    mean, quantile : ndarray, shape (n,)
    low : float
        A lower bound on any single draw.
    exact : bool
        Whether the values are closed forms (False: Monte Carlo).
    """

    def __init__(
        self,
        model: DelayModel,
        n: int,
        *,
        quantile: float = 0.95,
        rng: np.random.Generator,
        mc_rounds: int = 400,
    ) -> None:
        self.n = n
        kind = classify(model)
        r = np.arange(1, n + 1, dtype=float)
        self.exact = True
        with np.errstate(all="ignore"):
            beta_q = special.betaincinv(r, n - r + 1.0, quantile)
        if kind.kind == "const":
            self.mean = np.full(n, kind.value)
            self.quantile = self.mean.copy()
            self.low = kind.value
        elif kind.kind == "exp":
            self.mean = kind.shift + (special.digamma(n + 1.0) - special.digamma(n - r + 1.0)) / (
                kind.rate
            )
            self.quantile = kind.shift - np.log1p(-beta_q) / kind.rate
            self.low = kind.shift
        elif kind.kind == "pareto":
            j = n - r + 1.0
            e = 1.0 / kind.alpha
            with np.errstate(all="ignore"):
                logm = (
                    special.gammaln(n + 1.0)
                    + special.gammaln(j - e)
                    - special.gammaln(j)
                    - special.gammaln(n + 1.0 - e)
                )
                self.mean = np.where(j > e, kind.scale * np.exp(logm), np.inf)
            self.quantile = kind.scale * (1.0 - beta_q) ** (-e)
            self.low = kind.scale
        else:
            self._monte_carlo(model, n, quantile, rng, mc_rounds, kind)

    def _monte_carlo(
        self,
        model: DelayModel,
        n: int,
        quantile: float,
        rng: np.random.Generator,
        rounds: int,
        kind: ModelKind,
    ) -> None:
        self.exact = False
        draws = model.sampler(n, rng).draw_rounds(rounds, np.ones(n))
        draws = np.sort(np.where(np.isfinite(draws), draws, np.inf), axis=1)
        with np.errstate(invalid="ignore"):
            mean = draws.mean(axis=0)
            se = draws.std(axis=0, ddof=1) / math.sqrt(rounds)
        self.mean = np.maximum(np.where(np.isfinite(se), mean - 3.0 * se, mean), 0.0)
        if kind.frozen is not None:  # i.i.d. with a scipy law: the exact quantile
            r = np.arange(1.0, n + 1)
            with np.errstate(all="ignore"):
                q = special.betaincinv(r, n - r + 1.0, quantile)
            self.quantile = np.asarray(kind.frozen.ppf(q), dtype=float)
            self.low = max(0.0, float(kind.frozen.support()[0]))
        else:
            # the p-quantile of X_(r) at a binomial lower confidence rank (errs low)
            k = int(max(0, math.floor(rounds * quantile - 3.0 * math.sqrt(rounds / 4.0)) - 1))
            self.quantile = np.partition(draws, k, axis=0)[k]
            self.low = 0.0  # delays are non-negative
