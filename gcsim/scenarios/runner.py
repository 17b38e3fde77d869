"""Running points and sweeps: local process pool or MPI, resumable, loss-free.

Each point runs in a worker process and writes its own folder atomically (see
:mod:`gcsim.scenarios.store`), so results survive the death of the sweep process at any
moment. ``run_sweep`` skips points that are already done, runs the rest in parallel with a
progress bar, then writes the tidy summary table and the figures.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gcsim.analysis.accuracy import time_to_target
from gcsim.errors import GcsimError
from gcsim.scenarios.expand import Point, expand, factor_keys
from gcsim.scenarios.store import (
    atomic_write_text,
    dumps,
    load_results,
    point_done,
    write_point,
)
from gcsim.scenarios.tune import tune_points
from gcsim.sim import SimResult, run
from gcsim.spec import RunSpec

__all__ = ["SweepOutcome", "point_outcome", "prepare_folder", "run_point", "run_sweep"]


def _versions() -> dict[str, str]:
    import scipy
    import simpy

    import gcsim

    return {
        "gcsim": gcsim.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "simpy": simpy.__version__,
        "platform": platform.platform(),
    }


def summarize(
    records: pd.DataFrame,
    spec: RunSpec,
    *,
    wall: float,
    engine: str,
    target_loss: float | None = None,
) -> dict[str, Any]:
    """The per-point summary row of a run (simulated or live): round-time statistics,
    the code's effective s, d, m and the message fraction; with ``target_loss`` the
    time and rounds to reach it (:mod:`gcsim.analysis.accuracy`)."""
    code = spec.code
    summ: dict[str, Any] = dict(SimResult(records=records, engine=engine, config={}).summary())
    ok = records[records["decoded"].astype(bool)]
    d = ok["duration"].to_numpy(dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # huge draws: inf, judged below
        sem = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    summ.update(
        s=code.s,
        d=code.d,
        m=code.m,
        n=code.n,
        sem_round_time=sem,
        message_fraction=spec.message_length / spec.dimension,
        mean_decode_wall=float(ok["decode_wall"].mean()) if len(ok) else math.nan,
        wall_s=wall,
        engine=engine,
    )
    summ.update(time_to_target(records, target_loss))
    return summ


def point_outcome(
    summary: dict[str, Any], spec: dict[str, Any], records: pd.DataFrame | None = None
) -> tuple[str, str]:
    """``("ok", "")``, or ``("failed", why)`` for a run that produced no usable round
    time: no round decoded (every worker failed, every draw overflowed to inf, every
    round timed out), or round times so large that their mean overflows float64.

    Such a point ran without an error but has nothing to report; calling it ok would
    put NaN or inf into tables and figures and let the sweep exit 0."""
    rounds = int(summary.get("rounds") or 0)
    failed = int(summary.get("failed_rounds") or 0)
    if rounds and failed >= rounds:
        why = []
        n = int(spec.get("n") or 0)
        dead = list(spec.get("failed_workers") or [])
        if dead:
            why.append(f"cluster.failed_workers lists {len(dead)} of the n = {n} workers")
        timeout = spec.get("round_timeout")
        if timeout is not None and math.isfinite(float(timeout)):
            why.append(f"cluster.round_timeout = {float(timeout):g} s")
        silent = (
            records is not None
            and "n_responders" in records.columns
            and not (pd.to_numeric(records["n_responders"], errors="coerce") > 0).any()
        )
        if silent and len(dead) < n:
            why.append(
                "no worker ever responded: the delay draws overflow float64 to inf "
                "(see the delay model's parameters, e.g. lognormal mu or pareto alpha)"
            )
        reason = "; ".join(why) or "the responders never formed a decodable set"
        return "failed", f"no round decoded: all {rounds} rounds failed ({reason})"
    mean = summary.get("mean_round_time")
    if mean is not None and not math.isfinite(float(mean)) and rounds > failed:
        return "failed", (
            f"round times overflow float64 (mean round time {float(mean)}): the delays are "
            "too large to average; check the delay model's parameters (an infinite-mean "
            "model such as pareto with alpha <= 1?)"
        )
    return "ok", ""


def run_point(point: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Simulate one point (its ``spec`` table); return (summary row, per-round records)."""
    t0 = time.perf_counter()
    spec = RunSpec.from_point(point)
    with np.errstate(over="ignore"):  # huge draws overflow to inf: point_outcome judges it
        res = run(spec)
    summ = summarize(
        res.records,
        spec,
        wall=time.perf_counter() - t0,
        engine=res.engine,
        target_loss=point.get("target_loss"),
    )
    out = res.records.copy()
    out["responders"] = [" ".join(map(str, r)) if r is not None else "" for r in out["responders"]]
    return summ, out


def _execute(args: tuple[dict[str, Any], str, str, bool]) -> tuple[str, str, str]:
    """Worker-process entry: run one point and write its folder. Never raises."""
    spec_point, folder, fmt, records = args
    point_id = spec_point["point"]
    spec = spec_point["spec"]
    info: dict[str, Any] = {
        "point": point_id,
        "index": spec_point["index"],
        "spec": spec,
        "pid": os.getpid(),
    }
    try:
        summary, rec = run_point(spec)
        info["status"], info["error"] = point_outcome(summary, spec, rec)
    except Exception as exc:  # recorded, the sweep goes on
        summary, rec = {}, None
        info["status"] = "failed"
        info["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        info["traceback"] = traceback.format_exc()
    write_point(Path(folder), point_id, info, summary, rec if records else None, fmt)
    return point_id, info["status"], info["error"]


@dataclass
class SweepOutcome:
    folder: Path
    points: list[Point]
    ran: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    infeasible: list[tuple[str, str]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def prepare_folder(
    resolved: dict[str, Any], text: str, points: list[Point], folder: Path, *, restart: bool = False
) -> None:
    """Create the results folder, or check that an existing one holds this scenario."""
    resolved_text = dumps(resolved)
    existing = folder / "resolved.json"
    if existing.is_file():
        same = json.loads(existing.read_text(encoding="utf-8")) == json.loads(resolved_text)
        if not same:
            if not restart:
                raise GcsimError(
                    f"{folder} holds results of a different scenario (or different --set "
                    "values); use another --out folder, or --restart to move the old "
                    "results aside and start again"
                )
            real = folder.resolve()
            cwd = Path.cwd().resolve()
            if real == cwd or real in cwd.parents:
                raise GcsimError(
                    f"--restart would move {folder} aside, but it is the current directory "
                    f"{'' if real == cwd else 'or holds it '}(moving it would pull the "
                    "working directory away); give --out a folder of its own, e.g. "
                    "--out results/NAME, or run from elsewhere"
                )
            backup = real.with_name(f"{real.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.move(str(real), str(backup))
            print(f"gcsim: moved the previous results to {backup}", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    # half-written point folders of a killed sweep are never results: remove them
    for tmp in (folder / "points").glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_text(folder / "scenario.toml", text)
    atomic_write_text(folder / "resolved.json", resolved_text)
    write_manifest(resolved, points, folder)


def write_manifest(
    resolved: dict[str, Any], points: list[Point], folder: Path, **extra: Any
) -> None:
    """``manifest.json``: the scenario's points (without their specs) and seeds."""
    manifest = {
        "scenario": resolved["scenario"]["name"],
        "seed": resolved["scenario"]["seed"],
        "versions": _versions(),
        "factors": factor_keys(resolved),
        "points": [
            {k: v for k, v in p.as_dict().items() if k != "spec"}
            | {
                "seeds": {
                    "root": p.spec["seed"],
                    "replicate": p.replicate,
                    "streams": ["code", "compute", "comm", "data"],
                }
            }
            for p in points
        ],
        **extra,
    }
    atomic_write_text(folder / "manifest.json", dumps(manifest))


def _make_executor(kind: str, jobs: int) -> Executor:
    if kind == "mpi":
        try:
            from mpi4py.futures import MPIPoolExecutor
        except ImportError:
            raise GcsimError(
                "--executor mpi needs mpi4py and an MPI library: pip install "
                "'gcsim[live]' (mpi4py + mpich)"
            ) from None
        return MPIPoolExecutor(max_workers=jobs if jobs > 0 else None)
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=_forkserver(),
        initializer=_pool_init,
        initargs=(os.getpid(), max(1, (os.cpu_count() or 1) // max(jobs, 1))),
    )


def _forkserver() -> Any:
    """The forkserver context of the local pool; its server imports the point runner
    once (``set_forkserver_preload``), so pool workers fork with it imported instead of
    each importing numpy, pandas and gcsim (about a second) before their first point."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["gcsim.scenarios.runner"])
    return ctx


def _warm_pool() -> None:
    """Start the forkserver now (it imports the runner while this process expands the
    scenario, prepares the folder and tunes), so the pool's workers start at once."""
    from multiprocessing import forkserver

    _forkserver()
    try:
        forkserver.ensure_running()
    except OSError:  # pragma: no cover - the pool starts it later (and reports)
        pass


def _pool_init(sweep_pid: int, threads: int) -> None:
    """Pool workers die with the sweep (a ``kill -9`` of ``gcsim sweep`` used to leave
    them finishing the queued points for minutes), and each uses ``cores // jobs`` BLAS
    and OpenMP threads: with every worker's BLAS using every core, thread hand-off made
    even small vector norms cost milliseconds and a 2-job sweep ran slower than 1 job."""
    from threadpoolctl import threadpool_limits

    from gcsim._lifeline import die_with_parent, watch

    die_with_parent()
    watch(sweep_pid)
    threadpool_limits(limits=threads)


def _tune_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Pool entry: one advisor search (as :func:`tune_points` records it)."""
    from gcsim.errors import InfeasibleParametersError
    from gcsim.scenarios.tune import _tune_one

    try:
        return _tune_one(spec)
    except InfeasibleParametersError as exc:
        return {"error": str(exc)}


def _tune_in_pool(points: list[Point], folder: Path, jobs: int, progress: bool) -> None:
    """The advisor searches of a tuned sweep, run in the pool before the points (they are
    independent; in the sweep's process they were a serial part: 9 s of paper-comparison's
    77 s at one job) and added to ``tuning.json``, which :func:`tune_points` then reads."""
    from gcsim.scenarios.tune import _key, read_tuning

    todo = [p for p in points if p.status != "infeasible" and p.spec.get("tune")]
    path = folder / "tuning.json"
    known = read_tuning(path)
    by_key: dict[str, dict[str, Any]] = {}
    for p in todo:
        by_key.setdefault(_key(p.spec), p.spec)
    missing = [k for k in by_key if k not in known]
    if len(missing) < 2:
        return  # (nothing to share out)
    if progress:
        print(
            f"gcsim: tuning {len(missing)} scheme configuration(s) with the advisor ({jobs} jobs)",
            file=sys.stderr,
        )
    ex = _make_executor("local", jobs)
    try:
        futures = {ex.submit(_tune_task, by_key[k]): k for k in missing}
        for fut in as_completed(futures):
            known[futures[fut]] = fut.result()
            # kept as they come: an interrupted tuning resumes where it stopped
            atomic_write_text(path, json.dumps(known, indent=1, sort_keys=True))
    except BaseException:
        _stop_pool(ex)
        raise
    ex.shutdown(wait=True)


def _stop_pool(ex: Executor) -> None:
    """Ctrl-C: drop the queued points and kill the running ones at once (their folders
    are written atomically, so nothing half-written remains; a rerun resumes)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())  # gone after shutdown
    for proc in procs:
        proc.kill()
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.join(timeout=5)


EXECUTORS = ("local", "mpi", "live")


def run_sweep(
    resolved: dict[str, Any],
    text: str,
    *,
    folder: Path,
    jobs: int = 1,
    executor: str = "local",
    progress: bool = True,
    plots: bool | None = None,
    restart: bool = False,
    on_point: Callable[[str, str], None] | None = None,
    launcher: Any = None,
) -> SweepOutcome:
    """Run every missing point of a scenario, then write the summary and the figures.

    ``executor``: ``local`` (a process pool of ``jobs``), ``mpi`` (an mpi4py pool) or
    ``live`` (each point one MPI job of n + 1 processes, one after the other; see
    :mod:`gcsim.live`; ``launcher`` a :class:`gcsim.live.Launcher`, by default from the
    environment). Finished points are kept; points that failed in an earlier run
    are run again, the old folder kept as ``ID.failed-TIMESTAMP`` (nothing is lost).
    """
    if executor not in EXECUTORS:
        raise GcsimError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    run_live_point = None
    if executor == "live":
        from gcsim.live.launcher import live_executor

        run_live_point = live_executor(resolved["live"], launcher)  # checks it first
    if executor == "local" and jobs > 1:
        _warm_pool()
    points = expand(resolved)
    prepare_folder(resolved, text, points, folder, restart=restart)
    _set_aside_failed(folder, points)
    if executor == "local" and jobs > 1:
        _tune_in_pool(points, folder, jobs, progress)
    tuned = tune_points(points, folder, progress=progress)
    if executor == "live" or tuned or any(p.tuned for p in points):
        write_manifest(
            resolved, points, folder, **({"backend": "live"} if executor == "live" else {})
        )
    out = SweepOutcome(folder=folder, points=points)
    out.infeasible = [(p.point, p.error) for p in points if p.status == "infeasible"]
    todo = [p for p in points if p.status != "infeasible" and not point_done(folder, p.point)]
    out.skipped = sum(1 for p in points if p.status != "infeasible") - len(todo)
    fmt = resolved["output"]["format"]
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise GcsimError(
                "output.format = 'parquet' needs pyarrow (pip install pyarrow); "
                "or use format = 'csv'"
            ) from None
    records = resolved["output"]["records"]
    tasks = [
        ({"point": p.point, "index": p.index, "spec": p.spec}, str(folder), fmt, records)
        for p in todo
    ]
    bar = _progress(len(tasks), progress, initial=0)
    try:
        if run_live_point is not None:
            for p in todo:
                _after(out, run_live_point(p, folder), bar, on_point)
        elif executor == "local" and jobs <= 1:
            for t in tasks:
                _after(out, _execute(t), bar, on_point)
        elif tasks:
            ex = _make_executor(executor, jobs)
            try:
                futures: Iterable[Future[tuple[str, str, str]]] = [
                    ex.submit(_execute, t) for t in tasks
                ]
                for fut in as_completed(futures):
                    _after(out, fut.result(), bar, on_point)
            except BaseException:
                _stop_pool(ex)
                raise
            ex.shutdown(wait=True)
    finally:
        bar.close()
    write_summary(folder)
    want_plots = resolved["output"]["plots"] if plots is None else plots
    if want_plots:
        out.figures = make_figures(folder, resolved["output"]["plot_formats"])
    # failures of earlier runs of this folder count too
    res = load_results(folder, records=False)
    failed = res.summary[res.summary["status"] == "failed"]
    out.failed = [(str(p), str(e)) for p, e in zip(failed["point"], failed["error"], strict=True)]
    return out


def _set_aside_failed(folder: Path, points: list[Point]) -> None:
    """Move the folders of points that failed earlier aside, so that they run again."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for p in points:
        info_path = folder / "points" / p.point / "point.json"
        if info_path.is_file():
            info = json.loads(info_path.read_text(encoding="utf-8"))
            if info.get("status") != "ok":
                info_path.parent.rename(info_path.parent.with_name(f"{p.point}.failed-{stamp}"))


def _after(
    out: SweepOutcome,
    result: tuple[str, str, str],
    bar: Any,
    on_point: Callable[[str, str], None] | None,
) -> None:
    pid, status, _err = result
    out.ran += 1
    bar.update(1)
    if on_point is not None:
        on_point(pid, status)


class _NoBar:
    def update(self, k: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool, initial: int = 0) -> Any:
    if not enabled or total == 0:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _NoBar()
    return tqdm(
        total=total,
        initial=initial,
        unit="point",
        desc="gcsim sweep",
        file=sys.stderr,
        dynamic_ncols=True,
    )


def write_summary(folder: Path) -> Path:
    """Write ``summary.csv`` (tidy, one row per point, in expansion order) atomically."""
    res = load_results(folder, records=False)
    path = folder / "summary.csv"
    atomic_write_text(path, res.summary.to_csv(index=False))
    return path


def make_figures(folder: Path, formats: list[str]) -> list[Path]:
    """Draw the figures of a results folder into ``folder/figures``."""
    try:
        from gcsim.plots import plot_results
    except ImportError as exc:
        print(f"gcsim: figures skipped: {exc} (pip install matplotlib)", file=sys.stderr)
        return []
    res = load_results(folder)
    return list(plot_results(res, folder / "figures", formats=tuple(formats)))
