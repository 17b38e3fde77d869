"""The advisor's Pareto figure: the objective against load d, bytes per round and the
worst condition number, every evaluated configuration a point, the front a step line.

The data step (:func:`pareto_data`, a tidy DataFrame) is separate from the drawing
(:func:`plot_pareto`, a matplotlib Figure without pyplot), and :func:`save_figure` writes
the file atomically (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gcsim.advise.result import Advice

__all__ = ["AXES", "pareto_data", "pareto_front", "plot_pareto", "save_figure"]

#: the x axes of the three panels: column, label, log scale
AXES = (
    ("d", "computation load d (partitions per worker)", False),
    ("bytes_per_round", "bytes per round (all n messages)", True),
    ("worst_cond", "worst condition number of the decoders", True),
)


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of the points no other point beats in both x and y (smaller is better)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    front = np.zeros(len(x), dtype=bool)
    best = math.inf  # the best y at any smaller x
    for xv in np.unique(x[ok]):
        at = np.flatnonzero(ok & (x == xv))
        low = float(y[at].min())
        if low < best:
            front[at[y[at] == low]] = True  # ties are all on the front
            best = low
    return front


def pareto_data(advice: Advice) -> pd.DataFrame:
    """One row per evaluated configuration with a finite value: scheme, generator, s, m,
    d, rule, policy, value, bytes_per_round, worst_cond, status, ``winner``, and for each
    x axis of :data:`AXES` whether the point is on that front (``front_d`` ...). Rows
    excluded by a constraint are kept (drawn hollow) but are never on a front."""
    df = advice.all_rows()
    if df.empty:
        return df
    df = df[np.isfinite(df["value"].to_numpy(dtype=float))].copy()
    df = df.drop_duplicates(subset=["scheme", "generator", "s", "m", "d", "rule", "policy"])
    best = advice.best
    df["winner"] = (
        (df["scheme"] == best.scheme)
        & (df["generator"] == best.generator)
        & (df["s"] == best.s)
        & (df["m"] == best.m)
        & (df["rule"] == best.rule)
        & (df["policy"] == best.policy)
    )
    usable = (df["status"] != "excluded").to_numpy()
    for col, _, _ in AXES:
        x = df[col].to_numpy(dtype=float)
        y = np.where(usable, df["value"].to_numpy(dtype=float), np.nan)
        df[f"front_{col}"] = pareto_front(x, y)
    return df.reset_index(drop=True)


def plot_pareto(data: pd.DataFrame, *, objective: str = "mean round time") -> Figure:
    """Three panels (load d, bytes per round, worst condition number) of the objective;
    points coloured by scheme (the registry's styles), the front as a step line, the
    winner circled. Returns a :class:`matplotlib.figure.Figure` (no pyplot)."""
    from gcsim.plots.style import add_legend, new_axes, scheme_styles, style_context

    with style_context():
        fig, axs = new_axes(3, width=16.5, height=4.2)
        if data.empty:
            for ax in axs:
                ax.text(0.5, 0.5, "nothing evaluated", ha="center", transform=ax.transAxes)
            return fig
        styles = scheme_styles(data["scheme"].unique())
        handles: dict[str, Any] = {}
        for ax, (col, label, log) in zip(axs, AXES, strict=True):
            for scheme, st in styles.items():
                sub = data[data["scheme"] == scheme]
                if sub.empty:
                    continue
                x = sub[col].to_numpy(dtype=float)
                y = sub["value"].to_numpy(dtype=float)
                excl = (sub["status"] == "excluded").to_numpy()
                h = ax.scatter(
                    x[~excl],
                    y[~excl],
                    s=18,
                    color=st.color,
                    marker=st.marker,
                    alpha=0.75,
                    label=st.legend(scheme),
                )
                if excl.any():
                    ax.scatter(
                        x[excl],
                        y[excl],
                        s=18,
                        facecolors="none",
                        edgecolors=st.color,
                        marker=st.marker,
                        alpha=0.6,
                    )
                handles.setdefault(st.legend(scheme), h)
            front = data[data[f"front_{col}"]].sort_values(col)
            if len(front):
                ax.step(
                    front[col].to_numpy(dtype=float),
                    front["value"].to_numpy(dtype=float),
                    where="post",
                    color="0.3",
                    lw=1.0,
                    zorder=1,
                )
            win = data[data["winner"]]
            if len(win):
                (hw,) = ax.plot(
                    win[col].to_numpy(dtype=float),
                    win["value"].to_numpy(dtype=float),
                    "o",
                    ms=13,
                    mfc="none",
                    mec="k",
                    mew=1.5,
                    label="recommended",
                )
                handles.setdefault("recommended", hw)
            if log:
                finite = data[col].to_numpy(dtype=float)
                if np.any(np.isfinite(finite) & (finite > 0)):
                    ax.set_xscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel(objective)
        axs[0].set_title("vs computation load")
        axs[1].set_title("vs communication")
        axs[2].set_title("vs numerical stability")
        add_legend(axs[-1], list(handles.values()), list(handles))
        return fig


def save_figure(fig: Figure, path: Path, *, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the suffix)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fmt = path.suffix.lstrip(".") or "png"
    meta: dict[str, Any] = {"CreationDate": None} if fmt == "pdf" else {}

    def write(tmp: str) -> None:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", metadata=meta or None)

    from gcsim.advise.result import atomic_replace

    return atomic_replace(path, write, suffix=f".{fmt}")
