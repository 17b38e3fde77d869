"""Time to accuracy: mean training loss against simulated time with confidence bands
over replicates, and the time each scheme takes to reach the target loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from gcsim.analysis.accuracy import loss_bands, target_summary
from gcsim.plots._data import ResultsLike, cluster_records, labels, num, ok_summary, plottable
from gcsim.plots.style import SchemeStyle, add_legend, empty_state, scheme_rows, styled_axes

__all__ = ["ACCURACY_COLUMNS", "plot_time_to_accuracy", "time_to_accuracy_data"]

#: Columns of :func:`time_to_accuracy_data`.
ACCURACY_COLUMNS = ("scheme", "n", "s", "time", "mean", "lo", "hi", "k")


def time_to_accuracy_data(
    results: ResultsLike, *, n: int | None = None, target: float | None = None
) -> pd.DataFrame:
    """Mean loss curves with 95% bands (one row per scheme and grid time) of one cluster.

    The cluster (n, requested s) is chosen as for the loss figure. Each scheme's
    replicates are put on one time grid (:func:`gcsim.analysis.accuracy.loss_bands`).
    ``attrs["target"]`` is ``target``, by default the scenario's ``[accuracy]
    target_loss`` (None without one)
    and ``attrs["targets"]`` the per-scheme time to target
    (:func:`gcsim.analysis.accuracy.target_summary`) at that cluster.
    """
    empty = pd.DataFrame(columns=list(ACCURACY_COLUMNS))
    cluster = cluster_records(results, "loss", n, None)
    if cluster is None:
        return empty
    rec, n_used, s_used = cluster
    df = pd.DataFrame(
        {
            "scheme": labels(rec),
            "point": rec["point"].astype(str) if "point" in rec.columns else "?",
            "time": num(rec, "end"),
            "loss": num(rec, "loss"),
        }
    )
    df = df[plottable(df["loss"]) & plottable(df["time"])]
    parts = []
    for scheme, g in df.groupby("scheme", sort=True):
        runs = [
            (r["time"].to_numpy(float), r["loss"].to_numpy(float))
            for _, r in g.sort_values("time").groupby("point", sort=True)
        ]
        band = loss_bands(runs)
        if band["k"]:
            parts.append(
                pd.DataFrame(
                    {
                        "scheme": scheme,
                        "n": n_used,
                        "s": s_used,
                        "time": band["time"],
                        "mean": band["mean"],
                        "lo": band["lo"],
                        "hi": band["hi"],
                        "k": band["k"],
                    }
                )
            )
    if not parts:
        return empty
    out = pd.concat(parts, ignore_index=True)
    if target is None:
        resolved = getattr(results, "resolved", None) or {}
        target = (resolved.get("accuracy") or {}).get("target_loss")
    out.attrs["target"] = float(target) if target else None
    summ = ok_summary(results)
    keep = summ
    if "n" in summ.columns:
        keep = keep[pd.to_numeric(keep["n"], errors="coerce") == n_used]
    if "s_requested" in keep.columns and s_used is not None:
        own = set(rec.attrs.get("own_s", {}))
        keep = keep[(keep["s_requested"] == s_used) | keep["scheme"].isin(own)]
    out.attrs["targets"] = target_summary(keep) if target else pd.DataFrame()
    return out


def plot_time_to_accuracy(
    data: pd.DataFrame,
    *,
    axes: Sequence[Axes] | None = None,
    styles: Mapping[str, SchemeStyle] | None = None,
) -> list[Axes]:
    """Draw :func:`time_to_accuracy_data` on two axes: the loss bands (log loss axis,
    the target as a dashed line) and the time to target per scheme (mean and 95% CI
    over the replicates that reached it; the count is written when some did not)."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axs = plt.subplots(1, 2, figsize=(12.5, 4.6))
        axes = list(axs)
    ax_loss, ax_time = axes[0], axes[1]
    target = data.attrs.get("target")
    with styled_axes(ax_loss, "simulated wall-clock time (s)", "training loss") as ax:
        where = []
        if not data.empty:
            where = [f"n = {data['n'].iloc[0]}"]
            if data["s"].iloc[0] is not None and not pd.isna(data["s"].iloc[0]):
                where.append(f"requested s = {data['s'].iloc[0]}")
        ax.set_title("Loss vs time, mean and 95% CI" + (f" ({', '.join(where)})" if where else ""))
        if data.empty:
            empty_state(ax, "no finite training loss\n(the scenario trains no model)")
        else:
            for scheme, style, g in scheme_rows(data, styles):
                t = g["time"].to_numpy(float)
                every = max(1, len(t) // 8)
                ax.plot(
                    t, g["mean"], label=style.legend(scheme), markevery=every, **style.line_kwargs()
                )
                ax.fill_between(t, g["lo"], g["hi"], color=style.color, alpha=0.15, lw=0)
            if target:
                ax.axhline(target, color="0.3", ls="--", lw=1.0, label=f"target {target:g}")
            ax.set_yscale("log")
            handles, names = ax.get_legend_handles_labels()
            add_legend(ax, handles, names)
    with styled_axes(ax_time, "time to target loss (s, simulated)", "") as ax:
        ax.set_title("Time to reach the target" + (f" loss {target:g}" if target else ""))
        table = data.attrs.get("targets")
        if not target or table is None or table.empty:
            empty_state(ax, "no [accuracy] target_loss in the scenario")
            return [ax_loss, ax_time]
        rows = [(sc, st, g.iloc[0].to_dict()) for sc, st, g in scheme_rows(table, styles)]
        y = np.arange(len(rows))[::-1]
        for yi, (_scheme, style, r) in zip(y, rows, strict=True):
            if r["reached"] == 0:
                ax.text(
                    0.01,
                    yi,
                    "  never reached",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    color=style.color,
                )
                continue
            lo, hi = float(r["lo"]), float(r["hi"])
            if not np.isfinite(hi):  # one replicate reached it: no interval
                lo = hi = float(r["mean"])
            ax.errorbar(
                [r["mean"]],
                [yi],
                xerr=[[r["mean"] - lo], [hi - r["mean"]]],
                ms=7,
                capsize=3,
                **style.marker_kwargs(),
            )
            if r["reached"] < r["replicates"]:
                ax.annotate(
                    f" {r['reached']}/{r['replicates']} reached",
                    (hi, yi),
                    va="center",
                    fontsize=8,
                    color=style.color,
                )
        ax.set_yticks(y, [style.legend(scheme) for scheme, style, _ in rows])
        ax.set_xlim(left=0)
    return [ax_loss, ax_time]
