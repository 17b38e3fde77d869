"""Figure 4: empirical CDF of the round times of one cluster, per scheme."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from gcsim.plots._data import (
    ResultsLike,
    as_bool,
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

__all__ = ["CDF_COLUMNS", "HEAVY_TAIL_RATIO", "plot_round_time_cdf", "round_time_cdf_data"]

#: Columns of :func:`round_time_cdf_data`.
CDF_COLUMNS = ("scheme", "n", "s", "duration", "cdf")

#: The CDF's time axis is logarithmic when the longest round is this many times the
#: median one (a linear axis would squash every curve against zero).
HEAVY_TAIL_RATIO = 20.0


def wants_log_time(durations: np.ndarray) -> bool:
    """Whether round times are heavy-tailed enough for a log time axis: all positive,
    and the longest at least :data:`HEAVY_TAIL_RATIO` times the median."""
    d = np.asarray(durations, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0 or (d <= 0).any():
        return False
    return bool(d.max() >= HEAVY_TAIL_RATIO * float(np.median(d)))


def round_time_cdf_data(
    results: ResultsLike, *, n: int | None = None, s: int | None = None
) -> pd.DataFrame:
    """Empirical CDF of the decoded rounds' durations, per scheme, for one cluster.

    Uses the per-round ``records`` (``decoded`` rounds with a finite ``duration``; how
    many decoded rounds were left out as non-finite is in ``attrs["left_out"]``) of
    one n — ``n`` if given, else the most common n among the records (ties to the
    largest) — and one straggler setting ``s``, compared with the points' requested s
    (``s_requested`` in the summary, the same for every scheme at a sweep point; the
    code's own s when the summary lacks it), default its most common value. Replicates
    and any other swept factor are pooled.

    Parameters
    ----------
    results : Results
        A loaded results folder (both tables are used).
    n, s : int, optional
        The cluster size and requested straggler count to keep.

    Returns
    -------
    DataFrame
        Columns :data:`CDF_COLUMNS`: per scheme the sorted durations (s) and
        ``cdf = i / N`` (i = 1..N), the fraction of its rounds no longer than that.
    """
    cluster = cluster_records(results, "duration", n, s)
    if cluster is None:
        return pd.DataFrame(columns=list(CDF_COLUMNS))
    rec, n_used, s_used = cluster
    own = dict(rec.attrs.get("own_s", {}))
    dur = num(rec, "duration")
    decoded = as_bool(rec["decoded"]) if "decoded" in rec.columns else dur.notna()
    keep = plottable(dur) & decoded
    skipped = int((decoded & ~keep).sum())
    rec = pd.DataFrame({"scheme": labels(rec), "duration": dur})[keep]
    parts = []
    for scheme, g in rec.groupby("scheme", sort=True):
        d = np.sort(g["duration"].to_numpy(float))
        parts.append(
            pd.DataFrame(
                {
                    "scheme": scheme,
                    "n": n_used,
                    "s": s_used,
                    "duration": d,
                    "cdf": np.arange(1, len(d) + 1) / len(d),
                }
            )
        )
    if not parts:
        return left_out(pd.DataFrame(columns=list(CDF_COLUMNS)), skipped, "round time(s)")
    out = pd.concat(parts, ignore_index=True)[list(CDF_COLUMNS)]
    return own_s_note(left_out(out, skipped, "round time(s)"), own)


def plot_round_time_cdf(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
    logx: bool | None = None,
    title: str | None = None,
) -> Axes:
    """Draw :func:`round_time_cdf_data`: one step curve per scheme.

    Curves that coincide (two codes with the same round times) are drawn dashed over
    one another (:func:`~gcsim.plots.style.layer_kwargs`), so both stay visible.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`round_time_cdf_data`.
    ax, styles, title
        As in :func:`gcsim.plots.plot_round_time_vs_s`.
    logx : bool or None
        Log-scale time axis. ``None`` (default): log when the round times are
        heavy-tailed (:func:`wants_log_time`), so that the curves are not squashed
        against zero by a few very long rounds; the axis label says "log scale".

    Returns
    -------
    Axes
    """
    with styled_axes(ax, "round time t (s, simulated)", "fraction of rounds ≤ t") as ax:
        where = single_values(data, {"n": "n", "s": "requested s"})
        ax.set_title(title or "Round time CDF" + (f" ({', '.join(where)})" if where else ""))
        if data.empty:
            return empty_state(ax, "no decoded rounds in the records")
        rows = scheme_rows(data, styles)
        curves = []
        for scheme, _, g in rows:
            x = g["duration"].to_numpy(float)
            y = g["cdf"].to_numpy(float)
            curves.append((scheme, np.concatenate([[x[0]], x]), np.concatenate([[0.0], y])))
        layers = overlap_layers([(k, y, x) for k, x, y in curves], log=True)  # same steps
        for (scheme, style, _), (_, x, y) in zip(rows, curves, strict=True):
            ax.step(
                x,
                y,
                where="post",
                label=style.legend(scheme),
                **{
                    "color": style.color,
                    "linestyle": style.linestyle,
                    **layer_kwargs(layers[scheme]),
                },
            )
        if logx is None:
            logx = wants_log_time(data["duration"].to_numpy(float))
        if logx and (data["duration"] > 0).all():
            ax.set_xscale("log")
            ax.set_xlabel("round time t (s, simulated; log scale)")
        ax.set_ylim(0.0, 1.02)
        add_legend(ax, title="scheme")
        return ax
