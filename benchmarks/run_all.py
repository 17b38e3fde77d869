"""Run every benchmark script in turn (each in its own process) and record its runtime.

Runs every ``benchmarks/bench_*.py`` (or those named with ``--only``); a script that fails
is reported and the others still run (exit status 1 then).

Run: ``python3 benchmarks/run_all.py [--quick] [--only NAME ...] [--blas-threads N]``.
Results land in ``benchmarks/results/`` (one NAME.json and NAME.md per script, plus
``run_all.json`` with each script's exit status and wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
#: every ``bench_*.py`` beside this file, in a fixed order (the kernel benchmarks first)
FIRST = ("bench_decode", "bench_decoder_build", "bench_stability", "bench_memory")
SCRIPTS = tuple(
    sorted(
        (p.stem for p in BENCH_DIR.glob("bench_*.py")),
        key=lambda name: (FIRST.index(name) if name in FIRST else len(FIRST), name),
    )
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="pass --blas-threads N to the kernel benchmarks",
    )
    args = parser.parse_args(argv)
    summary = []
    failed = False
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(
            f"note: 1-min load average is {load:.2f}; timings (bench_decode, "
            "bench_decoder_build) are sensitive to other processes on the machine",
            flush=True,
        )
    for name in args.only or SCRIPTS:
        cmd = [sys.executable, str(BENCH_DIR / f"{name}.py")] + (["--quick"] if args.quick else [])
        if args.blas_threads is not None and name in FIRST:  # scripts using _common
            cmd += ["--blas-threads", str(args.blas_threads)]
        print(f"== {name} ==", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, check=False).returncode
        wall = time.perf_counter() - t0
        summary.append({"script": name, "returncode": rc, "wall_s": round(wall, 2)})
        failed |= rc != 0
        print(f"== {name}: rc={rc}, {wall:.1f}s ==", flush=True)
    out = BENCH_DIR / "results" / "run_all.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as fh:
        json.dump({"quick": args.quick, "scripts": summary}, fh, indent=2)
        fh.write("\n")
    for s in summary:
        print(f"{s['script']:22s} rc={s['returncode']} {s['wall_s']:8.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
