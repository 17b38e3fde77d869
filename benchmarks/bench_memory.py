"""Peak memory of a large ``grouped`` code: build, encode one round, decode.

A ``grouped`` code (gaussian generator, s = 2, m = 2, so groups of d = 4 workers) with
n = 10 000 workers is built, one round of partials of shape (n, l), l = 1000 float64, is
encoded, and the gradient is decoded twice: from a random set of n - s responders, and
from a heavy pattern where every group loses s = 2 of its 4 workers (n / 2 responders, the
most stragglers the code survives). Each decode is checked against the exact sum.

The measured work runs in a child process (this script with ``--child``), so the parent
can read the child's peak resident set size with
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``. Three children run in order:

1. ``baseline``: imports numpy and gcsim and exits (the interpreter + library floor);
2. ``measure``: the work above, no tracing (peak RSS, per-phase times and peak RSS from
   /proc/self/status VmHWM);
3. ``traced``: the same work under ``tracemalloc`` (peak traced Python + numpy
   allocations overall and per phase; tracing adds its own overhead to RSS and time).

A scaling sweep then runs ``build`` children (construction only, under tracemalloc) for
several n, to show how the construction's memory grows with n.

``RUSAGE_CHILDREN`` reports the maximum over all children waited for so far, so it is read
after each child; each child also reports its own ``RUSAGE_SELF`` peak.

Run: ``python3 benchmarks/bench_memory.py [--quick]``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, machine_info, machine_md, md_table, parse_args, write_results

NAME = "bench_memory"
SEED = 20240614
TARGET_BYTES = 1 << 30  # 1 GiB
CHILD_FLAG = "--child"


# ----------------------------------------------------------------------------- child side
def _vm_status() -> dict[str, int]:
    """VmRSS / VmHWM of this process in bytes (Linux); empty elsewhere."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def child_main(mode: str, n: int, s: int, m: int, length: int) -> dict[str, Any]:
    tracing = mode in ("traced", "build")
    if tracing:
        import tracemalloc

        tracemalloc.start()
    import numpy as np

    import gcsim

    result: dict[str, Any] = {"mode": mode, "phases": []}

    def phase(name: str, t0: float) -> None:
        entry: dict[str, Any] = {"phase": name, "seconds": time.perf_counter() - t0}
        entry.update({k.lower(): v for k, v in _vm_status().items()})
        if tracing:
            cur, peak = tracemalloc.get_traced_memory()
            entry["traced_current"] = cur
            entry["traced_peak"] = peak
            tracemalloc.reset_peak()
        result["phases"].append(entry)

    if mode != "baseline":
        t0 = time.perf_counter()
        code = gcsim.make_code("grouped", n=n, s=s, m=m, rng=SEED, generator="gaussian")
        phase("build", t0)
        result["code"] = {
            "n": code.n,
            "k": code.k,
            "s": code.s,
            "m": code.m,
            "d": code.d,
            "groups": len(code.group_sizes),
            "assignment_bytes": int(code.assignment.nbytes),
        }
    if mode in ("measure", "traced"):
        t0 = time.perf_counter()
        rng = np.random.default_rng(SEED)
        P = rng.standard_normal((code.k, length))
        exact = P.sum(axis=0)
        phase("partials", t0)

        t0 = time.perf_counter()
        msgs = code.encode(P)
        phase("encode", t0)

        # random n - s responders
        t0 = time.perf_counter()
        R = np.sort(rng.choice(n, n - code.s, replace=False))
        g = code.decode(R, msgs[R], length)
        err1 = float(np.linalg.norm(g - exact) / np.linalg.norm(exact))
        phase("decode n-s", t0)

        # every group loses s of its workers
        t0 = time.perf_counter()
        keep = []
        for start, size in zip(
            np.cumsum((0, *code.group_sizes[:-1])), code.group_sizes, strict=True
        ):
            members = np.arange(start, start + size)
            keep.append(np.sort(rng.choice(members, size - code.s, replace=False)))
        R2 = np.concatenate(keep)
        g2 = code.decode(R2, msgs[R2], length)
        err2 = float(np.linalg.norm(g2 - exact) / np.linalg.norm(exact))
        phase("decode s per group", t0)
        result["decode"] = {
            "responders_random": len(R),
            "rel_error_random": err1,
            "responders_heavy": len(R2),
            "rel_error_heavy": err2,
            "message_shape": list(msgs.shape),
            "partials_bytes": int(P.nbytes),
            "messages_bytes": int(msgs.nbytes),
        }
    if tracing:
        result["traced_peak_overall"] = max(
            (p["traced_peak"] for p in result["phases"]), default=tracemalloc.get_traced_memory()[1]
        )
        tracemalloc.stop()
    result["self_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result.update({k.lower(): v for k, v in _vm_status().items()})
    return result


# ---------------------------------------------------------------------------- parent side
def run_child(mode: str, n: int, s: int, m: int, length: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        CHILD_FLAG,
        mode,
        str(n),
        str(s),
        str(m),
        str(length),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=BENCH_DIR, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} failed ({proc.returncode}):\n{proc.stderr}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    # Linux: ru_maxrss in KiB, max over all waited-for children so far
    res["children_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return res


def mib(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:.0f}"


def render(data: dict[str, Any]) -> str:
    meta, ch = data["meta"], data["children"]
    base, meas, trac = ch["baseline"], ch["measure"], ch["traced"]
    out = ["# Peak memory: grouped code with many workers", ""]
    out.append(
        f"`grouped` (gaussian, s = {meta['s']}, m = {meta['m']}), n = {meta['n']:,} workers, "
        f"l = {meta['l']:,} float64: build + encode one round (partials "
        f"{mib(meas['decode']['partials_bytes'])} MiB, messages "
        f"{mib(meas['decode']['messages_bytes'])} MiB) + two decodes ({meta['responders']}). "
        "Each row is a separate child process; 'children max RSS' is "
        "`getrusage(RUSAGE_CHILDREN).ru_maxrss` read after that child (max over children so "
        "far), 'own max RSS' the child's `RUSAGE_SELF` value."
    )
    out.append("")
    out.append(machine_md(data["machine"]))
    out.append("")
    rows = [
        [
            "baseline (import numpy, gcsim)",
            mib(base["children_maxrss_bytes"]),
            mib(base["self_maxrss_bytes"]),
            "-",
            f"{base['wall_s']:.2f}",
        ],
        [
            "measure (build+encode+decode)",
            mib(meas["children_maxrss_bytes"]),
            mib(meas["self_maxrss_bytes"]),
            "-",
            f"{meas['wall_s']:.2f}",
        ],
        [
            "traced (same, under tracemalloc)",
            mib(trac["children_maxrss_bytes"]),
            mib(trac["self_maxrss_bytes"]),
            mib(trac["traced_peak_overall"]),
            f"{trac['wall_s']:.2f}",
        ],
    ]
    out.append(
        md_table(
            ["child", "children max RSS MiB", "own max RSS MiB", "tracemalloc peak MiB", "wall s"],
            rows,
        )
    )
    out.append("")
    out.append(
        "Per phase (measure child: time and VmHWM after the phase; traced child: "
        "tracemalloc peak during the phase and current at its end):"
    )
    out.append("")
    prow = []
    for pm, pt in zip(meas["phases"], trac["phases"], strict=True):
        prow.append(
            [
                pm["phase"],
                f"{pm['seconds']:.3f}",
                mib(pm.get("vmhwm")),
                mib(pt.get("traced_peak")),
                mib(pt.get("traced_current")),
            ]
        )
    out.append(
        md_table(["phase", "seconds", "VmHWM MiB", "traced peak MiB", "traced current MiB"], prow)
    )
    out.append("")
    d = meas["decode"]
    out.append(
        "Construction only, for growing n (one `build` child per n, under tracemalloc; "
        "`assignment` is the dense n x k bool matrix `code.assignment`):"
    )
    out.append("")
    srow = []
    for r in data["scaling"]:
        ph = r["phases"][0]
        srow.append(
            [
                f"{r['n']:,}",
                f"{ph['seconds']:.2f}",
                mib(ph["traced_peak"]),
                mib(ph["traced_current"]),
                mib(r["code"]["assignment_bytes"]),
                mib(r["self_maxrss_bytes"]),
            ]
        )
    out.append(
        md_table(
            [
                "n",
                "build s",
                "traced peak MiB",
                "retained MiB",
                "assignment MiB",
                "own max RSS MiB",
            ],
            srow,
        )
    )
    out.append("")
    out.append(
        f"Decode check: random {d['responders_random']} responders rel. error "
        f"{d['rel_error_random']:.1e}; {d['responders_heavy']} responders (s per group "
        f"missing) rel. error {d['rel_error_heavy']:.1e}."
    )
    out.append("")
    t = data["target"]
    out.append(
        f"**Target** peak RSS < {mib(t['limit_bytes'])} MiB: measured "
        f"{mib(t['peak_bytes'])} MiB ({mib(t['above_baseline_bytes'])} MiB above the "
        f"baseline) -> **{'met' if t['met'] else 'NOT met'}**."
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    n, s, m = (2000, 2, 2) if args.quick else (10_000, 2, 2)
    length = 200 if args.quick else 1000
    info = machine_info()
    t_start = time.perf_counter()
    children = {}
    for mode in ("baseline", "measure", "traced"):
        children[mode] = run_child(mode, n, s, m, length)
        print(
            f"{mode:9s} children maxrss {mib(children[mode]['children_maxrss_bytes'])} MiB, "
            f"own {mib(children[mode]['self_maxrss_bytes'])} MiB "
            f"({children[mode]['wall_s']:.1f}s)",
            flush=True,
        )
    scaling = []
    for ns in (500, 1000, 2000) if args.quick else (2500, 5000, 10_000, 20_000):
        r = run_child("build", ns, s, m, length)
        r["n"] = ns
        scaling.append(r)
        print(
            f"build n={ns:6d} traced peak {mib(r['phases'][0]['traced_peak'])} MiB, own "
            f"maxrss {mib(r['self_maxrss_bytes'])} MiB ({r['wall_s']:.1f}s)",
            flush=True,
        )
    peak = children["measure"]["self_maxrss_bytes"]
    data: dict[str, Any] = {
        "benchmark": NAME,
        "machine": info,
        "meta": {
            "n": n,
            "s": s,
            "m": m,
            "l": length,
            "quick": args.quick,
            "seed": SEED,
            "responders": "random n - s; and s missing in every group",
            "runtime_s": time.perf_counter() - t_start,
        },
        "children": children,
        "scaling": scaling,
        "target": {
            "limit_bytes": TARGET_BYTES,
            "peak_bytes": peak,
            "above_baseline_bytes": peak - children["baseline"]["self_maxrss_bytes"],
            "met": peak < TARGET_BYTES,
        },
    }
    write_results(NAME, data, render(data), args.out_dir)
    print(f"total {data['meta']['runtime_s']:.1f}s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        mode, n_, s_, m_, l_ = sys.argv[2], *map(int, sys.argv[3:7])
        print(json.dumps(child_main(mode, n_, s_, m_, l_)))
    else:
        raise SystemExit(main())
