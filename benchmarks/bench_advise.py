"""How long ``gcsim advise`` takes, and how much of the search it prunes.

Clusters (per-worker load scaling, ideal network, l = 1000 float64):

* **comm-heavy** (the Ye–Abbe simulation model): compute 1.6 + Exp(0.8) per partition,
  communication 6 + Exp(0.1) per full message;
* **compute-heavy**: compute 0.1 + Exp(1) per partition, no communication delay;

each at n = 12, 48 and 1000 workers, with the advisor's defaults (every registered
scheme and generator, both decode rules and both policies, top 5, the DES confirming
the top 3). Each run is timed in this process after a warm-up (imports excluded),
``repeats`` times; the table gives the minimum and the median wall time, the phase
times of the median run (probe, grid bound, search, dominated rules and policies, full
stability checks, DES confirmation), how many grid points there were, how many were
pruned before any feasibility check, how many codes were built and evaluated by each
method, and the winner. ``gcsim advise`` on the command line (a fresh interpreter,
start-up included) is timed once at n = 12.

Run: ``python3 benchmarks/bench_advise.py [--quick]`` (``--quick``: n = 12 and 48, one
repeat).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from _common import REPO_ROOT, machine_info, machine_md, md_table, parse_args, write_results

import gcsim

NAME = "bench_advise"
CLUSTERS: dict[str, dict[str, Any]] = {
    "comm-heavy": {
        "delays": {"model": "shifted-exponential", "shift": 1.6, "rate": 0.8},
        "comm_delays": {"model": "shifted-exponential", "shift": 6.0, "rate": 0.1},
    },
    "compute-heavy": {"delays": {"model": "shifted-exponential", "shift": 0.1, "rate": 1.0}},
}
#: the issue's targets: a few seconds for 12-48 workers, under a minute for 1000
TARGET_S = {12: 5.0, 48: 5.0, 1000: 60.0}


def run_case(cluster: str, n: int, repeats: int) -> dict[str, Any]:
    times: list[float] = []
    runs: list[Any] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        advice = gcsim.advise(n, **CLUSTERS[cluster])
        times.append(time.perf_counter() - t0)
        runs.append(advice)
    med = sorted(range(repeats), key=lambda i: times[i])[repeats // 2]
    a = runs[med]
    best = a.best
    return {
        "cluster": cluster,
        "n": n,
        "repeats": repeats,
        "min_s": min(times),
        "median_s": statistics.median(times),
        "times_s": times,
        "target_s": TARGET_S.get(n),
        "phases_s": dict(a.timings),
        "stats": dict(a.stats),
        "winner": {
            "scheme": best.scheme,
            "generator": best.generator,
            "s": best.s,
            "m": best.m,
            "d": best.d,
            "rule": best.rule,
            "policy": best.policy,
            "value": best.value,
            "method": best.method,
        },
        "runner_up": a.why()["runner_up"],
    }


def run_cli() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "gcsim.cli",
            "advise",
            "--n",
            "12",
            "--delays",
            "shifted-exponential:shift=1.6,rate=0.8",
            "--comm-delays",
            "shifted-exponential:shift=6,rate=0.1",
            "--out",
            tmp,
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=REPO_ROOT, timeout=600)
        return time.perf_counter() - t0


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    info = machine_info()
    sizes = (12, 48) if args.quick else (12, 48, 1000)
    gcsim.advise(12, **CLUSTERS["comm-heavy"], confirm=0)  # warm-up: imports, caches
    cases = []
    for n in sizes:
        for cluster in CLUSTERS:
            repeats = 1 if args.quick or n >= 1000 else 3
            res = run_case(cluster, n, repeats)
            cases.append(res)
            w = res["winner"]
            print(
                f"{cluster:>13} n={n:<5} min {res['min_s']:.2f} s  median {res['median_s']:.2f} s"
                f"  -> {w['scheme']} ({w['generator']}) s={w['s']} m={w['m']} d={w['d']}: "
                f"{w['value']:.4g}",
                flush=True,
            )
    cli_s = run_cli()
    print(f"gcsim advise --n 12 (fresh interpreter, start-up included): {cli_s:.2f} s")
    rows = []
    for c in cases:
        st, ph, w = c["stats"], c["phases_s"], c["winner"]
        rows.append(
            [
                c["cluster"],
                c["n"],
                f"{c['min_s']:.2f}",
                f"{c['median_s']:.2f}",
                f"{c['target_s']:g}" if c["target_s"] else "-",
                f"{ph.get('search', 0):.2f} / {ph.get('rules_policies', 0):.2f} / "
                f"{ph.get('stability', 0):.2f} / {ph.get('confirm', 0):.2f}",
                st["grid"],
                st["pruned_by_grid_bound"],
                st["feasibility_checks"],
                st["built"],
                f"{st['closed_form']} / {st['fast_path']} / {st['replay']} / {st['des']}",
                f"{w['scheme']} ({w['generator']}) s={w['s']} m={w['m']} d={w['d']}",
                f"{w['value']:.4g}",
            ]
        )
    md = "\n".join(
        [
            "# bench_advise: wall time of `gcsim advise`",
            "",
            machine_md(info),
            "",
            md_table(
                [
                    "cluster",
                    "n",
                    "min (s)",
                    "median (s)",
                    "target (s)",
                    "search / rules+policies / stability / DES confirm (s)",
                    "grid points",
                    "pruned by the grid bound",
                    "feasibility checks",
                    "codes built",
                    "closed form / fast path / replay / DES",
                    "winner",
                    "its mean round time",
                ],
                rows,
            ),
            "",
            f"`gcsim advise --n 12 ...` from a fresh interpreter (start-up and imports "
            f"included, files written): {cli_s:.2f} s.",
            "",
            "Timed in one process after a warm-up; the machine is shared, so compare the "
            "minimum with the load average above.",
        ]
    )
    write_results(NAME, {"machine": info, "cases": cases, "cli_n12_s": cli_s}, md, args.out_dir)


if __name__ == "__main__":
    main()
