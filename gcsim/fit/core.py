"""``fit_trace``: from measured task times to a delay model the simulator can use.

Pipeline (for the compute times, and the same for the communication times when the
trace has them, without the load-scaling step):

1. unit-load times ``u = T / d`` as a rounds x workers matrix;
2. per-worker speeds (Friedman test on block medians), removed when present;
3. with more than one load: per-worker, per-partition or affine load scaling;
4. persistence across rounds (lag-1 autocorrelation), a two-state chain when present;
5. candidate families fitted to the speed-normalised times (:mod:`gcsim.fit.families`)
   and chosen by AIC or BIC, with Akaike weights as the confidence;
6. the model: the chosen family, inside ``persistent`` and/or ``heterogeneous`` when the
   data show them.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim.errors import InvalidInputError
from gcsim.fit.families import CRITERIA, FAMILIES, Candidate, fit_families, weights
from gcsim.fit.io import Trace, describe_trace, read_live_point, read_trace, trace_from_frame
from gcsim.fit.structure import (
    Heterogeneity,
    LoadScaling,
    Persistence,
    detect_heterogeneity,
    detect_persistence,
    fit_load_scaling,
    fit_markov,
)

if TYPE_CHECKING:
    import pandas as pd

    from gcsim.delays.base import DelayModel

__all__ = [
    "Confidence",
    "FitResult",
    "QuantityFit",
    "fit_live_point",
    "fit_trace",
    "scale_spec",
]

#: default significance level of the heterogeneity and persistence tests
ALPHA = 1e-3
#: at most this many unit times enter the family fits (a fixed random subsample beyond)
MAX_SAMPLE = 20_000
#: per-partition load scaling: the unit law is fitted on the load-1 tasks when there are
#: at least this many
MIN_UNIT_TASKS = 50


@dataclass
class Confidence:
    """How sure the choice of family is: information-criterion weights (Akaike weights
    for AIC, Schwarz weights for BIC) of the best candidate and the runner-up."""

    criterion: str
    best: str
    runner_up: str | None
    weight: float
    runner_up_weight: float
    delta: float  # criterion of the runner-up minus that of the best

    @property
    def evidence_ratio(self) -> float:
        """weight(best) / weight(runner-up) = exp(Δ/2)."""
        return math.exp(min(self.delta, 1400.0) / 2) if self.runner_up else math.inf

    @property
    def verdict(self) -> str:
        """Wording of Burnham & Anderson for Δ between the best and the runner-up."""
        d = self.delta
        if self.runner_up is None:
            return "only candidate"
        if d >= 10:
            return "decisive"
        if d >= 4:
            return "clear"
        if d >= 2:
            return "moderate"
        return "weak (the runner-up fits about as well)"

    def line(self) -> str:
        if self.runner_up is None:
            return f"{self.best} (the only candidate that could be fitted)"
        return (
            f"{self.best}: {self.criterion.upper()} weight {self.weight:.3f}; runner-up "
            f"{self.runner_up} (weight {self.runner_up_weight:.3g}, Δ{self.criterion.upper()} = "
            f"{self.delta:.1f}, evidence ratio {_ratio(self.evidence_ratio)}): {self.verdict}"
        )


def _ratio(r: float) -> str:
    return "> 1e6" if r > 1e6 else f"{r:.3g}"


@dataclass
class QuantityFit:
    """The fit of one measured quantity (compute or communication times)."""

    quantity: str
    spec: dict[str, Any]
    candidates: list[Candidate]
    confidence: Confidence
    heterogeneity: Heterogeneity
    persistence: Persistence
    load: LoadScaling
    sample: np.ndarray  # the unit times the families were fitted to (speeds removed)
    unit: np.ndarray  # rounds x workers unit times as measured (NaN: missing)
    workers: np.ndarray  # worker ids of the columns of ``unit``
    reference_load: float = 1.0
    notes: list[str] = field(default_factory=list)

    @property
    def chosen(self) -> Candidate:
        """The best candidate family (of the marginal, speed-normalised times)."""
        return self.candidates[0]

    @property
    def model(self) -> DelayModel:
        from gcsim.delays.registry import make_delay

        return make_delay(self.spec)

    def structure(self) -> str:
        """The model's structure in words, e.g. ``heterogeneous(persistent(lognormal))``."""
        return _structure(self.spec)

    def candidates_table(self, criterion: str) -> pd.DataFrame:
        """One row per candidate: parameters, log-likelihood, AIC, BIC, Δ, weight, KS."""
        import pandas as pd

        scores = [c.score(criterion) for c in self.candidates]
        w = weights(scores)
        best = min(scores)
        rows = []
        for c, s, wi in zip(self.candidates, scores, w, strict=True):
            rows.append(
                {
                    "family": c.name,
                    "k": c.k,
                    "loglik": c.loglik,
                    "aic": c.aic,
                    "bic": c.bic,
                    f"delta_{criterion}": s - best,
                    "weight": float(wi),
                    "ks_stat": c.ks_stat,
                    "ks_pvalue": c.ks_pvalue,
                    "p50": float(c.ppf(0.5)[0]),
                    "p95": float(c.ppf(0.95)[0]),
                    "params": _params_text(c.spec),
                }
            )
        return pd.DataFrame(rows)


def _structure(spec: dict[str, Any]) -> str:
    name = str(spec.get("model"))
    if name in ("heterogeneous", "persistent", "bimodal"):
        return f"{name}({_structure(spec['base'])})"
    if name == "scipy":
        return str(spec.get("dist"))
    return name


def _params_text(spec: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + _params_text(v) + "}"
        if isinstance(v, list):
            return f"[{len(v)} values]"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    return ", ".join(f"{k}={fmt(v)}" for k, v in spec.items() if k != "model") or "-"


def scale_spec(spec: dict[str, Any], f: float) -> dict[str, Any]:
    """The spec of ``f`` times a draw of ``spec`` (every family gcsim fits, nested
    models included)."""
    s = dict(spec)
    m = s.get("model")
    if m in ("heterogeneous", "persistent", "bimodal"):
        s["base"] = scale_spec(s["base"], f)
    elif m == "shifted-exponential":
        s["shift"], s["rate"] = s["shift"] * f, s["rate"] / f
    elif m == "exponential":
        s["rate"] = s.get("rate", 1.0) / f
    elif m in ("weibull", "pareto"):
        s["scale"] = s.get("scale", 1.0) * f
    elif m == "lognormal":
        s["mu"] = s.get("mu", 0.0) + math.log(f)
    elif m == "scipy":
        s["scale"] = s.get("scale", 1.0) * f
        if "loc" in s:
            s["loc"] = s["loc"] * f
    elif m == "empirical":
        s["quantiles"] = [v * f for v in s["quantiles"]]
    elif m == "constant":
        s["value"] = s.get("value", 1.0) * f
    else:
        raise InvalidInputError(f"scale_spec: cannot rescale a {m!r} model")
    return s


@dataclass
class FitResult:
    """What :func:`fit_trace` found.

    Attributes
    ----------
    compute : QuantityFit
        The compute-time fit (``.spec``, ``.candidates``, ``.confidence``,
        ``.heterogeneity``, ``.persistence``, ``.load``).
    comm : QuantityFit or None
        The communication-time fit, when the trace has communication times.
    """

    trace: Trace
    criterion: str
    alpha: float
    compute: QuantityFit
    comm: QuantityFit | None = None
    notes: list[str] = field(default_factory=list)

    # ---- what the simulator takes
    @property
    def model(self) -> DelayModel:
        """The compute delay model: pass it as ``delays=`` to :func:`gcsim.simulate`."""
        return self.compute.model

    @property
    def compute_model(self) -> dict[str, Any]:
        """The compute delay model as a spec dict (:func:`gcsim.make_delay` takes it)."""
        return self.compute.spec

    @property
    def comm_model(self) -> dict[str, Any] | None:
        """The communication delay model (per full-length message) as a spec dict."""
        return None if self.comm is None else self.comm.spec

    @property
    def comm_delays(self) -> DelayModel | None:
        """The communication delay model, for ``comm_delays=`` (None without comm times)."""
        return None if self.comm is None else self.comm.model

    @property
    def load_mode(self) -> str:
        """``cluster.load_mode`` to simulate with (``load_mode=`` of :func:`gcsim.simulate`)."""
        return self.compute.load.load_mode

    @property
    def confidence(self) -> Confidence:
        """Confidence of the compute family choice."""
        return self.compute.confidence

    @property
    def family(self) -> str:
        """The chosen compute family."""
        return self.compute.chosen.name

    def model_for_load(self, d: float) -> DelayModel:
        """The compute model to simulate a scheme of load ``d`` with per-worker scaling:
        the model itself, except for affine load scaling ``T = (d + c) X``, where the
        unit law is stretched by ``(d + c) / d``."""
        from gcsim.delays.registry import make_delay

        ls = self.compute.load
        if ls.mode != "affine":
            return self.model
        if not d > 0:
            raise InvalidInputError(f"model_for_load: d must be > 0; got {d!r}")
        return make_delay(scale_spec(self._unit_spec, (d + ls.offset) / d))

    @property
    def _unit_spec(self) -> dict[str, Any]:
        ls = self.compute.load
        return scale_spec(
            self.compute.spec,
            self.compute.reference_load / (self.compute.reference_load + ls.offset),
        )

    # ---- text
    def describe(self) -> str:
        """One line: the model, the family's confidence and the detected structure."""
        c = self.compute
        parts = [
            f"compute {c.structure()} ({self.criterion.upper()} weight "
            f"{c.confidence.weight:.2f}, {c.confidence.verdict.split(' ')[0]})",
            f"load_mode {self.load_mode}",
        ]
        if c.heterogeneity.detected:
            parts.append(f"speeds p={c.heterogeneity.pvalue:.2g}")
        if c.persistence.detected:
            how = "" if c.persistence.modelled else " (not modelled)"
            parts.append(f"persistence rho={c.persistence.rho:.2f}{how}")
        if self.comm is not None:
            parts.append(f"comm {self.comm.structure()}")
        return "; ".join(parts)

    def summary(self) -> str:
        """Several lines: the trace, each quantity's choice, tests and confidence."""
        lines = [f"trace: {self.trace.source} ({describe_trace(self.trace)})"]
        for q in (self.compute, self.comm):
            if q is None:
                continue
            lines += [
                f"{q.quantity}: {q.structure()}",
                f"  family: {q.confidence.line()}",
                f"  fit: {_params_text(q.chosen.spec)}; KS D = {q.chosen.ks_stat:.4f} "
                f"(p = {q.chosen.ks_pvalue:.3g})",
                f"  speeds: {q.heterogeneity.line()}",
                f"  rounds: {q.persistence.line()}",
            ]
            if q.quantity == "compute":
                lines.append(f"  load: {q.load.line()}")
            lines += [f"  note: {n}" for n in q.notes]
        lines += [f"note: {n}" for n in (*self.trace.notes, *self.notes)]
        return "\n".join(lines)

    def toml(self) -> str:
        """``[delays.compute]`` (and ``[delays.comm]``) for a scenario file."""
        from gcsim.fit.report import toml_snippet

        return toml_snippet(self)

    def markdown(self) -> str:
        """The report as markdown (what :meth:`write_report` writes to report.md)."""
        from gcsim.fit.report import markdown

        return markdown(self)

    def write_report(self, out: str | os.PathLike[str]) -> list[Path]:
        """Write the report folder (report.md, candidates.csv/.md, model.toml,
        model.json, figures); returns the files written."""
        from gcsim.fit.report import write_report

        return write_report(self, Path(out))

    def iid_model(self) -> dict[str, Any]:
        """For comparison: the best family fitted to the pooled unit times as if every
        task were i.i.d. (no speeds, no persistence): what a naive fit would give."""
        x = self.compute.unit[np.isfinite(self.compute.unit)]
        return fit_families(_cap(x), self.criterion)[0].spec


def _cap(x: np.ndarray) -> np.ndarray:
    if x.size <= MAX_SAMPLE:
        return x
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(x, MAX_SAMPLE, replace=False))


def _matrix(
    rounds: np.ndarray, workers: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """rounds x workers matrix of ``values`` (NaN where missing); consecutive rounds are
    adjacent rows (a gap in the round numbers is a row of NaN), unless the rounds are too
    sparse. Returns (matrix, worker ids, row of each task, column of each task)."""
    wid, col = np.unique(workers, return_inverse=True)
    rid = np.unique(rounds)
    span = int(rid[-1] - rid[0]) + 1
    if span <= 4 * rid.size:
        row = (rounds - rid[0]).astype(np.int64)
        R = span
    else:
        row = np.searchsorted(rid, rounds)
        R = rid.size
    M = np.full((R, wid.size), np.nan)
    M[row, col] = values
    return M, wid, row, col


def _fit_quantity(
    quantity: str,
    trace: Trace,
    times: np.ndarray,
    loads: np.ndarray,
    criterion: str,
    alpha: float,
    families: tuple[str, ...],
    test_load: bool,
) -> QuantityFit:
    notes: list[str] = []
    rounds, workers = trace.round, trace.worker
    # 1. unit-load times, rounds x workers
    U0, wid, _, col = _matrix(rounds, workers, times / loads)
    with np.errstate(divide="ignore"):
        het = detect_heterogeneity(np.log(U0), alpha)
    speed_of_task = het.speeds[col]
    # 2. load scaling (compute only)
    if test_load:
        ls = fit_load_scaling(times * speed_of_task, loads, criterion)
    else:
        ls = LoadScaling("single-load", "per-worker", np.unique(loads))
    ref = float(Counter(loads.tolist()).most_common(1)[0][0])
    U = U0
    if ls.mode == "affine":
        U, *_ = _matrix(rounds, workers, times / (loads + ls.offset))
        # the unit law for the most common load d: (d + c) / d times X
        U = U * (ref + ls.offset) / ref
    Un = U * het.speeds[None, :]
    # 3. persistence
    with np.errstate(divide="ignore"):
        per = detect_persistence(np.log(Un), alpha)
    # 4. families
    from_load1 = False
    if ls.mode == "per-partition":
        unit_rows = loads == 1.0
        from_load1 = int(unit_rows.sum()) >= MIN_UNIT_TASKS
        if from_load1:
            x = (times * speed_of_task)[unit_rows]
            notes.append(
                f"per-partition: the unit law is fitted on the {int(unit_rows.sum())} load-1 tasks"
            )
        else:
            x = Un[np.isfinite(Un)]
            notes.append(
                "per-partition without load-1 tasks: the families are fitted to T/d (an "
                "approximation); the model is the per-partition gamma fit"
            )
    else:
        x = Un[np.isfinite(Un)]
    if x.size > MAX_SAMPLE:
        notes.append(f"families fitted to a random subsample of {MAX_SAMPLE} of {x.size} times")
    x = np.sort(_cap(x))
    cands = fit_families(x, criterion, families)
    if not cands:
        raise InvalidInputError(
            f"{trace.source}: no family could be fitted to the {quantity} times "
            f"(are they all equal? {x.size} values, min {x.min():g}, max {x.max():g})"
        )
    scores = [c.score(criterion) for c in cands]
    w = weights(scores)
    conf = Confidence(
        criterion,
        cands[0].name,
        cands[1].name if len(cands) > 1 else None,
        float(w[0]),
        float(w[1]) if len(cands) > 1 else 0.0,
        float(scores[1] - scores[0]) if len(cands) > 1 else math.inf,
    )
    base: dict[str, Any] = cands[0].spec
    if ls.mode == "per-partition" and not from_load1:
        base = _per_partition_gamma(ls)
    # 5. persistence model
    if per.detected:
        bim = [c for c in cands if c.bimodal]
        if not bim:
            per.note = "no bimodal candidate could be fitted: persistence not modelled"
        else:
            b = bim[0]
            if b.factor < 1.2 or not 0.002 < b.p < 0.998:
                per.note = (
                    f"no distinct slow state (best mixture: p = {b.p:.3g}, factor "
                    f"{b.factor:.3g}): persistence not modelled"
                )
            else:
                assert b.base_logpdf is not None and b.base_spec is not None
                per = fit_markov(Un, b.base_logpdf, b.factor, per)
                if per.lr_pvalue >= alpha:
                    per.modelled = False
                    per.note = (
                        f"no two-state chain explains it (likelihood ratio {per.lr_stat:.1f}, "
                        f"p = {per.lr_pvalue:.2g}): not modelled"
                    )
                else:
                    base = {
                        "model": "persistent",
                        "base": b.base_spec,
                        "p_slow": per.p_slow,
                        "p_recover": per.p_recover,
                        "factor": per.factor,
                    }
    spec = base
    if het.detected:
        spec = {"model": "heterogeneous", "base": base, "speeds": [float(v) for v in het.speeds]}
        if not np.all(np.diff(wid) == 1) or wid[0] != 0:
            notes.append(
                f"speeds are listed for the workers in id order ({', '.join(map(str, wid[:8]))}"
                f"{', ...' if wid.size > 8 else ''}): simulator worker i is the i-th of them"
            )
    return QuantityFit(
        quantity, spec, cands, conf, het, per, ls, x, U0, wid, reference_load=ref, notes=notes
    )


def _per_partition_gamma(ls: LoadScaling) -> dict[str, Any]:
    fit = next(r for r in ls.table if r["mode"] == "per-partition")["fit"]
    return {"model": "scipy", "dist": "gamma", "a": fit["shape"], "scale": fit["scale"]}


def fit_trace(
    source: str | os.PathLike[str] | Trace | pd.DataFrame,
    *,
    criterion: str = "bic",
    alpha: float = ALPHA,
    families: tuple[str, ...] = FAMILIES,
) -> FitResult:
    """Fit a delay model to measured task times.

    Parameters
    ----------
    source : path, DataFrame or Trace
        A tidy CSV/Parquet trace (columns ``round, worker, load, compute_time``, optional
        ``comm_time`` and ``bytes``), a wide ``compute_trace.csv``, a live point folder,
        a DataFrame with the tidy columns, or a :class:`~gcsim.fit.io.Trace`.
    criterion : {"aic", "bic"}
        Information criterion that chooses the family and the load scaling.
    alpha : float
        Significance level of the heterogeneity and persistence tests (default 0.001:
        a structure is modelled only on strong evidence).
    families : tuple of str
        Candidate families (default all of :data:`gcsim.fit.families.FAMILIES`).

    Returns
    -------
    FitResult
        ``.model`` (for ``delays=``), ``.comm_delays``, ``.load_mode``, ``.toml()``,
        ``.summary()``, ``.write_report(out)``.
    """
    crit = str(criterion).lower()
    if crit not in CRITERIA:
        raise InvalidInputError(
            f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}"
        )
    if not (isinstance(alpha, (int, float)) and 0 < float(alpha) < 1):
        raise InvalidInputError(f"alpha must be a probability in (0, 1); got {alpha!r}")
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        raise InvalidInputError(
            f"families must be a non-empty selection of {', '.join(FAMILIES)}; got {families!r}"
        )
    trace = _as_trace(source)
    compute = _fit_quantity(
        "compute", trace, trace.compute, trace.load, crit, float(alpha), families, True
    )
    comm = None
    notes: list[str] = []
    if trace.comm is not None:
        assert trace.comm_load is not None
        pos = trace.comm > 0
        if not pos.any():
            notes.append("every communication time is 0: no communication model")
        elif int(pos.sum()) < 10:
            notes.append(f"only {int(pos.sum())} positive communication time(s): not fitted")
        else:
            sub = trace
            if not pos.all():
                notes.append(f"{int((~pos).sum())} communication time(s) of 0 left out")
                sub = Trace(
                    trace.round[pos],
                    trace.worker[pos],
                    trace.load[pos],
                    trace.compute[pos],
                    source=trace.source,
                )
            comm = _fit_quantity(
                "comm",
                sub,
                trace.comm[pos],
                trace.comm_load[pos],
                crit,
                float(alpha),
                families,
                False,
            )
    return FitResult(trace, crit, float(alpha), compute, comm, notes)


def fit_live_point(folder: str | os.PathLike[str], **kwargs: Any) -> FitResult:
    """:func:`fit_trace` of one live point folder (``results/X/points/ID/``)."""
    return fit_trace(read_live_point(folder), **kwargs)


def _as_trace(source: Any) -> Trace:
    if isinstance(source, Trace):
        return source
    if isinstance(source, (str, os.PathLike)):
        return read_trace(source)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None  # type: ignore[assignment]
    if pd is not None and isinstance(source, pd.DataFrame):
        return trace_from_frame(source)
    raise InvalidInputError(
        f"fit_trace: source must be a path, a pandas DataFrame or a Trace; got "
        f"{type(source).__name__}"
    )
