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
    new_axes,
    ordered,
    resolve_styles,
    style_context,
)

__all__ = [
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
    float32. A failed (scheme, dtype, n) — an infinite value — is a cross in the
    scheme's colour near the top of the panel, outside the data range. Exact zeros
    (no error at all) cannot sit on a log axis and are drawn at the panel's floor, a
    decade under the smallest positive value; the panel title says so.

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
        (relative error panel, condition number panel). The scheme legend is the
        condition panel's legend (outside, right); the precision legend (line styles,
        failure cross) is the error panel's.
    """
    with style_context():
        if axes is None:
            axes = new_axes(2, width=12.5)[1]
        if len(axes) != 2:
            raise ValueError(f"axes must be a pair of Axes; got {len(axes)}")
        ax_err, ax_cond = axes[0], axes[1]
        st = resolve_styles(data["scheme"] if "scheme" in data.columns else [], styles)
        names = ordered(data["scheme"] if "scheme" in data.columns else [], st)
        any_failed = False
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
            for scheme in names:
                for dtype, g in part[part["scheme"] == scheme].groupby("dtype", sort=True):
                    dtype = str(dtype)
                    if dtype not in dtypes:
                        dtypes.append(dtype)
                    g = g.sort_values("n")
                    x = g["n"].to_numpy(float)
                    y = g["value"].to_numpy(float)
                    clipped |= bool(np.any(y == 0))
                    ok_y = np.isfinite(y) & (y <= cap)
                    y_line = np.where(ok_y, np.maximum(y, floor), np.nan)
                    ls = DTYPE_LINESTYLES.get(dtype, ":")
                    ax.plot(
                        x,
                        y_line,
                        **st[scheme].marker_kwargs(),
                        linestyle=ls,
                        label=f"{st[scheme].legend(scheme)} ({dtype})",
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
            if not len(pos):
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
        if style_handles:
            ax_err.legend(handles=style_handles, title="precision", loc="best")
        shown = [x for x in names if not data.empty and (data["scheme"] == x).any()]
        if shown:
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
