"""``gcsim predict``: predict every scheme of a live run from a model fitted on one probe.

Where :mod:`gcsim.live.compare` replays a live run's own delay draws (it measures
**protocol fidelity**: how well the simulator models the protocol and its overheads),
this module measures **prediction**: how well the simulator predicts runs it was not fed.

For a live results folder (typically run with natural stragglers, ``[live].inject =
false``, see ``scenarios/live-natural.toml``):

1. **Fit** a delay model on the *probe* point only (one scheme, e.g. ``uncoded``): the
   compute time per partition and the communication time per full message that its
   workers really took (:mod:`gcsim.fit`), and calibrate the fixed costs from it
   (dispatch and upload latency, encode and decode rates; :func:`~gcsim.live.compare.calibrate`).
2. **Simulate** every other scheme of the folder with that model and *fresh* draws (a
   different seed, many rounds), never with the live run's draws.
3. **Report** per scheme: live vs predicted mean, median and p95 round time with 95%
   confidence intervals, the relative differences, and whether the ranking of the schemes
   agrees; ``predict.csv``, ``predict.md`` and ``predict.png``/``.pdf``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gcsim.errors import GcsimError
from gcsim.live.compare import (
    calibrate,
    label_cdf,
    mean_rankings,
    plot_cdf,
    ranking_lines,
    save_png_pdf,
)
from gcsim.scenarios.store import atomic_write_text, load_results
from gcsim.spec import RunSpec

__all__ = ["PredictReport", "interval", "predict_live"]


@dataclass
class PredictReport:
    table: pd.DataFrame
    markdown: str
    path: Path
    model: dict[str, Any]
    figures: list[Path] = field(default_factory=list)
    ranking_agrees: bool = True
    #: pairs significantly ordered live that the prediction orders the other way
    discordant: list[tuple[str, str]] = field(default_factory=list)


def interval(values: np.ndarray, stat: str, *, rng: int = 0) -> tuple[float, float, float]:
    """(estimate, low, high): a 95% confidence interval of the mean (t), or of the median
    or p95 (percentile bootstrap, scipy.stats.bootstrap)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    if stat == "mean":
        est = float(v.mean())
        if len(v) < 2:
            return est, math.nan, math.nan
        half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
        return est, est - half, est + half
    q = 50.0 if stat == "median" else 95.0

    def f(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.percentile(x, q, axis=axis)

    est = float(np.percentile(v, q))
    if len(v) < 5 or np.all(v == v[0]):
        return est, math.nan, math.nan
    res = stats.bootstrap(
        (v,), f, n_resamples=999, confidence_level=0.95, method="percentile", random_state=rng
    )
    return est, float(res.confidence_interval.low), float(res.confidence_interval.high)


def _point_dirs(folder: Path, res: Any) -> list[tuple[dict[str, Any], Path]]:
    out = []
    for p in res.manifest["points"]:
        pdir = folder / "points" / p["point"]
        info_path = pdir / "point.json"
        if not info_path.is_file():
            continue
        if json.loads(info_path.read_text(encoding="utf-8")).get("status") != "ok":
            continue
        out.append((p, pdir))
    return out


def fit_probes(pdirs: list[Path]) -> Any:
    """Fit the probe points' measured compute and communication times together (probes of
    different loads let the fit tell how time grows with load). The probes' rounds are
    kept apart (offset) so that per-round structure is not mixed across runs."""
    from gcsim.fit import fit_trace, read_live_point
    from gcsim.fit.io import Trace

    traces = [read_live_point(d) for d in pdirs]
    if len(traces) == 1:
        return fit_trace(traces[0])
    offsets = np.cumsum([0] + [int(t.round.max()) + 1 for t in traces[:-1]])

    def cat(name: str) -> np.ndarray | None:
        parts = [getattr(t, name) for t in traces]
        return None if any(p is None for p in parts) else np.concatenate(parts)

    merged = Trace(
        round=np.concatenate([t.round + o for t, o in zip(traces, offsets, strict=True)]),
        worker=np.concatenate([t.worker for t in traces]),
        load=np.concatenate([t.load for t in traces]),
        compute=np.concatenate([t.compute for t in traces]),
        comm=cat("comm"),
        comm_load=cat("comm_load"),
        source=" + ".join(t.source for t in traces),
        kind="live-point",
    )
    return fit_trace(merged)


def predict_live(
    folder: Path,
    *,
    probe: str | list[str],
    model: dict[str, Any] | None = None,
    rounds: int = 2000,
    out: Path | None = None,
) -> PredictReport:
    """Predict every non-probe point of a live folder from the probe (module docstring).

    ``probe``: one scheme label, or several (a list, or comma-separated) fitted together —
    probes of two loads (e.g. ``uncoded,frc``) let the fit learn how time grows with load.
    ``model``: ``{"compute": ..., "comm": ..., "load_mode": ...}`` (``make_delay`` specs)
    to use instead of fitting the probes (e.g. the tables ``gcsim fit`` wrote)."""
    from gcsim.sim import CostModel, Network, run

    res = load_results(folder)
    if res.manifest.get("backend") != "live":
        raise GcsimError(
            f"{folder} holds simulated results, not a live run; produce one with "
            "`gcsim live SCENARIO`"
        )
    points = _point_dirs(folder, res)
    names = [p.strip() for p in probe.split(",")] if isinstance(probe, str) else list(probe)
    probe_dirs = []
    for name in names:
        found = [d for p, d in points if p["scheme"] == name]
        if not found:
            labels = sorted({p["scheme"] for p, _ in points})
            raise GcsimError(
                f"{folder}: no finished live point of the probe scheme {name!r}; "
                f"finished schemes: {', '.join(labels) or 'none'}"
            )
        probe_dirs.append(found[0])
    first = json.loads((probe_dirs[0] / "spec.json").read_text(encoding="utf-8"))
    probe_spec = RunSpec.from_point(first)
    workers = pd.read_csv(probe_dirs[0] / "workers.csv")
    records = pd.read_csv(probe_dirs[0] / "records.csv")
    cal = calibrate(workers, records, probe_spec.code, probe_spec.dimension)
    fit: Any = None
    if model is None:
        fit = fit_probes(probe_dirs)
        compute: Any = fit.compute_model
        comm: Any = fit.comm_model
        load_mode, how = fit.load_mode, fit.describe()
    else:
        compute, comm = model["compute"], model.get("comm")
        load_mode, how = str(model.get("load_mode", "per-worker")), "given model"
    fitted = {"compute": compute, "comm": comm, "load_mode": load_mode, "fit": how}
    out = out or folder / "predict"
    out.mkdir(parents=True, exist_ok=True)
    rows, curves = [], []
    for p, pdir in points:
        if pdir in probe_dirs:
            continue
        point = json.loads((pdir / "spec.json").read_text(encoding="utf-8"))
        spec = RunSpec.from_point(point)
        bpv = spec.network.bytes_per_value
        broadcast = (
            bpv * spec.dimension / cal.dispatch_latency if cal.dispatch_latency > 0 else math.inf
        )
        # the measured compute time already includes the encode: no extra encode cost
        sim_spec = RunSpec.create(
            spec.code,
            # the fitted law for this scheme's load (affine load scaling stretches it)
            delays=compute if fit is None else fit.model_for_load(float(spec.code.d)),
            comm_delays=comm,
            iterations=max(rounds, len(pd.read_csv(pdir / "records.csv"))),
            seed=spec.seed + 1,  # fresh draws, never the live run's
            replicate=spec.replicate,
            # the fitted communication time already holds the upload latency (it is the
            # arrival minus the end of compute): no latency of its own
            network=Network(
                latency=0.0 if comm is not None else cal.upload_latency,
                broadcast=broadcast,
                bytes_per_value=bpv,
            ),
            costs=CostModel(decode_rate=cal.decode_rate),
            policy=spec.policy,
            decode_rule=spec.decode_rule,
            error_target=spec.error_target,
            round_timeout=spec.round_timeout if spec.decode_rule == "deadline" else None,
            # static vectors of the real length: real decodes (rows read) at no workload cost
            workload={"model": "random-vectors", "dimension": spec.dimension},
            load_mode=load_mode,
            engine="des",
            failed_workers=spec.failed_workers,
        )
        sim = run(sim_spec).records
        live = pd.read_csv(pdir / "records.csv")
        lv = live[live["decoded"].astype(bool)]["duration"].to_numpy(dtype=float)
        sv = sim[sim["decoded"]]["duration"].to_numpy(dtype=float)
        row: dict[str, Any] = {"point": p["point"], "scheme": p["scheme"], "n": spec.n}
        row["live_rounds"], row["sim_rounds"] = len(lv), len(sv)
        for stat in ("mean", "median", "p95"):
            a, alo, ahi = interval(lv, stat)
            b, blo, bhi = interval(sv, stat)
            row.update(
                {
                    f"live_{stat}_s": a,
                    f"live_{stat}_lo": alo,
                    f"live_{stat}_hi": ahi,
                    f"pred_{stat}_s": b,
                    f"pred_{stat}_lo": blo,
                    f"pred_{stat}_hi": bhi,
                    f"{stat}_rel_diff": (b - a) / a if a else math.nan,
                }
            )
        rows.append(row)
        curves.append((str(p["scheme"]), lv, sv))
    if not rows:
        raise GcsimError(f"{folder}: no finished live point besides the probe {probe!r}")
    table = pd.DataFrame(rows)
    live_rank, pred_rank, agrees = mean_rankings(table, "pred")
    discordant = discordant_pairs(table)
    md = _markdown(table, ", ".join(names), fitted, live_rank, pred_rank, agrees, discordant)
    atomic_write_text(out / "predict.md", md)
    atomic_write_text(out / "predict.csv", table.to_csv(index=False))
    atomic_write_text(out / "model.json", json.dumps(fitted, indent=2, default=str))
    figures = _figure(curves, out)
    return PredictReport(table, md, out / "predict.md", fitted, figures, agrees, discordant)


def discordant_pairs(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of schemes whose live means differ significantly (their 95% confidence
    intervals do not overlap) but that the prediction orders the other way: the ranking
    errors that matter. Pairs tied within the live run's uncertainty are not counted."""
    rows = table.to_dict("records")
    bad = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if a["live_mean_s"] > b["live_mean_s"]:
                a, b = b, a  # a is faster live
            separated = a["live_mean_hi"] < b["live_mean_lo"]
            if separated and not a["pred_mean_s"] < b["pred_mean_s"]:
                bad.append((str(a["scheme"]), str(b["scheme"])))
    return bad


def _ms(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{1e3 * x:.1f}"


def _markdown(
    table: pd.DataFrame,
    probe: str,
    fitted: dict[str, Any],
    live_rank: list[str],
    pred_rank: list[str],
    agrees: bool,
    discordant: list[tuple[str, str]],
) -> str:
    lines = [
        "# Predicted vs live round times (out of sample)",
        "",
        f"Model fitted on the live probe `{probe}` only ({fitted['fit']}); every other "
        "scheme simulated with fresh draws from it. Times in ms, [95% CI].",
        "",
        "| scheme | live mean | predicted mean | diff | live median | predicted median "
        "| diff | live p95 | predicted p95 | diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        cells = [str(r["scheme"])]
        for stat in ("mean", "median", "p95"):
            cells += [
                f"{_ms(r[f'live_{stat}_s'])} [{_ms(r[f'live_{stat}_lo'])}, "
                f"{_ms(r[f'live_{stat}_hi'])}]",
                f"{_ms(r[f'pred_{stat}_s'])} [{_ms(r[f'pred_{stat}_lo'])}, "
                f"{_ms(r[f'pred_{stat}_hi'])}]",
                f"{100 * r[f'{stat}_rel_diff']:+.1f}%",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        *ranking_lines(table, live_rank, pred_rank, "predicted", agrees),
        "Pairs ordered significantly live (95% CIs apart) but predicted the other way: "
        + (", ".join(f"{a} < {b}" for a, b in discordant) if discordant else "none")
        + ".",
        "",
    ]
    return "\n".join(lines)


def _figure(curves: list[tuple[str, np.ndarray, np.ndarray]], out: Path) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gcsim.plots.style import scheme_styles

    styles = scheme_styles([c[0] for c in curves])
    fig = Figure(figsize=(6.5, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for scheme, lv, sv in curves:
        color = styles[scheme].color
        for v, ls, tag in ((lv, "-", "live"), (sv, "--", "predicted")):
            plot_cdf(ax, v, ls, color, f"{scheme} {tag}")
    ax.set_xscale("log")
    label_cdf(
        ax, "round time (ms, log scale)", "Round-time CDF: live (solid) vs predicted (dashed)"
    )
    fig.tight_layout()
    return save_png_pdf(fig, out / "predict")
