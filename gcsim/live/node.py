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
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

TAG_SETUP, TAG_MODEL, TAG_CANCEL, TAG_STOP, TAG_RESULT, TAG_BYE = 1, 2, 3, 4, 5, 6


def _now() -> float:
    return time.monotonic()


def _build(spec: dict[str, Any]) -> tuple[Any, Any]:
    from gcsim.scenarios.expand import build_code
    from gcsim.workload import make_workload

    code = build_code(spec)
    wl = dict(spec["workload"])
    workload = None if wl.get("model") == "none" else make_workload(wl)
    return code, workload


# ----------------------------------------------------------------------------- worker
def worker(comm: Any, spec: dict[str, Any]) -> None:
    from mpi4py import MPI

    rank = comm.Get_rank()
    i = rank - 1
    poll = float(spec["live"]["poll_interval"])
    code, workload = _build(spec)
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
            "recv": t_recv,
            "grad": t_grad,
            "encode": t_enc,
            "compute_end": t_cend,
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
class _Outbox:
    """Non-blocking sends from the server: a stopped or slow worker that does not receive
    never blocks the server (eager buffers fill up; a blocking send would then wait)."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.pending: list[Any] = []

    def send(self, obj: Any, dest: int, tag: int) -> None:
        self.pending.append(self.comm.isend(obj, dest=dest, tag=tag))
        if len(self.pending) > 64:
            self.pending = [p for p in self.pending if not p.Test()]


class _Writer:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.fh = open(path, "w", newline="", encoding="utf-8")
        self.w = csv.writer(self.fh)
        self.w.writerow(columns)
        self.fh.flush()

    def row(self, values: list[Any]) -> None:
        self.w.writerow(values)
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def server(comm: Any, spec: dict[str, Any], out: Path) -> int:
    from mpi4py import MPI

    from gcsim.delays import make_delay
    from gcsim.rng import stream
    from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS

    n = spec["n"]
    size = comm.Get_size()
    poll = float(spec["live"]["poll_interval"])
    code, workload = _build(spec)
    rng_data = stream(spec["seed"], "data", spec["replicate"])
    dimension = workload.dimension if workload is not None else int(spec.get("dimension", 1000))
    if workload is not None:
        workload.setup(code.k, rng_data)
    q = code.message_length(dimension)
    loads = code.loads.astype(float)
    compute = make_delay(spec["delays"]["compute"]).sampler(
        n, stream(spec["seed"], "compute", spec["replicate"]), spec["load_mode"]
    )
    comm_s = make_delay(spec["delays"]["comm"]).sampler(
        n, stream(spec["seed"], "comm", spec["replicate"]), "per-worker"
    )
    comm_loads = np.full(n, q / dimension)
    failed = set(int(x) for x in spec["failed_workers"])
    tracker = code.tracker() if spec["decode_rule"] == "decodable" and code.exact else None
    threshold = n - code.s
    cancel = spec["policy"] == "cancel"
    timeout = float(spec["live"]["round_timeout"])
    if spec.get("round_timeout"):
        timeout = min(timeout, float(spec["round_timeout"]))
    bpv = int(spec["network"]["bytes_per_value"])
    # ---- start-up: data placement, once
    for i in range(n):
        payloads = {
            int(j): (workload.payload(int(j)) if workload is not None else None)
            for j in code.support(i)
        }
        comm.send({"payloads": payloads, "dimension": dimension}, dest=i + 1, tag=TAG_SETUP)
    rounds_w = _Writer(out / "records.csv", [*ROUND_COLUMNS])
    workers_w = _Writer(out / "workers.csv", [*WORKER_COLUMNS, "grad_s", "encode_s", "send_s"])
    status = MPI.Status()
    outbox = _Outbox(comm)
    history: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    run_start = _now()
    busy = np.full(n, -1)
    rows: list[list[Any]] = []
    for r in range(spec["rounds"]):
        C = compute.draw(loads)
        X = comm_s.draw(comm_loads)
        C[list(failed)] = math.inf
        t0 = _now()
        model = workload.model if workload is not None else None
        w_before = None if model is None else np.array(model)
        dispatch = {}
        for i in range(n):
            if i in failed or not (math.isfinite(C[i]) and math.isfinite(X[i])):
                continue  # a permanent failure: this worker gets no work
            outbox.send(
                {"round": r, "model": model, "compute": float(C[i]), "comm": float(X[i])},
                i + 1,
                TAG_MODEL,
            )
            dispatch[i] = _now()
            busy[i] = r
        if tracker is not None:
            tracker.reset()
        arrived: list[int] = []
        messages: dict[int, np.ndarray] = {}
        headers: dict[int, dict[str, Any]] = {}
        arrival: dict[int, float] = {}
        stale = 0
        decoded = False
        deadline = t0 + timeout
        while True:
            got = False
            while comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_RESULT, status=status):
                src = status.Get_source()
                header, coded = comm.recv(source=src, tag=TAG_RESULT)
                got = True
                if header["round"] != r:
                    stale += 1
                    continue
                i = header["worker"]
                busy[i] = -1
                arrived.append(i)
                messages[i] = coded
                headers[i] = header
                arrival[i] = _now()
                ok = tracker.add(i) if tracker is not None else len(arrived) >= threshold
                if ok:
                    decoded = True
                    break
            if decoded:
                break
            if _now() > deadline or (
                len(arrived) >= len(dispatch) and not decoded and not got and not _any_result(comm)
            ):
                break
            if not got:
                time.sleep(poll)
        t_dec = _now()
        R = np.array(sorted(arrived), dtype=np.int64)
        row: dict[str, Any] = {c: math.nan for c in ROUND_COLUMNS}
        row.update(
            round=r,
            start=t0 - run_start,
            decoded=decoded,
            decode_at=t_dec - t0,
            n_responders=len(R),
            responders=" ".join(map(str, R)),
            early=bool(decoded and len(R) < n - code.s),
            bytes_received=len(R) * q * bpv,
            stale_discarded=stale,
        )
        ghat = None
        if decoded:
            M = np.stack([messages[int(i)] for i in R])
            d0 = _now()
            ghat = code.decode(R, M, dimension, check=False)
            dec = code.decoder(R)
            d1 = _now()
            if workload is not None:
                workload.update(ghat)
            t_end = _now()
            row.update(
                rows_used=len(dec.rows),
                cond=dec.cond,
                l1_amplification=dec.l1_amplification,
                residual=dec.residual,
                bytes_used=len(dec.rows) * q * bpv,
                decode_time=d1 - d0,
                decode_wall=d1 - d0,
            )
        else:
            t_end = _now()
            row.update(rows_used=0, bytes_used=0, decode_time=0.0)
        row.update(end=t_end - run_start, duration=t_end - t0)
        history.append((w_before, ghat))
        if cancel:
            for b in np.flatnonzero(busy == r):
                outbox.send({"round": r}, int(b) + 1, TAG_CANCEL)
                busy[b] = -1
        rows.append([row[c] for c in ROUND_COLUMNS])
        rounds_w.row(rows[-1])
        for i in range(n):
            h = headers.get(i)
            if h is not None:
                st = "responder"
            elif i not in dispatch:
                st = "never"
            else:
                st = "cancelled" if cancel else "unfinished"
            workers_w.row(
                [
                    r,
                    i,
                    dispatch.get(i, t0) - run_start,
                    (h["recv"] - run_start) if h else math.nan,
                    (h["compute_end"] - run_start) if h else math.nan,
                    float(C[i]),
                    float(X[i]),
                    (arrival[i] - run_start) if i in arrival else math.inf,
                    st,
                    h["grad"] if h else math.nan,
                    h["encode"] if h else math.nan,
                    (h["send"] - run_start) if h else math.nan,
                ]
            )
        if not decoded:
            print(
                f"gcsim live: round {r} not decodable within {timeout:g} s "
                f"({len(R)} responders: {R.tolist()}); recorded as failed",
                file=sys.stderr,
            )
    rounds_w.close()
    workers_w.close()
    # ---- shutdown: stop everyone, drain late messages until every worker said bye
    for i in range(n):
        outbox.send({"stop": True}, i + 1, TAG_STOP)
    byes: set[int] = set()
    end = _now() + float(spec["live"]["shutdown_timeout"])
    while len(byes) < n and _now() < end:
        while comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            src, tag = status.Get_source(), status.Get_tag()
            comm.recv(source=src, tag=tag)
            if tag == TAG_BYE:
                byes.add(src - 1)
        time.sleep(poll)
    silent = sorted(set(range(n)) - byes)
    if workload is not None and workload.model is not None:
        np.save(out / "final_model.npy", np.asarray(workload.model))
    _post_process(out, spec, workload, code, history, rng_data, dimension)
    (out / "live.json").write_text(
        json.dumps({"unresponsive_at_shutdown": silent, "size": size}), encoding="utf-8"
    )
    return 3 if silent else 0


def _any_result(comm: Any) -> bool:
    return bool(comm.Iprobe(source=-1, tag=TAG_RESULT))  # MPI.ANY_SOURCE == -1 in mpi4py


def _post_process(
    out: Path,
    spec: dict[str, Any],
    workload: Any,
    code: Any,
    history: list[tuple[np.ndarray | None, np.ndarray | None]],
    rng_data: Any,
    dimension: int,
) -> None:
    """Relative errors and losses, computed after the timed rounds (not in any round)."""
    import pandas as pd

    rec = pd.read_csv(out / "records.csv")
    errs, losses = [], []
    for w, ghat in history:
        if workload is None or ghat is None:
            errs.append(math.nan)
            losses.append(math.nan)
            continue
        if w is not None:
            workload.set_model(w)
        g = workload.partials().sum(axis=0)
        norm = float(np.linalg.norm(g)) or 1.0
        errs.append(float(np.linalg.norm(ghat - g)) / norm)
        if w is not None:
            workload.set_model(w - getattr(workload, "lr", 0.0) * ghat)
        losses.append(workload.loss())
    rec["rel_error"] = errs
    rec["loss"] = losses
    rec.to_csv(out / "records.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m gcsim.live.node SPEC.json OUTDIR (under mpiexec)", file=sys.stderr)
        return 2
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
