"""Figure 2: the computation/communication trade-off, d against m at fixed s."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from gcsim.plots._data import (
    ResultsLike,
    as_int_if_whole,
    labels,
    most_common,
    num,
    ok_summary,
    pick,
)
from gcsim.plots.style import SchemeStyle, add_legend, empty_state, scheme_rows, styled_axes

__all__ = ["TRADEOFF_COLUMNS", "plot_tradeoff_d_vs_m", "tradeoff_d_vs_m_data"]

#: Columns of :func:`tradeoff_d_vs_m_data`.
TRADEOFF_COLUMNS = ("scheme", "s", "m", "d", "points")

#: Colour of the Ye–Abbe bound and its infeasible region.
BOUND_COLOR = "0.25"


def tradeoff_d_vs_m_data(
    results: ResultsLike | pd.DataFrame, *, s: int | None = None, n: int | None = None
) -> pd.DataFrame:
    """The distinct (scheme, s, m, d) operating points of the successful runs.

    ``s`` is the code's worst-case straggler tolerance, ``m`` its communication reduction
    and ``d`` its computation load (largest number of partitions per worker), all from the
    summary's ``status == "ok"`` rows with finite values. A code's load can depend on
    the cluster size, so the points are those of one n: ``n`` if given, else the most
    common n (ties to the largest); when several n are present, the choice is said in
    ``attrs["picked"]`` (the figure's note). Other swept factors (policy, precision,
    delays) do not change a code's s, m or d.

    Parameters
    ----------
    results : Results or DataFrame
        A loaded results folder or its summary table.
    s : int, optional
        Keep this s only (default: every s; the drawing picks one panel per s).
    n : int, optional
        Cluster size to keep.

    Returns
    -------
    DataFrame
        Columns :data:`TRADEOFF_COLUMNS` (``points``: how many summary rows share it),
        sorted by s, scheme, m, d.
    """
    df = ok_summary(results)
    df = pd.DataFrame(
        {
            "scheme": labels(df),
            "n": num(df, "n"),
            "s": num(df, "s"),
            "m": num(df, "m"),
            "d": num(df, "d"),
        }
    )
    finite = np.isfinite(df[["s", "m", "d"]].to_numpy(float)).all(axis=1)
    df = df.loc[pd.Series(finite, index=df.index, dtype=bool)]
    all_n = sorted({as_int_if_whole(v) for v in df["n"].dropna()})
    picked = ""
    if n is not None or len(all_n) > 1:
        df, n_used = pick(df, "n", n)
        if len(all_n) > 1:
            how = "" if n is not None else "the most common n, ties to the largest, "
            picked = f"at n = {n_used}: {how}of n = " + ", ".join(str(v) for v in all_n)
    if s is not None:
        df = df.loc[df["s"] == float(s)]
    if df.empty:
        return pd.DataFrame(columns=list(TRADEOFF_COLUMNS))
    out = df.groupby(["s", "scheme", "m", "d"], sort=True).size().rename("points").reset_index()
    for c in ("s", "m", "d"):
        if np.all(np.mod(out[c], 1) == 0):
            out[c] = out[c].astype(int)
    out = out[list(TRADEOFF_COLUMNS)].reset_index(drop=True)
    if picked:
        out.attrs["picked"] = [picked]
    return out


def plot_tradeoff_d_vs_m(
    data: pd.DataFrame,
    *,
    s: int | None = None,
    ax: Axes | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
    title: str | None = None,
) -> Axes:
    """Draw one panel of :func:`tradeoff_d_vs_m_data` with the Ye–Abbe bound d = s + m.

    Every scheme is a set of markers; markers of several schemes at the same (m, d) are
    spread along the bound's direction (equal steps in m and d), so all stay visible and
    each stays on its side of the bound: a point on the bound stays on it, one above it
    above, one below it (an inexact code) below. The bound is a line (label starting
    ``"Ye–Abbe bound"``) and the region below it, infeasible for an exact code with
    k = n partitions, is shaded.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`tradeoff_d_vs_m_data`.
    s : int, optional
        The panel's s (default: the most common s of ``data``, ties to the largest).
    ax, styles, title
        As in :func:`gcsim.plots.plot_round_time_vs_s`.

    Returns
    -------
    Axes
    """
    with styled_axes(
        ax,
        "communication reduction m (messages of ⌈l/m⌉ values)",
        "computation load d (partitions per worker)",
    ) as ax:
        if s is None and not data.empty:
            s = most_common(data["s"])
        if s is not None:
            data = data[data["s"] == s]
        s_txt = f" at s = {as_int_if_whole(s)}" if s is not None else ""
        ax.set_title(title or f"Computation vs communication{s_txt}")
        if data.empty:
            return empty_state(ax, "no successful points with known s, m and d")
        s_val = float(s) if s is not None else 0.0
        rows = scheme_rows(data, styles)
        m_max = float(data["m"].max())
        xs = np.linspace(min(1.0, float(data["m"].min())) - 0.5, m_max + 0.5, 50)
        dodge = _dodge(data, [scheme for scheme, _, _ in rows])
        for scheme, style, g in rows:
            hollow = style.inexact  # a hollow marker keeps its coloured edge
            step = dodge[g.index].to_numpy(float)
            ax.plot(
                g["m"].to_numpy(float) + step,
                g["d"].to_numpy(float) + step,
                linestyle="none",
                markersize=8,
                label=style.legend(scheme),
                markeredgecolor=style.color if hollow else "white",
                markeredgewidth=1.4 if hollow else 0.6,
                zorder=3,
                **style.marker_kwargs(),
            )
        ax.plot(
            xs,
            s_val + xs,
            color=BOUND_COLOR,
            linestyle="--",
            linewidth=1.4,
            label="Ye–Abbe bound d = s + m",
            zorder=2,
        )
        y_top = max(float(data["d"].max()), s_val + m_max) + 1.0
        ax.fill_between(
            xs,
            0.0,
            s_val + xs,
            color=BOUND_COLOR,
            alpha=0.12,
            linewidth=0,
            label="infeasible for exact codes",
            zorder=1,
        )
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(0.0, y_top)
        ticks = np.arange(np.ceil(xs[0]), np.floor(xs[-1]) + 1.0)
        if len(ticks) <= 16:
            ax.set_xticks(ticks)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        add_legend(ax)
        return ax


def _dodge(data: pd.DataFrame, names: list[str]) -> pd.Series:
    """Offsets t that separate schemes sharing one (m, d) point: each is drawn at
    (m + t, d + t), along the bound d = s + m, so its side of the bound never changes."""
    off = pd.Series(0.0, index=data.index)
    rank = {name: i for i, name in enumerate(names)}
    for _, g in data.groupby(["m", "d"]):
        k = len(g)
        if k < 2:
            continue
        width = min(0.1, 0.4 / k)
        order = sorted(g.index, key=lambda i: rank.get(str(data.at[i, "scheme"]), 0))
        for j, i in enumerate(order):
            off[i] = (j - (k - 1) / 2.0) * width
    return off
