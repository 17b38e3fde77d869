"""The live MPI program: rank 0 is the server, ranks 1..n are the workers.

Run by the launcher (``gcsim live``) as ``mpiexec -n N+1 python -m gcsim.live.node SPEC
OUTDIR``, or by hand under ``mpiexec``/``srun`` on a cluster. It runs exactly the
simulator's round protocol on real processes with real messages and real gradients:

* start-up: the server sends each worker the data of the partitions it holds (once);
  every worker rebuilds the same code from the same seed stream;
* each round the server draws every worker's compute and communication delay from the
  scenario's delay models with the simulator's seed streams (a live run and its
  simulation face the same straggler draws), and sends each worker the model and its two
  injected delays;
* a worker computes its partial gradients for real, waits out its injected compute delay,
  encodes with the real kernel, waits out its injected communication delay, and sends
  its coded message (the round travels in the message header; stale ones are discarded);
* the server decodes with the real kernel as soon as the responders are decodable (or at
  n - s), updates the model, and goes on. ``cancel`` sends the stragglers a cancel
  message; ``non-preemptive`` lets them finish (their late messages are discarded).

MPI pitfalls handled: no send is ever cancelled; the server drains every incoming
message as soon as it is probed (``Iprobe`` + ``recv``), so a late rendezvous-sized
message never blocks its sender for long; both sides poll with a short sleep instead of
spinning in a blocking receive (2-core machines are oversubscribed); messages are matched
by (source, tag) with the round in the payload, never by completion order.

Records are appended to CSV files round by round (flushed), so a crash keeps every
finished round on disk.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim.live.server import Message, serve

if TYPE_CHECKING:
    from gcsim.spec import RunSpec

TAG_SETUP, TAG_MODEL, TAG_CANCEL, TAG_STOP, TAG_RESULT, TAG_BYE = 1, 2, 3, 4, 5, 6
MAX_UNTAKEN = 3  # messages a worker may leave unreceived before it gets no more


def _now() -> float:
    return time.monotonic()


def _build(point: dict[str, Any]) -> tuple[Any, Any, RunSpec]:
    from gcsim.spec import RunSpec

    spec = RunSpec.from_point(point)
    return spec.code, spec.make_workload(), spec


# ----------------------------------------------------------------------------- worker
def worker(comm: Any, spec: dict[str, Any]) -> None:

    rank = comm.Get_rank()
    i = rank - 1
    poll = float(spec["live"]["poll_interval"])
    code, workload, _ = _build(spec)
    live = spec["live"]
    background: list[subprocess.Popen[bytes]] = []
    if i in live.get("slow_workers", []):
        background = _contend(i, int(live.get("background", 1)))
    try:
        _work(comm, code, workload, i, poll)
    finally:
        for proc in background:
            proc.kill()
            proc.wait()


def _contend(i: int, count: int) -> list[subprocess.Popen[bytes]]:
    """Real contention for worker i: pin it to one core and start ``count`` CPU-bound
    background processes on the same core (they die with this worker)."""
    from gcsim._lifeline import die_with_parent

    cores = sorted(os.sched_getaffinity(0))
    core = {cores[i % len(cores)]}
    os.sched_setaffinity(0, core)

    def pinned() -> None:
        die_with_parent()
        os.sched_setaffinity(0, core)

    return [
        subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            preexec_fn=pinned,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _work(comm: Any, code: Any, workload: Any, i: int, poll: float) -> None:
    from mpi4py import MPI

    setup = _wait(comm, TAG_SETUP, poll)
    payloads, dimension = setup["payloads"], int(setup["dimension"])
    support = code.support(i)
    status = MPI.Status()
    pending: list[Any] = []
    while True:
        # take the newest round waiting (non-preemptive stragglers skip stale rounds)
        msg = None
        while msg is None:
            while comm.Iprobe(source=0, tag=MPI.ANY_TAG, status=status):
                tag = status.Get_tag()
                obj = comm.recv(source=0, tag=tag)
                if tag == TAG_STOP:
                    _finish(comm, pending, poll)
                    return
                if tag == TAG_MODEL and (msg is None or obj["round"] > msg["round"]):
                    msg = obj
                # a cancel for a round we are not working on is moot
            if msg is None:
                time.sleep(poll)
        r = msg["round"]
        t_recv = _now()
        t0 = _now()
        if workload is None:
            own = np.zeros((len(support), dimension))
        else:
            own = np.stack(
                [type(workload).partial(payloads[int(j)], msg["model"]) for j in support]
            )
        t_grad = _now() - t0
        if _sleep_unless_cancelled(comm, r, msg["compute"], poll):
            continue
        t1 = _now()
        coded = code.encode_worker(i, own)
        t_enc = _now() - t1
        t_cend = _now()
        if _sleep_unless_cancelled(comm, r, msg["comm"], poll):
            continue
        header = {
            "round": r,
            "worker": i,
            "start": t_recv,
            "cend": t_cend,
            "grad": t_grad,
            "encode": t_enc,
            "send": _now(),
            "inject_compute": msg["compute"],
            "inject_comm": msg["comm"],
        }
        pending = [p for p in pending if not p.Test()]
        pending.append(comm.isend((header, coded), dest=0, tag=TAG_RESULT))


def _sleep_unless_cancelled(comm: Any, r: int, seconds: float, poll: float) -> bool:
    """Wait ``seconds``; True when the server cancelled round r meanwhile."""
    from mpi4py import MPI

    end = _now() + seconds
    status = MPI.Status()
    while True:
        if comm.Iprobe(source=0, tag=TAG_CANCEL, status=status):
            obj = comm.recv(source=0, tag=TAG_CANCEL)
            if obj["round"] >= r:
                return True
        left = end - _now()
        if left <= 0:
            return False
        time.sleep(min(poll * 5, left))


def _wait(comm: Any, tag: int, poll: float) -> Any:
    while not comm.Iprobe(source=0, tag=tag):
        time.sleep(poll)
    return comm.recv(source=0, tag=tag)


def _finish(comm: Any, pending: list[Any], poll: float) -> None:
    while pending:
        pending = [p for p in pending if not p.Test()]
        time.sleep(poll)
    comm.send({"bye": True}, dest=0, tag=TAG_BYE)


# ----------------------------------------------------------------------------- server
class MPITransport:
    """The live server's transport over MPI (rank 0 = server, rank i + 1 = worker i).

    Sends never block: a stopped or slow worker that does not receive must not stall the
    server (eager buffers fill up; a blocking send would then wait), so every send is an
    ``isend`` whose request is kept until it completes. Every incoming message is drained
    as soon as it is probed (``Iprobe`` + ``recv``), so a late rendezvous-sized message
    never blocks its sender for long; waiting polls with a short sleep (2-core machines
    are oversubscribed). Times are this process's monotonic clock, shifted to the start.
    """

    def __init__(self, comm: Any, poll: float, shutdown_timeout: float) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.poll = poll
        self.shutdown_timeout = shutdown_timeout
        self.n = comm.Get_size() - 1
        self.status = MPI.Status()
        self.pending: list[list[Any]] = [[] for _ in range(self.n)]
        self.inbox: list[Message] = []
        self.t_start = _now()

    def now(self) -> float:
        return _now() - self.t_start

    def _send(self, obj: Any, worker: int, tag: int, *, always: bool = False) -> bool:
        """Send unless the worker has not taken our last ``MAX_UNTAKEN`` messages (a
        stopped or hung worker): it then gets nothing more until it catches up.

        Sends are synchronous-mode (``issend``): one completes only once the worker has
        received it. A plain ``isend`` completes locally as soon as MPI has buffered it,
        so a stopped worker's messages used to pile up in the sender's shared buffers
        until they were exhausted and the server could reach no worker at all (every
        round failed with 0 responders after about 32 rounds). A hung worker now holds
        at most ``MAX_UNTAKEN`` buffers and costs only its own messages.
        """
        mine = [p for p in self.pending[worker] if not p.Test()]
        self.pending[worker] = mine
        if len(mine) >= MAX_UNTAKEN and not always:
            return False
        mine.append(self.comm.issend(obj, dest=worker + 1, tag=tag))
        return True

    def setup(self, worker: int, payloads: dict[int, Any], dimension: int) -> None:
        self.comm.send(
            {"payloads": payloads, "dimension": dimension}, dest=worker + 1, tag=TAG_SETUP
        )

    def send_work(
        self, worker: int, r: int, model: np.ndarray | None, compute: float, comm: float
    ) -> None:
        self._send(
            {"round": r, "model": model, "compute": compute, "comm": comm}, worker, TAG_MODEL
        )

    def cancel(self, worker: int, r: int) -> None:
        self._send({"round": r}, worker, TAG_CANCEL)

    def _pull(self) -> bool:
        got = False
        while self.comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=TAG_RESULT, status=self.status):
            src = self.status.Get_source()
            header, coded = self.comm.recv(source=src, tag=TAG_RESULT)
            t = self.now()
            for key in ("start", "cend", "send"):
                header[key] = header[key] - self.t_start
            self.inbox.append(
                Message(int(header["worker"]), int(header["round"]), t, coded, header)
            )
            got = True
        return got

    def receive(self, until: float) -> Message | None:
        while True:
            if self.inbox or self._pull():
                return self.inbox.pop(0)
            if self.now() >= until:
                return None
            time.sleep(min(self.poll, max(0.0, until - self.now())))

    def drain(self) -> list[Message]:
        self._pull()
        out, self.inbox = self.inbox, []
        return out

    def elapse(self, modelled: float, wall: float) -> float:
        return wall  # real work: the time has passed already

    def stop(self) -> list[int]:
        MPI = self.MPI
        for i in range(self.n):
            self._send({"stop": True}, i, TAG_STOP, always=True)
        byes: set[int] = set()
        end = _now() + self.shutdown_timeout
        while len(byes) < self.n and _now() < end:
            while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=self.status):
                src, tag = self.status.Get_source(), self.status.Get_tag()
                self.comm.recv(source=src, tag=tag)
                if tag == TAG_BYE:
                    byes.add(src - 1)
            time.sleep(self.poll)
        return sorted(set(range(self.n)) - byes)


class _Writer:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.fh = open(path, "w", newline="", encoding="utf-8")
        self.w = csv.writer(self.fh)
        self.w.writerow(columns)
        self.fh.flush()

    def rows(self, rows: list[list[Any]]) -> None:
        self.w.writerows(rows)
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def server(comm: Any, point: dict[str, Any], out: Path) -> int:
    import pandas as pd

    from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS

    _, _, spec = _build(point)
    live = point["live"]
    # [live].round_timeout bounds every round of a live run (a hung worker never stalls)
    limit = float(live["round_timeout"])
    if spec.round_timeout is None or spec.round_timeout > limit:
        spec = spec.with_(round_timeout=limit)
    transport = MPITransport(comm, float(live["poll_interval"]), float(live["shutdown_timeout"]))
    rounds_w = _Writer(out / "records.csv", [*ROUND_COLUMNS])
    workers_w = _Writer(out / "workers.csv", [*WORKER_COLUMNS])

    def on_round(rec: dict[str, Any], rows: list[tuple[Any, ...]]) -> None:
        flat = dict(rec, responders=" ".join(map(str, rec["responders"])))
        rounds_w.rows([[flat[c] for c in ROUND_COLUMNS]])
        workers_w.rows([list(row) for row in rows])

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        run = serve(spec, transport, on_round=on_round, log=log, inject=bool(live["inject"]))
    finally:
        rounds_w.close()
        workers_w.close()
    # the decode measurements are filled in after the timed rounds: rewrite atomically
    rec = pd.DataFrame(run.records)
    rec["responders"] = [" ".join(map(str, r)) for r in rec["responders"]]
    _atomic_csv(rec[list(ROUND_COLUMNS)], out / "records.csv")
    workers = pd.DataFrame(run.worker_rows, columns=list(WORKER_COLUMNS))
    workers[["grad_s", "encode_s", "send_s"]] = np.asarray(run.extras, dtype=float).reshape(-1, 3)
    _atomic_csv(workers, out / "workers.csv")
    if run.final_model is not None:
        np.save(out / "final_model.npy", run.final_model)
    (out / "live.json").write_text(
        json.dumps({"unresponsive_at_shutdown": run.silent, "size": comm.Get_size()}),
        encoding="utf-8",
    )
    return 3 if run.silent else 0


def _atomic_csv(df: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m gcsim.live.node SPEC.json OUTDIR (under mpiexec)", file=sys.stderr)
        return 2
    from gcsim._lifeline import watch_from_env

    watch_from_env()  # end with the gcsim command that launched this job
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(argv[1])
    n = spec["n"]
    size = comm.Get_size()
    if size != n + 1:
        if comm.Get_rank() == 0:
            print(
                f"gcsim live: error: the launch provided {size} MPI processes but the "
                f"point needs n + 1 = {n + 1} (one server and n = {n} workers); launch "
                f"with mpiexec -n {n + 1}",
                file=sys.stderr,
            )
        return 2
    if comm.Get_rank() == 0:
        out.mkdir(parents=True, exist_ok=True)
        pids: list[Any] = comm.gather(os.getpid(), root=0) or []
        (out / "pids.json").write_text(
            json.dumps({"server": pids[0], "workers": pids[1:]}), encoding="utf-8"
        )
        return server(comm, spec, out)
    comm.gather(os.getpid(), root=0)
    worker(comm, spec)
    return 0


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if rc == 3:  # a worker never answered the shutdown: do not wait for it in Finalize
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(3)
    sys.exit(rc)
