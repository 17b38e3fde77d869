"""The discrete-event model (SimPy): a thin adapter of the round protocol.

The server is a SimPy process: each round it draws every worker's compute and
communication delay (one vectorised call each), asks the
:class:`~gcsim.protocol.RoundProtocol` whom to give work, waits on one event that the
protocol's decision triggers, decodes with the real kernels (charging their cost), and
hands the protocol the outcome. Everything that decides round end, statuses and the
record is the protocol's.

The workers (:class:`WorkerPool`) are a chain of SimPy timeouts with callbacks per task
(no process per worker, no ``Interrupt``): broadcast (latency + model size / broadcast
bandwidth), compute (its compute delay, load-scaled, plus the encode cost), its uplink
(latency + message size / bandwidth + its communication delay), then the server's shared
FIFO ingress (one message at a time, message size / ingress bandwidth each). A task
carries a generation number: cancelling a worker (policy ``cancel``) bumps it, so the
task's pending callbacks are ignored and, if it was being served at the ingress, the
ingress moves on at once. A worker busy with a stale task when it is given new work
(``non-preemptive``) takes the newest work as soon as it is free.

The same :class:`WorkerPool` is the worker side of the live backend's in-memory
transport (:mod:`gcsim.live.memory`), so a live server driven through it sees exactly
the arrivals the DES sees.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import numpy as np
import simpy

from gcsim.delays.base import RoundSampler
from gcsim.protocol import RoundProtocol
from gcsim.sim.kernel import RoundKernels
from gcsim.sim.network import Network

__all__ = ["DESServer", "WorkerPool"]

#: deliver(worker, round, token): a message reached the server (at ``env.now``)
Deliver = Callable[[int, int, Any], None]
#: started(worker, round, t_start, t_compute_end): a task began
Started = Callable[[int, int, float, float], None]


class WorkerPool:
    """The n workers and the server's ingress, as timeouts with callbacks.

    Parameters
    ----------
    env : simpy.Environment
    n : int
    network : Network
    l, q : int
        Gradient length (model broadcast) and message length (upload).
    deliver, started : callables
        Called when a message reaches the server, and when a task begins (optional).
    """

    def __init__(
        self,
        env: simpy.Environment,
        n: int,
        network: Network,
        l: int,
        q: int,
        deliver: Deliver,
        started: Started | None = None,
    ) -> None:
        self.env = env
        self.deliver, self.started = deliver, started
        self.bcast = network.broadcast_time(l)
        self.link = network.upload_time(q)
        self.svc = network.ingress_time(q)
        self.has_ingress = math.isfinite(network.ingress)
        self.gen = [0] * n  # task generation of each worker
        self.busy = [False] * n
        self.pending: list[tuple[int, float, float, float, Any] | None] = [None] * n
        self.queue: deque[tuple[int, int, int, Any]] = deque()
        self.serving: tuple[int, int, int, Any] | None = None

    def new_round(self) -> None:
        """Forget queued newest work: a worker given no work now takes none."""
        self.pending = [None] * len(self.pending)

    def assign(self, i: int, r: int, t0: float, c: float, x: float, token: Any = None) -> None:
        """Give worker i round r's work, dispatched at t0: compute time c (delay plus
        encode cost) and communication delay x. A busy worker takes it when free."""
        if self.busy[i]:
            self.pending[i] = (r, t0, c, x, token)
        else:
            self._start(i, r, t0, c, x, token)

    def _start(self, i: int, r: int, t0: float, c: float, x: float, token: Any) -> None:
        env = self.env
        now = env.now
        start = t0 + self.bcast
        if start < now:
            start = now
        g = self.gen[i] = self.gen[i] + 1
        self.busy[i] = True
        self.pending[i] = None
        if self.started is not None:
            self.started(i, r, start, start + c)
        delay = start - now + c + self.link + x
        job = (i, r, g, token)
        then = self._enqueue if self.has_ingress else self._arrive
        env.timeout(delay).callbacks.append(lambda _e: then(job))

    def _enqueue(self, job: tuple[int, int, int, Any]) -> None:
        if self.gen[job[0]] != job[2]:
            return  # cancelled on the way
        self.queue.append(job)
        if self.serving is None:
            self._serve()

    def _serve(self) -> None:
        while self.queue:
            job = self.queue.popleft()
            if self.gen[job[0]] == job[2]:
                self.serving = job
                self.env.timeout(self.svc).callbacks.append(partial(self._served, job))
                return
        self.serving = None

    def _served(self, job: tuple[int, int, int, Any], _event: Any = None) -> None:
        if self.serving is not job:
            return  # its worker was cancelled while being served
        self.serving = None
        self._arrive(job)
        self._serve()

    def _arrive(self, job: tuple[int, int, int, Any]) -> None:
        i, r, g, token = job
        if self.gen[i] != g:
            return
        self.busy[i] = False
        self.deliver(i, r, token)
        nxt = self.pending[i]
        if nxt is not None:
            self._start(i, *nxt)

    def cancel(self, workers: np.ndarray) -> None:
        """Cancel these workers' tasks: they are free at once."""
        for i in workers.tolist():
            self.gen[i] += 1
            self.busy[i] = False
            self.pending[i] = None
            if self.serving is not None and self.serving[0] == i:
                self.serving = None
                self._serve()


class DESServer:
    """The SimPy model of one run: the server process around a :class:`WorkerPool`;
    :meth:`run` simulates every round (the records accumulate in ``proto``)."""

    def __init__(
        self,
        proto: RoundProtocol,
        kernels: RoundKernels,
        compute: RoundSampler,
        comm: RoundSampler,
        network: Network,
        iterations: int,
    ) -> None:
        self.env = simpy.Environment()
        self.proto, self.kernels = proto, kernels
        self.compute, self.comm = compute, comm
        self.iterations = iterations
        self.loads = proto.code.loads.astype(float)
        self.comm_loads = np.full(proto.n, kernels.q / kernels.l)
        self.pool = WorkerPool(
            self.env,
            proto.n,
            network,
            kernels.l,
            kernels.q,
            self._deliver,
            (lambda i, r, ts, tc: proto.worker_started(i, ts, tc))
            if proto.record_workers
            else None,
        )
        self.wake: simpy.Event = self.env.event()

    def _deliver(self, i: int, r: int, _token: Any) -> None:
        if self.proto.on_message(i, r, self.env.now):
            self.wake.succeed()

    def run(self) -> None:
        """Simulate every round."""
        self.env.process(self._rounds())
        self.env.run()

    def _rounds(self) -> Generator[simpy.Event, Any, None]:
        env, proto, kernels, pool = self.env, self.proto, self.kernels, self.pool
        enc: list[float] = []
        for _ in range(self.iterations):
            C = self.compute.draw(self.loads)
            X = self.comm.draw(self.comm_loads)
            kernels.begin_round()
            if kernels.costs.measured or not enc:
                enc = np.asarray(kernels.encode_time, dtype=float).tolist()
            self.wake = env.event()
            given = proto.start_round(env.now, C, X)
            if proto.decided:
                self.wake.succeed()  # nobody can answer: failed at once
            pool.new_round()
            r, t0 = proto.round, env.now
            Cl, Xl = C.tolist(), X.tolist()
            for i in given.tolist():
                pool.assign(i, r, t0, Cl[i] + enc[i], Xl[i])
            if proto.round_timeout is not None:
                env.timeout(proto.round_timeout).callbacks.append(self._timeout(r))
            yield self.wake
            R = proto.close()
            out = kernels.decode(R) if proto.decoded else None
            if out is not None:
                cost = out.decode_time + out.update_time
                if cost > 0:
                    yield env.timeout(cost)
            proto.finish(env.now, out)
            if len(proto.to_cancel):
                pool.cancel(proto.to_cancel)

    def _timeout(self, r: int) -> Callable[[Any], None]:
        def fire(_e: Any) -> None:
            if self.proto.round == r and self.proto.on_timeout(self.env.now):
                self.wake.succeed()

        return fire
