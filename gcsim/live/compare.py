"""``gcsim compare``: calibrate the simulator on a live run and measure how close it is.

For every live point:

1. **Calibrate** the simulator's cost model from the live run's measured base costs:
   computation per partition (worker compute time minus the injected delay, per
   partition), encode rate, upload latency (arrival minus end of compute minus the
   injected communication delay), dispatch latency (model sent -> received) and decode
   rate (measured decode time).
2. **Re-simulate** the same point (same seed, code, policy, rule, workload, rounds) with
   the *same injected draws*: the delays replayed from the live run's records (the
   injected compute delay per unit load plus the calibrated base cost per partition; the
   injected communication delay per unit message).
3. **Report** per scheme: mean, median and p95 round time live vs simulated with the
   relative difference, whether the ranking of schemes agrees, and training-loss curves
   side by side: ``compare.md``, ``compare.csv`` and ``compare.png``/``.pdf``.
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
from gcsim.scenarios.store import atomic_write_text, load_results
from gcsim.spec import RunSpec

__all__ = ["Calibration", "CompareReport", "calibrate", "compare_live", "simulate_like"]


@dataclass
class Calibration:
    base_compute_per_partition: float
    encode_rate: float
    upload_latency: float
    dispatch_latency: float
    decode_rate: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class CompareReport:
    table: pd.DataFrame
    markdown: str
    path: Path
    figures: list[Path] = field(default_factory=list)
    ranking_agrees: bool = True


def calibrate(
    workers: pd.DataFrame, records: pd.DataFrame, code: Any, dimension: int
) -> Calibration:
    """Base costs measured in a live run (medians over responders and rounds)."""
    resp = workers[workers["status"] == "responder"]
    if resp.empty:
        raise GcsimError("cannot calibrate: no worker responded in the live run")
    loads = np.asarray(code.work, dtype=float)[resp["worker"].to_numpy()]
    q = code.message_length(dimension)
    busy = resp["compute_end"] - resp["compute_start"] - resp["injected_compute"]
    enc = resp["encode_s"].clip(lower=1e-9)
    base = float(np.median((busy - resp["encode_s"]) / loads))
    nnz = code.loads[resp["worker"].to_numpy()] * code.m
    encode_rate = float(np.median(nnz * q / enc))
    upload = float(np.median(resp["arrival"] - resp["compute_end"] - resp["injected_comm"]))
    dispatch = float(np.median(resp["compute_start"] - resp["dispatch"]))
    dec = records[records["decoded"]]
    work = (code.m * dec["rows_used"] * q).to_numpy(dtype=float)
    times = dec["decode_time"].to_numpy(dtype=float)
    decode_rate = float(np.median(work / np.clip(times, 1e-9, None))) if len(dec) else math.inf
    return Calibration(
        max(base, 0.0), encode_rate, max(upload, 0.0), max(dispatch, 0.0), decode_rate
    )


def simulate_like(
    spec: dict[str, Any], workers: pd.DataFrame, cal: Calibration, dimension: int
) -> Any:
    """Re-simulate a live point with its injected draws and the calibrated costs."""
    from gcsim.sim import CostModel, Network, simulate

    code = RunSpec.from_point(spec).code
    n = code.n
    rounds = int(spec["rounds"])
    loads = np.asarray(code.work, dtype=float)
    frac = code.message_length(dimension) / dimension
    piv_c = workers.pivot(index="round", columns="worker", values="injected_compute")
    piv_x = workers.pivot(index="round", columns="worker", values="injected_comm")
    inj_c = piv_c.reindex(index=range(rounds), columns=range(n)).to_numpy(dtype=float)
    inj_x = piv_x.reindex(index=range(rounds), columns=range(n)).to_numpy(dtype=float)
    failed = sorted(set(int(w) for w in spec["failed_workers"]))
    inj_c = np.where(np.isfinite(inj_c), inj_c, 0.0)
    inj_x = np.where(np.isfinite(inj_x), inj_x, 0.0)
    compute_trace = inj_c / loads[None, :] + cal.base_compute_per_partition
    comm_trace = inj_x / frac
    bpv = int(spec["network"]["bytes_per_value"])
    # the model (dimension values) reached the workers within the dispatch latency
    broadcast = (bpv * dimension / cal.dispatch_latency) if cal.dispatch_latency > 0 else math.inf
    network = Network(latency=cal.upload_latency, broadcast=broadcast, bytes_per_value=bpv)
    costs = CostModel(encode_rate=cal.encode_rate, decode_rate=cal.decode_rate)
    wl = dict(spec["workload"])
    return simulate(
        code,
        delays={"model": "trace", "data": compute_trace},
        comm_delays={"model": "trace", "data": comm_trace},
        iterations=rounds,
        seed=spec["seed"],
        replicate=spec["replicate"],
        network=network,
        costs=costs,
        policy=spec["policy"],
        decode_rule=spec["decode_rule"],
        error_target=spec.get("error_target"),
        round_timeout=spec["round_timeout"] if spec["decode_rule"] == "deadline" else None,
        workload=wl,
        engine="des",
        failed_workers=failed,
    )


def compare_live(folder: Path, *, out: Path | None = None) -> CompareReport:
    """Compare every point of a live results folder with its calibrated simulation."""
    res = load_results(folder)
    if res.manifest.get("backend") != "live":
        raise GcsimError(
            f"{folder} holds simulated results, not a live run; produce one "
            "with `gcsim live SCENARIO`"
        )
    out = out or folder / "compare"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    curves = []
    for p in res.manifest["points"]:
        pdir = folder / "points" / p["point"]
        if not (pdir / "point.json").is_file():
            continue
        info = json.loads((pdir / "point.json").read_text(encoding="utf-8"))
        if info.get("status") != "ok":
            continue
        spec = json.loads((pdir / "spec.json").read_text(encoding="utf-8"))
        run_spec = RunSpec.from_point(spec)
        dimension, code = run_spec.dimension, run_spec.code
        workers = pd.read_csv(pdir / "workers.csv")
        live = pd.read_csv(pdir / "records.csv")
        cal = calibrate(workers, live, code, dimension)
        sim = simulate_like(spec, workers, cal, dimension).records
        lv = live[live["decoded"]]["duration"].to_numpy()
        sv = sim[sim["decoded"]]["duration"].to_numpy()
        row: dict[str, Any] = {
            "point": p["point"],
            "scheme": p["scheme"],
            "n": spec["n"],
            "rounds": len(live),
        }
        for stat, f in (
            ("mean", np.mean),
            ("median", np.median),
            ("p95", lambda a: np.percentile(a, 95)),
        ):
            a = float(f(lv)) if len(lv) else math.nan
            b = float(f(sv)) if len(sv) else math.nan
            row[f"live_{stat}_s"] = a
            row[f"sim_{stat}_s"] = b
            row[f"{stat}_rel_diff"] = (b - a) / a if a else math.nan
        row.update({f"cal_{k}": v for k, v in cal.as_dict().items()})
        rows.append(row)
        curves.append((p["scheme"], live, sim))
    if not rows:
        raise GcsimError(f"{folder}: no finished live point to compare")
    table = pd.DataFrame(rows)
    live_rank, sim_rank, agrees = mean_rankings(table, "sim")
    md = _markdown(table, live_rank, sim_rank, agrees)
    atomic_write_text(out / "compare.md", md)
    atomic_write_text(out / "compare.csv", table.to_csv(index=False))
    figures = _figure(curves, out)
    return CompareReport(
        table=table, markdown=md, path=out / "compare.md", figures=figures, ranking_agrees=agrees
    )


def mean_rankings(table: pd.DataFrame, other: str) -> tuple[list[str], list[str], bool]:
    """The schemes ranked by live mean round time (column ``live_mean_s``) and by the
    ``other`` one (``{other}_mean_s``), and whether the two rankings agree."""
    live_rank = list(table.sort_values("live_mean_s")["scheme"])
    other_rank = list(table.sort_values(f"{other}_mean_s")["scheme"])
    return live_rank, other_rank, live_rank == other_rank


def _markdown(table: pd.DataFrame, live_rank: list[str], sim_rank: list[str], agrees: bool) -> str:
    lines = [
        "# Live vs simulated round times",
        "",
        "Simulation calibrated on the live run's base costs and fed the live run's "
        "injected delay draws (see gcsim/live/compare.py).",
        "",
        "| scheme | n | rounds | live mean (ms) | sim mean (ms) | diff | live median (ms) "
        "| sim median (ms) | diff | live p95 (ms) | sim p95 (ms) | diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rec in table.to_dict("records"):
        r = {
            k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in rec.items()
        }
        lines.append(
            f"| {r['scheme']} | {int(r['n'])} | {int(r['rounds'])} | "
            f"{1e3 * r['live_mean_s']:.2f} | {1e3 * r['sim_mean_s']:.2f} | "
            f"{100 * r['mean_rel_diff']:+.1f}% | {1e3 * r['live_median_s']:.2f} | "
            f"{1e3 * r['sim_median_s']:.2f} | {100 * r['median_rel_diff']:+.1f}% | "
            f"{1e3 * r['live_p95_s']:.2f} | {1e3 * r['sim_p95_s']:.2f} | "
            f"{100 * r['p95_rel_diff']:+.1f}% |"
        )
    lines += ["", *ranking_lines(table, live_rank, sim_rank, "simulated", agrees), ""]
    return "\n".join(lines)


def ranking_lines(
    table: pd.DataFrame, live_rank: list[str], other_rank: list[str], other: str, agrees: bool
) -> list[str]:
    """The report's summary: the worst relative difference of the mean round time and
    the two rankings (``other``: how the second one was obtained)."""
    worst = float(table["mean_rel_diff"].abs().max())
    return [
        f"Worst |relative difference| of the mean round time: {100 * worst:.1f}%.",
        f"Ranking by mean round time, live: {', '.join(live_rank)}.",
        f"Ranking by mean round time, {other}: {', '.join(other_rank)}.",
        f"Rankings agree: {'yes' if agrees else 'NO'}.",
    ]


def _figure(curves: list[tuple[str, pd.DataFrame, pd.DataFrame]], out: Path) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    from gcsim.plots.style import scheme_styles

    styles = scheme_styles([c[0] for c in curves])

    def style(label: str) -> dict[str, Any]:
        return {"color": styles[label].color}

    for scheme, live, sim in curves:
        kw = style(scheme)
        lv = live[live["decoded"]]["duration"].to_numpy()
        sv = sim[sim["decoded"]]["duration"].to_numpy()
        plot_cdf(ax1, lv, "-", kw["color"], f"{scheme} live")
        plot_cdf(ax1, sv, "--", kw["color"], f"{scheme} sim")
        if np.isfinite(live["loss"]).any():
            ax2.plot(live["end"], live["loss"], **kw, label=f"{scheme} live")
            ax2.plot(sim["end"], sim["loss"], linestyle="--", **kw, label=f"{scheme} sim")
    ax2.set_xlabel("wall-clock time (s)")
    ax2.set_ylabel("training loss")
    ax2.set_title("Training loss")
    label_cdf(ax1, "round time (ms)", "Round-time CDF: live (solid) vs simulated (dashed)")
    fig.tight_layout()
    return save_png_pdf(fig, out / "compare")


def plot_cdf(ax: Any, seconds: np.ndarray, linestyle: str, color: Any, label: str) -> None:
    """Draw the empirical CDF of round times (in seconds, drawn in ms) on ``ax``;
    nothing when there are none."""
    x = np.sort(seconds) * 1e3
    if len(x):
        ax.plot(x, np.arange(1, len(x) + 1) / len(x), linestyle, color=color, label=label)


def label_cdf(ax: Any, xlabel: str, title: str) -> None:
    """Axis labels, title and legend of a round-time CDF panel."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of rounds")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)


def save_png_pdf(fig: Any, stem: Path) -> list[Path]:
    """Save ``fig`` as ``stem``.png and ``stem``.pdf (each written to a temporary
    file first, then moved into place); returns the two paths."""
    paths = []
    for ext in ("png", "pdf"):
        p = stem.with_name(f"{stem.name}.{ext}")
        tmp = p.with_name(f".{p.name}.tmp")
        fig.savefig(tmp, dpi=150, format=ext)
        tmp.replace(p)
        paths.append(p)
    return paths
