"""Summary tables a paper can use: every scheme against a reference, paired by round.

Every scheme of a sweep point sees the same delay draws (common random numbers: the
streams depend on the seed and the replicate, not on the scheme), so round r of
replicate j of scheme A and round r of replicate j of the reference B at the same
swept values faced the same delays. :func:`paired_table` pairs those rounds, takes the
per-round difference of round times A - B, and reports per group of ``by`` values:

* the statistic (mean, median or p95) of A's and B's round times over the paired rounds;
* the difference (for the mean: the mean of the paired differences, which equals the
  difference of the means) and the relative difference (difference / B's value);
* a confidence interval for the difference: for the mean a t-interval on the paired
  differences (``mean ± t(level, k-1) sd / sqrt(k)``), for the median and p95 a paired
  bootstrap (resampling the pairs; percentile interval).

Rounds are treated as independent; that holds for the ``cancel`` policy with i.i.d.
delay models, not for ``non-preemptive`` or persistent / trace delays (the table says
so). A round counts only when both schemes decoded it.

:meth:`PairedTable.to_markdown`, :meth:`~PairedTable.to_latex` and
:meth:`~PairedTable.to_csv` format the result; ``gcsim table`` prints them.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gcsim.errors import InvalidInputError

__all__ = ["FORMATS", "STATS", "TABLE_COLUMNS", "PairedTable", "paired_table"]

#: Statistics of the round time a table can compare.
STATS = ("mean", "median", "p95")

#: Output formats of :meth:`PairedTable.format`.
FORMATS = ("md", "latex", "csv")

#: Columns of :attr:`PairedTable.data` after the ``by`` columns.
TABLE_COLUMNS = (
    "scheme",
    "reference",
    "s_requested",
    "s",
    "d",
    "stat",
    "value",
    "ref_value",
    "diff",
    "rel_diff",
    "ci_low",
    "ci_high",
    "level",
    "pairs",
)

#: Short names a user may give to ``by`` for the usual swept keys.
ALIASES = {"s": "code.s", "m": "code.m", "n": "cluster.n", "seed": "scenario.seed"}

#: How ``by`` columns are headed in the formatted tables.
HEADINGS = {"code.s": "s", "code.m": "m", "cluster.n": "n"}

_QUANTILE = {"median": 50.0, "p95": 95.0}
_CORRELATED = ("persistent", "markov", "trace")


@dataclass
class PairedTable:
    """The outcome of :func:`paired_table`.

    Attributes
    ----------
    data : DataFrame
        One row per (group, scheme): the ``by`` columns then :data:`TABLE_COLUMNS`.
        Times in seconds; ``rel_diff`` a fraction; the reference's own row has
        ``reference = True`` and NaN differences.
    by : list of str
        The grouping columns (swept keys).
    reference : str
        The scheme every other is compared with.
    stat : str
        One of :data:`STATS`.
    level : float
        Confidence level of the intervals.
    notes : list of str
        What the table is (pairing, interval, what was pooled, what is missing).
    inexact : list of str
        Schemes whose code does not recover the exact gradient sum (the registry's
        ``exact`` flag, e.g. ``ignore-stragglers``): marked ``(inexact)`` in the
        formatted tables, so a fast estimate never reads as the best exact scheme.
    """

    data: pd.DataFrame
    by: list[str]
    reference: str
    stat: str
    level: float
    notes: list[str] = field(default_factory=list)
    inexact: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ formatting
    def format(self, fmt: str) -> str:
        """The table as ``md``, ``latex`` or ``csv`` text."""
        if fmt == "md":
            return self.to_markdown()
        if fmt == "latex":
            return self.to_latex()
        if fmt == "csv":
            return self.to_csv()
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")

    def to_csv(self) -> str:
        """The tidy data (seconds, full precision), one header line; no notes."""
        return str(self.data.to_csv(index=False))

    def _cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        """Header and body cells (plain text, one time unit) and the notes."""
        data = self.data
        scale, unit = _unit(data["ref_value"].to_numpy(float))
        dec = _decimals(data["ref_value"].to_numpy(float) * scale)
        head = [HEADINGS.get(b, b) for b in self.by] + [
            "scheme",
            "eff. s",
            "d",
            f"{self.stat} ({unit})",
            f"Δ vs {self.reference} ({unit})",
            "Δ %",
            f"{self.level:.0%} CI of Δ ({unit})",
            "pairs",
        ]
        rows: list[list[str]] = []
        marked = marked_inexact = False
        for r in data.to_dict("records"):
            s_txt = _text(r["s"])
            if s_txt != _text(r["s_requested"]):
                s_txt += "*"
                marked = True
            if r["reference"]:
                diff = rel = ci = "—"
            else:
                diff = _num(r["diff"] * scale, dec, sign=True)
                rel = _num(100.0 * r["rel_diff"], 1, sign=True)
                lo, hi = _num(r["ci_low"] * scale, dec), _num(r["ci_high"] * scale, dec)
                ci = f"[{lo}, {hi}]" if lo and hi else ""
            name = str(r["scheme"])
            if name in self.inexact:
                name += " (inexact)"
                marked_inexact = True
            rows.append(
                [_text(r[b]) for b in self.by]
                + [
                    name + (" (reference)" if r["reference"] else ""),
                    s_txt,
                    _text(r["d"]),
                    _num(r["value"] * scale, dec),
                    diff,
                    rel,
                    ci,
                    str(int(r["pairs"])),
                ]
            )
        notes = list(self.notes)
        if marked_inexact:
            notes.append("(inexact): does not recover the exact gradient sum, only an estimate")
        if marked:
            notes.append(
                "eff. s*: the code runs at this s, not the requested one (s_requested in the CSV)"
            )
        return head, rows, notes

    def to_markdown(self) -> str:
        """A GitHub-flavoured markdown table, then the notes as a list."""
        head, rows, notes = self._cells()
        left = len(self.by) + 1
        lines = [
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|",
        ]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        if notes:
            lines += [""] + [f"- {n}" for n in notes]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A LaTeX ``tabular`` with booktabs rules, the notes as ``%`` comments above."""
        head, rows, notes = self._cells()
        align = "l" * (len(self.by) + 1) + "r" * (len(head) - len(self.by) - 1)
        lines = ["% gcsim table (\\usepackage{booktabs})"]
        lines += [f"% {n}" for n in notes]
        lines += [
            f"\\begin{{tabular}}{{{align}}}",
            "\\toprule",
            " & ".join(_latex(h) for h in head) + " \\\\",
            "\\midrule",
        ]
        lines += [" & ".join(_latex(c) for c in row) + " \\\\" for row in rows]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- formatting helpers
def _unit(values: np.ndarray) -> tuple[float, str]:
    """A time unit in which the largest value is at least 1 (s, ms or µs)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 1.0
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if top * scale >= 1.0:
            return scale, unit
    return 1e6, "µs"


def _decimals(values: np.ndarray) -> int:
    """Decimals that give the largest value four significant digits."""
    finite = np.abs(values[np.isfinite(values) & (values != 0)])
    if not finite.size:
        return 3
    return int(min(6, max(0, 3 - math.floor(math.log10(float(finite.max()))))))


def _num(v: Any, dec: int, *, sign: bool = False) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    return f"{x:+.{dec}f}" if sign else f"{x:.{dec}f}"


def _text(v: Any) -> str:
    """A cell value: whole floats as integers, missing as empty."""
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        if float(v).is_integer():
            return str(int(v))
    return str(v)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "Δ": r"$\Delta$",
    "µ": r"$\mu$",
    "—": "--",
}


def _latex(text: str) -> str:
    """Escape a plain-text cell for LaTeX; a leading minus of a number becomes $-$."""
    out = "".join(_LATEX_SPECIAL.get(c, c) for c in text)
    return re.sub(r"(?<![\w.])-(?=\d)", "$-$", out)


# ---------------------------------------------------------------------- the data step
def _resolve_by(by: Sequence[str], factors: list[str], columns: pd.Index) -> list[str]:
    """Map ``by`` names (swept keys, or s / m / n / seed for code.s ...) to columns."""
    out: list[str] = []
    for name in by:
        col = name if name in factors else ALIASES.get(name, name)
        if col not in factors:
            if name == "n" and "n" in columns:
                col = "n"  # n is not swept: one value, one group
            else:
                close = difflib.get_close_matches(name, factors + list(ALIASES), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(factors) or "none"
                raise InvalidInputError(
                    f"--by {name}: not a swept key of these results{hint}; swept keys: "
                    f"{known} (s, m and n stand for code.s, code.m and cluster.n)"
                )
        if col not in out:
            out.append(col)
    return out


def _values(series: pd.Series) -> str:
    """Distinct values of a column as text (``"4"``, ``"3/4"``)."""
    vals = sorted({_text(v) for v in series if _text(v) != ""}, key=lambda x: (len(x), x))
    return "/".join(vals)


def _stat(x: np.ndarray, stat: str) -> float:
    if not len(x):
        return math.nan
    if stat == "mean":
        return float(np.mean(x))
    return float(np.percentile(x, _QUANTILE[stat]))


def _interval(
    x: np.ndarray, y: np.ndarray, stat: str, level: float, rng: np.random.Generator, resamples: int
) -> tuple[float, float]:
    """Confidence interval of stat(x) - stat(y) over k paired rounds."""
    k = len(x)
    if k < 2:
        return math.nan, math.nan
    if stat == "mean":
        from scipy import stats

        d = x - y
        half = (
            float(stats.t.ppf(0.5 + level / 2.0, k - 1)) * float(np.std(d, ddof=1)) / math.sqrt(k)
        )
        return float(np.mean(d)) - half, float(np.mean(d)) + half
    q = _QUANTILE[stat]
    diffs = np.empty(resamples)
    chunk = max(1, min(resamples, 2_000_000 // k))
    for lo in range(0, resamples, chunk):
        idx = rng.integers(0, k, size=(min(chunk, resamples - lo), k))
        diffs[lo : lo + len(idx)] = np.percentile(x[idx], q, axis=1) - np.percentile(
            y[idx], q, axis=1
        )
    a = (1.0 - level) / 2.0
    return float(np.quantile(diffs, a)), float(np.quantile(diffs, 1.0 - a))


def _correlated_rounds(resolved: dict[str, Any]) -> str:
    """Why rounds may not be independent in these results ("" when they are)."""
    sweep = resolved.get("sweep") or {}
    swept: dict[str, list[Any]] = dict(sweep.get("factors") or {})
    for z in sweep.get("zip") or []:
        swept.update(z)
    policies = {str((resolved.get("cluster") or {}).get("policy", "cancel"))}
    policies |= {str(v) for v in swept.get("cluster.policy", [])}
    models = set()
    for key in ("compute", "comm"):
        models.add(str(((resolved.get("delays") or {}).get(key) or {}).get("model", "")))
        models |= {str(v) for v in swept.get(f"delays.{key}.model", [])}
    why = []
    if "non-preemptive" in policies:
        why.append("the non-preemptive policy carries work over from round to round")
    bad = sorted(models & set(_CORRELATED))
    if bad:
        why.append(f"{', '.join(bad)} delays are correlated across rounds")
    return "; ".join(why)


def paired_table(
    results: Any,
    *,
    vs: str,
    by: Sequence[str] = (),
    stat: str = "mean",
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedTable:
    """Every scheme against ``vs``, paired by round, per group of ``by`` values.

    Parameters
    ----------
    results : Results
        A loaded results folder (:func:`gcsim.load_results` with its records).
    vs : str
        The reference scheme's label.
    by : sequence of str
        Swept keys to group by (``s``, ``m`` and ``n`` stand for ``code.s``, ``code.m``
        and ``cluster.n``); the other swept keys and the replicates are pooled.
    stat : {"mean", "median", "p95"}
        Statistic of the round time.
    level : float
        Confidence level of the intervals.
    resamples, seed : int
        Paired bootstrap of the median and p95 (the mean uses a t-interval).

    Returns
    -------
    PairedTable
    """
    if stat not in STATS:
        raise InvalidInputError(f"stat must be one of {', '.join(STATS)}; got {stat!r}")
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"level must be in (0, 1); got {level!r}")
    if resamples < 100:
        raise InvalidInputError(f"resamples must be at least 100; got {resamples}")
    summary: pd.DataFrame = results.summary
    records: pd.DataFrame = results.records
    factors: list[str] = list(getattr(results, "factors", []) or [])
    folder = getattr(results, "folder", "the results")
    if records is None or records.empty or "duration" not in records.columns:
        raise InvalidInputError(
            f"{folder}: no per-round records to pair (run the sweep with [output].records = true)"
        )
    labels = list(dict.fromkeys(summary["scheme"].astype(str)))
    if vs not in labels:
        close = difflib.get_close_matches(vs, labels, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidInputError(f"--vs {vs}: no such scheme{hint}; schemes: {', '.join(labels)}")
    by_cols = _resolve_by(by, factors, records.columns)
    keys = [*factors, "replicate", "round"]
    if "n" not in factors and "n" not in keys:
        keys.insert(0, "n")
    keys = [k for k in dict.fromkeys(keys) if k in records.columns]

    info = summary.drop_duplicates("point").set_index("point")
    rec = records.copy()
    rec["scheme"] = rec["scheme"].astype(str)
    dec = rec["decoded"] if "decoded" in rec.columns else pd.Series(True, index=rec.index)
    rec["_ok"] = dec.astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])
    rec["_t"] = pd.to_numeric(rec["duration"], errors="coerce").astype(float)
    for col in ("s_requested", "s", "d"):
        rec[f"_{col}"] = rec["point"].map(info[col]) if col in info.columns else np.nan
    ref = rec[rec["scheme"] == vs]
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    dropped = 0

    def group_values(frame: pd.DataFrame) -> dict[tuple[Any, ...], pd.DataFrame]:
        if not by_cols:
            return {(): frame}
        return {
            (g if isinstance(g, tuple) else (g,)): part
            for g, part in frame.groupby(by_cols, dropna=False, sort=True)
        }

    def leading_columns(gkey: tuple[Any, ...], part: pd.DataFrame, label: str) -> dict[str, Any]:
        """The group, scheme, design and statistic columns of one row of the table."""
        return {
            **dict(zip(by_cols, gkey, strict=True)),
            "scheme": label,
            "reference": label == vs,
            "s_requested": _values(part["_s_requested"]),
            "s": _values(part["_s"]),
            "d": _values(part["_d"]),
            "stat": stat,
        }

    ref_groups = group_values(ref)
    for gkey, part in ref_groups.items():
        ok = part[part["_ok"]]
        rows.append(
            {
                **leading_columns(gkey, part, vs),
                "value": _stat(ok["_t"].to_numpy(float), stat),
                "ref_value": _stat(ok["_t"].to_numpy(float), stat),
                "diff": math.nan,
                "rel_diff": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "level": level,
                "pairs": len(ok),
                "_order": (gkey, 0),
            }
        )
    for order, label in enumerate(labels, start=1):
        if label == vs:
            continue
        mine = rec[rec["scheme"] == label]
        pairs = mine[[*keys, "_ok", "_t", "_s_requested", "_s", "_d"]].merge(
            ref[[*keys, "_ok", "_t"]], on=keys, suffixes=("", "_ref")
        )
        both = pairs["_ok"] & pairs["_ok_ref"]
        dropped += int((~both).sum())
        for gkey, part in group_values(pairs).items():
            good = part[part["_ok"] & part["_ok_ref"]]
            x = good["_t"].to_numpy(float)
            y = good["_t_ref"].to_numpy(float)
            value, ref_value = _stat(x, stat), _stat(y, stat)
            diff = float(np.mean(x - y)) if stat == "mean" and len(x) else value - ref_value
            lo, hi = _interval(x, y, stat, level, rng, resamples)
            rows.append(
                {
                    **leading_columns(gkey, part, label),
                    "value": value,
                    "ref_value": ref_value,
                    "diff": diff,
                    "rel_diff": diff / ref_value if ref_value else math.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "level": level,
                    "pairs": len(x),
                    "_order": (gkey, order),
                }
            )
    if not rows:
        raise InvalidInputError(f"{folder}: no rounds of {vs} to compare with")

    def sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
        gkey, order = r["_order"]
        return (tuple(_sortable(v) for v in gkey), order)

    rows.sort(key=sort_key)
    data = pd.DataFrame(rows).drop(columns="_order")
    data = data[[*by_cols, *TABLE_COLUMNS]]
    notes = _notes(summary, factors, by_cols, vs, stat, level, resamples, dropped, results, data)
    return PairedTable(
        data=data,
        by=by_cols,
        reference=vs,
        stat=stat,
        level=level,
        notes=notes,
        inexact=_inexact_labels(summary),
    )


def _inexact_labels(summary: pd.DataFrame) -> list[str]:
    """The labels whose code the registry says is inexact (unknown codes count as exact)."""
    if "code" not in summary.columns or "scheme" not in summary.columns:
        return []
    from gcsim.analysis.headline import _registry_exactness

    code_of = dict(zip(summary["scheme"].astype(str), summary["code"].astype(str), strict=False))
    exact = _registry_exactness(set(code_of.values()))
    return sorted(label for label, code in code_of.items() if not exact.get(code, True))


def _sortable(v: Any) -> tuple[int, Any]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return (2, "")
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return (0, float(v))
    return (1, str(v))


def _notes(
    summary: pd.DataFrame,
    factors: list[str],
    by_cols: list[str],
    vs: str,
    stat: str,
    level: float,
    resamples: int,
    dropped: int,
    results: Any,
    data: pd.DataFrame,
) -> list[str]:
    how = (
        f"t-interval on the paired differences ({level:.0%})"
        if stat == "mean"
        else f"paired bootstrap, {resamples} resamples of the round pairs, percentile "
        f"interval ({level:.0%})"
    )
    notes = [
        f"Δ = scheme − {vs} in {stat} round time, paired by round: round r of replicate j "
        "at the same swept values (the same delay draws, common random numbers); "
        f"CI: {how}; Δ % = Δ / the {vs} value over the same rounds",
    ]
    pooled = [f for f in factors if f not in by_cols and summary[f].nunique(dropna=False) > 1]
    reps = summary["replicate"].nunique() if "replicate" in summary.columns else 1
    pooled_txt = ", ".join(pooled + ([f"{reps} replicates"] if reps > 1 else []))
    if pooled_txt:
        notes.append(f"pooled in each row: {pooled_txt}")
    if dropped:
        notes.append(f"{dropped} round pair(s) left out: not decoded by both schemes")
    why = _correlated_rounds(getattr(results, "resolved", {}) or {})
    if why:
        notes.append(f"the interval treats rounds as independent, but {why}: it is too narrow")
    missing = summary[summary["status"].astype(str) != "ok"]
    if len(missing):
        parts = []
        for (scheme, status), g in missing.groupby(["scheme", "status"], sort=False):
            where = (
                sorted(
                    {
                        ", ".join(f"{b}={_text(v)}" for b, v in zip(by_cols, r, strict=True))
                        for r in g[by_cols].itertuples(index=False)
                    }
                )
                if by_cols
                else []
            )
            parts.append(f"{scheme} {status}" + (f" at {'; '.join(where)}" if where else ""))
        notes.append("not in the table: " + "; ".join(parts))
    empty = data[(~data["reference"]) & (data["pairs"] == 0)]
    if len(empty):
        notes.append(
            "no paired rounds: " + "; ".join(str(s) for s in dict.fromkeys(empty["scheme"]))
        )
    return notes
