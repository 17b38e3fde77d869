"""What a trace shows beyond one distribution: per-worker speeds, persistence across
rounds, and how the compute time grows with the load.

* **Heterogeneity** (fixed per-worker speeds): Friedman test (``scipy.stats.
  friedmanchisquare``) across workers on the per-worker medians of log unit-time in
  blocks of consecutive rounds. Ranking workers within each block removes common round
  effects, and block medians make a transient slow spell (persistence) move a worker's
  rank only in the blocks it covers, so persistence is not mistaken for fixed speeds
  (Kruskal–Wallis on the raw times would be: it treats a worker's rounds as independent).
  Speeds: the overall median over the worker's median (``X / speed``).
* **Persistence**: Spearman lag-1 autocorrelation (``scipy.stats.spearmanr``) of each
  worker's log unit-time minus its own median, pooled over workers (one-sided). When
  present, a two-state Markov chain (``persistent``) is fitted by maximum likelihood
  with the forward algorithm: its emission laws (a good draw and a draw κ times slower)
  come from the best bimodal candidate; the transition probabilities (``p_slow``,
  ``p_recover``) maximise the likelihood of the workers' sequences
  (``scipy.optimize.minimize``, L-BFGS-B); a likelihood-ratio test against ρ = 0 (the
  i.i.d. mixture) is reported.
* **Load scaling**, when the trace has more than one load: three gamma likelihoods,
  ``T ~ Gamma(k, d·θ)`` (per-worker: one draw times d), ``T ~ Gamma(d·k, θ)``
  (per-partition: the sum of d draws), ``T ~ Gamma(k, (d + c)·θ)`` (affine: mean
  a + b·d); the gamma family is closed under both scalings, so the comparison is exact
  for gamma data and a two-moment comparison (variance ∝ d² vs ∝ d) otherwise. Chosen
  by the information criterion.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Heterogeneity",
    "LoadScaling",
    "Persistence",
    "detect_heterogeneity",
    "detect_persistence",
    "fit_load_scaling",
    "fit_markov",
]

Array = np.ndarray

#: blocks of consecutive rounds in the heterogeneity test (at most)
MAX_BLOCKS = 20
#: a load scaling with one more parameter that nests another must improve the
#: criterion by this much to be chosen
PARSIMONY = 2.0


@dataclass
class Heterogeneity:
    """Result of the per-worker speed test."""

    test: str
    statistic: float
    pvalue: float
    detected: bool
    speeds: Array
    blocks: int
    alpha: float
    #: speed groups (worker columns), fastest first; empty when not detected
    groups: list[list[int]] = field(default_factory=list)

    def line(self) -> str:
        head = (
            f"{self.test} over {self.blocks} blocks of rounds: statistic "
            f"{self.statistic:.4g}, p = {self.pvalue:.3g} -> "
        )
        if not self.detected:
            return head + "no evidence of per-worker speeds"
        parts = [
            f"{len(g)} worker{'s' if len(g) > 1 else ''} at {float(self.speeds[g[0]]):.3g}"
            for g in self.groups
        ]
        return head + f"heterogeneous, {len(self.groups)} speed groups: " + ", ".join(parts)


@dataclass
class Persistence:
    """Result of the persistence test (and of the Markov fit when present)."""

    rho: float
    pvalue: float
    pairs: int
    detected: bool
    alpha: float
    modelled: bool = False
    p_slow: float = math.nan
    p_recover: float = math.nan
    factor: float = math.nan
    stationary_slow: float = math.nan
    lr_stat: float = math.nan
    lr_pvalue: float = math.nan
    note: str = ""
    #: share of the variance of log time common to the workers of a round, beyond what
    #: independent workers give by chance (not modelled)
    common_share: float = math.nan

    def line(self) -> str:
        s = (
            f"lag-1 Spearman autocorrelation {self.rho:+.3f} over {self.pairs} pairs, "
            f"p = {self.pvalue:.3g} -> "
            + ("persistent" if self.detected else "no evidence of persistence")
        )
        if self.modelled:
            s += (
                f"; two-state chain: p_slow = {self.p_slow:.3g}, p_recover = "
                f"{self.p_recover:.3g}, factor = {self.factor:.3g} (slow {self.stationary_slow:.1%}"
                f" of the time); likelihood ratio vs i.i.d. {self.lr_stat:.1f}, p = "
                f"{self.lr_pvalue:.3g}"
            )
        if self.note:
            s += f"; {self.note}"
        if self.common_share >= 0.1:
            s += (
                f"; {self.common_share:.0%} of the variance of log time is shared by the "
                "workers of a round (a machine-wide slowdown; gcsim draws workers "
                "independently and does not model it)"
            )
        return s


@dataclass
class LoadScaling:
    """How the compute time grows with the load d."""

    mode: str  # "per-worker", "per-partition", "affine" or "single-load"
    load_mode: str  # what to put in cluster.load_mode
    loads: Array
    table: list[dict[str, Any]] = field(default_factory=list)
    offset: float = 0.0  # c of the affine model: T = (d + c) X
    weight: float = math.nan
    parsimony: bool = False  # per-worker kept although affine scored (less than 2) better

    def line(self) -> str:
        if self.mode == "single-load":
            return (
                f"one load ({', '.join(f'{v:g}' for v in self.loads)}): the load scaling "
                f"cannot be tested; use load_mode = {self.load_mode!r} (gcsim's default)"
            )
        rows = ", ".join(f"{r['mode']} {r['delta']:+.1f}" for r in self.table)
        extra = ""
        if self.mode == "affine":
            extra = (
                f"; T = (d + {self.offset:.3g}) X: a fixed part worth {self.offset:.3g} "
                "partitions; per-worker scaling with the unit model for the scheme's load "
                "(FitResult.model_for_load(d))"
            )
        if self.parsimony:
            extra = "; affine (T = (d + c) X) scores less than 2 better: the simpler is kept"
        return (
            f"loads {', '.join(f'{v:g}' for v in self.loads)}: {self.mode} "
            f"(weight {self.weight:.3f}; Δcriterion {rows}){extra}; use load_mode = "
            f"{self.load_mode!r}"
        )


def _blocks(R: int) -> list[slice]:
    B = min(R, MAX_BLOCKS)
    edges = np.linspace(0, R, B + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _block_medians(Y: Array) -> Array:
    """Per-block, per-worker medians (blocks of consecutive rounds with data for all)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        M = np.array([np.nanmedian(Y[b], axis=0) for b in _blocks(Y.shape[0])])
    out: Array = M[np.all(np.isfinite(M), axis=1)]
    return out


def _same_speed_test(M: Array) -> tuple[str, float, float]:
    """(test, statistic, p-value) of "the columns of M (block medians) have one speed"."""
    from scipy import stats

    n = M.shape[1]
    if n >= 3 and M.shape[0] >= 2:
        res = stats.friedmanchisquare(*M.T)
        stat, p = float(res.statistic), float(res.pvalue)
        return "Friedman test", stat, p if math.isfinite(p) else 1.0
    if n == 2 and M.shape[0] >= 6:
        diff = M[:, 0] - M[:, 1]
        if np.any(diff != 0):
            res = stats.wilcoxon(diff)
            return "Wilcoxon signed-rank test", float(res.statistic), float(res.pvalue)
        return "Wilcoxon signed-rank test", math.nan, 1.0
    return "no test", math.nan, 1.0


def detect_heterogeneity(Y: Array, alpha: float) -> Heterogeneity:
    """Friedman test across workers (columns of ``Y``: log unit-time, rounds x workers,
    NaN where missing) on block medians of consecutive rounds.

    When the workers differ, they are split into **speed groups** by binary segmentation:
    sorted by median, a group that the same test still finds heterogeneous is cut at the
    largest gap between consecutive medians, until every group passes (or is one
    worker). A group's speed comes from the pooled median of its workers, so workers of
    one speed get exactly one speed (per-worker medians would scatter them by their
    sampling error and blur a sharp minimum of the pooled times)."""
    import warnings

    n = Y.shape[1]
    M = _block_medians(Y)
    test, stat, p = _same_speed_test(M)
    if n < 2:
        test = "no test (one worker)"
    detected = p < alpha
    if not detected:
        return Heterogeneity(test, stat, p, False, np.ones(n), int(M.shape[0]), alpha, [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(Y, axis=0)
    groups: list[list[int]] = []

    def split(idx: Array) -> None:
        if idx.size >= 2:
            _, _, pg = _same_speed_test(M[:, idx])
            if pg < alpha:
                k = int(np.argmax(np.diff(med[idx]))) + 1
                split(idx[:k])
                split(idx[k:])
                return
        groups.append(sorted(int(i) for i in idx))

    split(np.argsort(med, kind="stable"))
    level = np.empty(n)
    for g in groups:
        level[g] = float(np.nanmedian(Y[:, g]))
    speeds = np.exp(-(level - float(np.median(level))))
    groups.sort(key=lambda g: (-float(speeds[g[0]]), g[0]))
    return Heterogeneity(test, stat, p, True, speeds, int(M.shape[0]), alpha, groups)


def _common_share(Z: Array, permutations: int = 20) -> float:
    """Share of the variance of ``Z`` (rounds x workers, centred per worker) explained by
    the round medians, minus its mean when every worker's rounds are shuffled
    independently (what independent workers give by chance: about pi / (2 n))."""

    def share(A: Array) -> float:
        total = float(np.nanvar(A))
        return float(np.nanvar(np.nanmedian(A, axis=1))) / total if total > 0 else 0.0

    rng = np.random.default_rng(0)
    null = [share(rng.permuted(Z, axis=0)) for _ in range(permutations)]
    return max(0.0, share(Z) - float(np.mean(null)))


def detect_persistence(Y: Array, alpha: float) -> Persistence:
    """One-sided test of positive lag-1 autocorrelation of each worker's log unit-time
    minus its own median and, with 4 workers or more, minus the round's median (pooled
    Spearman correlation of consecutive rounds). Removing the round's median keeps a
    slowdown shared by every worker (a busy machine, a drift) from passing for per-worker
    persistence; its share of the variance is reported (``common_share``)."""
    import warnings

    from scipy import stats

    common = math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        Z = Y - np.nanmedian(Y, axis=0, keepdims=True)
        if Y.shape[1] >= 4:
            common = _common_share(Z)
            Z = Z - np.nanmedian(Z, axis=1, keepdims=True)
    a, b = Z[:-1].ravel(), Z[1:].ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    pairs = int(ok.sum())
    if pairs < 8 or np.all(a[ok] == a[ok][0]) or np.all(b[ok] == b[ok][0]):
        return Persistence(
            math.nan,
            1.0,
            pairs,
            False,
            alpha,
            note="too few consecutive rounds",
            common_share=common,
        )
    res = stats.spearmanr(a[ok], b[ok])
    rho = float(res.statistic)
    p_two = float(res.pvalue)
    p = p_two / 2 if rho > 0 else 1 - p_two / 2
    return Persistence(rho, p, pairs, bool(p < alpha), alpha, common_share=common)


def _emissions(e0: Array, e1: Array, ok: Array) -> tuple[Array, Array, float]:
    """Scaled emission likelihoods (w0, w1) and the log of the scale factors' product;
    missing entries emit 1."""
    m = np.where(ok, np.maximum(e0, e1), 0.0)
    w0 = np.where(ok, np.exp(e0 - m), 1.0)
    w1 = np.where(ok, np.exp(e1 - m), 1.0)
    return w0, w1, float(m.sum())


def _forward_loglik(w0: Array, w1: Array, logscale: float, pi: float, rho: float) -> float:
    """Log-likelihood of every worker's sequence under a two-state chain (stationary
    start, lag-1 state autocorrelation ``rho``) with scaled emission likelihoods w0
    (good) and w1 (slow), rounds x workers (forward algorithm, vectorised over workers)."""
    p_slow = pi * (1 - rho)
    p_rec = (1 - pi) * (1 - rho)
    R = w0.shape[0]
    a0 = (1 - pi) * w0[0]
    a1 = pi * w1[0]
    s = a0 + a1
    logs = np.empty_like(w0)
    logs[0] = s
    a0, a1 = a0 / s, a1 / s
    for t in range(1, R):
        b0 = (a0 * (1 - p_slow) + a1 * p_rec) * w0[t]
        a1 = (a0 * p_slow + a1 * (1 - p_rec)) * w1[t]
        s = b0 + a1
        logs[t] = s
        a0, a1 = b0 / s, a1 / s
    with np.errstate(divide="ignore"):
        return float(np.log(logs).sum()) + logscale


def fit_markov(U: Array, base_logpdf: Any, factor: float, result: Persistence) -> Persistence:
    """Maximum-likelihood two-state chain for the unit times ``U`` (rounds x workers,
    speeds removed; NaN where missing), emissions fixed to the base law and the base law
    slowed by ``factor``. Fills and returns ``result``."""
    from scipy import optimize, stats

    ok = np.isfinite(U)
    Uz = np.where(ok, U, 1.0)
    with np.errstate(divide="ignore"):
        e0 = np.asarray(base_logpdf(Uz), dtype=float)
        e1 = np.asarray(base_logpdf(Uz / factor), dtype=float) - math.log(factor)
    e0 = np.where(np.isfinite(e0), e0, -700.0)
    e1 = np.where(np.isfinite(e1), e1, -700.0)
    w0, w1, logscale = _emissions(e0, e1, ok)

    def nll(th: Array) -> float:
        v = -_forward_loglik(w0, w1, logscale, float(th[0]), float(th[1]))
        return v if math.isfinite(v) else 1e300

    def nll_iid(q: float) -> float:  # rho = 0: the rounds are independent
        v = -float(np.sum(np.log((1 - q) * w0 + q * w1))) - logscale
        return v if math.isfinite(v) else 1e300

    bounds = (1e-4, 1 - 1e-4)
    iid = optimize.minimize_scalar(nll_iid, bounds=bounds, method="bounded")
    pi0 = float(iid.x)
    # the chain's autocorrelation at that stationary probability, then both jointly
    r1 = optimize.minimize_scalar(
        lambda r: nll(np.array([pi0, r])), bounds=(0.0, 0.999), method="bounded"
    )
    best = optimize.minimize(
        nll,
        np.array([pi0, float(r1.x)]),
        method="L-BFGS-B",
        bounds=[bounds, (0.0, 0.999)],
        options={"maxiter": 15},
    )
    if not best.fun <= r1.fun:
        best.x, best.fun = np.array([pi0, float(r1.x)]), r1.fun
    pi, rho = float(best.x[0]), float(best.x[1])
    lr = max(0.0, 2.0 * (float(iid.fun) - float(best.fun)))
    result.modelled = True
    result.p_slow = pi * (1 - rho)
    result.p_recover = (1 - pi) * (1 - rho)
    result.factor = float(factor)
    result.stationary_slow = pi
    result.lr_stat = lr
    # rho = 0 is on the boundary: the statistic is a 50:50 mixture of 0 and chi2(1)
    result.lr_pvalue = float(0.5 * stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    return result


# ------------------------------------------------------------------- load scaling


def _gamma_nll(T: Array, shape: Array, scale: Array) -> float:
    from scipy import special

    z = T / scale
    ll = (shape - 1) * np.log(z) - z - special.gammaln(shape) - np.log(scale)
    v = -float(np.sum(ll))
    return v if math.isfinite(v) else 1e300


def fit_load_scaling(T: Array, d: Array, criterion: str = "bic") -> LoadScaling:
    """Choose per-worker, per-partition or affine load scaling for compute times ``T``
    (speeds removed) at loads ``d`` by gamma likelihoods (module docstring)."""
    from scipy import optimize

    from gcsim.fit.families import weights

    loads = np.unique(d)
    if loads.size < 2:
        return LoadScaling("single-load", "per-worker", loads)
    u = T / d
    m, v = float(np.mean(u)), float(np.var(u))
    k0 = max(m * m / max(v, 1e-300), 1e-3)
    th0 = max(m / k0, 1e-300)
    n = T.size

    def pw(th: Array) -> float:
        k, s = math.exp(th[0]), math.exp(th[1])
        return _gamma_nll(T, np.full(n, k), s * d)

    def pp(th: Array) -> float:
        k, s = math.exp(th[0]), math.exp(th[1])
        return _gamma_nll(T, k * d, np.full(n, s))

    dmin = float(d.min())

    def af(th: Array) -> float:
        k, s = math.exp(th[0]), math.exp(th[1])
        c = math.exp(th[2]) - dmin  # c > -dmin keeps every scale positive
        return _gamma_nll(T, np.full(n, k), s * (d + c))

    x0 = np.array([math.log(k0), math.log(th0)])
    fits: dict[str, tuple[float, int, Array]] = {}
    for name, f, start in (
        ("per-worker", pw, x0),
        ("per-partition", pp, x0),
        ("affine", af, np.array([*x0, math.log(dmin)])),
    ):
        best: Any = None
        starts = [start]
        if name == "affine":
            starts.append(np.array([*x0, math.log(dmin + 1.0)]))
        if name == "per-partition":
            starts.append(np.array([math.log(k0 / float(np.mean(d))), math.log(th0)]))
        for s0 in starts:
            res = optimize.minimize(
                f, s0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6, "maxiter": 4000}
            )
            if best is None or res.fun < best.fun:
                best = res
        fits[name] = (float(best.fun), len(start), best.x)
    names = list(fits)
    scores = []
    for name in names:
        nll, k, _ = fits[name]
        scores.append(2 * k + 2 * nll if criterion == "aic" else k * math.log(n) + 2 * nll)
    w = weights(scores)
    order = np.argsort(scores)
    best_name = names[int(order[0])]
    # affine nests per-worker (c = 0): it must improve the criterion by 2 to be chosen
    kept = False
    if best_name == "affine" and scores[0] - scores[2] < PARSIMONY:
        best_name, kept = "per-worker", True

    def natural(name: str) -> dict[str, float]:
        th = fits[name][2]
        out = {"shape": math.exp(float(th[0])), "scale": math.exp(float(th[1]))}
        if name == "affine":
            out["offset"] = math.exp(float(th[2])) - dmin
        return out

    table = [
        {
            "mode": names[i],
            "k": fits[names[i]][1],
            "fit": natural(names[i]),
            "loglik": -fits[names[i]][0],
            criterion: scores[i],
            "delta": scores[i] - scores[int(order[0])],
            "weight": float(w[i]),
        }
        for i in order
    ]
    offset = 0.0
    if best_name == "affine":
        offset = math.exp(float(fits["affine"][2][2])) - dmin
    load_mode = "per-partition" if best_name == "per-partition" else "per-worker"
    return LoadScaling(
        best_name, load_mode, loads, table, offset, float(w[names.index(best_name)]), kept
    )
