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

from gcsim.errors import GcsimError
from gcsim.scenarios.expand import Point, build_code, expand, factor_keys
from gcsim.scenarios.store import (
    atomic_write_text,
    dumps,
    load_results,
    point_done,
    write_point,
)
from gcsim.sim import CostModel, Network, simulate

__all__ = ["SweepOutcome", "prepare_folder", "run_point", "run_sweep"]


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


def run_point(spec: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Simulate one point; return (summary row, per-round records)."""
    t0 = time.perf_counter()
    code = build_code(spec)
    wl = dict(spec["workload"])
    workload = None if wl.get("model") == "none" else wl
    res = simulate(
        code,
        delays=spec["delays"]["compute"],
        comm_delays=spec["delays"]["comm"],
        iterations=spec["rounds"],
        seed=spec["seed"],
        replicate=spec["replicate"],
        network=Network(**spec["network"]),
        costs=CostModel(**spec["costs"]),
        policy=spec["policy"],
        decode_rule=spec["decode_rule"],
        workload=workload,
        load_mode=spec["load_mode"],
        round_timeout=spec["round_timeout"],
        engine=spec["engine"],
        failed_workers=spec["failed_workers"],
    )
    summ: dict[str, Any] = dict(res.summary())
    rec = res.records
    ok = rec[rec["decoded"]]
    d = ok["duration"].to_numpy()
    summ.update(
        s=code.s,
        d=code.d,
        m=code.m,
        n=code.n,
        sem_round_time=float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan,
        message_fraction=code.message_length(res.config["dimension"]) / res.config["dimension"],
        mean_decode_wall=float(ok["decode_wall"].mean()) if len(ok) else math.nan,
        wall_s=time.perf_counter() - t0,
        engine=res.engine,
    )
    out = rec.copy()
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
        info["status"] = "ok"
        info["error"] = ""
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
            backup = folder.with_name(f"{folder.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.move(str(folder), str(backup))
            print(f"gcsim: moved the previous results to {backup}", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    # half-written point folders of a killed sweep are never results: remove them
    for tmp in (folder / "points").glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_text(folder / "scenario.toml", text)
    atomic_write_text(folder / "resolved.json", resolved_text)
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
    import multiprocessing as mp

    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("forkserver"))


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
) -> SweepOutcome:
    """Run every missing point of a scenario, then write the summary and the figures."""
    points = expand(resolved)
    prepare_folder(resolved, text, points, folder, restart=restart)
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
        if executor == "local" and jobs <= 1:
            for t in tasks:
                _after(out, _execute(t), bar, on_point)
        elif tasks:
            with _make_executor(executor, jobs) as ex:
                futures: Iterable[Future[tuple[str, str, str]]] = [
                    ex.submit(_execute, t) for t in tasks
                ]
                for fut in as_completed(futures):
                    _after(out, fut.result(), bar, on_point)
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
