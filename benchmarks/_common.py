"""Helpers shared by the benchmark scripts: argument parsing, machine info, timing and
writing ``results/NAME.json`` plus ``results/NAME.md``."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke run in well under 30 s"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="set OPENBLAS/OMP/MKL_NUM_THREADS to this (re-executes the script)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=RESULTS_DIR,
        help=f"where NAME.json and NAME.md are written (default: {RESULTS_DIR})",
    )
    args = parser.parse_args(argv)
    if args.blas_threads is not None and argv is None:
        want = str(args.blas_threads)
        if any(os.environ.get(v) != want for v in THREAD_VARS):
            # the BLAS thread pool is sized when numpy is imported: start afresh
            os.environ.update({v: want for v in THREAD_VARS})
            os.execv(sys.executable, [sys.executable, *sys.argv])
    return args


THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def machine_info() -> dict[str, Any]:
    """Platform, Python/numpy/scipy versions, CPU count and the BLAS numpy links."""
    import scipy

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or _cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": _loadavg(),
        "thread_env": {v: os.environ.get(v) for v in THREAD_VARS},
    }
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # pragma: no cover - older numpy
        info["blas"] = "unknown"
    try:
        import gcsim

        info["gcsim"] = gcsim.__version__
    except Exception:  # pragma: no cover
        info["gcsim"] = "unknown"
    info.update(source_state())
    return info


def source_state() -> dict[str, Any]:
    """Git commit of the repository and a hash of the gcsim sources as they were run
    (the working tree may differ from the commit)."""
    import hashlib
    import subprocess

    state: dict[str, Any] = {}
    try:
        state["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "gcsim"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        state["gcsim_tree_dirty"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        state["git_commit"] = "unknown"
    digest = hashlib.sha1()
    for path in sorted((REPO_ROOT / "gcsim").rglob("*.py")):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    state["gcsim_source_sha1"] = digest.hexdigest()
    return state


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time (time.perf_counter) of ``fn()`` over ``repeats`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def finite_or_str(x: float) -> float | str:
    """JSON-safe float: non-finite values become the strings 'inf', '-inf', 'nan'."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays and non-finite floats for json.dump."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return finite_or_str(float(obj))
    return obj


def fmt_sci(x: float | None, digits: int = 2) -> str:
    """Compact number for tables: 1.2e-16, 3.4e+05, inf, nan, or '-' for None."""
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}" if 1e-3 <= abs(x) < 1e4 or x == 0 else f"{x:.{digits - 1}e}"


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; cells are str()-ed, '|' escaped."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_md(info: dict[str, Any]) -> str:
    return (
        f"Machine: {info['platform']}, {info['processor']}, {info['cpu_count']} CPUs; "
        f"Python {info['python']}, numpy {info['numpy']} ({info.get('blas', '?')}), "
        f"scipy {info['scipy']}, gcsim {info.get('gcsim', '?')} "
        f"(commit {str(info.get('git_commit', '?'))[:10]}"
        f"{', modified working tree' if info.get('gcsim_tree_dirty') else ''}, "
        f"sources sha1 {str(info.get('gcsim_source_sha1', '?'))[:10]}). "
        f"Load average (1/5/15 min) at start: {info.get('loadavg_at_start')}."
        + (
            f" BLAS threads forced: {threads}."
            if (threads := (info.get("thread_env") or {}).get("OPENBLAS_NUM_THREADS"))
            else ""
        )
    )


def write_results(name: str, data: dict[str, Any], markdown: str, out_dir: Path) -> None:
    """Write ``out_dir/name.json`` (data + machine info) and ``out_dir/name.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(data.get("machine"), dict):
        data["machine"]["loadavg_at_end"] = _loadavg()
    with open(out_dir / f"{name}.json", "w") as fh:
        json.dump(jsonable(data), fh, indent=2, allow_nan=False)
        fh.write("\n")
    with open(out_dir / f"{name}.md", "w") as fh:
        fh.write(markdown.rstrip() + "\n")
    print(f"wrote {out_dir / (name + '.json')} and {out_dir / (name + '.md')}")


def relative_error(estimate: np.ndarray, exact: np.ndarray) -> float:
    """``||estimate - exact|| / ||exact||`` in float64; inf when the estimate is not finite."""
    est = np.asarray(estimate, dtype=np.float64)
    if not np.all(np.isfinite(est)):
        return math.inf
    ref = np.asarray(exact, dtype=np.float64)
    norm = float(np.linalg.norm(ref))
    with np.errstate(over="ignore", invalid="ignore"):
        err = float(np.linalg.norm(est - ref))
    if not math.isfinite(err):
        return math.inf
    return err / (norm if norm > 0 else 1.0)
