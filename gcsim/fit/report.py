"""The report of a fit: TOML snippet, markdown, candidate tables and figures.

Figures are drawn in two steps: ``*_data`` functions compute what is plotted (plain
arrays, testable without matplotlib) and ``draw_*`` functions draw it on a
:class:`matplotlib.figure.Figure` (no pyplot, no global state). Files are written
atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim._files import atomic_replace

if TYPE_CHECKING:
    from gcsim.fit.core import FitResult, QuantityFit

__all__ = [
    "cdf_data",
    "draw_cdf",
    "draw_qq",
    "draw_speeds",
    "markdown",
    "qq_data",
    "speeds_data",
    "toml_scalar",
    "toml_snippet",
    "toml_value",
    "write_report",
]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


# ------------------------------------------------------------------------- TOML


def toml_scalar(v: Any, finite: Callable[[float], str] = repr) -> str | None:
    """A bool, integer or float as a TOML value (nan and ±inf included; a finite float
    written by ``finite``); None for any other value."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return finite(f)
    return None


def toml_value(v: Any, *, top: bool = False) -> str:
    """A TOML value (floats to 6 significant digits; dicts as inline tables)."""
    scalar = toml_scalar(v, lambda f: repr(float(f"{f:.6g}")))
    if scalar is not None:
        return scalar
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        items = [toml_value(x) for x in v]
        if top and len(items) > 8:
            rows = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
            return "[\n    " + ",\n    ".join(rows) + ",\n]"
        return "[" + ", ".join(items) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _key(k: Any) -> str:
    k = str(k)
    return k if _BARE.match(k) else json.dumps(k)


def _table(name: str, spec: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    keys = ["model", *[k for k in spec if k != "model"]]
    for k in keys:
        lines.append(f"{_key(k)} = {toml_value(spec[k], top=True)}")
    return "\n".join(lines)


def toml_snippet(fit: FitResult) -> str:
    """``[delays.compute]`` and, with communication times, ``[delays.comm]``."""
    from gcsim.fit.io import describe_trace

    c = fit.compute
    head = [
        f"# gcsim fit of {fit.trace.source} ({describe_trace(fit.trace)})",
        f"# compute: {c.structure()}; family {c.confidence.line()}",
        f'# in [cluster]: load_mode = "{fit.load_mode}"',
    ]
    if c.load.mode == "affine":
        head.append(
            f"# affine load scaling T = (d + {c.load.offset:.4g}) X: this unit model is for "
            f"load d = {c.reference_load:g}; FitResult.model_for_load(d) rescales it"
        )
    if c.heterogeneity.detected:
        head.append(
            f"# speeds: one per worker of the trace ({len(c.heterogeneity.speeds)}); "
            "a run needs as many workers"
        )
    parts = ["\n".join(head), _table("delays.compute", c.spec)]
    if fit.comm is not None:
        parts.append(
            f"# comm (per full-length message): {fit.comm.structure()}; family "
            f"{fit.comm.confidence.line()}\n" + _table("delays.comm", fit.comm.spec)
        )
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------ markdown


def _md_table(df: Any, floats: str = "{:.4g}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(floats.format(v) if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _quantity_md(fit: FitResult, q: QuantityFit) -> list[str]:
    out = [
        f"## {q.quantity.capitalize()} times",
        "",
        f"Model: `{q.structure()}`.",
        "",
        f"* Family ({fit.criterion.upper()}): {q.confidence.line()}.",
        f"* Goodness of fit of {q.chosen.name}: Kolmogorov–Smirnov D = "
        f"{q.chosen.ks_stat:.4f}, p = {q.chosen.ks_pvalue:.3g} (parameters estimated from the "
        "same data: the p-value is optimistic).",
        f"* Per-worker speeds: {q.heterogeneity.line()}.",
        f"* Persistence: {q.persistence.line()}.",
    ]
    if q.quantity == "compute":
        out.append(f"* Load scaling: {q.load.line()}.")
    out += [f"* Note: {n}" for n in q.notes]
    out += ["", f"Candidates (unit-load times, {q.sample.size} values):", ""]
    out.append(_md_table(q.candidates_table(fit.criterion)))
    if q.quantity == "compute" and q.load.table:
        import pandas as pd

        lt = pd.DataFrame(
            [
                {
                    "mode": r["mode"],
                    "k": r["k"],
                    "loglik": r["loglik"],
                    fit.criterion: r[fit.criterion],
                    "delta": r["delta"],
                    "weight": r["weight"],
                    "fit": ", ".join(f"{k}={v:.4g}" for k, v in r["fit"].items()),
                }
                for r in q.load.table
            ]
        )
        out += ["", "Load scaling (gamma working likelihoods):", "", _md_table(lt)]
    return out


def markdown(fit: FitResult, figures: list[str] | None = None) -> str:
    """The report (report.md)."""
    from gcsim.fit.io import describe_trace

    lines = [
        "# gcsim fit",
        "",
        f"Trace: `{fit.trace.source}` ({describe_trace(fit.trace)}).",
        "",
        f"Summary: {fit.describe()}.",
        "",
    ]
    for q in (fit.compute, fit.comm):
        if q is not None:
            lines += [*_quantity_md(fit, q), ""]
    notes = [*fit.trace.notes, *fit.notes]
    if notes:
        lines += ["## Notes", "", *[f"* {n}" for n in notes], ""]
    lines += ["## For a scenario file", "", "```toml", fit.toml().rstrip("\n"), "```", ""]
    lines += [
        "In Python: `gcsim.simulate(code, delays=fit.model, comm_delays=fit.comm_delays, "
        "load_mode=fit.load_mode, ...)`.",
        "",
    ]
    if figures:
        lines += ["## Figures", "", *[f"![{f}]({f})" for f in figures], ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------ figures


def _ecdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xs = np.sort(x)
    return xs, np.arange(1, xs.size + 1) / xs.size


def cdf_data(q: QuantityFit, points: int = 400) -> dict[str, Any]:
    """Empirical CDF of the fitted sample and the CDFs of the chosen family and the
    runner-up on a log-spaced grid."""
    xs, ps = _ecdf(q.sample)
    lo, hi = float(xs[0]), float(xs[-1])
    grid = (
        np.geomspace(max(lo, hi * 1e-9) * 0.9, hi * 1.1, points)
        if lo > 0
        else np.linspace(0, hi * 1.1, points)
    )
    models = []
    for c in q.candidates[:2]:
        models.append({"name": c.name, "x": grid, "cdf": np.clip(c.cdf(grid), 0, 1)})
    return {"quantity": q.quantity, "x": xs, "ecdf": ps, "models": models}


def qq_data(q: QuantityFit, points: int = 200) -> dict[str, Any]:
    """Sample quantiles against model quantiles at ``points`` probabilities."""
    n = q.sample.size
    probs = (np.arange(1, n + 1) - 0.5) / n
    idx = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(int))
    sample_q = np.sort(q.sample)[idx]
    models = []
    for c in q.candidates[:2]:
        models.append({"name": c.name, "model": c.ppf(probs[idx]), "sample": sample_q})
    return {"quantity": q.quantity, "models": models}


def speeds_data(q: QuantityFit) -> dict[str, Any]:
    """Per-worker quantiles (5, 25, 50, 75, 95 %) of the measured unit times and the
    fitted speeds (1 when no heterogeneity was found)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        qs = np.nanpercentile(q.unit, [5, 25, 50, 75, 95], axis=0)
    return {
        "quantity": q.quantity,
        "workers": q.workers,
        "quantiles": qs,
        "speeds": q.heterogeneity.speeds,
        "detected": q.heterogeneity.detected,
        "pvalue": q.heterogeneity.pvalue,
    }


def _new_figure(ncols: int, width: float, height: float = 3.8) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # fixed margins instead of a layout engine: one draw pass per file
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axs = fig.subplots(1, ncols, squeeze=False)[0]
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.28)
    return fig, axs


def draw_cdf(data: dict[str, Any]) -> Any:
    """CDF (left) and survival function on log-log axes (right)."""
    fig, (a, b) = _new_figure(2, 10.0)
    x, p = data["x"], data["ecdf"]
    styles = ["-", "--"]
    for ax, surv in ((a, False), (b, True)):
        y = 1 - p + 1 / p.size if surv else p
        ax.step(x, y, where="post", color="black", lw=1.2, label="measured")
        for m, ls in zip(data["models"], styles, strict=False):
            ym = 1 - m["cdf"] if surv else m["cdf"]
            ax.plot(m["x"], ym, ls, lw=1.5, label=m["name"])
        ax.set_xscale("log")
        ax.set_xlabel(f"{data['quantity']} time per unit load (s, log scale)")
    a.set_ylabel("P(X <= x)")
    b.set_yscale("log")
    b.set_ylim(0.5 / p.size, 1.5)
    b.set_ylabel("P(X > x) (log scale)")
    a.set_title("CDF: measured vs chosen (solid) and runner-up (dashed)")
    b.set_title("Tail")
    a.legend(fontsize=8)
    return fig


def draw_qq(data: dict[str, Any]) -> Any:
    """QQ plots of the chosen family and the runner-up."""
    models = data["models"]
    fig, axs = _new_figure(len(models), 4.6 * len(models))
    for ax, m in zip(axs, models, strict=True):
        ax.plot(m["model"], m["sample"], "o", ms=3, alpha=0.7)
        lo = float(min(np.min(m["model"]), np.min(m["sample"])))
        hi = float(max(np.max(m["model"]), np.max(m["sample"])))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_xlabel(f"{m['name']} quantile (s)")
        ax.set_ylabel("measured quantile (s)")
        ax.set_title(f"QQ: {m['name']}")
    return fig


def draw_speeds(data: dict[str, Any]) -> Any:
    """Per-worker unit times (median, 25–75 % box, 5–95 % whiskers) and fitted speeds."""
    fig, (a, b) = _new_figure(2, 10.0)
    w = np.arange(len(data["workers"]))
    qs = data["quantiles"]
    a.vlines(w, qs[0], qs[4], color="grey", lw=1)
    a.vlines(w, qs[1], qs[3], color="tab:blue", lw=5)
    a.plot(w, qs[2], "k_", ms=10)
    a.set_yscale("log")
    a.set_xticks(w, [str(v) for v in data["workers"]], fontsize=7)
    a.set_xlabel("worker")
    a.set_ylabel(f"{data['quantity']} time per unit load (s, log scale)")
    a.set_title("Measured: median, 25–75 % and 5–95 %")
    b.bar(w, data["speeds"], color="tab:orange" if data["detected"] else "lightgrey")
    b.axhline(1.0, color="k", lw=0.8)
    b.set_xticks(w, [str(v) for v in data["workers"]], fontsize=7)
    b.set_xlabel("worker")
    b.set_ylabel("fitted speed (duration = X / speed)")
    verdict = "heterogeneous" if data["detected"] else "no speed differences found"
    b.set_title(f"Speeds: {verdict} (p = {data['pvalue']:.2g})")
    return fig


def _save(fig: Any, path: Path) -> Path:
    """Write the figure atomically; its mode follows the umask like any result."""
    return atomic_replace(path, lambda tmp: fig.savefig(tmp, dpi=120), suffix=path.suffix)


def _write_text(path: Path, text: str) -> Path:
    from gcsim.scenarios.store import atomic_write_text

    atomic_write_text(path, text)
    return path


def write_report(fit: FitResult, out: Path) -> list[Path]:
    """Write the report folder; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    figures: list[str] = []
    for q in (fit.compute, fit.comm):
        if q is None:
            continue
        prefix = "" if q.quantity == "compute" else "comm_"
        table = q.candidates_table(fit.criterion)
        written.append(_write_text(out / f"{prefix}candidates.csv", table.to_csv(index=False)))
        written.append(_write_text(out / f"{prefix}candidates.md", _md_table(table) + "\n"))
        draws = [("cdf", draw_cdf(cdf_data(q))), ("qq", draw_qq(qq_data(q)))]
        if q.quantity == "compute":
            draws.append(("speeds", draw_speeds(speeds_data(q))))
        for name, fig in draws:
            p = _save(fig, out / f"{prefix}{name}.png")
            written.append(p)
            figures.append(p.name)
    written.append(_write_text(out / "model.toml", fit.toml()))
    model = {
        "compute": fit.compute_model,
        "comm": fit.comm_model,
        "load_mode": fit.load_mode,
        "criterion": fit.criterion,
        "family": fit.family,
        "confidence": fit.confidence.weight,
        "runner_up": fit.confidence.runner_up,
        "fit": fit.describe(),
    }
    written.append(_write_text(out / "model.json", json.dumps(model, indent=2) + "\n"))
    written.append(_write_text(out / "report.md", markdown(fit, figures)))
    return written
