"""How the advisor obtains a configuration's round time, and its stability.

Four methods, from the cheapest:

* **closed-form**: the round time is ``max_g`` of the ``need_g``-th fastest arrival of
  group g (a count rule is one group of n), the arrivals i.i.d. within a group with a law
  known in closed form (:mod:`gcsim.advise.dists`). Its mean is the group integral of
  :func:`gcsim.analysis.order_stats.expected_grouped_completion` (groups of unequal load
  use the same integral with one law per group, by ``scipy.integrate.quad``), its
  quantile the root of ``P(T <= t) = p``. No sampling error: the quadrature is accurate to
  about 1e-10.
* **fast path**: :func:`gcsim.simulate` with ``engine="fast"`` where
  :meth:`gcsim.spec.RunSpec.fast_path` applies (i.i.d. models, ideal network, zero
  costs); the standard error comes from the rounds.
* **replay**: the fast path's order statistics (:func:`gcsim.sim.fastpath.completion_times`)
  on the run's own sampler draws plus the deterministic network and kernel costs. With
  the ``cancel`` policy and an unlimited server ingress it gives the DES's round times
  exactly (also for models that are not i.i.d.); with a finite ingress it leaves out the
  contention, so it is a lower bound that the DES then confirms.
* **DES**: :func:`gcsim.simulate` with ``engine="des"`` (the non-preemptive policy,
  contention at the ingress, confirmation of the top configurations).

Stability comes from the code's own decoders: :func:`quick_stability` looks at a few
straggler sets (enough to rule a configuration out), :func:`full_stability` runs
:func:`gcsim.analysis.stability.check_code` (worst condition number and measured float64
and float32 relative errors over sampled straggler sets).
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, optimize, special

from gcsim.advise.dists import ArrivalLaw, PointMass, arrival_distribution, classify
from gcsim.advise.model import Cluster
from gcsim.codes.base import GradientCode
from gcsim.errors import GcsimError

__all__ = [
    "Estimate",
    "Stability",
    "closed_form",
    "des",
    "fast_path",
    "full_stability",
    "quick_stability",
    "replay",
    "rounds_to_target",
    "shares",
    "timing_signature",
]

#: the quantile of the p95 objective
P95 = 0.95


@dataclass
class Estimate:
    """A configuration's round time: mean and 95th percentile, each with its standard
    error (0 for closed forms), the method and the rounds it used."""

    mean: float
    mean_se: float
    p95: float
    p95_se: float
    method: str
    rounds: int = 0
    #: False when the value leaves something out (the replay's ingress contention)
    complete: bool = True
    note: str = ""

    def value(self, objective: str) -> tuple[float, float]:
        """(value, standard error) of the objective ``mean`` or ``p95``."""
        if objective == "p95":
            return self.p95, self.p95_se
        return self.mean, self.mean_se


# --------------------------------------------------------------------------- structure


def _rule(code: GradientCode, rule: str) -> Any:
    from gcsim.protocol import effective_rule

    return effective_rule(code, rule)


def timing_signature(code: GradientCode, rule: str, l: int) -> str:
    """A key that is equal for two codes whose round times are equal in law under the
    same cluster: the decode rule's structure, the loads, m and the message length."""
    dr = _rule(code, rule)
    h = hashlib.sha1()
    h.update(f"{dr.kind}|{dr.threshold}|{dr.group_check}|{dr.early_checks}|".encode())
    if dr.kind == "general" and dr.early_checks:
        h.update(f"code:{id(code)}".encode())  # decided numerically: the code itself
    if dr.group_of is not None and dr.need is not None:
        h.update(np.ascontiguousarray(dr.group_of).tobytes())
        h.update(np.ascontiguousarray(dr.need).tobytes())
    h.update(np.ascontiguousarray(code.loads, dtype=np.int64).tobytes())
    h.update(f"|{code.m}|{code.message_length(l)}".encode())
    return h.hexdigest()


def groups_of(code: GradientCode, rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(group_of (n,), need (G,), sizes (G,)) when the decode instant is the maximum over
    groups of an order statistic (count rules are one group); None otherwise."""
    dr = _rule(code, rule)
    n = code.n
    if dr.kind == "count" or (dr.kind == "general" and not dr.early_checks):
        return np.zeros(n, dtype=np.int64), np.array([dr.threshold]), np.array([n])
    if dr.kind == "groups" and not dr.group_check:
        assert dr.group_of is not None and dr.need is not None
        sizes = np.bincount(dr.group_of, minlength=len(dr.need))
        return np.asarray(dr.group_of), np.asarray(dr.need), sizes
    return None


def layout(code: GradientCode, rule: str) -> str:
    """The group layout in words: ``"3×4"`` (3 groups of 4), ``"2×5+1×6"``, or ``"-"``."""
    dr = _rule(code, rule)
    if dr.kind != "groups" or dr.group_of is None:
        return "-"
    sizes = np.bincount(dr.group_of)
    vals, counts = np.unique(sizes, return_counts=True)
    return "+".join(f"{c}×{v}" for v, c in zip(vals.tolist(), counts.tolist(), strict=True))


# ------------------------------------------------------------------- network and costs


def lone_upload(cluster: Cluster, q: int) -> float:
    """Time for one message alone on the network: latency plus its bytes through the
    worker's link (and the ingress, which a lone message shares with nobody)."""
    net = cluster.network
    nbytes = q * net.bytes_per_value
    sharing = getattr(net, "sharing", "fifo")
    if sharing == "fifo":
        return net.latency + nbytes / net.bandwidth + nbytes / net.ingress
    return net.latency + nbytes / min(net.bandwidth, net.ingress)


def fixed_parts(cluster: Cluster, code: GradientCode) -> tuple[np.ndarray, float]:
    """Per-worker deterministic time (broadcast, encode cost, lone upload), shape (n,),
    and the deterministic time after the decode instant (the update cost)."""
    l = cluster.dimension
    q = code.message_length(l)
    enc = np.asarray(cluster.costs.encode_time(code.loads * code.m, q), dtype=float)
    const = cluster.network.broadcast_time(l) + lone_upload(cluster, q)
    return const + enc, float(cluster.costs.update_time(l))


def _contention_free(cluster: Cluster) -> bool:
    return math.isinf(cluster.network.ingress)


# ----------------------------------------------------------------------- closed forms


class _Completion:
    """T = max over groups of the need_g-th fastest of size_g arrivals; one law per group."""

    def __init__(self, laws: list[ArrivalLaw], sizes: np.ndarray, needs: np.ndarray) -> None:
        # distinct (law, size, need) triples and their multiplicities
        keys: dict[tuple[int, int, int], int] = {}
        self.laws: list[ArrivalLaw] = []
        for law, size, need in zip(laws, sizes.tolist(), needs.tolist(), strict=True):
            idx = next((i for i, x in enumerate(self.laws) if x is law), None)
            if idx is None:
                self.laws.append(law)
                idx = len(self.laws) - 1
            keys[(idx, int(size), int(need))] = keys.get((idx, int(size), int(need)), 0) + 1
        self.terms = [(self.laws[i], s, k, c) for (i, s, k), c in keys.items()]
        self.lo = max(float(law.support()[0]) for law, *_ in self.terms)

    def cdf(self, t: Any) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        logp = np.zeros_like(t)
        for law, size, need, count in self.terms:
            f = np.clip(np.asarray(law.cdf(t), dtype=float), 0.0, 1.0)
            phi = special.betainc(need, size - need + 1.0, f)
            with np.errstate(divide="ignore"):
                logp += count * np.log(phi)
        return np.exp(logp)

    def sf(self, t: Any) -> np.ndarray:
        return 1.0 - self.cdf(t)

    def _upper(self, p: float) -> float:
        groups = sum(c for *_, c in self.terms)
        tail = min(1e-3, (1.0 - p) / (10.0 * groups))
        return max(float(law.ppf(np.array([1.0 - tail]))[0]) for law, *_ in self.terms)

    def mean(self) -> float:
        if all(isinstance(law, PointMass) for law in self.laws):
            return max(law.mean() for law in self.laws)
        hi = self._upper(0.999999)
        pts = sorted(
            {
                float(x)
                for law, *_ in self.terms
                for x in law.ppf(np.array([0.05, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999]))
                if self.lo < float(x) < hi
            }
        )

        def sf(x: float) -> float:
            return float(self.sf(np.array([x]))[0])

        body, _ = integrate.quad(sf, self.lo, hi, points=pts or None, limit=200, epsrel=1e-10)
        with warnings.catch_warnings():  # the far tail is negligible: roundoff is fine
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            tail, _ = integrate.quad(sf, hi, math.inf, limit=200, epsabs=1e-12)
        return self.lo + body + tail

    def quantile(self, p: float) -> float:
        if all(isinstance(law, PointMass) for law in self.laws):
            return max(law.mean() for law in self.laws)
        lo, hi = self.lo, self._upper(p)
        while float(self.cdf(hi)[0]) < p:
            hi = lo + 2.0 * (hi - lo) + 1e-12
        return float(optimize.brentq(lambda x: float(self.cdf(x)[0]) - p, lo, hi, xtol=1e-12))


def closed_form(
    code: GradientCode, cluster: Cluster, rule: str, *, p95: bool = True
) -> Estimate | None:
    """Exact mean and (``p95``) 95th percentile of the round time under the ``cancel``
    policy, or None when no closed form applies (see the module docstring)."""
    costs = cluster.costs
    if costs.measured or not math.isinf(costs.decode_rate):
        return None
    if cluster.load_mode != "per-worker" or not _contention_free(cluster):
        return None
    structure = groups_of(code, rule)
    if structure is None:
        return None
    group_of, needs, sizes = structure
    ck, xk = classify(cluster.compute), classify(cluster.comm)
    if "other" in (ck.kind, xk.kind):
        return None
    fixed, after = fixed_parts(cluster, code)
    loads = code.loads.astype(float)
    q = code.message_length(cluster.dimension)
    frac = q / cluster.dimension
    laws: list[ArrivalLaw] = []
    cache: dict[tuple[float, float], ArrivalLaw] = {}
    for g in range(len(needs)):
        members = group_of == g
        ld, fx = np.unique(loads[members]), np.unique(fixed[members])
        if len(ld) != 1 or len(fx) != 1:
            return None  # loads differ inside a group: not i.i.d.
        key = (float(ld[0]), float(fx[0]))
        if key not in cache:
            law = arrival_distribution(ck, xk, key[0], frac, key[1])
            if law is None:
                return None
            cache[key] = law
        laws.append(cache[key])
    if len(cache) == 1 and not isinstance(laws[0], PointMass):
        from gcsim.analysis.order_stats import expected_grouped_completion

        mean = expected_grouped_completion(laws[0], sizes.tolist(), needs.tolist())
    else:
        mean = _Completion(laws, sizes, needs).mean()
    q95 = _Completion(laws, sizes, needs).quantile(P95) + after if p95 else math.nan
    return Estimate(mean + after, 0.0, q95, 0.0, "closed-form")


# --------------------------------------------------------------------------- sampling


def _summarise(durations: np.ndarray, method: str, complete: bool = True) -> Estimate:
    d = np.asarray(durations, dtype=float)
    d = d[np.isfinite(d)]
    R = len(d)
    if R == 0:
        return Estimate(math.inf, 0.0, math.inf, 0.0, method, 0, complete, "no round decoded")
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(R)) if R > 1 else math.inf
    p95 = float(np.percentile(d, 100 * P95))
    # standard error of the quantile from the order statistics one binomial sd around it
    srt = np.sort(d)
    half = math.sqrt(R * P95 * (1 - P95))
    lo = srt[max(0, math.floor(R * P95 - half) - 1)]
    hi = srt[min(R - 1, math.ceil(R * P95 + half) - 1)]
    return Estimate(mean, se, p95, float(hi - lo) / 2.0, method, R, complete)


def _simulate(
    code: GradientCode,
    cluster: Cluster,
    rule: str,
    *,
    rounds: int,
    seed: int,
    engine: str,
    policy: str = "cancel",
    workload: Any = None,
) -> Any:
    import gcsim

    return gcsim.simulate(
        code,
        delays=cluster.compute,
        comm_delays=cluster.comm,
        network=cluster.network,
        costs=cluster.costs,
        policy=policy,
        decode_rule=rule,
        dimension=None if workload is not None else cluster.dimension,
        workload=workload,
        load_mode=cluster.load_mode,
        iterations=rounds,
        seed=seed,
        engine=engine,
    )


def fast_path_applies(cluster: Cluster) -> bool:
    """Whether :func:`gcsim.simulate`'s fast path applies to this cluster (cancel)."""
    from gcsim.spec import fast_path_applies as applies

    ok, _ = applies(cluster.compute, cluster.comm, cluster.network, cluster.costs, "cancel")
    return ok


def fast_path(code: GradientCode, cluster: Cluster, rule: str, rounds: int, seed: int) -> Estimate:
    """Mean and p95 from :func:`gcsim.simulate` with ``engine="fast"`` (cancel policy)."""
    res = _simulate(code, cluster, rule, rounds=rounds, seed=seed, engine="fast")
    rec = res.records
    return _summarise(rec["duration"][rec["decoded"]].to_numpy(), "fast path")


def _draws(
    code: GradientCode, cluster: Cluster, rounds: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Compute and communication draws of ``rounds`` rounds on the run's own streams
    (as the simulator draws them), the per-worker fixed time and the after-decode cost."""
    from gcsim.spec import RunSpec

    spec = RunSpec.create(
        code,
        delays=cluster.compute,
        comm_delays=cluster.comm,
        iterations=rounds,
        seed=seed,
        network=cluster.network,
        costs=cluster.costs,
        dimension=cluster.dimension,
        load_mode=cluster.load_mode,
        engine="des",
    )
    compute, comm = spec.samplers()
    q = code.message_length(cluster.dimension)
    C = compute.draw_rounds(rounds, code.loads.astype(float))
    X = comm.draw_rounds(rounds, np.full(code.n, q / cluster.dimension))
    fixed, after = fixed_parts(cluster, code)
    return C, X, fixed, after


def replay(code: GradientCode, cluster: Cluster, rule: str, rounds: int, seed: int) -> Estimate:
    """The ``cancel`` round times from the run's own draws (see the module docstring);
    ``complete`` is False when the ingress is finite (its contention is left out)."""
    from gcsim.sim.fastpath import completion_times

    C, X, fixed, after = _draws(code, cluster, rounds, seed)
    T = C + X + fixed[None, :]
    t = completion_times(code, T, rule)
    q = code.message_length(cluster.dimension)
    n_resp = (T <= t[:, None]).sum(axis=1)
    decode = code.m * n_resp * q / cluster.costs.decode_rate
    exact = _contention_free(cluster) and not cluster.costs.measured
    est = _summarise(t + decode + after, "replay", complete=exact)
    if not exact:
        est.note = "contention at the server ingress left out (a lower bound)"
    return est


def des(
    code: GradientCode, cluster: Cluster, rule: str, policy: str, rounds: int, seed: int
) -> Estimate:
    """Mean and p95 from the discrete-event simulation."""
    res = _simulate(code, cluster, rule, rounds=rounds, seed=seed, engine="des", policy=policy)
    rec = res.records
    return _summarise(rec["duration"][rec["decoded"]].to_numpy(), "DES")


def shares(
    code: GradientCode, cluster: Cluster, rule: str, rounds: int, seed: int
) -> dict[str, float]:
    """Where the ``cancel`` round time goes, on average over ``rounds`` replayed rounds:
    the compute and communication delays of the worker whose arrival ends the round,
    its deterministic network and encode time, and the decode and update costs."""
    from gcsim.sim.fastpath import completion_times

    C, X, fixed, after = _draws(code, cluster, rounds, seed)
    T = C + X + fixed[None, :]
    t = completion_times(code, T, rule)
    ok = np.isfinite(t)
    rows = np.flatnonzero(ok)
    # the decisive worker: its arrival is the decode instant
    j = np.argmin(np.where(T[rows] <= t[rows, None], t[rows, None] - T[rows], np.inf), axis=1)
    q = code.message_length(cluster.dimension)
    n_resp = (T[rows] <= t[rows, None]).sum(axis=1)
    decode = code.m * n_resp * q / cluster.costs.decode_rate + after
    return {
        "compute": float(C[rows, j].mean()) if len(rows) else math.nan,
        "communication": float(X[rows, j].mean()) if len(rows) else math.nan,
        "network": float(fixed[j].mean()) if len(rows) else math.nan,
        "decode": float(np.mean(decode)) if len(rows) else math.nan,
        "total": float(t[rows].mean() + np.mean(decode)) if len(rows) else math.nan,
    }


def decode_wall(code: GradientCode, l: int, seed: int = 0, repeats: int = 3) -> float:
    """Measured wall time of one decode of this code at gradient length ``l`` on this
    machine (seconds, median of ``repeats``; the decoder is built first)."""
    rng = np.random.default_rng(seed)
    R = np.sort(rng.choice(code.n, code.n - code.s, replace=False))
    if not code.is_decodable(R):
        return math.nan
    msgs = rng.standard_normal((code.n, code.message_length(l)))
    code.decoder(R)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        code.decode(R, msgs[R], l, check=False)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def rounds_to_target(
    code: GradientCode,
    cluster: Cluster,
    rule: str,
    policy: str,
    target: float,
    max_rounds: int,
    seed: int,
) -> tuple[int | None, float]:
    """Rounds of training with this code until the loss is at most ``target`` (None when
    ``max_rounds`` do not reach it), and the last loss."""
    res = _simulate(
        code,
        cluster,
        rule,
        rounds=max_rounds,
        seed=seed,
        engine="auto",
        policy=policy,
        workload=dict(cluster.workload or {}),
    )
    loss = res.records["loss"].to_numpy(dtype=float)
    hit = np.flatnonzero(loss <= target)
    last = float(loss[-1]) if len(loss) else math.nan
    return (int(hit[0]) + 1 if len(hit) else None), last


# ------------------------------------------------------------------------- stability


@dataclass
class Stability:
    """Numerical stability of a configuration's decoders.

    ``rel_error`` is the worst measured relative error in the message precision
    (``rel_error_f64`` / ``rel_error_f32`` both kept); ``ok`` is False when a straggler
    set the code should decode does not, or decodes with a float64 error above 1e-6 (an
    exact code) or a residual above its tolerance. ``measured`` is False when the check
    was skipped (``note`` says why)."""

    worst_cond: float = math.nan
    rel_error: float = math.nan
    rel_error_f64: float = math.nan
    rel_error_f32: float = math.nan
    sets: int = 0
    exhaustive: bool = False
    ok: bool = True
    measured: bool = False
    note: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _random_sets(n: int, s: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    if s == 0:
        return [np.arange(n)]
    everyone = np.arange(n)
    return [np.setdiff1d(everyone, rng.choice(n, s, replace=False)) for _ in range(k)]


def quick_stability(
    code: GradientCode, *, sets: int, seed: int, max_cond: float | None
) -> tuple[bool, float, str]:
    """A few straggler sets of size s: (ok, worst cond seen, why not ok). Not ok when a
    set does not decode, a decoder's residual exceeds the tolerance (exact codes) or its
    condition number exceeds ``max_cond``: enough to rule a configuration out early."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for R in _random_sets(code.n, code.s, sets, rng):
        try:
            dec = code.decoder(R)
        except GcsimError as exc:
            return False, math.inf, f"a set of {code.s} stragglers does not decode: {exc}"
        cond = float(dec.cond) if np.isfinite(dec.cond) else math.inf
        worst = max(worst, cond)
        if code.exact and not (dec.residual <= code.residual_tol):
            return (
                False,
                worst,
                (
                    f"decoder residual {dec.residual:.1e} above the tolerance "
                    f"{code.residual_tol:.0e} (numerical breakdown)"
                ),
            )
        if max_cond is not None and cond > max_cond:
            return False, worst, f"condition number {cond:.2e} > max_cond {max_cond:.2e}"
    return True, worst, ""


def full_stability(
    code: GradientCode, *, samples: int, seed: int, dtype: str, budget_s: float
) -> Stability:
    """:func:`gcsim.analysis.stability.check_code` over straggler sets of size s (all of
    size <= s when there are at most 4·samples of them, else ``samples`` random ones,
    fewer when one set is slow: the check keeps within about ``budget_s``)."""
    from gcsim.analysis.stability import check_code

    t0 = time.perf_counter()
    first = check_code(code, samples=1, max_exhaustive=1, seed=seed)
    one = time.perf_counter() - t0
    k = int(max(1, min(samples, budget_s / max(one, 1e-6))))
    res = first
    if k > 1:
        res = check_code(code, samples=k, max_exhaustive=4 * samples, seed=seed)
    err = res.worst_rel_error_f32 if dtype == "float32" else res.worst_rel_error_f64
    return Stability(
        worst_cond=float(res.worst_cond),
        rel_error=float(err),
        rel_error_f64=float(res.worst_rel_error_f64),
        rel_error_f32=float(res.worst_rel_error_f32),
        sets=int(res.sets_checked),
        exhaustive=bool(res.exhaustive),
        ok=bool(res.all_decodable),
        measured=True,
        note=res.first_failure,
        seconds=time.perf_counter() - t0,
    )


def early_decode(
    code: GradientCode, cluster: Cluster, rule: str, rounds: int, seed: int, count: Estimate
) -> Estimate:
    """A rule checked numerically at every arrival (``general`` with early checks): the
    count rule's exact closed form ``count`` minus the simulated saving of decoding
    before n - s responders, both instants taken on the same replayed draws (a control
    variate: the saving is mostly 0, so its standard error is far below that of the
    round time itself). The 95th percentile is the plain empirical one."""
    from gcsim.sim.fastpath import completion_times

    C, X, fixed, after = _draws(code, cluster, rounds, seed)
    T = C + X + fixed[None, :]
    t_dec = completion_times(code, T, rule)
    t_cnt = completion_times(code, T, "count")
    saving = t_cnt - t_dec
    R = len(saving)
    se = float(saving.std(ddof=1) / math.sqrt(R)) if R > 1 else math.inf
    note = "count-rule closed form minus the simulated early-decode saving (control variate)"
    if not np.any(saving > 0):
        # no early decode seen: the rule of three bounds the mean saving by 3/R of the
        # largest possible one, the count instant less the r-th arrival (a decodable
        # set has at least r = ceil(m n / d) responders: m holders of every partition)
        r = max(code.m, math.ceil(code.m * code.n / code.d))
        first = np.partition(T, r - 1, axis=1)[:, r - 1]
        se = float(np.mean(np.maximum(t_cnt - first, 0.0))) / R
        note += f"; no early decode in {R} rounds"
    plain = _summarise(t_dec + after, "fast path")
    return Estimate(
        count.mean - float(saving.mean()),
        se,
        plain.p95,
        plain.p95_se,
        "fast path",
        R,
        True,
        note,
    )


def _replay_durations(
    code: GradientCode, cluster: Cluster, rule: str, rounds: int, seed: int
) -> np.ndarray:
    from gcsim.sim.fastpath import completion_times

    C, X, fixed, after = _draws(code, cluster, rounds, seed)
    T = C + X + fixed[None, :]
    t = completion_times(code, T, rule)
    q = code.message_length(cluster.dimension)
    n_resp = (T <= t[:, None]).sum(axis=1)
    return np.asarray(t + code.m * n_resp * q / cluster.costs.decode_rate + after, dtype=float)


def non_preemptive(
    code: GradientCode,
    cluster: Cluster,
    rule: str,
    rounds: int,
    seed: int,
    cancel: Estimate,
) -> tuple[Estimate, bool]:
    """The non-preemptive policy by DES, as ``cancel``'s value plus the extra time the
    policy costs on the same draws (never negative on any round: a straggler's next task
    only starts later), so the DES's sampling noise cannot rank it above ``cancel``.
    Returns the estimate and whether the policy changed anything at all."""
    res = _simulate(
        code, cluster, rule, rounds=rounds, seed=seed, engine="des", policy="non-preemptive"
    )
    rec = res.records
    np_d = rec["duration"].to_numpy(dtype=float)
    if _contention_free(cluster) and not cluster.costs.measured:
        base = _replay_durations(code, cluster, rule, rounds, seed)
    else:
        ref = _simulate(code, cluster, rule, rounds=rounds, seed=seed, engine="des")
        base = ref.records["duration"].to_numpy(dtype=float)
    extra = np_d - base
    extra = extra[np.isfinite(extra)]
    R = len(extra)
    se_extra = float(extra.std(ddof=1) / math.sqrt(R)) if R > 1 else math.inf
    plain = _summarise(np_d[rec["decoded"].to_numpy()], "DES")
    est = Estimate(
        cancel.mean + float(extra.mean()),
        math.hypot(cancel.mean_se, se_extra),
        max(plain.p95, cancel.p95) if math.isfinite(cancel.p95) else plain.p95,
        plain.p95_se,
        "DES",
        R,
        True,
        "cancel value plus the DES's extra time of the non-preemptive policy on the same draws",
    )
    return est, bool(np.any(extra > 1e-12 * max(1.0, float(np.abs(base).max(initial=0.0)))))
