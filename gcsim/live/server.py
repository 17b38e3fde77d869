"""The live server: the round protocol over a message transport.

:func:`serve` is the server of a live run. It drives the same
:class:`~gcsim.protocol.RoundProtocol` as the simulator, over a :class:`Transport`:

* :class:`gcsim.live.node.MPITransport`: real MPI processes, real clocks;
* :class:`gcsim.live.memory.InMemoryTransport`: workers modelled by the simulator's own
  worker side on a virtual clock — a deterministic, MPI-free check that the live server
  gives the simulator's records on the simulator's draws.

Each round the server draws every worker's compute and communication delay from the run's
seed streams (a live run and its simulation face the same draws), starts the round in the
protocol, sends the workers the protocol gives work to (model and injected delays), hands
every message to the protocol until it decides, closes the set, decodes the received
messages with the real kernel, applies the workload's own update, takes the messages that
arrived meanwhile (late or stale), and finishes the round. Cancels go to the workers the
protocol names. Relative errors and losses are computed after the timed rounds from the
models the workload's own update produced (no extra work inside a round).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gcsim.protocol import KernelOutcome, RoundProtocol
from gcsim.rng import stream
from gcsim.spec import RunSpec

__all__ = ["LiveRun", "Message", "Transport", "serve"]


@dataclass
class Message:
    """A worker's coded message as the server received it."""

    worker: int
    round: int
    time: float  #: arrival, on the server's clock
    payload: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    """What the live server needs from a message layer (see the module docstring)."""

    def now(self) -> float:
        """The server's clock (seconds)."""

    def setup(self, worker: int, payloads: dict[int, Any], dimension: int) -> None:
        """Send worker its partitions' data, once, before the first round."""

    def send_work(
        self, worker: int, r: int, model: np.ndarray | None, compute: float, comm: float
    ) -> None:
        """Give worker round r's work: the model and its two injected delays."""

    def cancel(self, worker: int, r: int) -> None:
        """Tell worker to drop its task of round r."""

    def receive(self, until: float) -> Message | None:
        """The next message, waiting no later than ``until``; None when none came."""

    def drain(self) -> list[Message]:
        """Every message that has already arrived, without waiting."""

    def elapse(self, modelled: float, wall: float) -> float:
        """Account for server work (decode and update) that took ``wall`` seconds and
        that the cost model prices at ``modelled``; return the seconds it counts as."""

    def stop(self) -> list[int]:
        """End the run: stop every worker; return the workers that did not confirm."""


@dataclass
class LiveRun:
    """What :func:`serve` produced."""

    records: list[dict[str, Any]]
    worker_rows: list[tuple[Any, ...]]
    extras: list[tuple[float, float, float]]  #: per worker row: grad_s, encode_s, send_s
    silent: list[int]
    final_model: np.ndarray | None


def serve(
    spec: RunSpec,
    transport: Transport,
    *,
    on_round: Callable[[dict[str, Any], list[tuple[Any, ...]]], None] | None = None,
    log: Callable[[str], None] | None = None,
    inject: bool = True,
) -> LiveRun:
    """Run ``spec``'s rounds as the live server over ``transport``.

    ``on_round(record, worker_rows)`` is called after each round (the MPI node appends
    them to CSV files, flushed, so a crash keeps every finished round); its decode
    measurements (``rel_error``, ``loss``) are filled in at the end.

    ``inject=False`` runs with natural stragglers only: the workers are sent zero
    injected delays (failed workers still get no work), so round times are the real
    computation, contention and messaging; the draws are still taken, so the seed
    streams stay aligned with an injected run.
    """
    code = spec.code
    n = code.n
    workload = spec.make_workload()
    if workload is not None:
        workload.setup(code.k, stream(spec.seed, "data", spec.replicate))
    dimension = spec.dimension
    q = spec.message_length
    compute, comm = spec.samplers()
    loads = np.asarray(code.work, dtype=float)  # data share (= loads when k = n)
    comm_loads = np.full(n, q / dimension)
    costs = spec.costs
    proto = spec.protocol(record_workers=True)
    for i in range(n):
        payloads = {
            int(j): (workload.payload(int(j)) if workload is not None else None)
            for j in code.support(i)
        }
        transport.setup(i, payloads, dimension)
    extras: list[tuple[float, float, float]] = []
    history: list[tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]] = []
    for _ in range(spec.rounds):
        C = compute.draw(loads)
        X = comm.draw(comm_loads)
        if not inject:
            C = np.where(np.isfinite(C), 0.0, C)
            X = np.zeros_like(X)
        t0 = transport.now()
        given = proto.start_round(t0, C, X)
        r = proto.round
        model = None if workload is None or workload.model is None else np.array(workload.model)
        for i in given.tolist():
            transport.send_work(i, r, model, float(C[i]), float(X[i]))
        messages: dict[int, Message] = {}
        timed_out = False
        while not proto.decided:
            msg = transport.receive(proto.deadline)
            if msg is None:
                timed_out = proto.on_timeout(transport.now())
                break
            _take(proto, messages, msg)
        for msg in transport.drain():  # same instant as the decision: still in the set
            _take(proto, messages, msg)
        R = proto.close()
        ghat = None
        out: KernelOutcome | None = None
        if proto.decoded:
            M = np.stack([messages[int(i)].payload for i in R])
            w0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):
                ghat, dec = code._decode_trusted(tuple(R.tolist()), M, dimension)
            w1 = time.perf_counter()
            if workload is not None:
                workload.update(ghat)
            w2 = time.perf_counter()
            t_dec = transport.elapse(costs.decode_time(code.m, len(dec.rows), q), w1 - w0)
            t_upd = transport.elapse(costs.update_time(dimension), w2 - w1)
            out = KernelOutcome(
                len(dec.rows),
                dec.cond,
                dec.l1_amplification,
                dec.residual,
                math.nan,
                t_dec,
                t_upd,
                math.nan,
                w1 - w0,
            )
        for msg in transport.drain():  # arrived while decoding: late or stale
            _take(proto, messages, msg)
        rec = proto.finish(transport.now(), out)
        after = None if workload is None or workload.model is None else np.array(workload.model)
        history.append((model, ghat, after))
        for i in proto.to_cancel.tolist():
            transport.cancel(i, r)
        rows = proto.worker_rows[-n:]
        for i in range(n):
            h = messages[i].header if i in messages else {}
            extras.append(
                (h.get("grad", math.nan), h.get("encode", math.nan), h.get("send", math.nan))
            )
        if on_round is not None:
            on_round(rec, rows)
        if not proto.decoded and log is not None:
            why = (
                f"within {spec.round_timeout:g} s"
                if timed_out
                else "although every worker given work answered"
            )
            log(
                f"gcsim live: round {r} not decodable {why} ({rec['n_responders']} "
                f"responders: {rec['responders'].tolist()}); recorded as failed"
            )
    silent = transport.stop()
    _measure(proto.records, history, workload)
    final = None if workload is None or workload.model is None else np.array(workload.model)
    return LiveRun(proto.records, proto.worker_rows, extras, silent, final)


def _take(proto: RoundProtocol, messages: dict[int, Message], msg: Message) -> bool:
    """Hand one message to the protocol (keeping this round's for the decode)."""
    if msg.round == proto.round:
        messages[msg.worker] = msg
        h = msg.header
        proto.worker_started(msg.worker, h.get("start", math.nan), h.get("cend", math.nan))
    return proto.on_message(msg.worker, msg.round, msg.time)


def _measure(
    records: list[dict[str, Any]],
    history: list[tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]],
    workload: Any,
) -> None:
    """Fill ``rel_error`` (against the exact sum at the round's model) and ``loss`` (at
    the model the workload's own update produced), after the timed rounds."""
    if workload is None:
        return
    final = workload.model
    for rec, (before, ghat, after) in zip(records, history, strict=True):
        if ghat is None:
            continue
        if before is not None:
            workload.set_model(before)
        g = workload.partials().sum(axis=0, dtype=np.float64)
        norm = float(np.linalg.norm(g)) or 1.0
        with np.errstate(all="ignore"):
            err = float(np.linalg.norm(ghat - g)) / norm
        rec["rel_error"] = err if math.isfinite(err) else math.inf
        if after is not None:
            workload.set_model(after)
        rec["loss"] = workload.loss()
    if final is not None:
        workload.set_model(final)
