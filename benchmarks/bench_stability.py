"""Numerical stability vs n for every scheme.

For each scheme and n: ``TRIALS`` random straggler sets of size s (responders = the other
n - s workers, sorted); for each set fresh partials P ~ N(0, 1) of shape (k, l), l = 64:

* float64: ``encode(P)`` -> ``decode(R, msgs[R], l, check=False)`` against the exact sum
  of P (accumulated in extended precision, ``np.longdouble``);
* float32: P rounded to float32, encoded and decoded in float32 (what ``encode``/``decode``
  do with float32 input), against the exact sum of the float32 partials;

plus the decoder's condition number (``decoder.cond``), l1 amplification and residual.
Reported per point: worst (max) condition number, worst relative error in each precision
(non-finite results count as inf), and the fraction of sets for which ``decode(check=True)``
would raise ``DecodeResidualError``. A scheme whose construction already yields non-finite
coefficients is reported as such without trials; a scheme whose point took longer than
``POINT_BUDGET_S`` skips its larger n.

Run: ``python3 benchmarks/bench_stability.py [--quick]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _common import fmt_sci, machine_info, machine_md, md_table, parse_args, write_results

import gcsim

NAME = "bench_stability"
SEED = 20240613
LENGTH = 64
POINT_BUDGET_S = 60.0


@dataclass(frozen=True)
class Variant:
    label: str
    name: str
    s: int
    m: int
    options: dict[str, Any] = field(default_factory=dict)


VARIANTS: tuple[Variant, ...] = (
    Variant("uncoded", "uncoded", s=0, m=1),
    Variant("ignore-stragglers", "ignore-stragglers", s=2, m=1),
    Variant("frc", "frc", s=2, m=1),
    Variant("crc", "crc", s=2, m=1),
    Variant("cyclic-mds (s=2)", "cyclic-mds", s=2, m=1),
    Variant("cyclic-mds (s=3)", "cyclic-mds", s=3, m=1),
    Variant("ye-abbe paper points", "ye-abbe", s=2, m=2, options={"points": "paper"}),
    Variant("ye-abbe chebyshev points", "ye-abbe", s=2, m=2, options={"points": "chebyshev"}),
    Variant("grouped gaussian", "grouped", s=2, m=2, options={"generator": "gaussian"}),
    Variant("grouped chebyshev", "grouped", s=2, m=2, options={"generator": "chebyshev"}),
)


def exact_sum(P: np.ndarray) -> np.ndarray:
    return P.astype(np.longdouble).sum(axis=0)


def rel_err(g: np.ndarray, ref: np.ndarray) -> float:
    g = np.asarray(g, dtype=np.longdouble)
    if not np.all(np.isfinite(g)):
        return float("inf")
    with np.errstate(over="ignore", invalid="ignore"):
        num = float(np.sqrt(np.sum((g - ref) ** 2)))
    den = float(np.sqrt(np.sum(ref**2)))
    return num / den if np.isfinite(num) else float("inf")


def finite_coefficients(code: gcsim.GradientCode) -> bool:
    return all(np.all(np.isfinite(code.coefficients(i))) for i in range(code.n))


def run_point(v: Variant, n: int, trials: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scheme": v.label,
        "name": v.name,
        "n": n,
        "s": v.s,
        "m": v.m,
        "options": dict(v.options),
        "l": LENGTH,
    }
    t0 = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            code = gcsim.make_code(v.name, n=n, s=v.s, m=v.m, rng=SEED, **v.options)
    except gcsim.InfeasibleParametersError as exc:
        row["status"] = "infeasible"
        row["reason"] = str(exc)
        return row
    row.update(
        code_s=code.s,
        d=code.d,
        field=code.field,
        exact=code.exact,
        build_s=time.perf_counter() - t0,
    )
    if not finite_coefficients(code):
        row["status"] = "non-finite coefficients"
        row["reason"] = "construction overflowed: encoding coefficients contain inf/nan"
        return row
    rng = np.random.default_rng([SEED, n, v.s, v.m])
    conds, l1s, resid, e64, e32, seen = [], [], [], [], [], set()
    check_fail = 0
    for _ in range(trials):
        stragglers = rng.choice(n, v.s, replace=False) if v.s else np.empty(0, dtype=int)
        R = np.setdiff1d(np.arange(n), stragglers)
        seen.add(tuple(stragglers.tolist()))
        with np.errstate(all="ignore"):
            dec = code.decoder(R)
            P = rng.standard_normal((code.k, LENGTH))
            g64 = code.decode(R, code.encode(P)[R], LENGTH, check=False)
            P32 = P.astype(np.float32)
            g32 = code.decode(R, code.encode(P32)[R], LENGTH, check=False)
        conds.append(dec.cond)
        l1s.append(dec.l1_amplification)
        resid.append(dec.residual)
        if code.decode_problem(R) is not None:  # what decode(check=True) of float64 does
            check_fail += 1
        e64.append(rel_err(g64, exact_sum(P)))
        e32.append(rel_err(g32, exact_sum(P32)))
        if g32.dtype != np.float32:
            row["float32_output_dtype"] = str(g32.dtype)

    def worst(xs: list[float]) -> float:
        arr = np.asarray(xs, dtype=float)
        return float("inf") if np.any(~np.isfinite(arr)) else float(arr.max())

    def med(xs: list[float]) -> float:
        arr = np.asarray(xs, dtype=float)
        arr = np.where(np.isfinite(arr), arr, np.inf)
        return float(np.median(arr))

    row.update(
        status="ok",
        trials=trials,
        distinct_sets=len(seen),
        worst_cond=worst(conds),
        median_cond=med(conds),
        worst_l1=worst(l1s),
        worst_residual=worst(resid),
        check_fail_fraction=check_fail / trials,
        worst_err64=worst(e64),
        median_err64=med(e64),
        worst_err32=worst(e32),
        median_err32=med(e32),
        wall_s=time.perf_counter() - t0,
    )
    return row


def pivot(rows: list[dict[str, Any]], ns: list[int], key: str, fmt: Any) -> str:
    headers = ["scheme (s, m)"] + [f"n={n}" for n in ns]
    table = []
    for v in VARIANTS:
        line = [f"{v.label} ({v.s}, {v.m})"]
        for n in ns:
            r = next((x for x in rows if x["scheme"] == v.label and x["n"] == n), None)
            if r is None:
                line.append("-")
            elif r["status"] == "ok":
                line.append(fmt(r[key]))
            elif r["status"] == "non-finite coefficients":
                line.append("overflow")
            else:
                line.append(r["status"])
        table.append(line)
    return md_table(headers, table)


def render(rows: list[dict[str, Any]], info: dict[str, Any], meta: dict[str, Any]) -> str:
    ns = meta["ns"]
    out = ["# Numerical stability vs n", ""]
    out.append(
        f"{meta['trials']} random straggler sets of size s per point (responders = the other "
        f"n - s workers), fresh N(0,1) partials of length l = {LENGTH} per set, "
        "`decode(..., check=False)`. Relative error = ||decoded - exact|| / ||exact|| with the "
        "exact sum accumulated in extended precision; non-finite output counts as inf. "
        "float32: partials rounded to float32, encoded and decoded in float32, compared with "
        "the exact sum of the float32 partials (so ~1e-7 is the float32 floor). "
        "`overflow`: the code's construction itself produced inf/nan coefficients; "
        "`infeasible`: the scheme cannot be built at that n."
    )
    out.append("")
    out.append(machine_md(info))
    out.append("")
    sections = [
        ("Worst condition number (`decoder.cond`)", "worst_cond", fmt_sci),
        ("Worst relative error, float64", "worst_err64", fmt_sci),
        ("Worst relative error, float32", "worst_err32", fmt_sci),
        ("Worst l1 amplification (`decoder.l1_amplification`)", "worst_l1", fmt_sci),
        (
            "Fraction of sets where `decode(check=True)` raises DecodeResidualError",
            "check_fail_fraction",
            lambda x: f"{x:.2f}",
        ),
    ]
    for title, key, fmt in sections:
        out += [f"## {title}", "", pivot(rows, ns, key, fmt), ""]
    notes = sorted(
        {(r["scheme"], r["status"], r.get("reason", "")) for r in rows if r["status"] != "ok"}
    )
    fields = sorted(
        {(r["scheme"], r["n"], r.get("field")) for r in rows if r.get("field") == "complex"}
    )
    tol = sorted(
        {
            (r["scheme"], r["n"], r["code_s"])
            for r in rows
            if r["status"] == "ok" and r["code_s"] != r["s"]
        }
    )
    out.append("## Notes")
    out.append("")
    for scheme, status, reason in notes:
        ns_hit = [r["n"] for r in rows if r["scheme"] == scheme and r["status"] == status]
        out.append(f"- {scheme}: {status} at n = {ns_hit}: {reason.splitlines()[0][:200]}")
    if fields:
        by: dict[str, list[int]] = {}
        for scheme, n, _ in fields:
            by.setdefault(scheme, []).append(n)
        for scheme, nlist in by.items():
            out.append(f"- {scheme}: complex construction (n - s even) at n = {nlist}")
    if tol:
        out.append(
            "- worst-case tolerance larger than requested (unequal groups): "
            + ", ".join(f"{sc} n={n}: s={cs}" for sc, n, cs in tol)
        )
    for sk in meta.get("skipped", []):
        out.append(f"- {sk}")
    out.append(
        "- ignore-stragglers is inexact by design: its error is the dropped "
        "partials' share, not a numerical effect."
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    ns = [6, 12, 24, 48] if args.quick else [6, 12, 18, 24, 30, 36, 48, 96, 120, 240]
    trials = 20 if args.quick else 200
    info = machine_info()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    t_start = time.perf_counter()
    for v in VARIANTS:
        too_slow_at = None
        for n in ns:
            if too_slow_at is not None:
                rows.append(
                    {
                        "scheme": v.label,
                        "name": v.name,
                        "n": n,
                        "s": v.s,
                        "m": v.m,
                        "status": "skipped (slow)",
                        "reason": f"n={too_slow_at} took > {POINT_BUDGET_S:.0f} s",
                    }
                )
                continue
            t0 = time.perf_counter()
            row = run_point(v, n, trials)
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            if row["wall_s"] > POINT_BUDGET_S:
                too_slow_at = n
                skipped.append(f"{v.label}: n > {n} skipped (n={n} took {row['wall_s']:.0f} s)")
            print(
                f"{v.label:26s} n={n:4d} {row['status']:24s} "
                f"cond={fmt_sci(row.get('worst_cond'))} err64={fmt_sci(row.get('worst_err64'))}"
                f" err32={fmt_sci(row.get('worst_err32'))} ({row['wall_s']:.1f}s)",
                flush=True,
            )
    meta = {
        "ns": ns,
        "trials": trials,
        "l": LENGTH,
        "quick": args.quick,
        "seed": SEED,
        "skipped": skipped,
        "runtime_s": time.perf_counter() - t_start,
        "variants": [
            {"label": v.label, "name": v.name, "s": v.s, "m": v.m, "options": v.options}
            for v in VARIANTS
        ],
    }
    data = {"benchmark": NAME, "machine": info, "meta": meta, "results": rows}
    write_results(NAME, data, render(rows, info, meta), args.out_dir)
    print(f"total {meta['runtime_s']:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
