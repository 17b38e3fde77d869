"""Where a quickstart point spends its time: cProfile of every scheme's point.

Run: ``python benchmarks/bench_profile.py [--scenario quickstart] [--s 2]``; writes
``benchmarks/results/bench_profile.json`` and ``bench_profile.md``.

Each point of the scenario at ``code.s = S`` (replicate 0; one per scheme) runs once to
warm up, then once under cProfile, in this process with BLAS on one thread (as in a
sweep's pool worker). For every point the table gives the share of the point's time
spent *in* each function (cProfile's own time, ``tottime``), the largest gcsim function
outside the real kernels, and the largest of the real kernels. Issue 12's target: no
single gcsim function above 20 % except the real kernels.

The **real kernels** are the workload's numerics (``gcsim/workload/``: the data set, the
margins ``X @ w``, the partial gradients, the loss and the update) and the code's
encode and decode products. Everything else in ``gcsim/`` is simulator overhead.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from threadpoolctl import threadpool_limits  # noqa: E402

from gcsim.scenarios import Point, load_scenario, run_point  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
#: gcsim functions that are the real kernels (file suffix, function name or "*")
KERNELS = (
    ("gcsim/workload/", "*"),
    ("gcsim/codes/", "encode"),
    ("gcsim/codes/", "_encode"),
    ("gcsim/codes/base.py", "_encode_worker"),
    ("gcsim/codes/base.py", "apply_used"),
    ("gcsim/codes/base.py", "apply"),
)


def is_kernel(path: str, name: str) -> bool:
    path = path.replace(os.sep, "/")
    return any(p in path and (f == "*" or f == name) for p, f in KERNELS)


def profile_point(spec: dict[str, Any]) -> dict[str, Any]:
    run_point(spec)  # warm: imports, caches
    prof = cProfile.Profile()
    prof.enable()
    run_point(spec)
    prof.disable()
    st = pstats.Stats(prof)
    total = max(st.total_tt, 1e-12)  # type: ignore[attr-defined]
    rows = []
    for (path, line, name), (_cc, _nc, tt, _ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(path).name}:{line}({name})" if path != "~" else name,
                "gcsim": "/gcsim/" in path.replace(os.sep, "/"),
                "kernel": is_kernel(path, name),
                "share": tt / total,
            }
        )
    rows.sort(key=lambda r: -r["share"])
    gc_rows = [r for r in rows if r["gcsim"] and not r["kernel"]]
    k_rows = [r for r in rows if r["kernel"]]
    return {
        "total_s": total,
        "top": rows[:8],
        "max_gcsim": gc_rows[0] if gc_rows else None,
        "max_kernel": k_rows[0] if k_rows else None,
        "kernel_share": sum(r["share"] for r in k_rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="quickstart")
    ap.add_argument("--s", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="(the same: it takes ~15 s)")
    args = ap.parse_args()
    threadpool_limits(limits=1)
    _resolved, _text, points = load_scenario(ROOT / "scenarios" / f"{args.scenario}.toml")
    chosen: dict[str, Point] = {}  # one point per scheme: at s = S where it has one
    for p in points:
        if p.replicate == 0 and p.status != "infeasible":
            if p.scheme not in chosen or p.s_requested == args.s:
                chosen[p.scheme] = p
    results = []
    for p in chosen.values():
        r = profile_point(p.spec)
        r["point"] = p.point
        r["scheme"] = p.scheme
        results.append(r)
        mg = r["max_gcsim"]
        print(
            f"{p.scheme}: {r['total_s']:.2f} s, kernels {r['kernel_share']:.0%}, "
            f"largest gcsim non-kernel {mg['function'] if mg else '-'} "
            f"{mg['share'] if mg else 0:.1%}",
            flush=True,
        )
    worst = max((r["max_gcsim"]["share"] for r in results if r["max_gcsim"]), default=0.0)
    data = {
        "scenario": args.scenario,
        "s": args.s,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load_before": os.getloadavg(),
        "points": results,
        "worst_gcsim_non_kernel_share": worst,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_profile.json").write_text(json.dumps(data, indent=2))
    md = [
        "# Profile of quickstart points",
        "",
        f"`python benchmarks/bench_profile.py --scenario {args.scenario} --s {args.s}`: every "
        f"scheme's point at code.s = {args.s} (replicate 0), one warm-up run, then one "
        "run under cProfile with BLAS on one thread (as in a sweep's pool worker). Shares "
        "are of cProfile's own time (`tottime`) over the point's total. Real kernels: "
        "the workload's numerics (`gcsim/workload/`: data set, margins, partial "
        "gradients, loss, update) and the code's encode and decode products.",
        "",
        "| scheme | point (s, profiled) | real kernels | largest gcsim function outside "
        "the kernels | its share | largest function overall | its share |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        mg, top = r["max_gcsim"], r["top"][0]
        md.append(
            f"| {r['scheme']} | {r['total_s']:.2f} | {r['kernel_share']:.0%} | "
            f"`{mg['function'] if mg else '-'}` | {mg['share'] if mg else 0:.1%} | "
            f"`{top['function']}` | {top['share']:.1%} |"
        )
    md += [
        "",
        f"**Target** no gcsim function outside the real kernels above 20 %: largest "
        f"{worst:.1%} -> **{'met' if worst <= 0.20 else 'missed'}**.",
        "",
    ]
    (OUT / "bench_profile.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
