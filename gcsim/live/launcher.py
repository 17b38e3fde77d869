"""``gcsim live``: run every point of a scenario on real MPI processes.

Each point is one MPI job of n + 1 processes, run one after the other, started by the
launcher of this machine (:class:`Launcher`: ``gcsim live --mpiexec PROGRAM
--mpiexec-arg ARG`` or ``GCSIM_MPIEXEC`` / ``GCSIM_MPIEXEC_ARGS``; a scenario file cannot
set it, so that sharing a scenario never shares a command to run).
Results land in the same folder layout as a sweep (``gcsim.load_results`` and
``gcsim plot`` work unchanged), plus ``workers.csv`` (per round and worker) and the
measured traces ``compute_trace.csv`` / ``comm_trace.csv`` that the simulator's
``trace`` delay model replays.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gcsim._files import share
from gcsim._lifeline import child_env, die_with_parent
from gcsim.errors import GcsimError
from gcsim.scenarios.expand import Point
from gcsim.scenarios.runner import SweepOutcome, point_outcome, run_sweep, summarize
from gcsim.scenarios.store import dumps
from gcsim.spec import RunSpec

__all__ = ["Launcher", "find_launcher", "live_executor", "run_live"]


def find_launcher(name: str = "mpiexec") -> str:
    """The MPI launcher program: a path, or a name looked up next to this Python first
    (the mpich wheel's ``mpiexec``), then on PATH. Raises GcsimError when it is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise GcsimError(
            "the live backend needs mpi4py and an MPI library: "
            "pip install 'gcsim[live]' (mpi4py + mpich wheels)"
        ) from None
    if not isinstance(name, str) or not name or "\0" in name:
        raise GcsimError(f"the MPI launcher must be a program name or path; got {name!r}")
    if os.sep in name:
        path = Path(name)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.resolve())
        raise GcsimError(f"MPI launcher {name!r} is not an executable file")
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if not found:
        raise GcsimError(
            f"MPI launcher {name!r} not found next to {sys.executable} or on PATH (pass "
            "gcsim live --mpiexec PROGRAM, or pip install 'gcsim[live]' which brings mpiexec)"
        )
    return found


@dataclass(frozen=True)
class Launcher:
    """How this machine starts an MPI job: the launcher program and extra arguments
    (e.g. ``-f hosts.txt`` for an MPICH hostfile, ``--mpi=pmi2`` for Slurm's srun).

    Machine configuration, never scenario data: from the command line or the
    environment (:meth:`from_env`)."""

    program: str
    args: tuple[str, ...] = ()

    @classmethod
    def create(cls, program: str | None = None, args: Sequence[str] | None = None) -> Launcher:
        """The launcher: ``program``/``args`` when given, else the environment's
        ``GCSIM_MPIEXEC`` / ``GCSIM_MPIEXEC_ARGS`` (split like a shell would), else
        ``mpiexec``."""
        prog = program or os.environ.get("GCSIM_MPIEXEC") or "mpiexec"
        if args is None:
            env = os.environ.get("GCSIM_MPIEXEC_ARGS", "")
            try:
                args = shlex.split(env)
            except ValueError as exc:
                raise GcsimError(f"GCSIM_MPIEXEC_ARGS: cannot split {env[:80]!r}: {exc}") from None
        bad = [a for a in args if not isinstance(a, str) or "\0" in a]
        if bad:
            raise GcsimError(f"launcher arguments must be strings; got {bad[:3]!r}")
        return cls(find_launcher(prog), tuple(args))


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


def _traces(tmp: Path, spec: RunSpec) -> None:
    """Measured compute / communication times per unit load, round x worker (CSV)."""
    w = pd.read_csv(tmp / "workers.csv")
    if w.empty:
        return
    code = spec.code
    loads = np.asarray(code.work, dtype=float)
    frac = spec.message_length / spec.dimension
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
    launcher: Launcher | None = None,
) -> SweepOutcome:
    """Run every feasible point of a scenario live: the sweep runner with the ``live``
    executor (same folder layout, resume, retry of failed points, summary, figures)."""
    return run_sweep(
        resolved,
        text,
        folder=folder,
        executor="live",
        launcher=launcher,
        progress=progress,
        plots=plots,
        restart=restart,
    )


def live_executor(
    live: dict[str, Any], launcher: Launcher | None = None
) -> Callable[[Point, Path], tuple[str, str, str]]:
    """The sweep runner's ``live`` executor: runs one point as one MPI job and writes its
    folder (atomically, like a simulated point). Finds the launcher first."""
    launcher = launcher if launcher is not None else Launcher.create()

    def execute(p: Point, folder: Path) -> tuple[str, str, str]:
        status, err = _run_point(p, launcher, live, folder)
        if status != "ok":
            print(f"gcsim live: point {p.point} failed: {err}", file=sys.stderr)
        return p.point, status, err

    return execute


def _launch(cmd: list[str], timeout: float) -> tuple[int, str]:
    """Run the launcher; return (exit status, its output). The launcher and every rank
    die with this process: the launcher by the kernel's parent-death signal, the ranks
    by watching this process (``GCSIM_WATCH_PID``); on a timeout or Ctrl-C the whole job
    (its own process group) is killed before returning or re-raising."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_rank_env(),
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, err + out
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return -1, f"{err}{out}\npoint timed out after {timeout:g} s ([live].point_timeout)"
    except BaseException:
        _kill_group(proc)
        raise


#: One BLAS/OpenMP thread per MPI rank: n + 1 ranks each running a pool of one thread
#: per core oversubscribe the machine many times over, and time-slicing then dominates
#: (and distorts) every measured compute time. The user's own settings win.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _rank_env() -> dict[str, str]:
    env = child_env()
    for var in _THREAD_VARS:
        env.setdefault(var, "1")
    return env


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _run_point(p: Point, launcher: Launcher, live: dict[str, Any], folder: Path) -> tuple[str, str]:
    points_dir = folder / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{p.point}-", dir=points_dir))
    share(tmp, folder=True)  # mkdtemp makes it 0700: results follow the umask
    run_spec = RunSpec.from_point(p.spec)
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
        launcher.program,
        *launcher.args,
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
    rc, stderr = _launch(cmd, float(live["point_timeout"]))
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
        summary = summarize(
            records, run_spec, wall=wall, engine="live", target_loss=p.spec.get("target_loss")
        )
        if finished:
            _traces(tmp, run_spec)
            # like a simulated point: a run in which no round decoded has nothing to report
            info["status"], info["error"] = point_outcome(summary, p.spec, records)
    (tmp / "summary.json").write_text(dumps(summary), encoding="utf-8")
    (tmp / "point.json").write_text(dumps(info), encoding="utf-8")
    final = points_dir / p.point
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return info["status"], info.get("error", "")
