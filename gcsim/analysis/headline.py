"""The headline of a sweep: mean round time per scheme and s, and the winner per s.

:func:`headline_table` turns a results folder's summary table (one row per point,
:data:`gcsim.scenarios.store.SUMMARY_COLUMNS`) into a small plain-text table that
``gcsim sweep`` prints at the end (``make demo`` ends with it): one row per scheme, one
column per value of s (the swept ``code.s`` when the scenario sweeps it, else the
first swept factor, else the requested s; any other swept factor gets a table per
value), each cell the mean round time over the point's replicates, and a last
row naming the fastest **exact** scheme per column. Inexact schemes (which do not
recover the exact gradient sum, e.g. ``ignore-stragglers``) are marked and never win.
No I/O: the caller prints the string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["headline_table"]


def headline_table(
    summary: pd.DataFrame,
    *,
    by: str | None = None,
    exact: Mapping[str, bool] | None = None,
    factors: Sequence[str] = (),
) -> str:
    """The headline table of a sweep's summary (see the module docstring).

    Parameters
    ----------
    summary : DataFrame
        One row per point, with at least ``scheme``, ``code``, ``status``,
        ``mean_round_time`` and ``s_requested`` (or the ``by`` column).
    by : str or None
        The column to put across; default ``code.s`` when it is swept, else the first
        swept factor of ``factors`` that varies, else ``s_requested``.
    exact : mapping or None
        Registry name -> whether the code is exact; default from the scheme registry
        (an unknown name counts as exact).

    factors : list of str
        The sweep's factors (columns of ``summary``). Every other factor that varies
        gets one table per value (never pooled into one mean).

    Returns
    -------
    str
        Lines without a trailing newline; ``""`` when there are no points.
    """
    if summary.empty:
        return ""
    varying = [f for f in factors if f in summary.columns and summary[f].nunique() > 1]
    if by is None:
        if "code.s" in varying or ("code.s" in summary.columns and not varying):
            by = "code.s"
        else:
            by = varying[0] if varying else "s_requested"
    others = [f for f in varying if f != by]
    if others:
        parts = []
        for key, part in summary.groupby(others, sort=True):
            vals = key if isinstance(key, tuple) else (key,)
            where = ", ".join(f"{f}={_fmt_value(v)}" for f, v in zip(others, vals, strict=True))
            parts.append(f"at {where}:\n" + headline_table(part, by=by, exact=exact))
        return "\n\n".join(parts)
    col = by
    if exact is None:
        exact = _registry_exactness(summary["code"].astype(str).unique())
    schemes = list(dict.fromkeys(summary["scheme"].astype(str)))
    values = sorted(summary[col].dropna().unique().tolist())
    code_of = dict(zip(summary["scheme"].astype(str), summary["code"].astype(str), strict=False))
    inexact = {sc for sc in schemes if not exact.get(code_of[sc], True)}
    adjusted_any = False
    cells: dict[str, list[str]] = {}
    means: dict[tuple[str, Any], float] = {}
    for sc in schemes:
        row = []
        for v in values:
            pts = summary[(summary["scheme"].astype(str) == sc) & (summary[col] == v)]
            text, mean = _cell(pts)
            if mean is not None:
                means[sc, v] = mean
            if "adjusted" in pts.columns and any(
                isinstance(v, str) and v != "" for v in pts["adjusted"]
            ):
                text += "*"
                adjusted_any = True
            row.append(text)
        cells[sc] = row
    winners = []
    for v in values:
        cand = [(means[sc, v], sc) for sc in schemes if sc not in inexact and (sc, v) in means]
        winners.append(min(cand)[1] if cand else "-")
    label = {sc: sc + (" (inexact)" if sc in inexact else "") for sc in schemes}
    name = "s" if col in ("code.s", "s_requested") else col
    head = ["scheme", *(f"{name}={_fmt_value(v)}" for v in values)]
    body = [[label[sc], *cells[sc]] for sc in schemes]
    body.append(["fastest exact", *winners])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        first = r[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    reps = summary.groupby(["scheme", col]).size()
    n_rep = int(reps.max()) if len(reps) else 1
    out = [
        "mean round time (ms)"
        + (f" over {n_rep} replicates" if n_rep > 1 else "")
        + f"; last row: the fastest exact scheme per {name}",
        line(head),
        line(["-" * widths[0], *("-" * w for w in widths[1:])]),
        *(line(r) for r in body[:-1]),
        line(["-" * widths[0], *("-" * w for w in widths[1:])]),
        line(body[-1]),
    ]
    notes = []
    if inexact:
        notes.append("(inexact): does not recover the exact gradient sum; never the winner")
    if adjusted_any:
        notes.append("*: the code runs at another s or d than requested (see above)")
    texts = {c.rstrip("*") for r in body[:-1] for c in r[1:]}
    if "-" in texts:
        notes.append("-: infeasible, or no decoded round")
    if "failed" in texts:
        notes.append("failed: the point failed (see above)")
    out.extend(notes)
    return "\n".join(out)


def _cell(pts: pd.DataFrame) -> tuple[str, float | None]:
    """A cell's text and its mean round time (None when there is none)."""
    if pts.empty:
        return "", None
    ok = pts[pts["status"].astype(str) == "ok"]
    vals = [float(x) for x in ok["mean_round_time"] if math.isfinite(float(x))]
    if not vals:
        return ("failed" if (pts["status"].astype(str) == "failed").any() else "-"), None
    mean = sum(vals) / len(vals)
    return f"{mean * 1e3:.1f}", mean


def _fmt_value(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _registry_exactness(codes: Any) -> dict[str, bool]:
    from gcsim.codes.registry import scheme_info
    from gcsim.errors import UnknownSchemeError

    out = {}
    for name in codes:
        try:
            out[str(name)] = scheme_info(str(name)).exact
        except UnknownSchemeError:
            out[str(name)] = True
    return out
