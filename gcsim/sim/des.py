"""The discrete-event model (SimPy): a thin adapter of the round protocol.

The server is a SimPy process: each round it draws every worker's compute and
communication delay (one vectorised call each), asks the
:class:`~gcsim.protocol.RoundProtocol` whom to give work, waits on one event that the
protocol's decision triggers, decodes with the real kernels (charging their cost), and
hands the protocol the outcome. Everything that decides round end, statuses and the
record is the protocol's.

A worker's task is a chain of SimPy timeouts with callbacks (no process per worker, no
``Interrupt``): broadcast (latency + model size / broadcast bandwidth), compute (its
compute delay, load-scaled, plus the encode cost), its uplink (latency + message size /
bandwidth + its communication delay), then the server's shared FIFO ingress (one message
at a time, message size / ingress bandwidth each). A task carries a generation number:
cancelling a worker (policy ``cancel``) bumps it, so the task's pending callbacks are
ignored and, if it was being served at the ingress, the ingress moves on at once.

``non-preemptive``: a worker busy with a stale task when a round starts takes the newest
round as soon as it is free (its stale message is discarded by the protocol by round).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from gcsim.delays.base import RoundSampler
from gcsim.protocol import RoundProtocol
from gcsim.sim.kernel import RoundKernels
from gcsim.sim.network import Network

__all__ = ["run_des"]


class _Cluster:
    """Workers and the ingress as timeouts with callbacks, around one protocol."""

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
        n = proto.n
        self.loads = proto.code.loads.astype(float)
        self.comm_loads = np.full(n, kernels.q / kernels.l)
        self.bcast = network.broadcast_time(kernels.l)
        self.link = network.upload_time(kernels.q)
        self.svc = network.ingress_time(kernels.q)
        self.has_ingress = math.isfinite(network.ingress)
        self.gen = [0] * n  # task generation of each worker
        self.busy = [False] * n
        self.pending = [False] * n  # non-preemptive: take the current round when free
        self.queue: deque[tuple[int, int, int]] = deque()
        self.serving: tuple[int, int, int] | None = None
        self.wake: simpy.Event = self.env.event()
        self._C: list[float] = []
        self._X: list[float] = []
        self._enc: list[float] = []

    # ------------------------------------------------------------------ a worker's task
    def _start(self, i: int) -> None:
        env, proto = self.env, self.proto
        r = proto.round
        c = self._C[i] + self._enc[i]
        start = max(env.now, proto.t0 + self.bcast)
        self.gen[i] += 1
        g = self.gen[i]
        self.busy[i] = True
        self.pending[i] = False
        proto.worker_started(i, start, start + c)
        delay = start - env.now + c + self.link + self._X[i]
        then = self._enqueue if self.has_ingress else self._arrive
        env.timeout(delay).callbacks.append(lambda _e: then(i, r, g))

    def _enqueue(self, i: int, r: int, g: int) -> None:
        if self.gen[i] != g:
            return  # cancelled on the way
        self.queue.append((i, r, g))
        if self.serving is None:
            self._serve()

    def _serve(self) -> None:
        while self.queue:
            job = self.queue.popleft()
            if self.gen[job[0]] == job[2]:
                self.serving = job
                self.env.timeout(self.svc).callbacks.append(lambda _e, j=job: self._served(j))
                return
        self.serving = None

    def _served(self, job: tuple[int, int, int]) -> None:
        if self.serving is not job:
            return  # its worker was cancelled while being served
        self.serving = None
        self._arrive(*job)
        self._serve()

    def _arrive(self, i: int, r: int, g: int) -> None:
        if self.gen[i] != g:
            return
        self.busy[i] = False
        if self.proto.on_message(i, r, self.env.now):
            self.wake.succeed()
        if self.pending[i]:
            self._start(i)

    def _cancel(self, workers: np.ndarray) -> None:
        for i in workers.tolist():
            self.gen[i] += 1
            self.busy[i] = False
            self.pending[i] = False
            if self.serving is not None and self.serving[0] == i:
                self.serving = None
                self._serve()

    # ------------------------------------------------------------------ the server
    def server(self) -> Generator[simpy.Event, Any, None]:
        env, proto, kernels = self.env, self.proto, self.kernels
        measured = kernels.costs.measured
        for _ in range(self.iterations):
            C = self.compute.draw(self.loads)
            X = self.comm.draw(self.comm_loads)
            self._C, self._X = C.tolist(), X.tolist()
            kernels.begin_round()
            if measured or not self._enc:
                self._enc = np.asarray(kernels.encode_time, dtype=float).tolist()
            self.wake = env.event()
            given = proto.start_round(env.now, C, X)
            if proto.decided:
                self.wake.succeed()  # nobody can answer: failed at once
            self.pending = [False] * proto.n  # a worker given no work now takes none
            for i in given.tolist():
                if self.busy[i]:
                    self.pending[i] = True
                else:
                    self._start(i)
            if proto.round_timeout is not None:
                env.timeout(proto.round_timeout).callbacks.append(self._timeout(proto.round))
            yield self.wake
            R = proto.close()
            out = kernels.decode(R) if proto.decoded else None
            if out is not None:
                cost = out.decode_time + out.update_time
                if cost > 0:
                    yield env.timeout(cost)
            proto.finish(env.now, out)
            if len(proto.to_cancel):
                self._cancel(proto.to_cancel)

    def _timeout(self, r: int) -> Any:
        def fire(_e: Any) -> None:
            if self.proto.round == r and self.proto.on_timeout(self.env.now):
                self.wake.succeed()

        return fire


def run_des(
    proto: RoundProtocol,
    kernels: RoundKernels,
    compute: RoundSampler,
    comm: RoundSampler,
    network: Network,
    iterations: int,
) -> None:
    """Run the SimPy model; the records accumulate in ``proto``."""
    cl = _Cluster(proto, kernels, compute, comm, network, iterations)
    cl.env.process(cl.server())
    cl.env.run()
