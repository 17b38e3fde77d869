"""Figure 3: numerical stability against n (worst relative error, worst condition)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from gcsim.plots._data import ResultsLike, labels, num, ok_summary
from gcsim.plots.style import (
    SchemeStyle,
    empty_state,
    layer_kwargs,
    new_axes,
    ordered,
    overlap_layers,
    resolve_styles,
    style_context,
)

__all__ = [
    "COND_CAP",
    "DTYPE_LINESTYLES",
    "STABILITY_COLUMNS",
    "STABILITY_METRICS",
    "plot_stability_vs_n",
    "stability_vs_n_data",
]

#: Columns of :func:`stability_vs_n_data`.
STABILITY_COLUMNS = ("scheme", "dtype", "n", "metric", "value", "failed", "points")

#: metric name -> (summary column, axis label, panel title).
STABILITY_METRICS: dict[str, tuple[str, str, str]] = {
    "rel_error": (
        "worst_rel_error",
        "relative error ‖ĝ − g‖ / ‖g‖",
        "Worst relative error of the decoded gradient",
    ),
    "cond": (
        "worst_cond",
        "condition number κ(A_R)",
        "Worst condition number of the decoder",
    ),
}

#: Message precision -> line style (other precisions: dotted).
DTYPE_LINESTYLES: dict[str, Any] = {"float64": "-", "float32": "--"}

_DTYPE_RANK = {d: i for i, d in enumerate(DTYPE_LINESTYLES)}

#: y position (axes fraction) of the markers of failed points.
FAIL_Y = 0.95


#: Relative errors above this are failed decodes (drawn as failure markers).
ERROR_CAP = 10.0

#: Condition numbers above 1/eps of float64 (about 4.5e15) mean the decoder carries no
#: correct digit in float64: the axis stops there and larger values (inf included) are
#: drawn at the cap, marked "beyond float64".
COND_CAP = float(1.0 / np.finfo(np.float64).eps)


def _dtype_text(x: Any) -> str:
    return "float64" if x is None or x != x or str(x) == "" else str(x)


def stability_vs_n_data(results: ResultsLike | pd.DataFrame) -> pd.DataFrame:
    """Worst relative error and worst condition number per (scheme, dtype, n).

    Over the ``status == "ok"`` rows of each (scheme, dtype, n) — replicates, s and any
    other swept factor together — ``value`` is the largest ``worst_rel_error`` (metric
    ``"rel_error"``) or ``worst_cond`` (metric ``"cond"``). An infinite value is a
    numerical failure: ``value`` is then ``inf`` and ``failed`` True. NaN means "not
    measured" (timing-only runs have no gradients) and is left out; a group with nothing
    measured has no row. A missing ``dtype`` counts as float64.

    Parameters
    ----------
    results : Results or DataFrame
        A loaded results folder or its summary table.

    Returns
    -------
    DataFrame
        Columns :data:`STABILITY_COLUMNS` (``points``: measured rows in the group), one
        row per (scheme, dtype, n, metric), sorted.
    """
    df = ok_summary(results)
    base = pd.DataFrame(
        {
            "scheme": labels(df),
            "dtype": df["dtype"].map(_dtype_text) if "dtype" in df.columns else "float64",
            "n": num(df, "n"),
        },
        index=df.index,
    )
    rows: list[dict[str, Any]] = []
    for metric, (col, _, _) in STABILITY_METRICS.items():
        part = base.assign(v=num(df, col).abs())
        part = part[part["v"].notna() & np.isfinite(part["n"])]
        for (scheme, dtype, n), g in part.groupby(["scheme", "dtype", "n"], sort=True):
            v = g["v"].to_numpy(float)
            failed = bool(np.isinf(v).any())
            rows.append(
                {
                    "scheme": scheme,
                    "dtype": dtype,
                    "n": int(n) if n.is_integer() else n,
                    "metric": metric,
                    "value": np.inf if failed else float(v.max()),
                    "failed": failed,
                    "points": len(v),
                }
            )
    return pd.DataFrame(rows, columns=list(STABILITY_COLUMNS))


def plot_stability_vs_n(
    data: pd.DataFrame,
    *,
    axes: Sequence[Axes] | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
) -> tuple[Axes, Axes]:
    """Draw :func:`stability_vs_n_data` as two log-scale panels.

    Left: worst relative error; right: worst condition number; x: n. One line per
    (scheme, dtype): colour and marker name the scheme, solid is float64 and dashed
    float32. A failed decode (an infinite relative error, or one above
    :data:`ERROR_CAP`) is a cross in the scheme's colour near the top of the error
    panel, outside the data range. The condition axis stops at :data:`COND_CAP`
    (1/eps of float64): larger values, inf included, are drawn at the cap (a dotted
    line) with a hollow triangle, "beyond float64" in the legend. Exact zeros (no error
    at all) cannot sit on a log axis and are drawn at the panel's floor, a decade under
    the smallest positive value; the panel title says so. Lines that coincide are drawn
    dashed over one another (:func:`~gcsim.plots.style.layer_kwargs`).

    Parameters
    ----------
    data : DataFrame
        The output of :func:`stability_vs_n_data`.
    axes : pair of Axes, optional
        Where to draw (a new two-panel figure without pyplot otherwise).
    styles : mapping, optional
        Scheme label -> :class:`SchemeStyle`.

    Returns
    -------
    tuple of Axes
        (relative error panel, condition number panel). Both legends are outside the
        data, right of the condition panel: the scheme legend at the top (its
        ``get_legend()``), the precision legend (line styles, failure cross, "beyond
        float64") at the bottom (an extra artist of that panel).
    """
    with style_context():
        if axes is None:
            axes = new_axes(2, width=12.5)[1]
        if len(axes) != 2:
            raise ValueError(f"axes must be a pair of Axes; got {len(axes)}")
        ax_err, ax_cond = axes[0], axes[1]
        st = resolve_styles(data["scheme"] if "scheme" in data.columns else [], styles)
        names = ordered(data["scheme"] if "scheme" in data.columns else [], st)
        any_failed = any_beyond = False
        dtypes: list[str] = []
        for ax, metric in ((ax_err, "rel_error"), (ax_cond, "cond")):
            _, ylabel, title = STABILITY_METRICS[metric]
            ax.set_xlabel("workers n")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            part = data[data["metric"] == metric] if not data.empty else data
            if part.empty:
                empty_state(ax, "not measured (timing-only runs)")
                continue
            ax.set_yscale("log")
            # a relative error above ERROR_CAP is a failed decode: drawn as a failure
            # marker, so it does not squash the working schemes into the bottom decade
            cap = ERROR_CAP if metric == "rel_error" else np.inf
            vals = part["value"].to_numpy(float)
            pos = vals[np.isfinite(vals) & (vals > 0) & (vals <= cap)]
            floor = float(pos.min()) / 10.0 if len(pos) else 1e-17
            fail_tr = blended_transform_factory(ax.transData, ax.transAxes)
            clipped = panel_failed = False
            series: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []
            for scheme in names:
                for dtype, g in part[part["scheme"] == scheme].groupby("dtype", sort=True):
                    g = g.sort_values("n")
                    y = g["value"].to_numpy(float)
                    series.append(
                        (f"{scheme}\0{dtype}", scheme, str(dtype), g["n"].to_numpy(float), y)
                    )
            shown_y = [np.minimum(y, COND_CAP) if metric == "cond" else y for *_, y in series]
            layers = overlap_layers(
                [(key, x, y) for (key, _, _, x, _), y in zip(series, shown_y, strict=True)],
                log=True,
            )
            for key, scheme, dtype, x, y in series:
                if dtype not in dtypes:
                    dtypes.append(dtype)
                clipped |= bool(np.any(y == 0))
                if metric == "cond":
                    beyond = ~(y <= COND_CAP)  # inf and NaN-free values above the cap
                    ok_y = np.ones_like(y, dtype=bool)
                    y_line = np.maximum(np.minimum(y, COND_CAP), floor)
                else:
                    beyond = np.zeros_like(y, dtype=bool)
                    ok_y = np.isfinite(y) & (y <= cap)
                    y_line = np.where(ok_y, np.maximum(y, floor), np.nan)
                ls = DTYPE_LINESTYLES.get(dtype, ":")
                ax.plot(
                    x,
                    y_line,
                    **{
                        **st[scheme].marker_kwargs(),
                        "linestyle": ls,
                        **layer_kwargs(layers[key]),
                    },
                    label=f"{st[scheme].legend(scheme)} ({dtype})",
                )
                if beyond.any():
                    any_beyond = True
                    ax.plot(
                        x[beyond],
                        np.full(int(beyond.sum()), COND_CAP),
                        linestyle="none",
                        marker="^",
                        fillstyle="none",
                        markersize=11,
                        markeredgewidth=1.6,
                        color=st[scheme].color,
                        label=f"_beyond float64 {scheme} ({dtype})",
                        zorder=4,
                    )
                bad = ~ok_y
                if bad.any():
                    any_failed = panel_failed = True
                    ax.plot(
                        x[bad],
                        np.full(bad.sum(), FAIL_Y),
                        transform=fail_tr,
                        linestyle="none",
                        marker="x",
                        markersize=9,
                        markeredgewidth=2.0,
                        color=st[scheme].color,
                        label=f"_failed {scheme} ({dtype})",
                        clip_on=False,
                    )
            if metric == "cond" and np.any(~(vals <= COND_CAP / 10.0)):
                # near or beyond the cap: show the cap line and stop the axis just above
                ax.axhline(COND_CAP, color="0.35", linestyle=":", linewidth=1.0, zorder=1)
                ax.text(
                    0.01,
                    COND_CAP,
                    "1/ε of float64",
                    transform=blended_transform_factory(ax.transAxes, ax.transData),
                    ha="left",
                    va="bottom",
                    fontsize=7.5,
                    color="0.35",
                )
                lo = ax.get_ylim()[0]
                ax.set_ylim(lo, COND_CAP * 10.0 ** max(1.0, 0.08 * np.log10(COND_CAP / lo)))
            elif not len(pos):
                ax.set_ylim(*((1e-17, 1.0) if metric == "rel_error" else (1.0, 1e17)))
            elif panel_failed:  # head room: the data stay under 85% of the height
                lo, hi = np.log10(ax.get_ylim())
                ax.set_ylim(10**lo, 10 ** (lo + max(hi - lo, 1.0) / 0.85))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if clipped:
                ax.set_title(f"{title}\n(exact zeros drawn at {floor:.0e})")
        style_handles: list[Any] = [
            Line2D([], [], color="0.2", linestyle=DTYPE_LINESTYLES.get(d, ":"), label=d)
            for d in sorted(dtypes, key=lambda d: (_DTYPE_RANK.get(d, len(_DTYPE_RANK)), d))
        ]
        if any_failed:
            style_handles.append(
                Line2D(
                    [],
                    [],
                    color="0.2",
                    linestyle="none",
                    marker="x",
                    markeredgewidth=2.0,
                    label=f"failed (inf, or error > {ERROR_CAP:g})",
                )
            )
        if any_beyond:
            style_handles.append(
                Line2D(
                    [],
                    [],
                    color="0.2",
                    linestyle="none",
                    marker="^",
                    fillstyle="none",
                    markersize=9,
                    markeredgewidth=1.6,
                    label=f"beyond float64 (κ > 1/ε\n≈ {COND_CAP:.1e}): at the cap",
                )
            )
        # both legends right of the condition panel, outside the data of either panel
        precision = None
        if style_handles:
            precision = ax_cond.legend(
                handles=style_handles,
                title="precision",
                loc="lower left",
                bbox_to_anchor=(1.02, 0.0),
                borderaxespad=0.0,
            )
        shown = [x for x in names if not data.empty and (data["scheme"] == x).any()]
        if shown:
            if precision is not None:
                ax_cond.add_artist(precision)  # kept when the scheme legend replaces it
            handles = [
                Line2D([], [], **st[x].marker_kwargs(), label=st[x].legend(x)) for x in shown
            ]
            ax_cond.legend(
                handles=handles,
                title="scheme",
                loc="upper left",
                bbox_to_anchor=(1.02, 1.0),
                borderaxespad=0.0,
            )
        return ax_err, ax_cond
