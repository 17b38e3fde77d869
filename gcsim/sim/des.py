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

import heapq
import math
from collections import deque
from collections.abc import Callable, Generator, Sequence
from functools import partial
from typing import Any

import numpy as np
import simpy

from gcsim.delays.base import RoundSampler
from gcsim.errors import InvalidInputError
from gcsim.protocol import KernelOutcome, RoundProtocol
from gcsim.sim.kernel import RoundKernels
from gcsim.sim.network import Network

__all__ = ["DESServer", "WorkerPool"]

#: deliver(worker, round, token): a message reached the server (at ``env.now``)
Deliver = Callable[[int, int, Any], None]
#: started(worker, round, t_start, t_compute_end): a task began
Started = Callable[[int, int, float, float], None]


class WorkerPool:
    """The n workers and the server's ingress, as timeouts with callbacks.

    The upload follows ``network.sharing`` (see :class:`~gcsim.sim.network.Network`):

    * ``"fair"``: after its compute and its communication delay ``x`` (the worker's time
      to start sending), and the one-way latency, a message is a **flow** at the server's
      ingress. The active flows share the ingress max–min fairly (progressive filling,
      each capped by its own uplink); whenever a flow starts, ends or is cancelled the
      rates are recomputed and the next completion is rescheduled. Flows whose uplinks
      are equal always get equal rates, so each uplink class keeps a *virtual service*
      counter (bytes served to each of its flows so far) and a heap of its flows' finish
      marks: an event costs O(classes + log flows), O(log n) on a homogeneous cluster,
      and only one completion timeout is pending at a time (stale ones are ignored by a
      generation counter).
    * ``"fifo"``: the message crosses the worker's link (``latency + bytes / uplink``,
      plus ``x``), then waits its turn at the ingress (one message at a time,
      ``bytes / ingress`` each).

    With an infinite ingress both are the same: ``latency + bytes / uplink + x``.

    Parameters
    ----------
    env : simpy.Environment
    n : int
    network : Network
    l, q : int
        Gradient length (model broadcast) and message length (upload).
    deliver, started : callables
        Called when a message reaches the server, and when a task begins (optional).
    uplinks : sequence of float, optional
        Each worker's uplink bandwidth (bytes/s); default ``network.bandwidth`` for all.
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
        uplinks: Sequence[float] | None = None,
    ) -> None:
        self.env = env
        self.deliver, self.started = deliver, started
        self.bcast = network.broadcast_time(l)
        size = network.message_bytes(q)
        if uplinks is None:
            ups = [float(network.bandwidth)] * n
            self.links = [network.upload_time(q)] * n
        else:
            ups = [float(u) for u in uplinks]
            if len(ups) != n or not all(u > 0 for u in ups):  # also rejects NaN
                raise InvalidInputError(
                    f"uplinks must be {n} bandwidths > 0 (bytes/s); got {list(uplinks)!r}"
                )
            self.links = [network.latency + size / u for u in ups]
        self.svc = network.ingress_time(q)
        self.has_ingress = math.isfinite(network.ingress)
        self.fair = self.has_ingress and network.sharing == "fair"
        self.gen = [0] * n  # task generation of each worker
        self.busy = [False] * n
        self.pending: list[tuple[int, float, float, float, Any] | None] = [None] * n
        # FIFO ingress
        self.queue: deque[tuple[int, int, int, Any]] = deque()
        self.serving: tuple[int, int, int, Any] | None = None
        # fair ingress: flows grouped by uplink class (classes sorted by bandwidth)
        self.latency = network.latency
        self.size = size
        self.ingress = float(network.ingress)
        self.caps = sorted(set(ups))
        index = {c: j for j, c in enumerate(self.caps)}
        self.cls = [index[u] for u in ups]
        k = len(self.caps)
        self.fk = [0] * k  # live flows per class
        self.fv = [0.0] * k  # virtual service of the class's flows (bytes)
        self.frate = [0.0] * k  # current rate of each of the class's flows (bytes/s)
        self.fheap: list[list[tuple[float, int, tuple[int, int, int, Any]]]] = [
            [] for _ in range(k)
        ]
        self.factive: set[int] = set()  # classes with live flows
        self.inflow = [False] * n
        self.ft = 0.0  # time the virtual services were last advanced to
        self.fgen = 0  # generation of the pending completion timeout
        self.fseq = 0

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
        job = (i, r, g, token)
        if self.fair:  # x, then the latency, then a flow through the shared ingress
            delay = start - now + c + x + self.latency
            env.timeout(delay).callbacks.append(lambda _e: self._flow_start(job))
            return
        delay = start - now + c + self.links[i] + x
        then = self._enqueue if self.has_ingress else self._arrive
        env.timeout(delay).callbacks.append(lambda _e: then(job))

    # ------------------------------------------------------------ FIFO ingress
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

    # ------------------------------------------------------------ fair ingress
    def _advance(self) -> None:
        """Bring every active class's virtual service to now."""
        now = self.env.now
        dt = now - self.ft
        if dt > 0:
            fv, frate = self.fv, self.frate
            for j in self.factive:
                fv[j] += frate[j] * dt
        self.ft = now

    def _flow_start(self, job: tuple[int, int, int, Any]) -> None:
        i = job[0]
        if self.gen[i] != job[2]:
            return  # cancelled on the way
        self._advance()
        j = self.cls[i]
        self.fseq += 1
        heapq.heappush(self.fheap[j], (self.fv[j] + self.size, self.fseq, job))
        self.fk[j] += 1
        self.factive.add(j)
        self.inflow[i] = True
        self._reflow()

    def _flow_gone(self, j: int) -> None:
        self.fk[j] -= 1
        if self.fk[j] == 0:  # restart the class's counter (keeps its numbers small)
            self.fheap[j].clear()
            self.fv[j] = 0.0
            self.factive.discard(j)

    def _top(self, j: int) -> tuple[float, int, tuple[int, int, int, Any]]:
        """The class's live flow that finishes first (drops cancelled ones)."""
        heap, gen = self.fheap[j], self.gen
        while True:
            top = heap[0]
            job = top[2]
            if gen[job[0]] == job[2] and self.inflow[job[0]]:
                return top
            heapq.heappop(heap)

    def _reflow(self) -> None:
        """Max–min rates of the active classes (progressive filling over classes sorted
        by uplink), then one timeout for the next completion."""
        self.fgen += 1
        if not self.factive:
            return
        left = self.ingress
        flows = sum(self.fk[j] for j in self.factive)
        level = -1.0
        for j in sorted(self.factive):
            k = self.fk[j]
            if level < 0:
                cap = self.caps[j]
                if cap * flows <= left:  # below its fair share: capped by its uplink
                    self.frate[j] = cap
                    left -= cap * k
                    flows -= k
                    continue
                level = left / flows
            self.frate[j] = level
        best, first = math.inf, -1
        for j in self.factive:
            t = (self._top(j)[0] - self.fv[j]) / self.frate[j]
            if t < best:
                best, first = t, j
        g = self.fgen
        wait = best if best > 0 else 0.0
        self.env.timeout(wait).callbacks.append(partial(self._flow_due, g, first))

    def _flow_due(self, g: int, first: int, _event: Any = None) -> None:
        if g != self.fgen:
            return  # rates changed since: a newer timeout is pending
        self._advance()
        fv = self.fv
        mark = self._top(first)[0]
        if fv[first] < mark:
            fv[first] = mark  # the timeout was computed to end exactly this flow
        tol = 1e-9 * self.size
        done: list[tuple[int, tuple[int, int, int, Any]]] = []
        for j in sorted(self.factive):
            heap = self.fheap[j]
            while self.fk[j] and (top := self._top(j))[0] <= fv[j] + tol:
                heapq.heappop(heap)
                job = top[2]
                self.inflow[job[0]] = False
                done.append((top[1], job))
                self._flow_gone(j)
        self._reflow()
        done.sort(key=lambda d: d[0])  # simultaneous ends in the order the flows began
        for _, job in done:
            self._arrive(job)

    # ------------------------------------------------------------ both
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
        """Cancel these workers' tasks: they are free at once (a cancelled upload leaves
        the ingress at once: the others' rates are recomputed)."""
        flows = False
        for i in workers.tolist():
            if self.inflow[i]:
                if not flows:
                    self._advance()
                    flows = True
                self.inflow[i] = False
                self._flow_gone(self.cls[i])
            self.gen[i] += 1
            self.busy[i] = False
            self.pending[i] = None
            if self.serving is not None and self.serving[0] == i:
                self.serving = None
                self._serve()
        if flows:
            self._reflow()


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
        self.loads = np.asarray(proto.code.work, dtype=float)  # data share (loads when k = n)
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
        self._links = np.asarray(self.pool.links, dtype=float)

    def _deliver(self, i: int, r: int, _token: Any) -> None:
        if self.proto.on_message(i, r, self.env.now):
            self.wake.succeed()

    def run(self) -> None:
        """Simulate every round."""
        self.env.process(self._rounds())
        self.env.run()

    def _rounds(self) -> Generator[simpy.Event, Any, None]:
        env, proto, kernels, pool = self.env, self.proto, self.kernels, self.pool
        loads = self.compute._check_loads(self.loads)  # checked once, then trusted
        comm_loads = self.comm._check_loads(self.comm_loads)
        no_comm = bool(getattr(self.comm, "always_zero", False))
        # With the cancel policy every worker is free when a round starts, and without a
        # shared ingress the workers' tasks do not interact: a round's arrival times are
        # known at dispatch, so the protocol is fed them in time order (one SimPy timeout
        # per round instead of one per worker). The in-memory live transport, which keeps
        # the per-worker events, is tested to give the same records.
        if proto.policy == "cancel" and not pool.has_ingress:
            yield from self._batch_rounds(loads, comm_loads, no_comm)
            return
        enc: list[float] = []
        zeros = np.zeros(proto.n)
        for _ in range(self.iterations):
            C = self.compute.draw_trusted(loads)
            X = zeros if no_comm else self.comm.draw_trusted(comm_loads)
            kernels.begin_round()
            if kernels.costs.measured or not enc:
                enc = np.asarray(kernels.encode_time, dtype=float).tolist()
            given = proto.start_round(env.now, C, X)
            r, t0 = proto.round, env.now
            self.wake = env.event()
            if proto.decided:
                self.wake.succeed()  # nobody can answer: failed at once
            pool.new_round()
            Cl, Xl = C.tolist(), X.tolist()
            for i in given.tolist():
                pool.assign(i, r, t0, Cl[i] + enc[i], Xl[i])
            if proto.round_timeout is not None:
                env.timeout(proto.round_timeout).callbacks.append(self._timeout(r))
            yield self.wake
            out = yield from self._decode()
            proto.finish(env.now, out)
            if len(proto.to_cancel):
                pool.cancel(proto.to_cancel)

    def _decode(self) -> Generator[simpy.Event, Any, KernelOutcome | None]:
        """Close the set, decode with the real kernels and wait out their cost."""
        R = self.proto.close()
        out = self.kernels.decode(R) if self.proto.decoded else None
        if out is not None:
            cost = out.decode_time + out.update_time
            if cost > 0:
                yield self.env.timeout(cost)
        return out

    def _draws(self, sampler: RoundSampler, loads: np.ndarray) -> Generator[np.ndarray, None, None]:
        """The sampler's rounds one by one, drawn in blocks of rounds where that gives
        the same numbers (``draw_rounds`` does, unless a sampler overrides ``draw``)."""
        left = self.iterations
        if type(sampler).draw is not RoundSampler.draw:
            for _ in range(left):
                yield sampler.draw_trusted(loads)
            return
        block = max(1, min(64, 65_536 // len(loads)))
        while left > 0:
            b = min(block, left)
            yield from sampler.draw_rounds(b, loads)
            left -= b

    def _batch_rounds(
        self, loads: np.ndarray, comm_loads: np.ndarray, no_comm: bool
    ) -> Generator[simpy.Event, Any, None]:
        """Every round with independent workers (see :meth:`_rounds`): each round's
        arrivals are computed at dispatch, sorted, and fed to the protocol in order;
        SimPy only advances the clock to the decision and past the decode."""
        env, proto, kernels, pool = self.env, self.proto, self.kernels, self.pool
        n = proto.n
        links_all = self._links
        zero_links = not links_all.any()  # (adding an exact 0 changes no time)
        bcast = pool.bcast
        costs_measured = kernels.costs.measured
        enc_arr = np.asarray(kernels.encode_time, dtype=float)
        enc_zero = not enc_arr.any()
        zeros = np.zeros(n)
        comm = None if no_comm else self._draws(self.comm, comm_loads)
        record = proto.record_workers
        for C in self._draws(self.compute, loads):
            X = zeros if comm is None else next(comm)
            kernels.begin_round()
            if costs_measured:
                enc_arr = np.asarray(kernels.encode_time, dtype=float)
                enc_zero = not enc_arr.any()
            now = env.now
            given = proto.start_round(now, C, X)
            # arrival = now + ((start - now) + (C + encode) + link + X), as the events do
            cg = C if enc_zero else C + enc_arr
            links, xg = links_all, X
            if len(given) != n:
                cg, links, xg = cg[given], links[given], xg[given]
            start = max(now, now + bcast)
            delta = cg if start == now else (start - now) + cg
            if not zero_links:
                delta = delta + links
            if comm is not None:
                delta = delta + xg
            arrival = now + delta
            if record:
                for i, ci in zip(given.tolist(), cg.tolist(), strict=True):
                    proto.worker_started(i, start, start + ci)
            order = np.argsort(arrival, kind="stable")
            ids = given[order].tolist()
            times = arrival[order].tolist()
            deadline = proto.deadline
            k = proto.feed(ids, times, 0, deadline)
            if not proto.decided:
                proto.on_timeout(deadline)
                k = proto.feed(ids, times, k, deadline)  # (same instant as the timeout)
            if proto.decide_time > now:
                yield env.timeout(proto.decide_time - now)
            R = proto.close()
            out = kernels.decode(R) if proto.decoded else None
            if out is not None:
                cost = out.decode_time + out.update_time
                if cost > 0:
                    yield env.timeout(cost)
            end = env.now
            proto.feed(ids, times, k, end)  # arrived while decoding: late
            proto.finish(end, out)

    def _timeout(self, r: int) -> Callable[[Any], None]:
        def fire(_e: Any) -> None:
            if self.proto.round == r and self.proto.on_timeout(self.env.now):
                self.wake.succeed()

        return fire
