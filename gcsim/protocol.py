"""The round protocol: one transport-independent state machine for every engine.

The SimPy model (:mod:`gcsim.sim.des`), the vectorised fast path
(:mod:`gcsim.sim.fastpath`, property-tested to give the same records) and the live
server (:mod:`gcsim.live.server`, over MPI or an in-memory transport) all drive this one
object. It does no I/O and has no clock of its own: the adapter tells it what happened
and when, and it alone decides

* **round end**: the set of responders becomes decodable under the decode rule (the
  code's declared :class:`~gcsim.codes.DecodeRule`, or the count rule ``n - s``); or the
  round **fails** because every dispatched worker has answered without a decodable set,
  or the round timeout fires;
* **who works**: a worker whose delay draw is infinite (a failed worker) gets no work in
  that round (status ``never``); which workers to cancel at round end (policy ``cancel``)
  or to leave finishing their stale task (``non-preemptive``);
* **worker statuses** (:data:`STATUSES`) and the **round record**
  (:data:`gcsim.sim.ROUND_COLUMNS`) and per-worker rows (:data:`gcsim.sim.WORKER_COLUMNS`).

Message semantics: a message carries its round. One of an earlier round is discarded
(counted in ``stale_discarded``). One of this round that arrives at or before the
instant the round was decided is a **responder** (same-instant arrivals are all in, so
the set does not depend on tie order) until the adapter :meth:`~RoundProtocol.close`\\ s
the set to decode it; after that it is **late** (recorded, not decoded).

Life of a round::

    dispatch = proto.start_round(t0, compute, comm)   # send work to these workers
    proto.worker_started(i, t_start, t_compute_end)   # optional timing detail
    decided = proto.on_message(i, round, t)          # ... until decided
    decided = proto.on_timeout(t)                    # at proto.deadline
    R = proto.close()                                # decode these (if proto.decoded)
    proto.on_message(...)                            # late ones, while decoding
    record = proto.finish(t_end, outcome)            # outcome: KernelOutcome or None
    proto.to_cancel                                  # cancel these (policy cancel)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.codes.tracker import DecodabilityTracker, DecodeRule

__all__ = [
    "POLICIES",
    "RULES",
    "STATUSES",
    "KernelOutcome",
    "RoundProtocol",
    "effective_rule",
]

POLICIES = ("cancel", "non-preemptive")
RULES = ("decodable", "count")

#: The one set of worker statuses, per round and worker.
STATUSES: dict[str, str] = {
    "responder": "its message arrived by the decode instant and is in the decode set",
    "late": "its message of this round arrived after the decode instant (not decoded)",
    "cancelled": "was given work but had not answered at round end; cancelled (policy cancel)",
    "unfinished": "was given work but had not answered at round end; it finishes that "
    "stale task first (policy non-preemptive)",
    "never": "given no work this round: an infinite delay draw (a failed worker)",
}


@dataclass(frozen=True)
class KernelOutcome:
    """What the real kernels did in one decoded round (the decode columns)."""

    rows_used: int
    cond: float
    l1_amplification: float
    residual: float
    rel_error: float
    decode_time: float
    update_time: float
    loss: float
    decode_wall: float = math.nan


def effective_rule(code: GradientCode, rule: str) -> DecodeRule:
    """The decode rule a run uses: the code's own for ``decodable`` (exact codes), the
    count rule at ``n - s`` otherwise (an inexact code "decodes" at n - s)."""
    if rule == "decodable" and code.exact:
        return code.decode_rule
    return DecodeRule.count(code.n - code.s)


class RoundProtocol:
    """The server side of the round protocol (see the module docstring).

    Parameters
    ----------
    code : GradientCode
    rule : {"decodable", "count"}
    policy : {"cancel", "non-preemptive"}
    round_timeout : float or None
        A round not decided this long after its start fails.
    msg_bytes : int
        Bytes of one message (for the byte columns).
    record_workers : bool
        Keep one row per (round, worker).
    """

    def __init__(
        self,
        code: GradientCode,
        *,
        rule: str = "decodable",
        policy: str = "cancel",
        round_timeout: float | None = None,
        msg_bytes: int = 0,
        record_workers: bool = False,
    ) -> None:
        self.code = code
        self.n = code.n
        self.policy = policy
        self.rule = effective_rule(code, rule)
        self.tracker = DecodabilityTracker(code, self.rule)
        self.round_timeout = round_timeout
        self.msg_bytes = int(msg_bytes)
        self.record_workers = record_workers
        self.records: list[dict[str, Any]] = []
        self.worker_rows: list[tuple[Any, ...]] = []
        self.round = -1
        self.t0 = 0.0
        self.decided = True
        self.decoded = False
        self.closed = True
        self.decide_time = math.nan
        self.to_cancel: np.ndarray = np.zeros(0, dtype=np.int64)
        self._arrived: list[int] = []
        self._expected = 0
        self._stale = 0

    # ------------------------------------------------------------------ a round
    @property
    def deadline(self) -> float:
        """Absolute time at which the current round times out (inf without timeout)."""
        if self.round_timeout is None:
            return math.inf
        return self.t0 + self.round_timeout

    def start_round(self, t0: float, compute: np.ndarray, comm: np.ndarray) -> np.ndarray:
        """Start the next round at ``t0`` with this round's delay draws (shape (n,));
        return the ids of the workers to give work to (finite draws)."""
        if not self.closed or (self.round >= 0 and len(self.records) <= self.round):
            raise RuntimeError("internal: start_round before the previous round finished")
        self.round += 1
        self.t0 = float(t0)
        self._C = compute
        self._X = comm
        given = np.isfinite(compute) & np.isfinite(comm)
        self._given = given
        self._expected = int(given.sum())
        self._arrived = []
        self._stale = 0
        self.tracker.reset()
        self.decided = False
        self.decoded = False
        self.closed = False
        self.decide_time = math.nan
        self.to_cancel = np.zeros(0, dtype=np.int64)
        self._arrival = np.full(self.n, math.inf)
        if self.record_workers:
            self._start = np.full(self.n, math.nan)
            self._cend = np.full(self.n, math.nan)
            self._dispatch = np.full(self.n, self.t0)
        if self._expected == 0:
            self._decide(False, self.t0)
        return np.flatnonzero(given)

    def worker_started(self, i: int, t_start: float, t_compute_end: float) -> None:
        """Timing detail for the worker rows: worker i began this round's task."""
        if self.record_workers:
            self._start[i] = t_start
            self._cend[i] = t_compute_end

    def dispatched(self, i: int, t: float) -> None:
        """Timing detail for the worker rows: the work reached worker i's queue at t."""
        if self.record_workers:
            self._dispatch[i] = t

    def on_message(self, i: int, r: int, t: float) -> bool:
        """Worker i's message of round r arrived at t; True when it decided the round."""
        if r != self.round:
            self._stale += 1
            return False
        if self.closed or (self.decided and t > self.decide_time):
            self._arrival[i] = t  # late: recorded, not decoded
            return False
        self._arrived.append(int(i))
        self._arrival[i] = t
        if self.decided:
            return False  # same instant as the decision: part of the decode set
        if self.tracker.add(i):
            self._decide(True, t)
            return True
        if len(self._arrived) >= self._expected:
            self._decide(False, t)  # everybody answered, still not decodable
            return True
        return False

    def on_timeout(self, t: float) -> bool:
        """The round timeout fired at t; True when it decided the round (failed)."""
        if self.decided:
            return False
        self._decide(False, t)
        return True

    def _decide(self, decoded: bool, t: float) -> None:
        self.decided = True
        self.decoded = decoded
        self.decide_time = float(t)

    def close(self) -> np.ndarray:
        """Freeze the decode set (sorted worker ids); later messages are late."""
        if not self.decided:
            raise RuntimeError("internal: close() before the round was decided")
        self.closed = True
        self._R = np.sort(np.asarray(self._arrived, dtype=np.int64))
        return self._R

    def finish(self, t_end: float, outcome: KernelOutcome | None) -> dict[str, Any]:
        """End the round at ``t_end`` (after decode and update); return its record.

        ``outcome`` is the kernels' result of a decoded round (None for a failed one,
        or for a decoded round whose kernels did not run)."""
        if not self.closed:
            self.close()
        R = self._R
        r = self.round
        rec: dict[str, Any] = {
            "round": r,
            "start": self.t0,
            "end": float(t_end),
            "duration": float(t_end) - self.t0,
            "decoded": self.decoded,
            "decode_at": self.decide_time - self.t0,
            "n_responders": len(R),
            "responders": R.astype(np.int32),
            "early": self.decoded and len(R) < self.n - self.code.s,
            "bytes_received": len(R) * self.msg_bytes,
            "stale_discarded": self._stale,
        }
        rec.update(decode_columns(outcome if self.decoded else None, len(R), self.msg_bytes))
        busy = self._given & ~np.isfinite(self._arrival)
        self.to_cancel = np.flatnonzero(busy) if self.policy == "cancel" else self.to_cancel[:0]
        if self.record_workers:
            self._rows(R)
        self.records.append(rec)
        return rec

    def _rows(self, R: np.ndarray) -> None:
        resp = np.zeros(self.n, dtype=bool)
        resp[R] = True
        idle = "cancelled" if self.policy == "cancel" else "unfinished"
        r, t0 = self.round, self.t0
        for i in range(self.n):
            arr = float(self._arrival[i])
            if resp[i]:
                status = "responder"
            elif math.isfinite(arr):
                status = "late"
            elif not self._given[i]:
                status = "never"
            else:
                status = idle
            self.worker_rows.append(
                (
                    r,
                    i,
                    float(self._dispatch[i]) if self._given[i] else t0,
                    float(self._start[i]),
                    float(self._cend[i]),
                    float(self._C[i]),
                    float(self._X[i]),
                    arr,
                    status,
                )
            )


def decode_columns(out: KernelOutcome | None, n_resp: int, msg_bytes: int) -> dict[str, Any]:
    """The decode-related columns of a round record (``out`` None: failed, or timing
    only with no kernel run: NaN measurements)."""
    if out is None:
        return {
            "rows_used": 0,
            "cond": math.nan,
            "l1_amplification": math.nan,
            "residual": math.nan,
            "rel_error": math.nan,
            "bytes_used": 0,
            "decode_time": 0.0,
            "decode_wall": math.nan,
            "loss": math.nan,
        }
    return {
        "rows_used": out.rows_used,
        "cond": out.cond,
        "l1_amplification": out.l1_amplification,
        "residual": out.residual,
        "rel_error": out.rel_error,
        "bytes_used": out.rows_used * msg_bytes,
        "decode_time": out.decode_time,
        "decode_wall": out.decode_wall,
        "loss": out.loss,
    }
