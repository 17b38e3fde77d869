"""Tables of docs/comparison.md from a results folder (run by docs/comparison.sh).

    python docs/comparison_tables.py configs FOLDER
    python docs/comparison_tables.py best-prior FOLDER KEY
    python docs/comparison_tables.py sensitivity FOLDER NAME

``configs``: every scheme's tuned configuration and its mean (p95) round time per value
of the swept key. ``best-prior``: grouped against the best prior exact gradient code
(every exact scheme but grouped and uncoded) per value of KEY, as the mean of the paired
per-round differences (common random numbers) with a 95% t-interval. ``sensitivity``:
one row of the sensitivity table.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from scipy import stats

import gcsim
from gcsim.codes import scheme_info

GROUPED = "grouped-gaussian"


def _ok(folder: str) -> gcsim.Results:
    return gcsim.load_results(folder)


def _key(res: gcsim.Results) -> str:
    keys = [f for f in res.factors if res.summary[f].nunique() > 1] or res.factors
    return keys[0]


def configs(folder: str) -> None:
    res = _ok(folder)
    summ = res.summary[res.summary.status == "ok"]
    key = _key(res)
    rows = (
        summ.groupby([key, "scheme"], sort=False)
        .agg(
            s=("s", "first"),
            m=("m", "first"),
            d=("d", "first"),
            tuned=("tuned", "first"),
            mean=("mean_round_time", "mean"),
            p95=("p95_round_time", "mean"),
        )
        .reset_index()
    )
    print(f"| {key} | scheme | s | m | d | tuned options, rule | mean (p95), ms |")
    print("|---|---|---|---|---|---|---|")
    codes = dict(zip(summ["scheme"], summ["code"], strict=False))
    for r in rows.itertuples():
        label = r.scheme + ("" if scheme_info(codes[r.scheme]).exact else " (inexact)")
        extra = "; ".join(
            part
            for part in str(r.tuned).split(" (")[0].split("; ")
            if not part.startswith(("m=", "d="))
        )
        print(
            f"| {getattr(r, key.replace('.', '_'), r[1])} | {label} | {r.s} | {r.m} | {r.d} "
            f"| {extra} | {1e3 * r.mean:.2f} ({1e3 * r.p95:.2f}) |"
        )


def _paired(rec: pd.DataFrame, a: str, b: str) -> tuple[float, float, float]:
    """Mean of a - b over paired rounds, as a fraction of b's mean, and its 95% CI."""
    piv = rec.pivot_table(index=["replicate", "round"], columns="scheme", values="duration")
    piv = piv[[a, b]].dropna()
    diff = (piv[a] - piv[b]).to_numpy()
    base = float(piv[b].mean())
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    return float(diff.mean()) / base, half / base, base


def _priors(summ: pd.DataFrame) -> list[str]:
    out = []
    for scheme, code in summ[["scheme", "code"]].drop_duplicates().itertuples(index=False):
        if scheme != GROUPED and code != "uncoded" and scheme_info(code).exact:
            out.append(scheme)
    return out


def best_prior(folder: str, key: str) -> None:
    res = _ok(folder)
    summ = res.summary[res.summary.status == "ok"]
    rec = res.records[res.records.decoded.astype(bool)]
    print(
        f"| {key} | best prior code | its mean (ms) | grouped (ms) | difference of the mean "
        "| difference of p95 |"
    )
    print("|---|---|---|---|---|---|")
    for value, part in summ.groupby(key):
        means = part.groupby("scheme")["mean_round_time"].mean()
        p95 = part.groupby("scheme")["p95_round_time"].mean()
        prior = means[_priors(part)].idxmin()
        frac, half, base = _paired(rec[rec[key] == value], GROUPED, prior)
        dp95 = p95[GROUPED] / p95[prior] - 1
        print(
            f"| {value} | {prior} | {1e3 * base:.2f} | {1e3 * means[GROUPED]:.2f} "
            f"| **{100 * frac:+.1f}% ± {100 * half:.1f}%** | {100 * dp95:+.1f}% |"
        )


def sensitivity(folder: str, name: str) -> None:
    res = _ok(folder)
    summ = res.summary[res.summary.status == "ok"]
    rec = res.records[res.records.decoded.astype(bool)]
    means = summ.groupby("scheme", sort=False)["mean_round_time"].mean()
    prior = means[_priors(summ)].idxmin()
    frac, half, _ = _paired(rec, GROUPED, prior)
    cells = " | ".join(f"{1e3 * v:.2f}" for v in means.to_numpy())
    tuned = summ.groupby("scheme", sort=False)["m"].first()
    ms = f"m: ye-abbe {tuned.get('ye-abbe', '-')}, grouped {tuned.get(GROUPED, '-')}"
    print(f"| {name} | {cells} | {100 * frac:+.1f}% ± {100 * half:.1f}% ({prior}) | {ms} |")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("configs", "best-prior", "sensitivity"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "configs":
        configs(argv[1])
    elif argv[0] == "best-prior":
        best_prior(argv[1], argv[2])
    else:
        sensitivity(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
