"""Figure 5: training loss against simulated wall-clock time, per scheme."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from gcsim.plots._data import (
    ResultsLike,
    cluster_records,
    labels,
    left_out,
    num,
    own_s_note,
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

__all__ = ["LOSS_COLUMNS", "loss_vs_time_data", "plot_loss_vs_time"]

#: Columns of :func:`loss_vs_time_data`.
LOSS_COLUMNS = ("scheme", "point", "replicate", "n", "s", "round", "time", "loss")


def loss_vs_time_data(
    results: ResultsLike,
    *,
    n: int | None = None,
    s: int | None = None,
    replicate: int | None = None,
) -> pd.DataFrame:
    """One training curve per scheme: loss after each round against the round's end.

    The cluster (n, s) is chosen as in :func:`round_time_cdf_data`. Each scheme shows one
    run, not an average (replicates face different stragglers, so their curves do not
    share time points): the records of ``replicate`` if given, else of the smallest
    replicate present (replicate 0 normally); when several points remain (another
    swept factor) the first point id in sorted order. Rounds with a NaN loss (failed
    rounds, runs without a model) are left out.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    n, s : int, optional
        Cluster size and requested straggler count to keep.
    replicate : int, optional
        Replicate to show.

    Returns
    -------
    DataFrame
        Columns :data:`LOSS_COLUMNS` (``time``: the records' ``end``, simulated
        seconds), sorted by scheme and time; empty when no loss is finite.
    """
    cluster = cluster_records(results, "loss", n, s)
    if cluster is None:
        return pd.DataFrame(columns=list(LOSS_COLUMNS))
    rec, n_used, s_used = cluster
    own = dict(rec.attrs.get("own_s", {}))
    df = pd.DataFrame(
        {
            "scheme": labels(rec),
            "point": rec["point"].astype(str) if "point" in rec.columns else "?",
            "replicate": num(rec, "replicate").fillna(0.0),
            "round": num(rec, "round"),
            "time": num(rec, "end"),
            "loss": num(rec, "loss"),
        }
    )
    # a NaN loss is a round without a model; an inf one (or an inf time) overflowed
    bad = ~df["loss"].isna() & ~(plottable(df["loss"]) & plottable(df["time"]))
    skipped = int(bad.sum())
    df = df[plottable(df["loss"]) & plottable(df["time"])]
    if replicate is not None:
        df = df[df["replicate"] == float(replicate)]
    parts: list[pd.DataFrame] = []
    for _, g in df.groupby("scheme", sort=True):
        g = g[g["replicate"] == g["replicate"].min()]
        g = g[g["point"] == min(g["point"])]
        parts.append(g.sort_values("time"))
    if not parts:
        return left_out(pd.DataFrame(columns=list(LOSS_COLUMNS)), skipped, "loss value(s)")
    out = pd.concat(parts, ignore_index=True)
    out["replicate"] = out["replicate"].astype(int)
    out["n"], out["s"] = n_used, s_used
    return own_s_note(left_out(out[list(LOSS_COLUMNS)], skipped, "loss value(s)"), own)


def plot_loss_vs_time(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
    logy: bool = False,
    title: str | None = None,
) -> Axes:
    """Draw :func:`loss_vs_time_data`: one loss curve per scheme.

    With no data (every loss NaN: the scenario trains no model) the axes carry a short
    message instead.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`loss_vs_time_data`.
    ax, styles, title
        As in :func:`gcsim.plots.plot_round_time_vs_s`.
    logy : bool
        Log-scale loss axis.

    Returns
    -------
    Axes
    """
    with styled_axes(ax, "simulated wall-clock time (s)", "training loss (objective value)") as ax:
        where = single_values(data, {"n": "n", "s": "requested s"})
        reps = sorted(set(data["replicate"])) if "replicate" in data.columns else []
        if len(reps) == 1:
            where.append(f"replicate {reps[0]}")
        ax.set_title(title or "Training loss vs time" + (f" ({', '.join(where)})" if where else ""))
        if data.empty:
            return empty_state(ax, "no finite training loss\n(the scenario trains no model)")
        rows = scheme_rows(data, styles)
        layers = overlap_layers(
            [(k, g["time"].to_numpy(float), g["loss"].to_numpy(float)) for k, _, g in rows]
        )
        for scheme, style, g in rows:
            kw: dict[str, Any] = {"color": style.color, "linestyle": style.linestyle}
            if len(g) <= 20:
                kw.update(marker=style.marker, fillstyle=style.fillstyle)
            kw.update(layer_kwargs(layers[scheme]))
            label = style.legend(scheme)
            ax.plot(g["time"].to_numpy(float), g["loss"].to_numpy(float), label=label, **kw)
        if logy and (data["loss"] > 0).all():
            ax.set_yscale("log")
        ax.set_xlim(left=0.0)
        add_legend(ax, title="scheme")
        return ax
