"""Sweep parallel speed-up on this machine: shipped scenarios with --jobs 1 and --jobs N.

Runs each scenario's sweep (no figures) with 1 job and with ``os.cpu_count()`` jobs,
interleaved, ``--repeats`` times, and reports min and median wall times and the speed-up
(ratio of the two, measured in the same run). Writes benchmarks/results/bench_sweep.json
and .md.

    python benchmarks/bench_sweep.py [--repeats 2] [--scenarios quickstart paper-comparison]
    python benchmarks/bench_sweep.py --quick    # one repeat of quickstart
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def sweep(scenario: str, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "gcsim.cli",
            "sweep",
            str(ROOT / "scenarios" / f"{scenario}.toml"),
            "--out",
            str(Path(tmp) / "r"),
            "--jobs",
            str(jobs),
            "--no-plots",
            "--quiet",
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--scenarios", nargs="+", default=["quickstart", "paper-comparison"])
    ap.add_argument("--quick", action="store_true", help="one repeat of quickstart only")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.scenarios = 1, ["quickstart"]
    cores = os.cpu_count() or 1
    rows = []
    for sc in args.scenarios:
        one, many = [], []
        for _ in range(args.repeats):  # interleaved: load drifts hit both alike
            one.append(sweep(sc, 1))
            many.append(sweep(sc, cores))
        rows.append(
            {
                "scenario": sc,
                "jobs": cores,
                "one_job_s": one,
                "n_jobs_s": many,
                "speedup_min": min(one) / min(many),
                "speedup_median": statistics.median(one) / statistics.median(many),
            }
        )
        print(rows[-1], flush=True)
    data = {
        "machine": {"platform": platform.platform(), "cpus": cores},
        "load_before": os.getloadavg(),
        "rows": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_sweep.json").write_text(json.dumps(data, indent=2))
    lines = [
        "# Sweep parallel speed-up",
        "",
        f"`python benchmarks/bench_sweep.py` on {cores} cores; wall time of `gcsim sweep "
        "SCENARIO --no-plots` with 1 job and with one job per core, interleaved.",
        "",
        "| scenario | 1 job min (s) | 1 job median (s) | N jobs min (s) | N jobs median (s) "
        "| speed-up (min) | speed-up (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {min(r['one_job_s']):.1f} | "
            f"{statistics.median(r['one_job_s']):.1f} | {min(r['n_jobs_s']):.1f} | "
            f"{statistics.median(r['n_jobs_s']):.1f} | {r['speedup_min']:.2f}x | "
            f"{r['speedup_median']:.2f}x |"
        )
    (OUT / "bench_sweep.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
