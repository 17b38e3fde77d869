"""``gcsim live``: run every point of a scenario on real MPI processes.

Each point is one MPI job of n + 1 processes (``[live].mpiexec`` with
``[live].mpiexec_args``, e.g. a hostfile or Slurm's ``srun``), run one after the other.
Results land in the same folder layout as a sweep (``gcsim.load_results`` and
``gcsim plot`` work unchanged), plus ``workers.csv`` (per round and worker) and the
measured traces ``compute_trace.csv`` / ``comm_trace.csv`` that the simulator's
``trace`` delay model replays.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gcsim.errors import GcsimError
from gcsim.scenarios.expand import Point, build_code, expand
from gcsim.scenarios.runner import make_figures, prepare_folder, write_summary
from gcsim.scenarios.store import dumps, point_done
from gcsim.sim.result import SimResult
from gcsim.spec import RunSpec

__all__ = ["LiveOutcome", "find_launcher", "run_live", "summarize_live"]


@dataclass
class LiveOutcome:
    folder: Path
    points: list[Point]
    ran: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    infeasible: list[tuple[str, str]] = field(default_factory=list)


def find_launcher(name: str) -> str:
    """The MPI launcher: next to this Python first (the mpich wheel's), then PATH."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise GcsimError(
            "the live backend needs mpi4py and an MPI library: "
            "pip install 'gcsim[live]' (mpi4py + mpich wheels)"
        ) from None
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise GcsimError(
            f"MPI launcher {name!r} not found (set [live].mpiexec, or pip "
            "install 'gcsim[live]' which brings mpiexec)"
        )
    return found


def _dead_worker(output: str, pids: dict[str, Any] | None) -> str | None:
    """Which process died, from the launcher's report (MPICH's Hydra prints the PID)."""
    m = re.search(r"BAD TERMINATION.*?PID\s+(\d+)", output, re.S)
    if not m:
        return None
    pid = int(m.group(1))
    how = re.search(r"EXIT STRING:\s*([^\n]+)", output) or re.search(r"EXIT CODE:\s*(\d+)", output)
    detail = f" ({how.group(1).strip().lower()})" if how else ""
    if pids and pid == pids.get("server"):
        return f"the server (MPI rank 0, pid {pid}) died{detail}"
    workers = list((pids or {}).get("workers", []))
    if pid in workers:
        i = workers.index(pid)
        return f"worker {i} (MPI rank {i + 1}, pid {pid}) died{detail}"
    return f"an MPI process (pid {pid}) died{detail}"


def _first_exit(tmp: Path, pids: dict[str, Any] | None) -> str | None:
    """The rank whose exit was recorded first by the per-rank wrapper."""
    files = sorted(tmp.glob("exit-*"), key=lambda f: f.stat().st_mtime_ns)
    for f in files:
        try:
            rank = int(f.name.split("-", 1)[1])
            rc = int(f.read_text().strip() or 0)
        except ValueError:
            continue
        how = f"killed by signal {rc - 128}" if rc > 128 else f"exit status {rc}"
        pid = ""
        if pids:
            procs = [pids.get("server"), *pids.get("workers", [])]
            if rank < len(procs):
                pid = f", pid {procs[rank]}"
        if rank == 0:
            return f"the server (MPI rank 0{pid}) died ({how})"
        return f"worker {rank - 1} (MPI rank {rank}{pid}) died ({how})"
    return None


def summarize_live(
    records: pd.DataFrame, point: Point, dimension: int, wall: float
) -> dict[str, Any]:
    """The per-point summary of a live run, in the sweep's format."""
    spec = point.spec
    code = build_code(spec)
    res = SimResult(records=records, engine="live", config={})
    summ: dict[str, Any] = dict(res.summary())
    ok = records[records["decoded"]]
    d = ok["duration"].to_numpy()
    summ.update(
        s=code.s,
        d=code.d,
        m=code.m,
        n=code.n,
        sem_round_time=float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan,
        message_fraction=code.message_length(dimension) / dimension,
        mean_decode_wall=float(ok["decode_wall"].mean()) if len(ok) else math.nan,
        wall_s=wall,
        engine="live",
    )
    return summ


def _traces(tmp: Path, point: Point, dimension: int) -> None:
    """Measured compute / communication times per unit load, round x worker (CSV)."""
    w = pd.read_csv(tmp / "workers.csv")
    if w.empty:
        return
    spec = point.spec
    code = build_code(spec)
    loads = code.loads.astype(float)
    frac = code.message_length(dimension) / dimension
    resp = w[w["status"] == "responder"]
    base_c = (
        float(np.median(resp["compute_end"] - resp["compute_start"] - resp["injected_compute"]))
        if len(resp)
        else 0.0
    )
    base_x = (
        float(np.median(resp["arrival"] - resp["compute_end"] - resp["injected_comm"]))
        if len(resp)
        else 0.0
    )
    w = w.copy()
    measured_c = (w["compute_end"] - w["compute_start"]).where(
        w["status"] == "responder", w["injected_compute"] + base_c
    )
    measured_x = (w["arrival"] - w["compute_end"]).where(
        w["status"] == "responder", w["injected_comm"] + base_x
    )
    w["c_unit"] = measured_c / loads[w["worker"].to_numpy()]
    w["x_unit"] = measured_x / frac
    for col, name in (("c_unit", "compute_trace.csv"), ("x_unit", "comm_trace.csv")):
        table = w.pivot(index="round", columns="worker", values=col)
        table = table.replace([np.inf, -np.inf], np.nan).fillna(0.0).clip(lower=0.0)
        table.to_csv(tmp / name, index=False, header=[f"w{i}" for i in table.columns])


def run_live(
    resolved: dict[str, Any],
    text: str,
    *,
    folder: Path,
    progress: bool = True,
    plots: bool | None = None,
    restart: bool = False,
) -> LiveOutcome:
    """Run every feasible point of a scenario live (see module docstring).

    Finished points are kept; points that failed in an earlier run are run again (the
    old folder is kept as ``ID.failed-TIMESTAMP``: nothing recorded is lost)."""
    live = resolved["live"]
    launcher = find_launcher(live["mpiexec"])
    points = expand(resolved)
    prepare_folder(resolved, text, points, folder, restart=restart)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for p in points:
        info_path = folder / "points" / p.point / "point.json"
        if info_path.is_file():
            info = json.loads(info_path.read_text(encoding="utf-8"))
            if info.get("status") != "ok":
                info_path.parent.rename(info_path.parent.with_name(f"{p.point}.failed-{stamp}"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["backend"] = "live"
    (folder / "manifest.json").write_text(dumps(manifest), encoding="utf-8")
    out = LiveOutcome(folder=folder, points=points)
    out.infeasible = [(p.point, p.error) for p in points if p.status == "infeasible"]
    todo = [p for p in points if p.status != "infeasible" and not point_done(folder, p.point)]
    out.skipped = sum(1 for p in points if p.status != "infeasible") - len(todo)
    for k, p in enumerate(todo):
        if progress:
            print(
                f"gcsim live: point {k + 1}/{len(todo)}: {p.point} (n={p.n}, "
                f"{p.n + 1} MPI processes)",
                file=sys.stderr,
                flush=True,
            )
        status, err = _run_point(p, launcher, live, folder)
        out.ran += 1
        if status != "ok":
            out.failed.append((p.point, err))
            print(f"gcsim live: point {p.point} failed: {err}", file=sys.stderr)
    write_summary(folder)
    want = resolved["output"]["plots"] if plots is None else plots
    if want:
        make_figures(folder, resolved["output"]["plot_formats"])
    return out


def _run_point(p: Point, launcher: str, live: dict[str, Any], folder: Path) -> tuple[str, str]:
    points_dir = folder / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{p.point}-", dir=points_dir))
    dimension = RunSpec.from_point(p.spec).dimension  # the real gradient length
    spec = dict(p.spec, live=live)
    (tmp / "spec.json").write_text(dumps(spec), encoding="utf-8")
    # each rank runs under a tiny shell that records a non-zero exit (e.g. 137 when a
    # worker is killed) before the launcher tears the job down: the earliest such file
    # names the process that died first
    wrapper = (
        '"$0" -m gcsim.live.node "$1" "$2"; rc=$?; if [ $rc -ne 0 ]; then '
        'echo $rc > "$2/exit-${PMI_RANK:-${SLURM_PROCID:-x}}"; fi; exit $rc'
    )
    cmd = [
        launcher,
        *live["mpiexec_args"],
        "-n",
        str(p.n + 1),
        "/bin/sh",
        "-c",
        wrapper,
        sys.executable,
        str(tmp / "spec.json"),
        str(tmp),
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=live["point_timeout"], check=False
        )
        rc, stderr = proc.returncode, proc.stderr + proc.stdout
    except subprocess.TimeoutExpired as exc:
        rc, stderr = (
            -1,
            (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or ""),
        )
        stderr += f"\npoint timed out after {live['point_timeout']:g} s ([live].point_timeout)"
    wall = time.perf_counter() - t0
    for line in stderr.splitlines():  # the node's own messages (failed rounds...)
        if line.startswith("gcsim live:"):
            print(line, file=sys.stderr)
    finished = (tmp / "live.json").is_file()
    records = pd.read_csv(tmp / "records.csv") if (tmp / "records.csv").is_file() else None
    info: dict[str, Any] = {
        "point": p.point,
        "index": p.index,
        "spec": p.spec,
        "backend": "live",
        "command": cmd,
        "returncode": rc,
    }
    if finished:
        live_info = json.loads((tmp / "live.json").read_text(encoding="utf-8"))
        info.update(status="ok", error="", **live_info)
    else:
        done = 0 if records is None else len(records)
        pids = (
            json.loads((tmp / "pids.json").read_text()) if (tmp / "pids.json").is_file() else None
        )
        dead = _first_exit(tmp, pids) or _dead_worker(stderr, pids)
        tail = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        reason = dead or (tail[-1] if tail else f"launcher exited with status {rc}")
        reason = reason.replace("gcsim live: error: ", "")
        err = (
            f"{reason} during round {done}; the records of rounds 0..{done - 1} are kept"
            if done
            else f"{reason} before any round finished"
        )
        info.update(status="failed", error=err, stderr=stderr[-20000:])
    summary: dict[str, Any] = {}
    if records is not None and len(records):
        summary = summarize_live(records, p, dimension, wall)
        if finished:
            _traces(tmp, p, dimension)
    (tmp / "summary.json").write_text(dumps(summary), encoding="utf-8")
    (tmp / "point.json").write_text(dumps(info), encoding="utf-8")
    final = points_dir / p.point
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return info["status"], info.get("error", "")
