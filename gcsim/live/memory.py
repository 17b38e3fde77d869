"""An in-memory transport for the live server: the simulator's workers on a virtual clock.

The workers are the DES's own :class:`~gcsim.sim.des.WorkerPool` (broadcast, compute
plus encode cost, uplink, FIFO ingress, cancel and non-preemptive semantics) on a SimPy
clock, and they compute real coded messages: each worker's partial gradients at the model
it was sent (from the data the server gave it at set-up) and the code's
``encode_worker`` kernel. Driving :func:`gcsim.live.server.serve` through it gives the
records :func:`gcsim.simulate` gives on the same draws, in seconds and without MPI.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import simpy

from gcsim.live.server import Message
from gcsim.sim.des import WorkerPool
from gcsim.spec import RunSpec

__all__ = ["InMemoryTransport"]


class InMemoryTransport:
    """See the module docstring. ``spec`` gives the code, network and costs."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.code = spec.code
        self.env = simpy.Environment()
        q = spec.message_length
        self.dimension = spec.dimension
        self.pool = WorkerPool(
            self.env, self.code.n, spec.network, spec.dimension, q, self._deliver, self._started
        )
        nnz = self.code.loads * self.code.m
        self.encode = np.asarray(spec.costs.encode_time(nnz, q), dtype=float)
        self.measured = spec.costs.measured
        self.inbox: deque[Message] = deque()
        self.payloads: dict[int, dict[int, Any]] = {}
        self.starts: dict[tuple[int, int], tuple[float, float]] = {}
        self.workload_type: Any = None
        self.last_round = -1

    # ------------------------------------------------------------------ server side
    def now(self) -> float:
        return float(self.env.now)

    def setup(self, worker: int, payloads: dict[int, Any], dimension: int) -> None:
        self.payloads[worker] = payloads
        wl = self.spec.make_workload()
        self.workload_type = type(wl) if wl is not None else None

    def send_work(
        self, worker: int, r: int, model: np.ndarray | None, compute: float, comm: float
    ) -> None:
        if r != self.last_round:
            self.pool.new_round()
            self.last_round = r
        c = compute + float(self.encode[worker])
        self.pool.assign(worker, r, self.now(), c, comm, model)

    def cancel(self, worker: int, r: int) -> None:
        self.pool.cancel(np.array([worker]))

    def receive(self, until: float) -> Message | None:
        env = self.env
        while not self.inbox:
            nxt = env.peek()
            if nxt > until:
                if until < np.inf:
                    env.run(until=until)
                return None
            env.step()
        return self.inbox.popleft()

    def drain(self) -> list[Message]:
        env = self.env
        now = env.now
        while env.peek() <= now:  # everything due at this instant
            env.step()
        out = list(self.inbox)
        self.inbox.clear()
        return out

    def elapse(self, modelled: float, wall: float) -> float:
        cost = wall if self.measured else modelled
        if cost > 0:
            self.env.run(until=self.env.now + cost)
        return cost

    def stop(self) -> list[int]:
        return []

    # ------------------------------------------------------------------ worker side
    def _started(self, i: int, r: int, t_start: float, t_cend: float) -> None:
        self.starts[(i, r)] = (t_start, t_cend)

    def _deliver(self, i: int, r: int, model: Any) -> None:
        code = self.code
        support = code.support(i)
        if self.workload_type is None:
            own = np.zeros((len(support), self.dimension))
        else:
            own = np.stack(
                [self.workload_type.partial(self.payloads[i][int(j)], model) for j in support]
            )
        payload = code.encode_worker(i, own)
        start, cend = self.starts.pop((i, r), (np.nan, np.nan))
        self.inbox.append(
            Message(i, r, float(self.env.now), payload, {"start": start, "cend": cend})
        )
