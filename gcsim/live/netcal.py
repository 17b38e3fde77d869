"""``gcsim netcal``: measure this cluster's network and print its ``[cluster.network]``.

An MPI job started the way ``gcsim live`` starts one (:class:`~gcsim.live.Launcher`)
runs two measurements between rank 0 (where the live server runs) and the other ranks
(the workers):

* **ping-pong**: for every message size, rank 0 sends ``size`` bytes to one worker and
  waits for the same number back, ``repeats`` times per worker (after warm-up rounds).
  Half the round trip is the one-way time of a message of that size. The medians per
  size (over workers and repeats) are fitted to ``latency + size / bandwidth`` by least
  squares on **relative** residuals (each row divided by its time), so that the small
  messages set the latency and the large ones the bandwidth;
* **incast** (with two workers or more): after a barrier every worker sends ``size``
  bytes to rank 0 at once; rank 0 times the last arrival. The slope of that time against
  the total bytes is the server's ingress (``ingress``). With one worker there is
  nothing shared to measure and ``ingress`` is left out (``inf``).

Both fits are :class:`Fit` objects (intercept, slope, R²) in a :class:`NetCalibration`,
whose :meth:`~NetCalibration.toml` is the snippet to paste into a scenario.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gcsim.errors import GcsimError

__all__ = ["DEFAULT_SIZES", "Fit", "NetCalibration", "calibrate_network", "fit_line"]

#: message sizes in bytes: 8 B to 2 MiB, a factor 4 apart
DEFAULT_SIZES: tuple[int, ...] = tuple(8 * 4**k for k in range(10))


@dataclass(frozen=True)
class Fit:
    """``time = intercept + slope * bytes``, fitted on relative residuals."""

    intercept: float
    slope: float
    r2: float

    @property
    def rate(self) -> float:
        """Bytes per second (1 / slope; ``inf`` when the slope is not positive)."""
        return 1.0 / self.slope if self.slope > 0 else math.inf


def fit_line(x: Any, t: Any) -> Fit:
    """Least squares ``t ≈ a + b x`` minimising the relative residuals ``(t - a - b x) / t``
    (``numpy.linalg.lstsq`` on rows divided by t). R² is that of the unweighted fit
    quality, on the original scale. Needs two distinct x and positive times."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    if x.shape != t.shape or x.ndim != 1 or len(np.unique(x)) < 2:
        raise GcsimError("fit_line needs times for at least two distinct message sizes")
    if not (np.isfinite(t).all() and (t > 0).all()):
        raise GcsimError(f"fit_line needs positive finite times; got {t.tolist()!r}")
    w = 1.0 / t
    A = np.column_stack([w, x * w])
    (a, b), *_ = np.linalg.lstsq(A, t * w, rcond=None)
    resid = t - (a + b * x)
    total = float(((t - t.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return Fit(float(a), float(b), r2)


@dataclass
class NetCalibration:
    """What :func:`calibrate_network` measured (times in seconds, sizes in bytes)."""

    ranks: int
    sizes: list[int]
    one_way: list[float]  # median one-way time per size (ping-pong, half round trip)
    pingpong: Fit
    incast_sizes: list[int] = field(default_factory=list)
    incast: list[float] = field(default_factory=list)  # median time to the last arrival
    ingress_fit: Fit | None = None

    @property
    def latency(self) -> float:
        return max(self.pingpong.intercept, 0.0)

    @property
    def bandwidth(self) -> float:
        return self.pingpong.rate

    @property
    def ingress(self) -> float:
        return self.ingress_fit.rate if self.ingress_fit is not None else math.inf

    def network(self) -> dict[str, Any]:
        """The ``[cluster.network]`` keys measured (latency, bandwidth, ingress when
        measured); a dict that ``gcsim.Network(**...)`` accepts."""
        out: dict[str, Any] = {"latency": self.latency, "bandwidth": self.bandwidth}
        if math.isfinite(self.ingress):
            out["ingress"] = self.ingress
        return out

    def toml(self) -> str:
        """The ``[cluster.network]`` table to paste into a scenario."""

        def num(v: float) -> str:
            return "inf" if math.isinf(v) else f"{v:.4g}"

        p = self.pingpong
        lines = [
            f"# measured by gcsim netcal: MPI ping-pong rank 0 <-> {self.ranks - 1} worker(s), "
            f"{len(self.sizes)} sizes {self.sizes[0]} B..{self.sizes[-1]} B",
            f"# one-way time = {p.intercept:.3g} s + bytes / {num(p.rate)} B/s (R^2 {p.r2:.4f})",
            "[cluster.network]",
            f"latency = {num(self.latency)}",
            f"bandwidth = {num(self.bandwidth)}",
        ]
        if self.ingress_fit is not None and math.isfinite(self.ingress):
            f = self.ingress_fit
            lines.insert(
                2,
                f"# incast of {self.ranks - 1} workers: last arrival = {f.intercept:.3g} s + "
                f"total bytes / {num(f.rate)} B/s (R^2 {f.r2:.4f})",
            )
            lines.append(f"ingress = {num(self.ingress)}")
        else:
            lines.append("# ingress: not measured (needs 2 workers or more: --ranks 3)")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ranks": self.ranks,
            "sizes": self.sizes,
            "one_way": self.one_way,
            "pingpong": self.pingpong.__dict__,
            "incast_sizes": self.incast_sizes,
            "incast": self.incast,
            "ingress_fit": None if self.ingress_fit is None else self.ingress_fit.__dict__,
            "network": self.network(),
        }


def calibrate_network(
    *,
    ranks: int = 2,
    sizes: tuple[int, ...] | list[int] = DEFAULT_SIZES,
    repeats: int = 20,
    warmup: int = 3,
    launcher: Any = None,
    timeout: float = 300.0,
) -> NetCalibration:
    """Measure latency, bandwidth (and, with ``ranks >= 3``, the server's ingress) with an
    MPI job of ``ranks`` processes started by ``launcher`` (default
    :meth:`Launcher.create() <gcsim.live.Launcher.create>`: ``$GCSIM_MPIEXEC``, else
    ``mpiexec``). See the module docstring."""
    from gcsim.live.launcher import Launcher, _launch

    if isinstance(ranks, bool) or not isinstance(ranks, int) or ranks < 2:
        raise GcsimError(f"netcal needs 2 MPI ranks or more (server + workers); got {ranks!r}")
    clean = sorted({int(s) for s in sizes})
    if len(clean) < 2 or clean[0] < 1:
        raise GcsimError(f"netcal needs at least two distinct sizes >= 1 byte; got {sizes!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise GcsimError(f"netcal repeats must be an integer >= 1; got {repeats!r}")
    launcher = launcher if launcher is not None else Launcher.create()
    with tempfile.TemporaryDirectory(prefix="gcsim-netcal-") as tmp:
        out = Path(tmp) / "netcal.json"
        job = {"sizes": clean, "repeats": repeats, "warmup": max(int(warmup), 0)}
        cmd = [
            launcher.program,
            *launcher.args,
            "-n",
            str(ranks),
            sys.executable,
            "-m",
            "gcsim.live.netcal",
            json.dumps(job),
            str(out),
        ]
        rc, output = _launch(cmd, timeout)
        if rc != 0 or not out.is_file():
            tail = [ln for ln in output.strip().splitlines() if ln.strip()][-5:]
            raise GcsimError(
                f"netcal MPI job failed (exit status {rc}): " + (" | ".join(tail) or "no output")
            )
        raw = json.loads(out.read_text(encoding="utf-8"))
    return _analyse(raw, ranks)


def _analyse(raw: dict[str, Any], ranks: int) -> NetCalibration:
    sizes = [int(s) for s in raw["sizes"]]
    one_way = [float(np.median(v)) / 2.0 for v in raw["rtt"]]  # per size, all workers
    cal = NetCalibration(ranks, sizes, one_way, fit_line(sizes, one_way))
    if raw.get("incast"):
        cal.incast_sizes = sizes
        cal.incast = [float(np.median(v)) for v in raw["incast"]]
        total = [s * (ranks - 1) for s in sizes]
        cal.ingress_fit = fit_line(total, cal.incast)
    return cal


# ------------------------------------------------------------------ the MPI job
def _job(comm: Any, job: dict[str, Any]) -> dict[str, Any] | None:
    """Run under MPI: rank 0 measures, returns the raw times; the others echo."""
    from mpi4py import MPI

    rank, nranks = comm.Get_rank(), comm.Get_size()
    sizes: list[int] = job["sizes"]
    repeats, warmup = int(job["repeats"]), int(job["warmup"])
    buf = np.zeros(max(sizes), dtype=np.uint8)
    rtt: list[list[float]] = [[] for _ in sizes]
    incast: list[list[float]] = [[] for _ in sizes]
    for k, size in enumerate(sizes):
        view = buf[:size]
        for peer in range(1, nranks):
            comm.Barrier()
            if rank == 0:
                for rep in range(warmup + repeats):
                    t0 = time.perf_counter()
                    comm.Send([view, MPI.BYTE], dest=peer, tag=k)
                    comm.Recv([view, MPI.BYTE], source=peer, tag=k)
                    if rep >= warmup:
                        rtt[k].append(time.perf_counter() - t0)
            elif rank == peer:
                for _ in range(warmup + repeats):
                    comm.Recv([view, MPI.BYTE], source=0, tag=k)
                    comm.Send([view, MPI.BYTE], dest=0, tag=k)
        if nranks < 3:
            continue
        bufs = [np.zeros(size, dtype=np.uint8) for _ in range(nranks - 1)] if rank == 0 else []
        for rep in range(warmup + repeats):
            comm.Barrier()
            if rank == 0:
                t0 = time.perf_counter()
                reqs = [
                    comm.Irecv([bufs[p - 1], MPI.BYTE], source=p, tag=1000 + k)
                    for p in range(1, nranks)
                ]
                MPI.Request.Waitall(reqs)
                if rep >= warmup:
                    incast[k].append(time.perf_counter() - t0)
            else:
                comm.Send([view, MPI.BYTE], dest=0, tag=1000 + k)
    if rank != 0:
        return None
    return {"sizes": sizes, "rtt": rtt, "incast": incast if nranks >= 3 else []}


def main(argv: list[str] | None = None) -> int:
    """``python -m gcsim.live.netcal JOB_JSON OUT_JSON`` under mpiexec."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(
            "usage: python -m gcsim.live.netcal JOB_JSON OUT_JSON (under mpiexec)", file=sys.stderr
        )
        return 2
    from gcsim._lifeline import watch_from_env

    watch_from_env()  # end with the gcsim command that launched this job
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.Get_size() < 2:
        print("gcsim netcal: error: needs 2 MPI ranks or more", file=sys.stderr)
        return 2
    raw = _job(comm, json.loads(argv[0]))
    if raw is not None:
        out = Path(argv[1])
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(raw), encoding="utf-8")
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
