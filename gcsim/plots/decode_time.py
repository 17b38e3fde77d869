"""Figure 6: decode time per round against n, per scheme (log scale)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from gcsim.plots._data import ResultsLike, labels, left_out, num, ok_summary, plottable
from gcsim.plots.style import (
    SchemeStyle,
    add_legend,
    empty_state,
    layer_kwargs,
    overlap_layers,
    scheme_rows,
    styled_axes,
)

__all__ = ["DECODE_COLUMNS", "decode_time_vs_n_data", "plot_decode_time_vs_n"]

#: Columns of :func:`decode_time_vs_n_data`.
DECODE_COLUMNS = ("scheme", "n", "mean", "min", "max", "points", "column")

_YLABEL = {
    "mean_decode_wall": "decode time per round ({unit}, measured wall clock)",
    "mean_decode_time": "decode time per round ({unit}, cost model)",
}


def time_unit(values: np.ndarray) -> tuple[float, str]:
    """A readable unit for durations in seconds: (factor to multiply by, unit name)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    ref = float(np.median(v)) if len(v) else 1.0
    for factor, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if ref * factor >= 1.0:
            return factor, unit
    return 1e9, "ns"


def decode_time_vs_n_data(
    results: ResultsLike | pd.DataFrame, *, column: str = "mean_decode_wall"
) -> pd.DataFrame:
    """Decode time per round per (scheme, n).

    Over the ``status == "ok"`` rows of each (scheme, n) with a finite, positive
    ``column`` (replicates, s and any other swept factor pooled): the mean, the smallest
    and the largest value.

    Parameters
    ----------
    results : Results or DataFrame
        A loaded results folder or its summary table.
    column : str
        ``"mean_decode_wall"`` (measured time of the real decode kernel, default) or
        ``"mean_decode_time"`` (time charged by the cost model).

    Returns
    -------
    DataFrame
        Columns :data:`DECODE_COLUMNS` (seconds), sorted by scheme and n.
    """
    if column not in _YLABEL:
        raise ValueError(f"column must be one of {sorted(_YLABEL)}; got column={column!r}")
    df = ok_summary(results)
    df = pd.DataFrame({"scheme": labels(df), "n": num(df, "n"), "v": num(df, column)})
    skipped = int((df["v"].notna() & ~plottable(df["v"])).sum())
    df = df[plottable(df["v"]) & (df["v"] > 0) & np.isfinite(df["n"])]
    if df.empty:
        return left_out(pd.DataFrame(columns=list(DECODE_COLUMNS)), skipped, "decode time(s)")
    out = (
        df.groupby(["scheme", "n"], sort=True)["v"]
        .agg(["mean", "min", "max", "size"])
        .rename(columns={"size": "points"})
        .reset_index()
    )
    if np.all(np.mod(out["n"], 1) == 0):
        out["n"] = out["n"].astype(int)
    out["column"] = column
    return left_out(out[list(DECODE_COLUMNS)], skipped, "decode time(s)")


def plot_decode_time_vs_n(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
    title: str | None = None,
) -> Axes:
    """Draw :func:`decode_time_vs_n_data`: one line per scheme (mean), log y.

    The axis is in s, ms, µs or ns, whichever suits the median value. A light band spans
    the smallest to the largest value at each n when points were pooled.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`decode_time_vs_n_data`.
    ax, styles, title
        As in :func:`gcsim.plots.plot_round_time_vs_s`.

    Returns
    -------
    Axes
    """
    column = str(data["column"].iloc[0]) if len(data) else "mean_decode_wall"
    factor, unit = time_unit(data["mean"].to_numpy(float)) if len(data) else (1.0, "s")
    ylabel = _YLABEL.get(column, "decode time per round ({unit})").format(unit=unit)
    with styled_axes(ax, "workers n", ylabel) as ax:
        ax.set_title(title or "Decode time vs cluster size")
        if data.empty:
            return empty_state(ax, "no decode times measured")
        ax.set_yscale("log")
        rows_all = [(k, st, r.sort_values("n")) for k, st, r in scheme_rows(data, styles)]
        layers = overlap_layers(
            [(k, g["n"].to_numpy(float), g["mean"].to_numpy(float)) for k, _, g in rows_all],
            log=True,
        )
        for scheme, style, g in rows_all:
            x = g["n"].to_numpy(float)
            y = g["mean"].to_numpy(float) * factor
            kw = {**style.line_kwargs(), **layer_kwargs(layers[scheme])}
            ax.plot(x, y, label=style.legend(scheme), **kw)
            if (g["max"] > g["min"]).any():
                ax.fill_between(
                    x,
                    g["min"].to_numpy(float) * factor,
                    g["max"].to_numpy(float) * factor,
                    color=style.color,
                    alpha=0.12,
                    linewidth=0,
                    label=f"_range {scheme}",
                )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        add_legend(ax, title="scheme")
        return ax
