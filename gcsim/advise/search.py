"""The advisor's search: every scheme of the registry × s × m × option variant ×
decode rule × policy, pruned by lower bounds (branch and bound).

Order of work (see ``docs/advise.md``, "How the search is pruned"):

1. **Variants and probes.** Every registered scheme (``gcsim.codes.schemes()``), with
   each option set of its registry examples (``SchemeInfo.examples``: for ``grouped``
   the generators gaussian, vandermonde, chebyshev, repetition, parity and hamming), is
   built once at its example size (and at 48 workers) to read its decode-rule kind,
   check that every worker's load is at least s + m, and see whether its decoders are
   ill-conditioned ("fragile").
2. **A grid bound before anything is built.** For every (variant, s, m) a lower bound on
   the objective, vectorised over the whole grid: a worker of load at least s + m
   answers no sooner than ``(s+m)·C + f·X`` (f = ceil(l/m)/l), and a round needs at least
   r responders, so its time is at least the r-th order statistic of those, at least
   ``max((s+m)·E[C_(r)] + f·E[X_(1)], (s+m)·E[C_(1)] + f·E[X_(r)])`` plus the fixed
   network and kernel times (and ``r`` messages through the ingress). r is n - s for
   count rules (and ``general`` rules above their early-check size), m otherwise.
3. **Best first.** The grid is visited in increasing bound. A configuration is skipped
   when its bound is no better than the threshold of its scheme: the top-k value, or the
   scheme's own best (for the "best of each scheme" rows) while that is within
   ``window`` × the overall best. Thresholds only fall, so a skipped configuration can
   never come back.
4. **Feasibility, then a sharper bound.** ``SchemeInfo.effective`` gives the built
   code's (s, d) without building it; every partition needs m responders holding it, so
   ``r >= ceil(m·n/d)``, and the bound is recomputed. Fragile variants are first tried
   at 64 and 256 workers: what breaks down there is not tried at the full n.
5. **Build and evaluate.** Closed form where it exists, else the fast path, else the
   replay (:mod:`gcsim.advise.evaluate`); simulations run in stages that stop once the
   value cannot enter the table, and codes decided numerically at every arrival are
   deferred until the closed forms have set the thresholds. Results are shared between
   configurations whose decode rule, loads and message length agree (the MDS generators
   of one group layout); another generator of a layout whose timing is already out of
   reach is not built (an MDS one has the same timing, a non-MDS one can only be
   slower).
6. **Stability before a contender counts.** A configuration that would enter the table
   has its decoders checked on a few straggler sets (breakdown, max_cond; with max_error
   the full check) before it lowers a threshold; with a stability constraint or a
   fragile variant, before its round time is even computed. The rows of the final
   table get the full ``check_code`` (:meth:`Search._finalise`).
7. **Dominated rules and policies last.** The ``count`` rule never decodes sooner than
   ``decodable``, and the non-preemptive policy never ends a round sooner than
   ``cancel`` on the same draws (a straggler's next task only starts later), so those
   rows are evaluated (the non-preemptive ones by DES) only for configurations whose
   cancel/decodable value is below the k-th best.
8. **DES confirms the top few**, and replaces a replay value that left contention out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gcsim.advise.dists import UnitOrderStats
from gcsim.advise.evaluate import (
    Estimate,
    Stability,
    closed_form,
    des,
    early_decode,
    fast_path,
    fast_path_applies,
    full_stability,
    layout,
    lone_upload,
    non_preemptive,
    quick_stability,
    replay,
    rounds_to_target,
    timing_signature,
)
from gcsim.advise.model import Cluster, Settings
from gcsim.codes.base import GradientCode
from gcsim.codes.info import SchemeInfo
from gcsim.errors import GcsimError, InfeasibleParametersError, InvalidInputError
from gcsim.rng import stream

__all__ = ["Row", "Search", "Variant"]

#: a variant is abandoned after this many contenders in a row fail their stability check
GIVE_UP = 8
#: a variant whose probe decoders (at its example size and at PROBE_N workers) have a
#: worse condition number, or break down, is "fragile"
FRAGILE_COND = 1e8
PROBE_N = 48
#: fragile variants are screened at these n (or 2(s+m)) before a feasibility check at a
#: larger n: a configuration that breaks down there is not tried at the full n
SCREEN_N = (64, 256)

#: options that do not change a code's structure (left out of variant labels)
_QUIET_OPTIONS = ("cache_size",)


# ------------------------------------------------------------------------------ types


@dataclass
class Variant:
    """A scheme with one set of options, and what its probe build said."""

    info: SchemeInfo
    options: dict[str, Any]
    label: str
    #: decode-rule kind at the probe ("count", "groups", "general") or "" (no probe)
    kind: str = ""
    early_up_to: int = 0
    #: every worker's load at the probe was >= s + m (exact) / >= 1 (inexact)
    loads_ok: bool = False
    #: a decode rule with a rank check (a non-MDS generator)
    checked: bool = False
    #: the probe's decoders were ill-conditioned (worst cond > FRAGILE_COND) or broke
    #: down: the variant is screened at a small n before each feasibility check
    fragile: bool = False

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def exact(self) -> bool:
        return self.info.exact


@dataclass
class Row:
    """One evaluated configuration."""

    variant: Variant
    s_req: int
    s: int
    m: int
    d: int
    rule: str
    policy: str
    code: GradientCode | None
    estimate: Estimate
    value: float
    se: float
    method: str
    bytes_per_round: float
    layout: str
    signature: str
    bound: float
    stability: Stability = field(default_factory=Stability)
    rounds_to_target: int | None = None
    status: str = "evaluated"  # evaluated | accepted | excluded
    reason: str = ""
    confirm: Estimate | None = None
    also: list[str] = field(default_factory=list)
    #: stability measured (False: too slow to measure at this n; such a row can be its
    #: scheme's best row but never a top-k one)
    verified: bool = True
    #: excluded because its decoders break down (not because of a user's constraint)
    breakdown: bool = False
    #: the full stability check's verdict (None: not run)
    full: bool | None = None

    @property
    def scheme(self) -> str:
        return self.variant.name

    @property
    def generator(self) -> str:
        return self.variant.label

    def key(self) -> tuple[Any, ...]:
        return (self.scheme, self.generator, self.s, self.m, self.d, self.rule, self.policy)


def _label(options: Mapping[str, Any]) -> str:
    vals = [v for k, v in options.items() if k not in _QUIET_OPTIONS]
    if not vals:
        return "-"
    if len(vals) == 1 and isinstance(vals[0], (str, int, float)):
        return str(vals[0])
    return ",".join(f"{k}={v}" for k, v in options.items() if k not in _QUIET_OPTIONS)


def variants_of(
    info: SchemeInfo, override: Sequence[Mapping[str, Any]] | None = None
) -> list[Variant]:
    """The option sets searched for a scheme: ``override`` if given, else the distinct
    option sets of its registry examples (the default options when it has none)."""
    sets: list[dict[str, Any]] = []
    source = (
        [dict(o) for o in override]
        if override is not None
        else [dict(ex.options) for ex in info.examples]
    )
    for opts in source or [{}]:
        opts = {k: v for k, v in opts.items() if k not in _QUIET_OPTIONS}
        if opts not in sets:
            sets.append(opts)
    return [Variant(info, o, _label(o)) for o in sets]


# ------------------------------------------------------------------------------ search


class Search:
    """One run of the advisor (see the module docstring); :meth:`run` fills the rows."""

    def __init__(
        self,
        cluster: Cluster,
        settings: Settings,
        variants: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self.variant_override = dict(variants or {})
        self.rows: list[Row] = []
        self.accepted: list[Row] = []
        self.notes: list[str] = []
        self.excluded_reasons: dict[str, int] = {}
        self.stats: dict[str, Any] = {
            "grid": 0,
            "pruned_by_grid_bound": 0,
            "feasibility_checks": 0,
            "infeasible": 0,
            "duplicates": 0,
            "pruned_by_bound": 0,
            "pruned_same_layout": 0,
            "built": 0,
            "closed_form": 0,
            "fast_path": 0,
            "replay": 0,
            "des": 0,
            "shared_timing": 0,
            "stability_checks": 0,
            "excluded": 0,
            "workload_runs": 0,
            "abandoned": 0,
            "screened_small_n": 0,
            "unverified": 0,
            "full_checks": 0,
        }
        self.timings: dict[str, float] = {}
        self._seen: set[tuple[Any, ...]] = set()
        self._timing: dict[str, Estimate] = {}
        self._layout_best: dict[tuple[Any, ...], float] = {}
        self._scheme_best: dict[str, float] = {}
        self._values: list[float] = []
        self._cost_cache: dict[tuple[Any, ...], float] = {}
        self.rounds_exact: int | None = None
        self._deferred: list[_Item] = []
        self._scheme_order: list[str] = []
        self._has_plain = False
        self._thr_cache: dict[tuple[Any, ...], float] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._quick_cache: dict[int, tuple[bool, float, str]] = {}
        self._screen_cache: dict[tuple[Any, ...], bool] = {}
        self._screen_fails: dict[tuple[str, str], int] = {}
        self._screen_noted: dict[tuple[str, str], bool] = {}
        self._abandoned: set[tuple[str, str]] = set()
        self._cheap_cluster = _closed_form_cluster(cluster)
        self.seed = settings.seed
        self.objective = settings.objective
        #: DES rounds: confirm_rounds, fewer on large clusters (the DES costs ~n per round)
        self.des_rounds = max(30, min(settings.confirm_rounds, 50_000 // cluster.n))

    # ------------------------------------------------------------------ thresholds
    def _state(self) -> tuple[int, float, float]:
        return (len(self._values), sum(self._values), sum(self._scheme_best.values()))

    def _kth(self) -> float:
        key = ("kth", self._state())
        if key not in self._thr_cache:
            k = self.settings.top
            self._thr_cache[key] = (
                math.inf
                if len(self._values) < k
                else float(np.partition(np.asarray(self._values), k - 1)[k - 1])
            )
        return self._thr_cache[key]

    def threshold(self, scheme: str) -> float:
        """A configuration of ``scheme`` matters only if its value is below this."""
        key = (scheme, self._state())
        if key not in self._thr_cache:
            if len(self._thr_cache) > 10_000:
                self._thr_cache.clear()
            best = min(self._values) if self._values else math.inf
            own = min(self._scheme_best.get(scheme, math.inf), self.settings.window * best)
            self._thr_cache[key] = max(self._kth(), own)
        return self._thr_cache[key]

    def _max_threshold(self, schemes: Sequence[str]) -> float:
        return max(self.threshold(s) for s in schemes)

    def _accept(self, row: Row) -> None:
        row.status = "accepted"
        self.accepted.append(row)
        if row.verified:
            self._values.append(row.value)
        else:
            self.stats["unverified"] += 1
        self._scheme_best[row.scheme] = min(self._scheme_best.get(row.scheme, math.inf), row.value)

    # ------------------------------------------------------------------ set-up
    def _variants(self) -> list[Variant]:
        from gcsim.codes import schemes

        out: list[Variant] = []
        for info in schemes():
            if self.settings.schemes is not None and info.name not in self.settings.schemes:
                continue
            if self.settings.exact_only and not info.exact:
                continue
            if not info.supports_s and self.settings.min_stragglers > 0:
                continue
            override = self.variant_override.get(info.name)
            found = variants_of(info, override)
            if override is None:
                found = self._speed_variants(info, found)
            for v in found:
                self._probe(v)
                out.append(v)
        if not out:
            raise InvalidInputError(
                "no scheme is left to search: "
                + (
                    f"schemes={list(self.settings.schemes)} "
                    if self.settings.schemes is not None
                    else ""
                )
                + ("with exact_only=True " if self.settings.exact_only else "")
                + f"and min_stragglers={self.settings.min_stragglers}"
            )
        return out

    def _speed_variants(self, info: SchemeInfo, found: list[Variant]) -> list[Variant]:
        """Variants that size loads from worker speeds (an example with ``speeds``) are
        searched with the cluster's own speeds when its compute model is heterogeneous
        with explicit speeds, and not at all otherwise (with equal speeds they repeat a
        homogeneous variant); an example's explicit ``placement`` (sized for its own n)
        is not searched; the scheme's other variants stay as they are."""
        from gcsim.delays.heterogeneous import explicit_speeds

        sized = ("speeds", "placement")
        if not any(key in v.options for v in found for key in sized):
            return found
        speeds = explicit_speeds(self.cluster.compute, self.cluster.n)
        keep = [v for v in found if not any(key in v.options for key in sized)]
        if speeds is None:
            if not keep:
                self.notes.append(
                    f"{info.name} not searched: it sizes loads from worker speeds and the "
                    "compute model has none (use a heterogeneous model with explicit speeds)"
                )
            return keep
        out = list(keep)
        for v in found:
            if "speeds" not in v.options:
                continue
            opts = {**v.options, "speeds": [float(c) for c in speeds]}
            rest = _label({k: x for k, x in v.options.items() if k != "speeds"})
            label = "speeds=cluster" if rest == "-" else f"{rest}, speeds=cluster"
            if all(o.options != opts for o in out):
                out.append(Variant(info, opts, label))
        return out

    def _probe(self, v: Variant) -> None:
        """Build the variant once at a small size: its rule kind and loads."""
        info = v.info
        examples = [ex for ex in info.examples if _subset(v.options, ex.options)]
        tries = [(ex.n, ex.s, ex.m) for ex in examples] + [
            (12, 1 if info.supports_s else 0, 1),
            (12, 2 if info.supports_s else 0, 2 if info.supports_m else 1),
        ]
        for n, s, m in tries:
            try:
                code = info.build(n=n, s=s, m=m, rng=0, **v.options)
            except GcsimError:
                continue
            rule = code.decode_rule
            v.kind = rule.kind
            v.early_up_to = int(rule.early_up_to)
            v.checked = bool(rule.group_check)
            need = code.s + code.m if info.exact else 1
            v.loads_ok = bool(np.min(code.loads) >= need)
            ok, cond, _ = quick_stability(code, sets=3, seed=0, max_cond=None)
            v.fragile = (not ok) or cond > FRAGILE_COND
            size = min(self.cluster.n, PROBE_N)
            if not v.fragile and size > n:
                try:
                    big = info.build(n=size, s=s, m=m, rng=0, **v.options)
                except GcsimError:
                    return
                ok, cond, _ = quick_stability(big, sets=3, seed=0, max_cond=None)
                v.fragile = (not ok) or cond > FRAGILE_COND
            return

    # ------------------------------------------------------------------ bounds
    def _order_stats(self) -> None:
        q = 0.95
        rng = stream(self.seed, "check")
        try:
            self.oc = UnitOrderStats(self.cluster.compute, self.cluster.n, quantile=q, rng=rng)
            self.ox = UnitOrderStats(self.cluster.comm, self.cluster.n, quantile=q, rng=rng)
        except GcsimError as exc:  # e.g. a trace too short to draw from: no bound
            self.notes.append(f"lower bounds switched off ({exc})")
            zeros = np.zeros(self.cluster.n)
            self.oc = self.ox = _Zero(zeros)  # type: ignore[assignment]

    def bound(
        self,
        loads: np.ndarray,
        m: np.ndarray,
        r: np.ndarray,
        f: np.ndarray,
        exact: bool = True,
    ) -> np.ndarray:
        """Vectorised lower bound on the objective (see the module docstring)."""
        cl = self.cluster
        l = cl.dimension
        net = cl.network
        if len(r) == 0:
            return np.zeros(0)
        r = np.clip(r, 1, cl.n).astype(np.int64)
        q = np.ceil(f * l)
        oc, ox = self.oc, self.ox
        if cl.load_mode == "per-partition":
            # a sum of d draws is at least one draw plus d - 1 lower support bounds
            one, rest = np.minimum(loads, 1.0), np.maximum(loads - 1.0, 0.0) * oc.low
        else:
            one, rest = loads, np.zeros_like(loads)
        if self.objective == "p95":
            a = one * oc.quantile[r - 1] + rest + f * ox.low
            b = loads * oc.low + f * ox.quantile[r - 1]
        else:
            a = one * oc.mean[r - 1] + rest + f * ox.mean[0]
            b = (
                loads * oc.mean[0] + f * ox.mean[r - 1]
                if cl.load_mode == "per-worker"
                else (loads * oc.low + f * ox.mean[r - 1])
            )
        nbytes = q * net.bytes_per_value
        upload = np.array([lone_upload(cl, int(x)) for x in np.unique(q)])
        lone = np.interp(q, np.unique(q), upload)
        fixed = net.broadcast_time(l) + lone + cl.costs.encode_time(loads * m, 1) * q
        ingress = net.broadcast_time(l) + net.latency + r * nbytes / net.ingress
        after = cl.costs.update_time(l) + m * r * q / cl.costs.decode_rate
        out = np.maximum(np.maximum(a, b) + fixed, ingress) + after
        if self.objective == "loss" and exact:
            # every exact code takes the rounds of exact gradient descent; an inexact
            # one might take fewer, so its bound is one round
            out = out * float(self.rounds_exact or 1)
        return np.asarray(out, dtype=float)

    def _grid(self, variants: list[Variant]) -> list[tuple[np.ndarray, ...]]:
        """Per variant: arrays (s, m, bound) of the grid, within the constraints."""
        n, st = self.cluster.n, self.settings
        l = self.cluster.dimension
        out: list[tuple[np.ndarray, ...]] = []
        for vi, v in enumerate(variants):
            info = v.info
            s_lo = st.min_stragglers if info.supports_s else 0
            s_hi = n - 1 if info.supports_s else 0
            if st.max_stragglers is not None:
                s_hi = min(s_hi, st.max_stragglers)
            s = np.arange(s_lo, s_hi + 1)
            S: np.ndarray
            M: np.ndarray
            if info.supports_m:
                SS, MM = np.meshgrid(s, np.arange(1, n + 1), indexing="ij")
                S, M = SS.ravel(), MM.ravel()
            else:
                S, M = s, np.ones_like(s)
            keep = S + M <= n
            if info.supports_s and self._has_plain:
                # (s, m) = (0, 1) of a straggler-tolerant scheme is the plain code again:
                # it is searched once, in the scheme without s
                keep &= (S > 0) | (M > 1)
            if info.exact and st.max_load is not None:
                keep &= S + M <= st.max_load  # d >= s + m for an exact code
            if st.m_values is not None and info.supports_m:
                keep &= np.isin(M, st.m_values)
            S, M = S[keep], M[keep]
            if self.objective == "loss" and not info.exact:
                # inexact codes under the loss objective: each point trains a model;
                # s on a geometric grid
                geo = np.unique(
                    np.concatenate([[s_lo], np.round(np.geomspace(max(s_lo, 1), n - 1, 12))])
                )
                sel = np.isin(S, geo)
                S, M = S[sel], M[sel]
            f = np.ceil(l / M) / l
            loads = (S + M if info.exact else np.ones_like(S)) if v.loads_ok else np.zeros_like(S)
            if v.kind == "count" or (v.kind == "general" and n > v.early_up_to):
                r = n - S
            elif info.exact:
                r = M.copy()
            else:
                r = np.ones_like(S)
            b = self.bound(loads.astype(float), M.astype(float), r, f, info.exact)
            out.append((np.full(len(S), vi), S, M, b))
        return out

    # ------------------------------------------------------------------ evaluation
    def _estimate(
        self, code: GradientCode, rule: str, scheme: str, count: Estimate | None = None
    ) -> Estimate:
        """The cancel-policy round time of a built code: closed form, else the fast
        path, else the replay (shared between codes with the same timing signature).

        A simulated estimate is staged: 30 rounds, then 200, then ``rounds``; it stops
        early once its value less three standard errors is above the scheme's threshold
        (it cannot enter the table), and at 200 rounds when it can only be its scheme's
        best row, not a top-k one."""
        sig = timing_signature(code, rule, self.cluster.dimension)
        if sig in self._timing:
            self.stats["shared_timing"] += 1
            return self._timing[sig]
        est = closed_form(code, self.cluster, rule, p95=self.objective == "p95")
        if est is not None:
            self.stats["closed_form"] += 1
            self._timing[sig] = est
            return est
        from gcsim.protocol import effective_rule

        if effective_rule(code, rule).early_checks and self.objective != "p95":
            if count is None:
                count = closed_form(code, self.cluster, "count", p95=False)
            if count is not None:
                return self._early(code, rule, scheme, sig, count)
        fast = fast_path_applies(self.cluster)
        stages = sorted({min(30, self.settings.rounds), min(200, self.settings.rounds)})
        if stages[-1] < self.settings.rounds:
            stages.append(self.settings.rounds)
        sim: Estimate | None = None
        for i, rounds in enumerate(stages):
            if fast:
                sim = fast_path(code, self.cluster, rule, rounds, self.seed)
            else:
                sim = replay(code, self.cluster, rule, rounds, self.seed)
            est = sim
            staged = self._staged(sim, code)
            if i + 1 == len(stages) or staged is None:
                break
            val, se = staged
            if val - 3.0 * se >= self.threshold(scheme):
                est.note = f"stopped after {rounds} rounds: cannot enter the table"
                break
            if i >= 1 and val - 3.0 * se >= self._kth():
                est.note = f"stopped after {rounds} rounds: cannot enter the top rows"
                break
        assert sim is not None
        self.stats["fast_path" if fast else "replay"] += 1
        self._timing[sig] = sim
        return sim

    def _early(
        self, code: GradientCode, rule: str, scheme: str, sig: str, count: Estimate
    ) -> Estimate:
        """:func:`early_decode` in stages of 30, 150 and rounds/4 rounds, stopped as in
        :meth:`_estimate`."""
        stages = [30, 150, max(150, self.settings.rounds // 4)]
        est = count
        for i, rounds in enumerate(stages):
            est = early_decode(code, self.cluster, rule, rounds, self.seed, count)
            staged = self._staged(est, code)
            if i + 1 == len(stages) or staged is None:
                break
            val, se = staged
            if val - 3.0 * se >= self.threshold(scheme):
                est.note += f"; stopped after {rounds} rounds: cannot enter the table"
                break
            if i >= 1 and val - 3.0 * se >= self._kth():
                est.note += f"; stopped after {rounds} rounds: cannot enter the top rows"
                break
        self.stats["fast_path"] += 1
        self._timing[sig] = est
        return est

    def _staged(self, est: Estimate, code: GradientCode) -> tuple[float, float] | None:
        """An estimate in the objective's units, for stopping a staged simulation early
        (None under the loss objective for an inexact code: its rounds are not known)."""
        if self.objective != "loss":
            return est.value(self.objective)
        if not code.exact or self.rounds_exact is None:
            return None
        return self.rounds_exact * est.mean, self.rounds_exact * est.mean_se

    def _objective(
        self, row_est: Estimate, code: GradientCode, rule: str
    ) -> tuple[float, float, int | None]:
        """(value, standard error, rounds to the target loss or None)."""
        if self.objective != "loss":
            value, se = row_est.value(self.objective)
            return value, se, None
        rounds = self.rounds_exact
        if not code.exact:
            r, _ = rounds_to_target(
                code,
                self.cluster,
                rule,
                "cancel",
                float(self.settings.target_loss or 0.0),
                self.settings.max_rounds,
                self.seed,
            )
            self.stats["workload_runs"] += 1
            rounds = r
        if rounds is None:
            return math.inf, 0.0, None
        return rounds * row_est.mean, rounds * row_est.mean_se, rounds

    def _bytes(self, code: GradientCode) -> float:
        return float(
            code.n * code.message_length(self.cluster.dimension) * self.cluster.bytes_per_value
        )

    def _decoder_seconds(self, v: Variant, s: int, m: int) -> float:
        """Predicted seconds of one decoder at this n (0 when n is small): timed at two
        smaller sizes and extrapolated as a power of n (once per variant, at the first
        (s, m) asked)."""
        n = self.cluster.n
        if n <= 128:
            return 0.0
        key = (v.name, v.label)
        if key in self._cost_cache:
            return self._cost_cache[key]
        n2 = max(min(128, n // 2), 4 * (s + m))
        n1 = n2 // 2
        times = []
        for size in (n1, n2):
            try:
                code = v.info.build(n=size, s=s, m=m, rng=0, **v.options)
            except GcsimError:
                self._cost_cache[key] = 0.0
                return 0.0
            rng = np.random.default_rng(0)
            R = np.setdiff1d(np.arange(size), rng.choice(size, s, replace=False))
            t0 = time.perf_counter()
            try:
                code.decoder(R)
                code.decoder(np.setdiff1d(np.arange(size), [0]) if s else R)
            except GcsimError:
                pass
            times.append(max((time.perf_counter() - t0) / 2.0, 1e-5))
        p = min(3.0, max(1.5, math.log(times[1] / times[0]) / math.log(n2 / n1)))
        pred = times[1] * (n / n2) ** p
        self._cost_cache[key] = pred
        return pred

    def _small_n_ok(self, v: Variant, s: int, m: int) -> bool:
        """A fragile variant at (s, m) on smaller clusters (:data:`SCREEN_N`): False
        when its decoders break down (or exceed max_cond) there, where they are better
        conditioned than at the full n."""
        for base in SCREEN_N:
            size = max(base, 2 * (s + m))
            if size >= self.cluster.n:
                return True
            key = (v.name, v.label, s, m, size)
            if key not in self._screen_cache:
                self._screen_cache[key] = self._screen_at(v, s, m, size)
            if not self._screen_cache[key]:
                vk = (v.name, v.label)
                if self._screen_fails.get(vk, 0) >= 0:
                    self._screen_fails[vk] = self._screen_fails.get(vk, 0) + 1
                    if self._screen_fails[vk] >= 2 * GIVE_UP:
                        self._abandoned.add(vk)
                        self.notes.append(
                            f"{v.name} ({v.label}): abandoned after its {2 * GIVE_UP} most "
                            f"promising configurations all failed at n = {size}"
                        )
                return False
        self._screen_fails[(v.name, v.label)] = -1
        return True

    def _screen_at(self, v: Variant, s: int, m: int, size: int) -> bool:
        try:
            code = v.info.build(n=size, s=s, m=m, rng=0, **v.options)
        except GcsimError:
            return True  # cannot tell: look at the full n
        ok, _, why = quick_stability(code, sets=3, seed=self.seed, max_cond=self.settings.max_cond)
        if not ok and not self._screen_noted.get((v.name, v.label)):
            self._screen_noted[(v.name, v.label)] = True
            self.notes.append(
                f"{v.name} ({v.label}): configurations whose decoders already fail at "
                f"n = {size} ({why}) were not tried at n = {self.cluster.n} (condition "
                f"numbers grow with n)"
            )
        return ok

    def _stability(self, row: Row) -> bool:
        """The acceptance check of a contender: a few straggler sets (numerical
        breakdown, max_cond). False (with the reason) when it is excluded. The full
        check (:meth:`_full_check`) runs later, for the rows of the table only."""
        st = self.settings
        code = row.code
        assert code is not None
        pred = self._decoder_seconds(row.variant, row.s_req, row.m)
        if pred * 3 > st.stability_budget_s:
            row.stability = Stability(
                note=f"not measured: one decoder is predicted to take ~{pred:.3g} s at n = {code.n}"
            )
            row.verified = False
            if st.max_cond is not None or st.max_error is not None or row.variant.fragile:
                row.reason = "stability could not be measured within the budget" + (
                    " (an ill-conditioned code family)" if row.variant.fragile else ""
                )
                return False
            return True
        ok, cond, why = self._quick(code)
        row.stability = Stability(worst_cond=cond, ok=ok, measured=True, sets=3, note=why)
        if not ok:
            row.reason = why
            row.breakdown = "max_cond" not in why
            return False
        if st.max_error is not None:  # the error is measured only by the full check
            if not self._full_check(row):
                return False
        return True

    def _quick(self, code: GradientCode) -> tuple[bool, float, str]:
        """:func:`quick_stability` of a built code (once per code)."""
        key = id(code)
        if key not in self._quick_cache:
            self._quick_cache[key] = quick_stability(
                code, sets=3, seed=self.seed, max_cond=self.settings.max_cond
            )
            self.stats["stability_checks"] += 1
        return self._quick_cache[key]

    def _full_check(self, row: Row) -> bool:
        """:func:`full_stability` of a row of the table, and the constraints on it."""
        st = self.settings
        if not row.verified or row.code is None:
            return True
        if row.full is not None:  # checked already
            return row.full
        top = [r for r in self.ranked() if r.verified][: st.top]
        budget = (
            st.stability_budget_s
            if row in top or row.status != "accepted"
            else (st.stability_budget_s / 4)
        )
        if self._decoder_seconds(row.variant, row.s_req, row.m) * 6 > budget:
            row.stability.note = "quick check only (3 straggler sets): decoders are slow here"
            row.full = True
            return True
        stab = full_stability(
            row.code,
            samples=st.stability_samples,
            seed=self.seed,
            dtype=self.cluster.dtype,
            budget_s=budget,
        )
        self.stats["full_checks"] += 1
        row.stability = stab
        row.full = self._verdict(row)
        for other in self.rows:  # same code, other rules or policies
            if other is not row and other.code is row.code:
                other.stability, other.full, other.reason = stab, row.full, row.reason
                other.breakdown = row.breakdown
        return row.full

    def _verdict(self, row: Row) -> bool:
        st, stab = self.settings, row.stability
        if not stab.ok:
            row.reason = f"decodes wrongly: {stab.note}"
            row.breakdown = True
            return False
        if st.max_cond is not None and not stab.worst_cond <= st.max_cond:
            row.reason = f"worst condition number {stab.worst_cond:.2e} > max_cond"
            return False
        if st.max_error is not None and not stab.rel_error <= st.max_error:
            row.reason = (
                f"worst {self.cluster.dtype} relative error {stab.rel_error:.2e} > max_error"
            )
            return False
        return True

    def _consider(self, row: Row) -> None:
        """Accept a row whose value could enter the table, after its stability check.

        A variant whose last ``GIVE_UP`` contenders in a row were all excluded by their
        stability (and none accepted) is abandoned, with a note: the instability of a
        code family grows with n - s (Ye–Abbe), so its remaining configurations are
        not built one by one."""
        self.rows.append(row)
        if not row.value < self.threshold(row.scheme):
            return
        key = (row.scheme, row.generator)
        if self._stability(row):
            self._accept(row)
            self._failures[key] = -1
        else:
            row.status = "excluded"
            self.stats["excluded"] += 1
            self._note_failure(row.variant, row.breakdown, row.reason)

    def _note_failure(self, v: Variant, breakdown: bool, why: str) -> None:
        """Count a numerical breakdown of a variant's contender; abandon the variant
        after ``GIVE_UP`` in a row (see :meth:`_consider`)."""
        key = (v.name, v.label)
        if "residual" in why:
            short = "decoders break down (residual above the tolerance)"
        elif "max_cond" in why:
            short = "condition number above max_cond"
        elif "max_error" in why:
            short = "relative error above max_error"
        else:
            short = why
        self.excluded_reasons[f"{v.name}: {short}"] = (
            self.excluded_reasons.get(f"{v.name}: {short}", 0) + 1
        )
        if not breakdown or self._failures.get(key, 0) < 0:
            return
        self._failures[key] = self._failures.get(key, 0) + 1
        if self._failures[key] >= GIVE_UP:
            self._abandoned.add(key)
            self.notes.append(
                f"{v.name} ({v.label}): abandoned after its {GIVE_UP} best configurations "
                f"were all excluded by stability (last: {why})"
            )

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        t0 = time.perf_counter()
        st = self.settings
        variants = self._variants()
        self._scheme_order = list(dict.fromkeys(v.name for v in variants))
        self._has_plain = any(not v.info.supports_s for v in variants)
        self.timings["probe"] = time.perf_counter() - t0
        self._order_stats()
        if self.objective == "loss":
            self._exact_rounds(variants)
        t1 = time.perf_counter()
        grid = self._grid(variants)
        vi = np.concatenate([g[0] for g in grid])
        S = np.concatenate([g[1] for g in grid])
        M = np.concatenate([g[2] for g in grid])
        B = np.concatenate([g[3] for g in grid])
        order = np.lexsort((vi, B))
        self.stats["grid"] = len(order)
        self.timings["grid"] = time.perf_counter() - t1
        names = sorted({v.name for v in variants})
        t2 = time.perf_counter()
        base_rule = "decodable" if "decodable" in st.rules else "count"
        for pos, idx in enumerate(order.tolist()):
            b = float(B[idx])
            if not b < self._max_threshold(names):
                self.stats["pruned_by_grid_bound"] += len(order) - pos
                break
            v = variants[int(vi[idx])]
            if not b < self.threshold(v.name):
                self.stats["pruned_by_grid_bound"] += 1
                continue
            self._visit(v, int(S[idx]), int(M[idx]), b, base_rule)
        self._run_deferred()
        self.timings["search"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        self._dominated_rows(base_rule)
        self.timings["rules_policies"] = time.perf_counter() - t3
        t5 = time.perf_counter()
        self._finalise()
        self.timings["stability"] = time.perf_counter() - t5
        t4 = time.perf_counter()
        self._confirm()
        self.timings["confirm"] = time.perf_counter() - t4
        self.timings["total"] = time.perf_counter() - t0

    def _visit(self, v: Variant, s: int, m: int, grid_bound: float, rule: str) -> None:
        """Feasibility, the sharper bound, then evaluation (or deferral)."""
        st, cl = self.settings, self.cluster
        n = cl.n
        if (v.name, v.label) in self._abandoned:
            self.stats["abandoned"] += 1
            return
        if v.fragile and n > SCREEN_N[0] and not self._small_n_ok(v, s, m):
            self.stats["screened_small_n"] += 1
            return
        self.stats["feasibility_checks"] += 1
        try:
            s_eff, d_eff = v.info.effective(n, s, m, **v.options)
        except InfeasibleParametersError:
            self.stats["infeasible"] += 1
            return
        key = (v.name, v.label, s_eff, d_eff, m)
        if key in self._seen:
            self.stats["duplicates"] += 1
            return
        self._seen.add(key)
        if s_eff < st.min_stragglers or (st.max_load is not None and d_eff > st.max_load):
            return
        if st.max_stragglers is not None and s_eff > st.max_stragglers:
            return
        l = cl.dimension
        f = math.ceil(l / m) / l
        if st.max_bytes is not None and n * math.ceil(l / m) * cl.bytes_per_value > st.max_bytes:
            return
        # a sharper bound now that d is known: m responders per partition
        exact = v.exact
        loads = (s_eff + m if exact else 1) if v.loads_ok else 0
        if v.kind == "count" or (v.kind == "general" and n > v.early_up_to):
            r = n - s_eff
        elif exact:
            r = max(m, math.ceil(m * n / d_eff))
        else:
            r = 1
        b = float(
            self.bound(
                np.array([float(loads)]), np.array([float(m)]), np.array([r]), np.array([f]), exact
            )[0]
        )
        item = _Item(v, s, m, s_eff, d_eff, max(b, grid_bound), rule)
        if self._cheap_cluster and v.kind == "general" and n <= v.early_up_to:
            # decided numerically at every arrival: slow to simulate, so evaluated after
            # the closed forms have set the thresholds
            self._deferred.append(item)
            return
        self._evaluate(item)

    def _run_deferred(self) -> None:
        """The deferred configurations, most promising first (the count rule's closed
        form, an upper bound on the decodable rule's time, orders them)."""
        for item in self._deferred:
            if not item.bound < self.threshold(item.variant.name):
                continue
            try:
                code = item.variant.info.build(
                    n=self.cluster.n,
                    s=item.s,
                    m=item.m,
                    rng=stream(self.seed, "code"),
                    **item.variant.options,
                )
            except InfeasibleParametersError:
                continue
            est = closed_form(code, self.cluster, "count", p95=self.objective == "p95")
            item.code = code
            if est is not None:
                item.upper = est.value(self.objective)[0]
                item.count = est
        for item in sorted(self._deferred, key=lambda it: (it.upper, it.bound)):
            self._evaluate(item)
        self._deferred = []

    def _evaluate(self, item: _Item) -> None:
        st, cl = self.settings, self.cluster
        v, s, m, rule = item.variant, item.s, item.m, item.rule
        if (v.name, v.label) in self._abandoned:
            self.stats["abandoned"] += 1
            return
        thr = self.threshold(v.name)
        if not item.bound < thr:
            self.stats["pruned_by_bound"] += 1
            return
        layout_key = (v.name, item.s_eff, item.d_eff, m)
        if self._layout_best.get(layout_key, -math.inf) >= thr:
            # another generator on the same layout was already too slow: an MDS one has
            # the same timing, a non-MDS one (a rank check) can only be slower
            self.stats["pruned_same_layout"] += 1
            return
        if item.code is not None:
            code = item.code
        else:
            try:
                code = v.info.build(n=cl.n, s=s, m=m, rng=stream(self.seed, "code"), **v.options)
            except InfeasibleParametersError:
                self.stats["infeasible"] += 1
                return
        self.stats["built"] += 1
        if (st.max_cond is not None or v.fragile) and self._decoder_seconds(v, s, m) * 3 <= (
            st.stability_budget_s
        ):
            # stability first where it is likely to rule the configuration out: no time
            # is spent on the round time of a code whose decoders fail the constraint
            ok, _, why = self._quick(code)
            if not ok:
                self.stats["excluded"] += 1
                self._note_failure(v, "max_cond" not in why, why)
                return
        est = self._estimate(code, rule, v.name, item.count)
        value, se, to_target = self._objective(est, code, rule)
        if not v.checked:
            self._layout_best[layout_key] = min(self._layout_best.get(layout_key, math.inf), value)
        row = Row(
            variant=v,
            s_req=s,
            s=code.s,
            m=code.m,
            d=code.d,
            rule=rule,
            policy="cancel",
            code=code,
            estimate=est,
            value=value,
            se=se,
            method=est.method if est.complete else f"{est.method} (lower bound)",
            bytes_per_round=self._bytes(code),
            layout=layout(code, rule),
            signature=timing_signature(code, rule, cl.dimension),
            bound=item.bound,
            rounds_to_target=to_target,
        )
        if "cancel" not in st.policies:
            row.status = "bound"  # only a bound for the non-preemptive rows
            self.rows.append(row)
            return
        self._consider(row)

    # ------------------------------------------------------------------ loss objective
    def _exact_rounds(self, variants: list[Variant]) -> None:
        """Rounds to the target loss with an exact gradient (every exact code takes the
        same, up to rounding): one training run with the first exact variant."""
        if self.cluster.workload is None:
            raise InvalidInputError(
                "objective 'loss' needs a workload that trains a model, e.g. "
                "workload={'model': 'logistic', 'samples': 2000, 'features': 100}"
            )
        n = self.cluster.n
        for v in variants:
            if not v.exact:
                continue
            for s in (0, 1):
                try:
                    code = v.info.build(
                        n=n, s=s if v.info.supports_s else 0, m=1, rng=0, **v.options
                    )
                except GcsimError:
                    continue
                rounds, last = rounds_to_target(
                    code,
                    self.cluster,
                    "decodable",
                    "cancel",
                    float(self.settings.target_loss or 0.0),
                    self.settings.max_rounds,
                    self.seed,
                )
                self.stats["workload_runs"] += 1
                if rounds is None:
                    raise InvalidInputError(
                        f"target_loss {self.settings.target_loss:g} is not reached in "
                        f"max_rounds={self.settings.max_rounds} rounds of exact gradient "
                        f"descent (the loss after them is {last:.4g}); raise max_rounds or "
                        f"the target"
                    )
                self.rounds_exact = rounds
                self.notes.append(
                    f"objective: time to loss {self.settings.target_loss:g} = rounds to "
                    f"reach it × mean round time; exact gradient descent reaches it in "
                    f"{rounds} rounds (measured with {v.name}); inexact codes are trained "
                    f"one by one"
                )
                return
        raise InvalidInputError("objective 'loss' needs an exact scheme to measure the rounds")

    # ------------------------------------------------------------------ rules, policies
    def _dominated_rows(self, base_rule: str) -> None:
        """Rows for the ``count`` rule and the non-preemptive policy (see module doc).

        Both are never faster than the base row (cancel, ``base_rule``) of the same
        code, which is in the same scheme: they can only matter for the top k, so they
        are evaluated for the bases below the k-th value. When ``cancel`` is not
        allowed, the base rows are only bounds and every scheme's best counts too."""
        st = self.settings
        bases = sorted(
            (r for r in self.rows if r.status in ("accepted", "bound") and r.rule == base_rule),
            key=lambda r: r.value,
        )
        cancel = "cancel" in st.policies

        def matters(base: Row) -> bool:
            limit = self._kth() if cancel else self.threshold(base.scheme)
            return base.value < limit

        if base_rule == "decodable" and "count" in st.rules and cancel:
            for base in bases:
                if matters(base):
                    self._rule_row(base)
        if "non-preemptive" not in st.policies:
            return
        cap = 2 * st.top + (0 if cancel else len({r.scheme for r in bases}))
        runs = 0
        for base in bases:
            if not matters(base):
                continue
            if runs >= cap:
                self.notes.append(
                    f"non-preemptive policy: evaluated by DES for the {cap} best "
                    f"configurations only (cap reached)"
                )
                break
            np_row = self._np_row(base, base.rule)
            runs += 1
            if "count" not in st.rules or base.rule == "count":
                continue
            # non-preemptive with the count rule is slower than both its parents
            assert base.code is not None
            if timing_signature(base.code, "count", self.cluster.dimension) == base.signature:
                continue  # the code's own rule is the count rule
            count_row = next(
                (
                    r
                    for r in self.rows
                    if r.code is base.code and r.rule == "count" and r.policy == "cancel"
                ),
                None,
            )
            floor = max(np_row.value, count_row.value if count_row is not None else -math.inf)
            limit = self._kth() if cancel else self.threshold(base.scheme)
            if floor < limit:
                self._np_row(base, "count")
                runs += 1

    def _rule_row(self, base: Row) -> None:
        code = base.code
        assert code is not None
        sig = timing_signature(code, "count", self.cluster.dimension)
        if sig == base.signature:
            return  # the code's own rule already is the count rule
        est = self._estimate(code, "count", base.scheme)
        value, se, to_target = self._objective(est, code, "count")
        row = Row(
            **{
                **base.__dict__,
                "rule": "count",
                "estimate": est,
                "value": value,
                "se": se,
                "rounds_to_target": to_target,
                "method": est.method,
                "signature": sig,
                "status": "evaluated",
                "layout": layout(code, "count"),
                "confirm": None,
                "also": [],
            }
        )
        self.rows.append(row)
        if row.value < self.threshold(row.scheme):
            self._accept(row)  # same code: same stability

    def _np_row(self, base: Row, rule: str) -> Row:
        code = base.code
        assert code is not None
        cancel = base.estimate if rule == base.rule else self._estimate(code, rule, base.scheme)
        est, changes = non_preemptive(code, self.cluster, rule, self.des_rounds, self.seed, cancel)
        self.stats["des"] += 1
        value, se, to_target = self._objective(est, code, rule)
        row = Row(
            **{
                **base.__dict__,
                "rule": rule,
                "policy": "non-preemptive",
                "estimate": est,
                "value": value,
                "se": se,
                "rounds_to_target": to_target,
                "method": "DES",
                "status": "evaluated",
                "confirm": None,
                "also": [],
            }
        )
        if not changes and "cancel" in self.settings.policies:
            return row  # the policy changes nothing for this code (no row of its own)
        self.rows.append(row)
        if row.value < self.threshold(row.scheme):
            if base.status == "bound" and not self._stability(row):
                row.status = "excluded"
                return row
            self._accept(row)
        return row

    # ------------------------------------------------------------------ confirmation
    def ranked(self) -> list[Row]:
        """Accepted rows, best first, one per timing-equivalent configuration: of the
        generators with the same timing the most stable stays, the others are listed in
        its ``also``."""

        order = {name: i for i, name in enumerate(self._scheme_order)}

        def key(r: Row) -> tuple[float, float, int, int, bool, bool]:
            # ties (e.g. frc and grouped-repetition): the more stable, the lighter load,
            # then the scheme that comes first in the registry
            cond = r.stability.worst_cond
            cond = cond if math.isfinite(cond) else math.inf
            return (
                r.value,
                cond,
                r.d,
                order.get(r.scheme, len(order)),
                r.policy != "cancel",
                r.rule != "decodable",
            )

        out: list[Row] = []
        index: dict[tuple[Any, ...], Row] = {}
        for r in sorted(self.accepted, key=key):
            r.also = []
            k = _equivalence(r)
            if k in index:
                index[k].also.append(r.generator)
                continue
            index[k] = r
            out.append(r)
        return out

    def _members(self, row: Row) -> list[Row]:
        k = _equivalence(row)
        return [r for r in self.accepted if _equivalence(r) == k]

    def table_rows(self) -> list[Row]:
        """The rows the table shows: the top k verified rows, then the best row of
        every other scheme."""
        ranked = self.ranked()
        top = [r for r in ranked if r.verified][: self.settings.top]
        seen = {r.scheme for r in top}
        out = list(top)
        for r in ranked:
            if r.scheme not in seen:
                out.append(r)
                seen.add(r.scheme)
        return out

    def _finalise(self) -> None:
        """The full stability check of every row of the table; a row it excludes
        leaves the table and the next one comes up (configurations pruned against it
        are not revisited: a note says so)."""
        for _ in range(10 * self.settings.top + 20):
            changed = False
            for row in [m for r in self.table_rows() for m in self._members(r)]:
                if self._full_check(row):
                    continue
                row.status = "excluded"
                self.stats["excluded"] += 1
                self.accepted.remove(row)
                if row.value in self._values and row.verified:
                    self._values.remove(row.value)
                best = [r.value for r in self.accepted if r.scheme == row.scheme]
                self._scheme_best[row.scheme] = min(best, default=math.inf)
                self.notes.append(
                    f"{_describe(row)} was excluded by the full stability check after the "
                    f"search ({row.reason}); configurations pruned against it were not "
                    f"revisited"
                )
                changed = True
                break
            if not changed:
                return

    def _confirm(self) -> None:
        """DES for the top ``confirm`` rows; a value that left something out is replaced."""
        st = self.settings
        if st.confirm == 0:
            return
        done: set[int] = set()
        for _ in range(2 * st.confirm):
            top = [r for r in self.ranked() if r.verified][: st.confirm]
            todo = [r for r in top if id(r) not in done]
            if not todo:
                break
            row = todo[0]
            done.add(id(row))
            if row.policy == "non-preemptive":
                continue  # its value is a DES already
            assert row.code is not None
            est = des(row.code, self.cluster, row.rule, row.policy, self.des_rounds, self.seed + 1)
            self.stats["des"] += 1
            row.confirm = est
            if not row.estimate.complete:
                value, se, _ = self._objective(est, row.code, row.rule)
                for twin in self.accepted:  # every generator with this timing
                    if (twin.signature, twin.rule, twin.policy) != (
                        row.signature,
                        row.rule,
                        row.policy,
                    ):
                        continue
                    if twin.verified and twin.value in self._values:
                        self._values.remove(twin.value)
                        self._values.append(value)
                    twin.value, twin.se, twin.method = value, se, "DES"
                    twin.confirm = est
                    twin.estimate = Estimate(
                        est.mean, est.mean_se, est.p95, est.p95_se, "DES", est.rounds
                    )


@dataclass
class _Item:
    """A feasible configuration waiting for evaluation."""

    variant: Variant
    s: int
    m: int
    s_eff: int
    d_eff: int
    bound: float
    rule: str
    #: the count rule's closed form when known: an upper bound that orders the deferred
    upper: float = math.inf
    count: Estimate | None = None
    code: GradientCode | None = None


def _closed_form_cluster(cluster: Cluster) -> bool:
    """Whether closed forms can apply on this cluster at all (models, network, costs)."""
    from gcsim.advise.dists import classify

    kinds = {classify(cluster.compute).kind, classify(cluster.comm).kind}
    costs = cluster.costs
    return (
        "other" not in kinds
        and cluster.load_mode == "per-worker"
        and math.isinf(cluster.network.ingress)
        and not costs.measured
        and math.isinf(costs.decode_rate)
    )


class _Zero:
    """Order statistics of 0 (the bounds switched off)."""

    def __init__(self, zeros: np.ndarray) -> None:
        self.mean = zeros
        self.quantile = zeros
        self.low = 0.0
        self.exact = False


def _equivalence(r: Row) -> tuple[Any, ...]:
    return (r.scheme, r.s, r.m, r.d, r.rule, r.policy, r.signature, r.value)


def _describe(row: Row) -> str:
    gen = f" ({row.generator})" if row.generator != "-" else ""
    return f"{row.scheme}{gen} s={row.s} m={row.m} d={row.d} {row.rule}/{row.policy}"


def _subset(small: Mapping[str, Any], big: Mapping[str, Any]) -> bool:
    return all(k in big and big[k] == v for k, v in small.items())
