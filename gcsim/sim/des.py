"""The discrete-event model (SimPy) of one server and n workers.

Processes
---------
* **server**: for each round, draws every worker's compute and communication delay
  (one vectorised call each), broadcasts the model, waits until the responders it holds
  are decodable (or for a fixed count), charges decode and update time, records the
  round, and ends it (cancelling stragglers under the ``cancel`` policy).
* **worker i** (one persistent process): waits for a round it has not worked on, receives
  the broadcast (latency + model size / broadcast bandwidth), computes and encodes
  (compute delay x load + encode cost), uploads over its own link (latency + message size
  / bandwidth + communication delay) and through the server's shared FIFO ingress.

Semantics made explicit
-----------------------
* ``cancel``: at round end every worker still busy with that round is interrupted and is
  free at once. ``non-preemptive``: it finishes its stale work (its message is
  discarded by round tag) and starts the newest round when done, late.
* Arrivals are delivered to the server in event order; the server decodes with **every
  responder of the round that has arrived by the instant the set became decodable**
  (same-time arrivals are all included, so the set does not depend on tie order).
* A round fails (recorded, never a hang) when every worker that can still respond has
  responded without making the set decodable, or when ``round_timeout`` expires.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import simpy

from gcsim.codes.base import GradientCode
from gcsim.delays.base import RoundSampler
from gcsim.sim.kernel import RoundKernels, kernel_columns
from gcsim.sim.network import Network

__all__ = ["run_des"]


class _Cluster:
    def __init__(
        self,
        code: GradientCode,
        kernels: RoundKernels,
        compute: RoundSampler,
        comm: RoundSampler,
        network: Network,
        policy: str,
        rule: str,
        iterations: int,
        round_timeout: float | None,
        record_workers: bool,
    ) -> None:
        self.env = simpy.Environment()
        self.code, self.kernels, self.network = code, kernels, network
        self.compute, self.comm = compute, comm
        self.policy, self.rule = policy, rule
        self.iterations = iterations
        self.round_timeout = round_timeout
        self.record_workers = record_workers
        n = code.n
        self.n = n
        self.loads = code.loads.astype(float)
        self.comm_loads = np.full(n, kernels.q / kernels.l)
        self.tracker = code.tracker() if rule == "decodable" else None
        self.threshold = n - code.s  # the count rule
        self.bcast = network.broadcast_time(kernels.l)
        self.link = network.upload_time(kernels.q)
        self.svc = network.ingress_time(kernels.q)
        self.ingress = (
            simpy.Resource(self.env, capacity=1) if math.isfinite(network.ingress) else None
        )
        self.msg_bytes = kernels.q * network.bytes_per_value
        # per-round shared state
        self.round = -1
        self.dispatch = 0.0
        self.C = np.zeros(n)
        self.X = np.zeros(n)
        self.wake = self.env.event()
        self.working_on = np.full(n, -1)
        self.stuck = np.zeros(n, dtype=bool)
        self.procs = [self.env.process(self._worker(i)) for i in range(n)]
        self._Cl: list[float] = [0.0] * n
        self._Xl: list[float] = [0.0] * n
        self._enc: list[float] = np.asarray(kernels.encode_time, dtype=float).tolist()
        self.records: list[dict[str, Any]] = []
        self.worker_rows: list[tuple[Any, ...]] = []
        self._arrived: list[int] = []
        self._done = False
        self._decoded = False
        self._collecting = False
        self._t_done = 0.0
        self._late = 0
        self._stale = 0
        self._expected = 0
        self._done_event: simpy.Event = self.env.event()
        self._w_start: Any = _Sink()
        self._w_cend: Any = _Sink()
        self._w_arr: Any = _Sink()

    # ------------------------------------------------------------------ workers
    def _worker(self, i: int) -> Any:
        env = self.env
        last = -1
        while True:
            if self.round <= last:
                yield self.wake
            r = self.round
            last = r
            self.working_on[i] = r
            c = self._Cl[i] + self._enc[i]
            x = self._Xl[i]
            start = max(env.now, self.dispatch + self.bcast)
            if not (math.isfinite(c) and math.isfinite(x)):
                self.stuck[i] = True
                self._w_start[i] = start
                try:
                    yield env.event()  # never triggers: a permanent failure
                except simpy.Interrupt:
                    self.stuck[i] = False
                    continue
            try:
                self._w_start[i] = start
                if self.ingress is None:
                    yield env.timeout(start - env.now + c + self.link + x)
                    self._w_cend[i] = start + c
                else:
                    yield env.timeout(start - env.now + c)
                    self._w_cend[i] = env.now
                    yield env.timeout(self.link + x)
                    with self.ingress.request() as req:
                        yield req
                        if self.policy == "cancel" and self.round != r:
                            continue
                        yield env.timeout(self.svc)
            except simpy.Interrupt:
                continue  # cancelled at round end: free at once
            self._arrive(i, r)

    # ------------------------------------------------------------------ server side
    def _arrive(self, i: int, r: int) -> None:
        if self.working_on[i] == r:
            self.working_on[i] = -1  # no longer busy with round r
        if (
            r == self.round
            and self._done
            and self._decoded
            and self._collecting
            and self.env.now == self._t_done
        ):
            # arrived at the very instant the set became decodable: part of the decode
            self._arrived.append(i)
            if self.record_workers:
                self._w_arr[i] = self.env.now
            return
        if r != self.round or self._done:
            if r == self.round:
                self._late += 1
            else:
                self._stale += 1
            if self.record_workers and r == self.round:
                self._w_arr[i] = self.env.now
            return
        self._arrived.append(i)
        if self.record_workers:
            self._w_arr[i] = self.env.now
        if self.tracker is not None:
            ok = self.tracker.add(i)
        else:
            ok = len(self._arrived) >= self.threshold
        if ok:
            self._finish(True)
        elif len(self._arrived) >= self._expected:
            self._finish(False)

    def _finish(self, decoded: bool) -> None:
        if not self._done:
            self._done = True
            self._decoded = decoded
            self._collecting = True
            self._t_done = self.env.now
            self._done_event.succeed()

    def _timeout_cb(self, r: int) -> Any:
        def cb(_event: Any) -> None:
            if self.round == r and not self._done:
                self._finish(False)

        return cb

    def server(self) -> Any:
        env = self.env
        n = self.n
        for r in range(self.iterations):
            t0 = env.now
            self.C = self.compute.draw(self.loads)
            self.X = self.comm.draw(self.comm_loads)
            self._Cl, self._Xl = self.C.tolist(), self.X.tolist()  # fast scalar access
            self.kernels.begin_round()
            if self.kernels.costs.measured:
                self._enc = np.asarray(self.kernels.encode_time, dtype=float).tolist()
            self._arrived = []
            self._done = False
            self._decoded = False
            self._late = 0
            self._stale = 0
            self._done_event = env.event()
            if self.tracker is not None:
                self.tracker.reset()
            finite = np.isfinite(self.C) & np.isfinite(self.X)
            self._expected = (
                int((finite & ~self.stuck).sum()) if self.policy != "cancel" else int(finite.sum())
            )
            if self.record_workers:
                self._w_start = np.full(n, np.nan)
                self._w_cend = np.full(n, np.nan)
                self._w_arr = np.full(n, np.inf)
            else:
                self._w_start = self._w_cend = self._w_arr = _Sink()
            self.round = r
            self.dispatch = t0
            wake, self.wake = self.wake, env.event()
            wake.succeed()
            if self._expected == 0:
                self._finish(False)
            if self.round_timeout is not None:
                env.timeout(self.round_timeout).callbacks.append(self._timeout_cb(r))
            yield self._done_event
            self._collecting = False  # same-instant arrivals are in (events before ours)
            t_dec = env.now
            R = np.sort(np.asarray(self._arrived, dtype=np.int64))
            rec: dict[str, Any] = {
                "round": r,
                "start": t0,
                "decoded": self._decoded,
                "decode_at": t_dec - t0,
                "n_responders": len(R),
                "responders": R.astype(np.int32),
                "early": self._decoded and len(R) < n - self.code.s,
                "bytes_received": len(R) * self.msg_bytes,
                "stale_discarded": self._stale,
            }
            if self._decoded:
                out = self.kernels.decode(R)
                cost = out.decode_time + out.update_time
                if cost > 0:
                    yield env.timeout(cost)
                rec.update(kernel_columns(out, self.msg_bytes))
            else:
                rec.update(kernel_columns(None, self.msg_bytes))
            t_end = env.now
            rec["end"] = t_end
            rec["duration"] = t_end - t0
            self.records.append(rec)
            if self.record_workers:
                self._record_workers(r, t0, R)
            if self.policy == "cancel":
                # every worker still busy with this round is cancelled and free at once
                busy = np.flatnonzero(self.working_on == r)
                for i in busy:
                    self.procs[i].interrupt()
                self.working_on[busy] = -1

    def _record_workers(self, r: int, t0: float, R: np.ndarray) -> None:
        resp = np.zeros(self.n, dtype=bool)
        resp[R] = True
        for i in range(self.n):
            arr = float(self._w_arr[i])
            if resp[i]:
                status = "responder"
            elif math.isfinite(arr):
                status = "late"
            elif not (math.isfinite(self.C[i]) and math.isfinite(self.X[i])):
                status = "never"
            else:
                status = "cancelled" if self.policy == "cancel" else "unfinished"
            self.worker_rows.append(
                (
                    r,
                    i,
                    t0,
                    float(self._w_start[i]),
                    float(self._w_cend[i]),
                    float(self.C[i]),
                    float(self.X[i]),
                    arr,
                    status,
                )
            )


class _Sink:
    """Write-only stand-in for per-worker arrays when workers are not recorded."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __getitem__(self, key: Any) -> float:
        return math.inf


def run_des(
    code: GradientCode,
    kernels: RoundKernels,
    compute: RoundSampler,
    comm: RoundSampler,
    network: Network,
    policy: str,
    rule: str,
    iterations: int,
    round_timeout: float | None,
    record_workers: bool,
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """Run the SimPy model; return round records and per-worker rows."""
    cl = _Cluster(
        code,
        kernels,
        compute,
        comm,
        network,
        policy,
        rule,
        iterations,
        round_timeout,
        record_workers,
    )
    cl.env.process(cl.server())
    cl.env.run()
    return cl.records, cl.worker_rows
