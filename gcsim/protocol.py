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
    k = proto.feed(ids, times, k, until)             # (or many known arrivals at once)
    decided = proto.on_timeout(t)                    # at proto.deadline
    R = proto.close()                                # decode these (if proto.decoded)
    proto.on_message(...)                            # late ones, while decoding
    record = proto.finish(t_end, outcome)            # outcome: KernelOutcome or None
    proto.to_cancel                                  # cancel these (policy cancel)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any, NamedTuple

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.codes.tracker import DecodabilityTracker, DecodeRule

__all__ = [
    "DECODE_RULES",
    "INEXACT_RULES",
    "POLICIES",
    "RULES",
    "STATUSES",
    "KernelOutcome",
    "RoundProtocol",
    "effective_rule",
]

POLICIES = ("cancel", "non-preemptive")
RULES = ("decodable", "count")
#: Rules for inexact codes (an exact code decodes under them as soon as decodable):
#: ``deadline`` ends a round at the round timeout with whoever arrived (or when every
#: worker has answered), ``error`` at the first set whose coefficient error is at most
#: the run's ``error_target``.
INEXACT_RULES = ("deadline", "error")
#: Every value of a run's ``decode_rule``.
DECODE_RULES = RULES + INEXACT_RULES

#: The one set of worker statuses, per round and worker.
STATUSES: dict[str, str] = {
    "responder": "its message arrived by the decode instant and is in the decode set",
    "late": "its message of this round arrived after the decode instant (not decoded)",
    "cancelled": "was given work but had not answered at round end; cancelled (policy cancel)",
    "unfinished": "was given work but had not answered at round end; it finishes that "
    "stale task first (policy non-preemptive)",
    "never": "given no work this round: an infinite delay draw (a failed worker)",
}


class KernelOutcome(NamedTuple):
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


def effective_rule(code: GradientCode, rule: str, error_target: float | None = None) -> DecodeRule:
    """The decode rule a run uses: the code's own for ``decodable`` (exact codes), the
    count rule at ``n - s`` otherwise (an inexact code "decodes" at n - s). Under
    ``deadline`` and ``error`` an exact code decodes as soon as decodable; an inexact
    one gets :meth:`DecodeRule.deadline` or :meth:`DecodeRule.error` (``error_target``,
    default 0: the exact sum)."""
    if code.exact and rule != "count":
        return code.decode_rule
    if rule == "deadline":
        return DecodeRule.deadline(code.n - code.s)
    if rule == "error":
        return DecodeRule.error(code.n - code.s, 0.0 if error_target is None else error_target)
    return DecodeRule.count(code.n - code.s)


class RoundProtocol:
    """The server side of the round protocol (see the module docstring).

    Parameters
    ----------
    code : GradientCode
    rule : {"decodable", "count", "deadline", "error"}
    policy : {"cancel", "non-preemptive"}
    round_timeout : float or None
        A round not decided this long after its start fails (rule ``deadline``, inexact
        code: it is decoded with whoever arrived, and fails only when nobody did).
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
        error_target: float | None = None,
    ) -> None:
        self.code = code
        self.n = code.n
        self.policy = policy
        self.rule = effective_rule(code, rule, error_target)
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
        self._to_cancel: np.ndarray | None = _NONE  # None: computed when first asked
        self._arrived: list[int] = []
        self._expected = 0
        self._stale = 0
        self._everyone = np.arange(self.n, dtype=np.int64)
        self._everyone.flags.writeable = False
        self._unarrived = [math.inf] * self.n
        self._early_below = self.n - code.s

    # ------------------------------------------------------------------ a round
    @property
    def to_cancel(self) -> np.ndarray:
        """After :meth:`finish` (policy ``cancel``): the workers given work that had not
        answered at round end, to cancel (sorted ids); empty otherwise."""
        out = self._to_cancel
        if out is None:  # (computed on first use: a batch adapter never asks)
            busy = np.isinf(np.array(self._arrival))
            busy &= self._given
            out = self._to_cancel = np.flatnonzero(busy)
        return out

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
        given = np.isfinite(compute)
        given &= np.isfinite(comm)
        self._given = given
        expected = self._expected = int(np.count_nonzero(given))
        self._arrived = []
        self._stale = 0
        self.tracker.reset()
        self.decided = False
        self.decoded = False
        self.closed = False
        self.decide_time = math.nan
        self._to_cancel = _NONE
        self._arrival = self._unarrived.copy()  # a list: cheap per-message writes
        if self.record_workers:
            self._start = np.full(self.n, math.nan)
            self._cend = np.full(self.n, math.nan)
            self._dispatch = np.full(self.n, self.t0)
        if expected == 0:
            self._decide(False, self.t0)
        return self._everyone if expected == self.n else np.flatnonzero(given)

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
            if self._to_cancel is None:
                self.to_cancel  # noqa: B018 (fixed at finish: the workers busy then)
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

    def feed(self, ids: list[int], times: list[float], k: int, until: float) -> int:
        """This round's messages of workers ``ids[k:]`` (Python ints, each at most once
        per round) arriving at ``times[k:]`` (ascending): hand over, in order, those that
        arrive by ``until`` and that :meth:`on_message` would still take into the round
        (undecided, or at the decision instant; every one once the set is closed: they
        are late). Returns the index of the first one not handed over.

        The same as ``on_message(ids[j], self.round, times[j])`` for each of them (a
        batch adapter's fast way to feed a round whose arrival times it knows)."""
        j = bisect_right(times, until, k)
        if j <= k:
            return k
        arrival = self._arrival
        if self.closed:  # late: recorded, not decoded
            if self._to_cancel is None:
                self.to_cancel  # noqa: B018 (fixed at finish: the workers busy then)
            for i, t in zip(ids[k:j], times[k:j], strict=True):
                arrival[i] = t
            return j
        arrived = self._arrived
        if not self.decided:
            room = self._expected - len(arrived)
            if room <= 0:  # (cannot happen: decided when everybody answered)
                while k < j and not self.decided:
                    self.on_message(ids[k], self.round, times[k])
                    k += 1
            else:
                stop = min(j, k + room)
                seg = ids[k:stop]
                p = self.tracker.add_many(seg)
                m = stop if p < 0 else k + p + 1
                if p >= 0:
                    self._decide(True, times[m - 1])
                    seg = seg[: p + 1]
                arrived.extend(seg)
                for i, t in zip(seg, times[k:m], strict=True):
                    arrival[i] = t
                k = m
                if p < 0 and len(arrived) >= self._expected:
                    self._decide(False, times[m - 1])  # everybody answered, not decodable
            if not self.decided:
                return k
        # decided: the ones at the decision instant are in the set
        j = bisect_right(times, self.decide_time, k, j)
        seg = ids[k:j]
        arrived.extend(seg)
        for i, t in zip(seg, times[k:j], strict=True):
            arrival[i] = t
        return max(j, k)

    def on_timeout(self, t: float) -> bool:
        """The round timeout fired at t; True when it decided the round (failed)."""
        if self.decided:
            return False
        self._decide(False, t)
        return True

    def _decide(self, decoded: bool, t: float) -> None:
        if not decoded and self.rule.kind == "deadline" and self._arrived:
            # the deadline (or the last answer) ends the round with whoever arrived
            decoded = self.code.is_decodable(self._arrived)
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
        nr = len(R)
        t_end = float(t_end)
        decoded = self.decoded
        rec: dict[str, Any] = {
            "round": self.round,
            "start": self.t0,
            "end": t_end,
            "duration": t_end - self.t0,
            "decoded": decoded,
            "decode_at": self.decide_time - self.t0,
            "n_responders": nr,
            "responders": R.astype(np.int32),
            "early": decoded and nr < self._early_below,
            "bytes_received": nr * self.msg_bytes,
            "stale_discarded": self._stale,
        }
        if outcome is None or not decoded:
            rec.update(_NO_DECODE)
        else:
            rec.update(decode_columns(outcome, nr, self.msg_bytes))
        if self.policy == "cancel":
            self._to_cancel = None  # given work, not answered: see to_cancel
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
            arr = float(self._arrival[i])  # (a list of floats)
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


_NONE = np.zeros(0, dtype=np.int64)
_NONE.flags.writeable = False
#: the decode columns of a round with no kernel outcome
_NO_DECODE: dict[str, Any] = {
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


def decode_columns(out: KernelOutcome | None, n_resp: int, msg_bytes: int) -> dict[str, Any]:
    """The decode-related columns of a round record (``out`` None: failed, or timing
    only with no kernel run: NaN measurements)."""
    if out is None:
        return dict(_NO_DECODE)
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
