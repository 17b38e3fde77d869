"""Candidate families for a sample of unit-load times, fitted by maximum likelihood.

Each candidate is a distribution gcsim can simulate (a delay-model spec) with its
log-likelihood, number of free parameters, AIC, BIC and a Kolmogorov–Smirnov test:

=========================  ==============================================  =========
candidate                  fit                                             gcsim model
=========================  ==============================================  =========
shifted-exponential        ``scipy.stats.expon.fit`` (loc = min)           native
weibull                    ``scipy.stats.weibull_min.fit``, loc = 0        native
lognormal                  ``scipy.stats.lognorm.fit``, loc = 0            native
gamma                      ``scipy.stats.gamma.fit``, loc = 0              ``scipy``
pareto                     ``scipy.stats.pareto.fit``, loc = 0             native
bimodal-lognormal          EM for a two-component log-normal mixture       ``bimodal``
                           with a common sigma (a tied-variance Gaussian
                           mixture of log x)
bimodal-shifted-exp.       shift = min x; EM for (p, rate) at each κ, κ    ``bimodal``
                           by ``scipy.optimize`` on the profile likelihood
empirical                  equal-mass histogram with K bins (K chosen by   ``empirical``
                           the criterion) refined in the upper tail;
                           parameters: its edges (the quantiles)
=========================  ==============================================  =========

The two mixtures are *scale* mixtures, ``X · κ^B`` with B ~ Bernoulli(p): exactly the
``bimodal`` delay model (a straggling draw is κ times slower).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CRITERIA", "Candidate", "fit_families", "invert_cdf", "weights"]

CRITERIA: tuple[str, ...] = ("aic", "bic")

Array = np.ndarray
CDF = Callable[[Array], Array]
LogPDF = Callable[[Array], Array]


@dataclass
class Candidate:
    """One fitted family.

    Attributes
    ----------
    name : str
        Family name (``"lognormal"``, ``"bimodal-lognormal"``, ``"empirical"``, ...).
    spec : dict
        The fitted gcsim delay model, ``{"model": ..., params...}`` (unit load).
    k : int
        Free parameters.
    loglik : float
        Maximised log-likelihood.
    n : int
        Sample size.
    cdf, logpdf : callable
        The fitted distribution (vectorised).
    ks_stat, ks_pvalue : float
        Kolmogorov–Smirnov distance to the sample and its p-value (parameters estimated
        from the same sample, so the p-value is optimistic; use it as a yardstick).
    base_spec, base_logpdf, p, factor :
        For a bimodal candidate: its base law, slow probability and slow-down factor.
    """

    name: str
    spec: dict[str, Any]
    k: int
    loglik: float
    n: int
    cdf: CDF
    logpdf: LogPDF
    ks_stat: float = math.nan
    ks_pvalue: float = math.nan
    base_spec: dict[str, Any] | None = None
    base_logpdf: LogPDF | None = None
    p: float = math.nan
    factor: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)
    quantile: Callable[[Array], Array] | None = None

    @property
    def aic(self) -> float:
        return 2.0 * self.k - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return self.k * math.log(self.n) - 2.0 * self.loglik

    def score(self, criterion: str) -> float:
        """The information criterion (smaller is better)."""
        return self.aic if criterion == "aic" else self.bic

    @property
    def bimodal(self) -> bool:
        return self.base_spec is not None

    def ppf(self, u: Any) -> Array:
        """Quantiles of the fitted distribution (the family's own quantile function, or
        a numerical inversion of the CDF)."""
        u = np.atleast_1d(np.asarray(u, dtype=float))
        if self.quantile is not None:
            return np.asarray(self.quantile(u), dtype=float)
        return invert_cdf(self.cdf, u)


def invert_cdf(cdf: CDF, u: Array, lo: float = 0.0, hi: float | None = None) -> Array:
    """Vectorised bisection: the smallest x with cdf(x) >= u (u in (0, 1))."""
    u = np.atleast_1d(np.asarray(u, dtype=float))
    if hi is None:
        hi = 1.0
        while float(np.min(cdf(np.array([hi])))) < float(np.max(u)) and hi < 1e300:
            hi *= 2.0
    a = np.full(u.shape, float(lo))
    b = np.full(u.shape, float(hi))
    for _ in range(200):
        mid = 0.5 * (a + b)
        below = cdf(mid) < u
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
        if np.all(b - a <= 1e-12 * np.maximum(np.abs(b), 1e-300)):
            break
    return b


def weights(scores: Any) -> Array:
    """Akaike (or Schwarz) weights of information-criterion values: exp(-Δ/2), normalised."""
    s = np.asarray(scores, dtype=float)
    d = s - np.nanmin(s)
    w = np.where(np.isfinite(d), np.exp(-0.5 * d), 0.0)
    out: Array = w / w.sum()
    return out


# --------------------------------------------------------------------- the families


def _from_frozen(
    name: str, spec: dict[str, Any], frozen: Any, x: Array, k: int = 2
) -> Candidate | None:
    ll = float(np.sum(frozen.logpdf(x)))
    if not math.isfinite(ll):
        return None
    return Candidate(name, spec, k, ll, x.size, frozen.cdf, frozen.logpdf, quantile=frozen.ppf)


def _shifted_exponential(x: Array) -> Candidate | None:
    from scipy import stats

    loc, scale = stats.expon.fit(x)
    if not scale > 0:
        return None
    spec = {"model": "shifted-exponential", "shift": float(loc), "rate": 1.0 / float(scale)}
    return _from_frozen("shifted-exponential", spec, stats.expon(loc=loc, scale=scale), x)


def _weibull(x: Array) -> Candidate | None:
    from scipy import stats

    c, _, scale = stats.weibull_min.fit(x, floc=0)
    spec = {"model": "weibull", "shape": float(c), "scale": float(scale)}
    return _from_frozen("weibull", spec, stats.weibull_min(c, scale=scale), x)


def _lognormal(x: Array) -> Candidate | None:
    from scipy import stats

    s, _, scale = stats.lognorm.fit(x, floc=0)
    if not s > 0:
        return None
    spec = {"model": "lognormal", "mu": math.log(scale), "sigma": float(s)}
    return _from_frozen("lognormal", spec, stats.lognorm(s, scale=scale), x)


def _gamma(x: Array) -> Candidate | None:
    from scipy import stats

    a, _, scale = stats.gamma.fit(x, floc=0)
    spec = {"model": "scipy", "dist": "gamma", "a": float(a), "scale": float(scale)}
    return _from_frozen("gamma", spec, stats.gamma(a, scale=scale), x)


def _pareto(x: Array) -> Candidate | None:
    from scipy import stats

    b, _, scale = stats.pareto.fit(x, floc=0)
    spec = {"model": "pareto", "scale": float(scale), "alpha": float(b)}
    return _from_frozen("pareto", spec, stats.pareto(b, scale=scale), x)


def _lognormal_mixture_em(y: Array) -> tuple[float, float, float, float, float]:
    """EM for a two-component Gaussian mixture of y = log x with a common sigma.

    Returns (loglik of y, p, mu0, mu1, sigma) with mu1 >= mu0 (p: weight of mu1)."""
    best: tuple[float, float, float, float, float] | None = None
    sd = float(np.std(y))
    for p0 in (0.05, 0.15, 0.35):
        mu0 = float(np.quantile(y, (1 - p0) / 2))
        mu1 = float(np.quantile(y, 1 - p0 / 2))
        sig = max(sd / 2, 1e-6 * max(abs(mu0), 1.0))
        p = p0
        ll_old = -math.inf
        ll = -math.inf
        for _ in range(300):
            a0 = np.log1p(-p) - 0.5 * ((y - mu0) / sig) ** 2
            a1 = math.log(p) - 0.5 * ((y - mu1) / sig) ** 2
            m = np.maximum(a0, a1)
            lse = m + np.log(np.exp(a0 - m) + np.exp(a1 - m))
            ll = float(np.sum(lse) - y.size * (math.log(sig) + 0.5 * math.log(2 * math.pi)))
            r = np.exp(a1 - lse)
            sr = float(r.sum())
            if sr < 1e-9 or sr > y.size - 1e-9:
                break
            p = min(max(sr / y.size, 1e-9), 1 - 1e-9)
            mu1 = float(np.sum(r * y) / sr)
            mu0 = float(np.sum((1 - r) * y) / (y.size - sr))
            var = float(np.sum(r * (y - mu1) ** 2 + (1 - r) * (y - mu0) ** 2) / y.size)
            sig = max(math.sqrt(var), 1e-12)
            if ll - ll_old < 1e-7 * y.size:
                break
            ll_old = ll
        if mu1 < mu0:
            mu0, mu1, p = mu1, mu0, 1 - p
        if best is None or ll > best[0]:
            best = (ll, p, mu0, mu1, sig)
    assert best is not None
    return best


def _mixture_cdf(base_cdf: CDF, p: float, factor: float) -> CDF:
    def cdf(t: Array) -> Array:
        t = np.asarray(t, dtype=float)
        out: Array = (1 - p) * base_cdf(t) + p * base_cdf(t / factor)
        return out

    return cdf


def _mixture_logpdf(base_logpdf: LogPDF, p: float, factor: float) -> LogPDF:
    def logpdf(t: Array) -> Array:
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore"):
            a0 = math.log1p(-p) + base_logpdf(t) if p < 1 else np.full(t.shape, -np.inf)
            a1 = (
                math.log(p) + base_logpdf(t / factor) - math.log(factor)
                if p > 0
                else np.full(t.shape, -np.inf)
            )
        out: Array = np.logaddexp(a0, a1)
        return out

    return logpdf


def _bimodal_lognormal(x: Array) -> Candidate | None:
    from scipy import stats

    y = np.log(x)
    _, p, mu0, mu1, sig = _lognormal_mixture_em(y)
    if not (0 < p < 1) or not sig > 0:
        return None
    factor = max(math.exp(mu1 - mu0), 1.0)
    base = stats.lognorm(sig, scale=math.exp(mu0))
    base_spec = {"model": "lognormal", "mu": mu0, "sigma": sig}
    return _bimodal_candidate("bimodal-lognormal", x, base, base_spec, p, factor)


def _bimodal_candidate(
    name: str, x: Array, base: Any, base_spec: dict[str, Any], p: float, factor: float
) -> Candidate | None:
    """The two-point mixture candidate of frozen ``base`` (spec ``base_spec``), slow
    with probability p by ``factor``; None when its log-likelihood on x is not finite."""
    spec = {"model": "bimodal", "base": base_spec, "p": p, "factor": factor}
    logpdf = _mixture_logpdf(base.logpdf, p, factor)
    ll = float(np.sum(logpdf(x)))
    if not math.isfinite(ll):
        return None
    return Candidate(
        name,
        spec,
        4,
        ll,
        x.size,
        _mixture_cdf(base.cdf, p, factor),
        logpdf,
        base_spec=base_spec,
        base_logpdf=base.logpdf,
        p=p,
        factor=factor,
    )


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def _shexp_mixture_em(
    x: Array, shift: float, factor: float, p: float, rate: float, tol: float = 1e-7
) -> tuple[float, float, float]:
    """EM for (p, rate) of ``shift + Exp(rate)``, slow with probability p by ``factor``,
    at fixed shift and factor. Returns (loglik, p, rate)."""
    z0 = x - shift
    z1 = x - factor * shift
    slow_ok = z1 >= 0
    ll_old = -math.inf
    ll = -math.inf
    for _ in range(200):
        with np.errstate(divide="ignore"):
            a0 = math.log1p(-p) + math.log(rate) - rate * z0
            a1 = np.where(
                slow_ok,
                math.log(p) + math.log(rate / factor) - (rate / factor) * z1,
                -np.inf,
            )
        lse = np.logaddexp(a0, a1)
        ll = float(np.sum(lse))
        r = np.exp(a1 - lse)
        sr = float(r.sum())
        p = min(max(sr / x.size, 1e-9), 1 - 1e-9)
        denom = float(np.sum((1 - r) * z0) + np.sum(np.where(slow_ok, r * z1, 0.0)) / factor)
        rate = x.size / max(denom, 1e-300)
        if ll - ll_old < tol * x.size:
            break
        ll_old = ll
    return ll, p, rate


def _bimodal_shifted_exponential(x: Array, start: Candidate | None) -> Candidate | None:
    """``shift + Exp(rate)``, slow with probability p by κ. The shift is the sample
    minimum (its maximum-likelihood value, as for one shifted exponential); for each κ,
    EM gives (p, rate); κ maximises that profile likelihood (``scipy.optimize.brute`` on
    a grid of log κ, then ``minimize_scalar`` around the best point)."""
    from scipy import optimize, stats

    shift = float(x.min())
    spread = float(x.max()) / shift if shift > 0 else math.inf
    if not spread > 1.05:
        return None
    hi = math.log(min(spread, 1e6))
    p0 = start.p if start is not None and start.bimodal and 0.005 < start.p < 0.5 else 0.1
    med = float(np.median(x))
    rate0 = 1.0 / max(med - shift, 1e-12 * max(shift, 1.0))

    def profile(logk: Any, tol: float = 1e-6) -> float:
        k = math.exp(float(np.atleast_1d(logk)[0]))
        ll, _, _ = _shexp_mixture_em(x, shift, k, p0, rate0, tol)
        return -ll if math.isfinite(ll) else 1e300

    Ns = 16
    grid = optimize.brute(
        profile, [(math.log(1.05), hi)], args=(1e-4,), Ns=Ns, finish=None, full_output=True
    )
    g0 = float(np.atleast_1d(grid[0])[0])
    step = (hi - math.log(1.05)) / (Ns - 1)
    fine = optimize.minimize_scalar(
        profile,
        bounds=(max(g0 - step, math.log(1.05)), min(g0 + step, hi)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    logk = float(fine.x) if fine.fun <= profile(g0) else g0
    factor = math.exp(logk)
    ll, p, rate = _shexp_mixture_em(x, shift, factor, p0, rate0)
    if not math.isfinite(ll) or not 0 < p < 1:
        return None
    base = stats.expon(loc=shift, scale=1.0 / rate)
    base_spec = {"model": "shifted-exponential", "shift": shift, "rate": rate}
    return _bimodal_candidate("bimodal-shifted-exponential", x, base, base_spec, p, factor)


#: bins tried for the empirical candidate (those with at least 5 tasks per bin)
EMPIRICAL_BINS: tuple[int, ...] = (5, 10, 20, 40, 80)


def _levels(K: int, n: int) -> Array:
    """Probability levels of an empirical candidate with K equal-mass bins, refined in
    the upper tail, where stragglers live: the last bin's mass is halved while it keeps
    at least one task, so the top segment holds one task, not a whole bin's mass spread
    up to the largest time."""
    levels = list(np.linspace(0.0, 1.0, K + 1))
    tail = 1.0 / K
    while n * tail / 2 >= 1:
        tail /= 2
        levels.append(1.0 - tail)
    return np.unique(np.array(levels))


def _empirical(x: Array, criterion: str) -> Candidate | None:
    from gcsim.delays.empirical import EmpiricalDelay

    best: Candidate | None = None
    n = x.size
    for K in EMPIRICAL_BINS:
        if K * 5 > n:
            break
        probs = _levels(K, n)
        edges = np.quantile(x, probs)
        width = np.diff(edges)
        if np.any(width <= 0):
            continue  # ties: a point mass has no density
        mass = np.diff(probs)
        m = probs.size - 1
        j = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, m - 1)
        ll = float(np.sum(np.log(mass[j]) - np.log(width[j])))
        model = EmpiricalDelay(quantiles=edges, probs=probs)
        cand = Candidate(
            "empirical",
            model.spec(),
            int(edges.size),
            ll,
            n,
            model.cdf,
            _histogram_logpdf(edges, mass),
            extra={"bins": m},
            quantile=model.ppf,
        )
        if best is None or cand.score(criterion) < best.score(criterion):
            best = cand
    return best


def _histogram_logpdf(edges: Array, mass: Array) -> LogPDF:
    m = edges.size - 1
    logdens = np.log(mass) - np.log(np.diff(edges))

    def logpdf(t: Array) -> Array:
        t = np.asarray(t, dtype=float)
        j = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, m - 1)
        inside = (t >= edges[0]) & (t <= edges[-1])
        out: Array = np.where(inside, logdens[j], -np.inf)
        return out

    return logpdf


#: the candidate families, in the order of the report
FAMILIES: tuple[str, ...] = (
    "shifted-exponential",
    "weibull",
    "lognormal",
    "gamma",
    "pareto",
    "bimodal-lognormal",
    "bimodal-shifted-exponential",
    "empirical",
)


def fit_families(
    x: Any, criterion: str = "bic", families: tuple[str, ...] = FAMILIES
) -> list[Candidate]:
    """Fit every family to the sample ``x`` (> 0) and sort by the criterion (best first).

    Families that cannot be fitted (e.g. a constant sample) are left out.
    """
    import warnings

    from scipy import stats

    x = np.asarray(x, dtype=float)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown famil(ies) {unknown}; known: {', '.join(FAMILIES)}")
    out: list[Candidate] = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        simple = {
            "shifted-exponential": _shifted_exponential,
            "weibull": _weibull,
            "lognormal": _lognormal,
            "gamma": _gamma,
            "pareto": _pareto,
        }
        mix: Candidate | None = None
        for name in families:
            try:
                if name in simple:
                    c = simple[name](x)
                elif name == "bimodal-lognormal":
                    c = mix = _bimodal_lognormal(x)
                elif name == "bimodal-shifted-exponential":
                    c = _bimodal_shifted_exponential(x, mix or _bimodal_lognormal(x))
                else:
                    c = _empirical(x, criterion)
            except (ValueError, FloatingPointError, ZeroDivisionError, OverflowError):
                c = None
            if c is None:
                continue
            ks = stats.kstest(x, c.cdf)
            c.ks_stat, c.ks_pvalue = float(ks.statistic), float(ks.pvalue)
            out.append(c)
    out.sort(key=lambda c: c.score(criterion))
    return out
