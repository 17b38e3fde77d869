"""Shared helpers of the data steps: getting the tables, filtering, choosing one value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = ["ResultsLike"]


class ResultsLike(Protocol):
    """Anything with the two tables of :class:`gcsim.scenarios.store.Results`."""

    summary: pd.DataFrame
    records: pd.DataFrame


def summary_of(obj: ResultsLike | pd.DataFrame) -> pd.DataFrame:
    """The summary table of a results object (a DataFrame is taken as the summary)."""
    df = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "summary", None)
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def records_of(obj: ResultsLike | pd.DataFrame) -> pd.DataFrame:
    """The records table of a results object (a DataFrame is taken as the records)."""
    df = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "records", None)
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


#: Largest magnitude a figure draws: matplotlib cannot place ticks on a range near the
#: float64 limit (1.8e308; a 5% margin overflows), so larger values count as overflowed.
PLOT_LIMIT = 1e300


def plottable(values: Any) -> np.ndarray:
    """Which values a figure can draw: finite and within :data:`PLOT_LIMIT`."""
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.isfinite(v) & (np.abs(v) <= PLOT_LIMIT)
    return out


def left_out(data: pd.DataFrame, count: int, what: str) -> pd.DataFrame:
    """Record on ``data`` (``data.attrs["left_out"]``, a list of phrases) that ``count``
    values were not drawn because they are not finite; the figure and its README say
    so. Returns ``data``."""
    if count:
        data.attrs.setdefault("left_out", []).append(
            f"{count} non-finite {what} left out: inf, NaN or beyond {PLOT_LIMIT:g} (overflow)"
        )
    return data


def own_s_note(data: pd.DataFrame, own: Mapping[str, Any]) -> pd.DataFrame:
    """Record on ``data`` (``attrs["picked"]``) the schemes shown at their only s, not
    at the s picked for the figure (:func:`select_cluster`). Returns ``data``."""
    shown = set(data["scheme"].astype(str)) if "scheme" in data.columns else set()
    parts = [f"{k} at its only s = {v}" for k, v in sorted(own.items()) if k in shown]
    if parts:
        data.attrs.setdefault("picked", []).append("; ".join(parts))
    return data


def left_out_note(data: pd.DataFrame) -> str:
    """The phrases of :func:`left_out`, joined (``""`` when nothing was left out)."""
    return "; ".join(data.attrs.get("left_out", []))


def has(df: pd.DataFrame, *cols: str) -> bool:
    return all(c in df.columns for c in cols)


def num(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as float (missing column or unparsable values -> NaN)."""
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").astype(float)


def as_bool(s: pd.Series) -> pd.Series:
    """A boolean column that may have been read back as text or numbers."""
    if s.dtype == bool:
        return s
    text = s.astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes"])


def ok_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows with ``status == "ok"`` (all rows when there is no status column)."""
    if summary.empty or "status" not in summary.columns:
        return summary.copy()
    return summary[summary["status"].astype(str) == "ok"].copy()


def ok_summary(obj: ResultsLike | pd.DataFrame) -> pd.DataFrame:
    """The ``status == "ok"`` rows of the summary table (:func:`ok_rows` of
    :func:`summary_of`)."""
    return ok_rows(summary_of(obj))


def labels(df: pd.DataFrame) -> pd.Series:
    """The scheme label column as text (``"?"`` where missing)."""
    if "scheme" not in df.columns:
        return pd.Series("?", index=df.index, dtype=object)
    return df["scheme"].map(lambda x: "?" if x is None or x != x else str(x))


def most_common(values: Iterable[Any]) -> Any:
    """The most frequent non-missing value; ties go to the largest. ``None`` if empty."""
    s = pd.Series(list(values), dtype=object).dropna()
    if s.empty:
        return None
    counts = s.value_counts(sort=False)
    top = counts.max()
    winners: list[Any] = [v for v, c in counts.items() if c == top]
    try:
        return max(winners)
    except TypeError:  # mixed types: fall back on the text
        return max(winners, key=str)


def single_values(data: pd.DataFrame, cols: Mapping[str, str]) -> list[str]:
    """``"name = v"`` for every column (``col -> name``) that holds exactly one value."""
    out: list[str] = []
    for col, name in cols.items():
        if col in data.columns:
            vals = list(pd.unique(data[col].dropna()))
            if len(vals) == 1:
                out.append(f"{name} = {as_int_if_whole(vals[0])}")
    return out


def as_int_if_whole(x: Any) -> Any:
    """``3.0 -> 3`` and numpy scalars to Python ones, for display; others unchanged."""
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    if isinstance(x, (float, np.floating)):
        return int(x) if np.isfinite(x) and float(x).is_integer() else float(x)
    return x


def pick(df: pd.DataFrame, col: str, value: Any) -> tuple[pd.DataFrame, Any]:
    """Keep the rows whose ``col`` is ``value`` (default: its most common value).

    Returns the rows and the value chosen (``None`` when the column is missing or empty,
    in which case the rows are returned unfiltered).
    """
    if col not in df.columns or df.empty:
        return df, None
    vals = pd.to_numeric(df[col], errors="coerce")
    if value is None:
        value = most_common(vals)
        if value is None:
            return df, None
    return df[vals == float(value)], as_int_if_whole(value)


def with_point_columns(records: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Records with ``n``, ``s`` and ``s_requested`` of their point (from the summary)."""
    rec = records.copy()
    if "point" in rec.columns and has(summary, "point"):
        cols = [c for c in ("n", "s", "s_requested") if c in summary.columns]
        info = summary.drop_duplicates("point").set_index("point")
        for c in cols:
            mapped = rec["point"].map(info[c])
            rec[c] = mapped if c not in rec.columns else rec[c].where(rec[c].notna(), mapped)
    return rec


def select_cluster(
    records: pd.DataFrame, summary: pd.DataFrame, n: Any, s: Any
) -> tuple[pd.DataFrame, Any, Any]:
    """The records of one cluster size and one straggler setting.

    ``n``: the given value, else the most common among the records (ties: largest).
    ``s``: compared with the swept ``code.s`` when the scenario sweeps it (every scheme
    of a sweep point has the same value, uncoded included), else with ``s_requested``
    (what the scenario asked for), else with the code's ``s``; default its most common
    value at that n. A scheme that runs at one s only, another one (``uncoded`` at
    s = 0 when the scenario does not sweep s), is kept at that s: its records carry
    ``attrs["own_s"]``, ``{label: s}``, for the figure's note. Other swept factors are
    the caller's (the figures make one panel per value).

    Returns the rows, the n and the s used (``None`` where the column is absent).
    """
    rec = with_point_columns(records, summary)
    rec, n_used = pick(rec, "n", n)
    s_col = next(
        (c for c in ("code.s", "s_requested") if c in rec.columns and rec[c].notna().any()), "s"
    )
    at_n = rec
    rec, s_used = pick(rec, s_col, s)
    own: dict[str, Any] = {}
    if s_used is not None and "scheme" in at_n.columns and s_col in at_n.columns:
        present = set(rec["scheme"].astype(str)) if "scheme" in rec.columns else set()
        extra = []
        for label, g in at_n.groupby(at_n["scheme"].astype(str), sort=True):
            vals = pd.to_numeric(g[s_col], errors="coerce").dropna().unique()
            if label not in present and len(vals) == 1:
                extra.append(g)
                own[label] = as_int_if_whole(vals[0])
        if extra:
            rec = pd.concat([rec, *extra])
    rec.attrs["own_s"] = own
    return rec, n_used, s_used


def cluster_records(
    results: ResultsLike, column: str, n: Any, s: Any
) -> tuple[pd.DataFrame, Any, Any] | None:
    """:func:`select_cluster` of the results' records, or ``None`` when there are no
    records or they lack ``column``."""
    rec = records_of(results)
    if rec.empty or column not in rec.columns:
        return None
    return select_cluster(rec, summary_of(results), n, s)
