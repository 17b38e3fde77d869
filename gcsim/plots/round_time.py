"""Figure 1: mean round time against the number of stragglers tolerated, per scheme."""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from gcsim.plots._data import (
    ResultsLike,
    as_int_if_whole,
    labels,
    left_out,
    num,
    ok_summary,
    pick,
    plottable,
    single_values,
)
from gcsim.plots.style import (
    SchemeStyle,
    add_legend,
    empty_state,
    layer_kwargs,
    overlap_layers,
    scheme_rows,
    styled_axes,
)

__all__ = ["ROUND_TIME_COLUMNS", "plot_round_time_vs_s", "round_time_vs_s_data"]

#: Columns of :func:`round_time_vs_s_data`.
ROUND_TIME_COLUMNS = (
    "scheme",
    "n",
    "s",
    "s_requested",
    "mean",
    "sem",
    "ci_low",
    "ci_high",
    "replicates",
    "level",
)


def round_time_vs_s_data(
    results: ResultsLike | pd.DataFrame, *, n: int | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Mean round time per (scheme, s) with a normal confidence interval.

    Only ``status == "ok"`` rows with a finite ``mean_round_time`` count (values beyond
    :data:`~gcsim.plots._data.PLOT_LIMIT` count as overflowed; how many were left out is
    in ``attrs["left_out"]``, and the figure says so). When several
    ``n`` are present the figure is for one cluster size: ``n`` if given, else the most
    common ``n`` among those rows (ties go to the largest). The rows sharing a
    (scheme, s) at that n — the replicates — are combined: the mean of their
    ``mean_round_time`` values, and the standard error of that mean from the per-point
    ``sem_round_time`` values, ``sqrt(sum sem_i**2) / k`` for k rows (independent
    replicates). A missing sem in any row leaves the pooled sem (and the interval) NaN.

    ``s`` is the s the code runs at (the summary's effective ``s``): a point whose code
    tolerates more stragglers than requested (``grouped`` when d does not divide n)
    sits at that s. ``s_requested`` lists, as text (``"3"``, ``"3, 4"``), the requested
    values pooled into the row; the drawing labels the points where it differs from s.

    Parameters
    ----------
    results : Results or DataFrame
        A loaded results folder or its summary table.
    n : int, optional
        Cluster size to keep.
    level : float
        Confidence level of the interval ``mean ± z * sem``.

    Returns
    -------
    DataFrame
        Columns :data:`ROUND_TIME_COLUMNS`, one row per (scheme, s), sorted by scheme
        and s; empty (with those columns) when nothing qualifies.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got level={level!r}")
    df = ok_summary(results)
    df = df.assign(
        scheme=labels(df),
        n=num(df, "n"),
        s=num(df, "s"),
        s_requested=num(df, "s_requested"),
        mean_round_time=num(df, "mean_round_time"),
        sem_round_time=num(df, "sem_round_time"),
    )
    bad = ~plottable(df["mean_round_time"]) & np.isfinite(df["s"])
    skipped = int(bad.sum())
    df = df[plottable(df["mean_round_time"]) & np.isfinite(df["s"])]
    df = df.assign(sem_round_time=df["sem_round_time"].where(plottable(df["sem_round_time"])))
    df = df.assign(s_requested=df["s_requested"].fillna(df["s"]))
    asked = df  # every requested s, before identical runs are dropped below
    # a scheme that a swept factor does not affect (uncoded across code.s) repeats the
    # identical run at every value of that factor: count it once, not as replicates
    key = [
        c
        for c in ("scheme", "n", "s", "m", "replicate", "mean_round_time", "sem_round_time")
        if c in df.columns
    ]
    df = df.drop_duplicates(subset=key)
    df, n_used = pick(df, "n", n)
    if df.empty:
        empty = pd.DataFrame(columns=list(ROUND_TIME_COLUMNS))
        return left_out(empty, skipped, "mean round time(s)")
    if n_used is not None:
        asked = asked[asked["n"] == float(n_used)]
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    rows: list[dict[str, Any]] = []
    for (scheme, s), g in df.groupby(["scheme", "s"], sort=True):
        k = len(g)
        req = asked.loc[(asked["scheme"] == scheme) & (asked["s"] == s), "s_requested"]
        sems = g["sem_round_time"].to_numpy(float)
        mean = float(g["mean_round_time"].mean())
        sem = float(np.sqrt(np.sum(sems**2)) / k) if np.all(np.isfinite(sems)) else np.nan
        rows.append(
            {
                "scheme": scheme,
                "n": n_used,
                "s": as_int_if_whole(float(g["s"].iloc[0])),
                "s_requested": ", ".join(str(as_int_if_whole(v)) for v in sorted(set(req))),
                "mean": mean,
                "sem": sem,
                "ci_low": mean - z * sem,
                "ci_high": mean + z * sem,
                "replicates": k,
                "level": level,
            }
        )
    return left_out(
        pd.DataFrame(rows, columns=list(ROUND_TIME_COLUMNS)), skipped, "mean round time(s)"
    )


def plot_round_time_vs_s(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
    title: str | None = None,
) -> Axes:
    """Draw :func:`round_time_vs_s_data`: one line per scheme, its CI as a band.

    Lines that coincide (two codes with the same round times) are drawn dashed over
    one another with smaller markers (:func:`~gcsim.plots.style.layer_kwargs`), so
    both stay visible.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`round_time_vs_s_data`.
    ax : Axes, optional
        Where to draw (a new figure without pyplot otherwise).
    styles : mapping, optional
        Scheme label -> :class:`SchemeStyle` (default :func:`scheme_styles` of the data).
    title : str, optional
        Overrides the default title.

    Returns
    -------
    Axes
    """
    with styled_axes(
        ax,
        "stragglers tolerated s (workers; the s each code runs at)",
        "mean round time (s, simulated)",
    ) as ax:
        where = "".join(f" ({w})" for w in single_values(data, {"n": "n"}))
        ax.set_title(title or f"Mean round time vs stragglers tolerated{where}")
        if data.empty:
            return empty_state(ax, "no successful points with a finite mean round time")
        level = float(data["level"].iloc[0]) if "level" in data.columns else 0.95
        rows_all = [(k, st, r.sort_values("s")) for k, st, r in scheme_rows(data, styles)]
        layers = overlap_layers(
            [(k, g["s"].to_numpy(float), g["mean"].to_numpy(float)) for k, _, g in rows_all]
        )
        for scheme, style, g in rows_all:
            x = g["s"].to_numpy(float)
            y = g["mean"].to_numpy(float)
            kw = {**style.line_kwargs(), **layer_kwargs(layers[scheme])}
            ax.plot(x, y, label=style.legend(scheme), **kw)
            asked = g["s_requested"] if "s_requested" in g.columns else [""] * len(g)
            for xi, yi, req in zip(x, y, asked, strict=True):
                if isinstance(req, str) and req and req != str(as_int_if_whole(xi)):
                    ax.annotate(  # a code that runs at another s than requested
                        f"asked s={req}",
                        (xi, yi),
                        xytext=(-6, -6),
                        textcoords="offset points",
                        ha="right",
                        va="top",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
                        fontsize="small",
                        color=style.color,
                    )
            lo, hi = g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float)
            if np.isfinite(lo).any():
                ax.fill_between(
                    x,
                    lo,
                    hi,
                    color=style.color,
                    alpha=0.18,
                    linewidth=0,
                    label=f"_ci {scheme}",
                )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0.0)
        add_legend(ax, title=f"scheme (band: {level:.0%} CI)")
        return ax
