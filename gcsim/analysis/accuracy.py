"""Time to accuracy: when a run's training loss first reaches a target.

Inexact codes trade gradient error for round time, so round time alone no longer ranks
schemes: what counts is the simulated time until the model is good enough. A run's
**time to target** is the end (simulated seconds since the run started) of the first
round after whose update the training loss is at most the target; **rounds to target**
is that round's number plus one. A run that never reaches the target has NaN for both.

:func:`time_to_target` is one run's; :func:`loss_bands` puts several runs (replicates)
of a scheme on one time grid (each run's loss is a step function of time: the loss after
round r holds from the end of round r to the end of round r + 1) and gives the mean and
a 95% t-interval at every grid time, where every replicate has a value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["loss_bands", "target_summary", "time_to_target"]


def time_to_target(records: pd.DataFrame, target: float | None) -> dict[str, float]:
    """``{"rounds_to_target": ..., "time_to_target": ...}`` of one run's records
    (columns ``round``, ``end``, ``loss``; failed rounds have a NaN loss). Empty when
    there is no target (None or <= 0)."""
    if target is None or not target > 0:
        return {}
    if records.empty or "loss" not in records.columns:
        return {"rounds_to_target": math.nan, "time_to_target": math.nan}
    loss = pd.to_numeric(records["loss"], errors="coerce").to_numpy(float)
    end = pd.to_numeric(records["end"], errors="coerce").to_numpy(float)
    rounds = pd.to_numeric(records["round"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        hit = np.flatnonzero(np.isfinite(loss) & (loss <= target) & np.isfinite(end))
    if not hit.size:
        return {"rounds_to_target": math.nan, "time_to_target": math.nan}
    i = int(hit[0])
    return {"rounds_to_target": float(rounds[i] + 1), "time_to_target": float(end[i])}


def target_summary(summary: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per scheme: mean time to target over the replicates that reached it, its
    t-interval, and how many reached it.

    Columns: ``scheme``, ``reached``, ``replicates``, ``mean``, ``lo``, ``hi`` (seconds;
    ``mean`` NaN where no replicate reached the target, ``lo`` and ``hi`` NaN where
    fewer than two did: no interval)."""
    from scipy import stats

    rows = []
    ok = summary[summary["status"].astype(str) == "ok"]
    for scheme, g in ok.groupby("scheme", sort=False):
        col = g["time_to_target"] if "time_to_target" in g.columns else pd.Series(math.nan, g.index)
        t = pd.to_numeric(col, errors="coerce").to_numpy(float)
        got = t[np.isfinite(t)]
        mean = float(got.mean()) if got.size else math.nan
        half = math.nan
        if got.size > 1:
            half = float(stats.t.ppf(0.5 + level / 2, got.size - 1) * got.std(ddof=1))
            half /= math.sqrt(got.size)

        rows.append(
            {
                "scheme": str(scheme),
                "reached": int(got.size),
                "replicates": len(t),
                "mean": mean,
                "lo": mean - half,
                "hi": mean + half,
            }
        )
    return pd.DataFrame(rows, columns=["scheme", "reached", "replicates", "mean", "lo", "hi"])


def loss_bands(
    runs: list[tuple[np.ndarray, np.ndarray]], *, points: int = 200, level: float = 0.95
) -> dict[str, Any]:
    """Mean loss of several runs on a common time grid, with its t-interval.

    ``runs``: one ``(end_times, losses)`` per replicate (finite values, times
    increasing). The grid runs from the latest first round's end to the earliest last
    round's end (where every run has a value). Returns arrays ``time``, ``mean``,
    ``lo``, ``hi`` and the number of runs ``k`` (``lo = hi = mean`` when k = 1)."""
    from scipy import stats

    runs = [(t, v) for t, v in runs if len(t)]
    if not runs:
        empty = np.zeros(0)
        return {"time": empty, "mean": empty, "lo": empty, "hi": empty, "k": 0}
    start = max(float(t[0]) for t, _ in runs)
    stop = min(float(t[-1]) for t, _ in runs)
    grid = np.linspace(start, stop, points) if stop > start else np.array([start])
    vals = np.empty((len(runs), len(grid)))
    for i, (t, v) in enumerate(runs):
        idx = np.searchsorted(t, grid, side="right") - 1
        vals[i] = v[np.clip(idx, 0, len(v) - 1)]
    mean = vals.mean(axis=0)
    k = len(runs)
    if k > 1:
        half = stats.t.ppf(0.5 + level / 2, k - 1) * vals.std(axis=0, ddof=1) / math.sqrt(k)
    else:
        half = np.zeros_like(mean)
    return {"time": grid, "mean": mean, "lo": mean - half, "hi": mean + half, "k": k}
