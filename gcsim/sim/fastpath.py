"""Vectorised fast path: round times from order statistics, no event simulation.

Applies when the delay models are i.i.d. across rounds, the policy is ``cancel``, the
network is ideal and the kernel costs are zero. Then a round is independent of every
other, worker i's arrival is ``T_i = compute_i + comm_i`` after the round starts, and the
round ends at the first instant the arrived set is decodable:

* count rule: the (n - s)-th smallest ``T_i``;
* group-wise codes (frc, grouped with an MDS generator): the maximum over groups of the
  group's ``need``-th smallest ``T_i`` (computed for all rounds at once);
* other codes (general rules with early checks, groups with rank checks): arrivals are
  replayed in order through the code's decodability tracker, as the DES decides.

The responder set is every worker with ``T_i <= t`` (ties included), as in the DES.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.codes.tracker import DecodabilityTracker, DecodeRule
from gcsim.delays.base import RoundSampler
from gcsim.protocol import decode_columns, effective_rule
from gcsim.sim.kernel import RoundKernels

__all__ = ["completion_times", "run_fast"]


def _kth(T: np.ndarray, k: int) -> np.ndarray:
    """k-th smallest (1-based) along the last axis; inf when k exceeds the count."""
    size = T.shape[-1]
    if k > size:
        return np.full(T.shape[:-1], np.inf)
    return np.partition(T, k - 1, axis=-1)[..., k - 1]


def completion_times(code: GradientCode, T: np.ndarray, rule: str | DecodeRule) -> np.ndarray:
    """Decode instant of each round, shape (rounds,), from arrivals ``T`` (rounds, n).

    ``rule`` is ``"decodable"`` / ``"count"`` (as in :func:`gcsim.simulate`) or a
    :class:`~gcsim.codes.DecodeRule`. inf where a round never decodes.
    """
    dr = effective_rule(code, rule) if isinstance(rule, str) else rule
    if dr.kind == "count":
        return _kth(T, dr.threshold)
    if dr.kind == "groups" and not dr.group_check:
        assert dr.group_of is not None and dr.need is not None
        group_of, need = dr.group_of, dr.need
        sizes = np.bincount(group_of, minlength=len(need))
        out = np.full(T.shape[0], -np.inf)
        order = np.argsort(group_of, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for size in np.unique(sizes):
            for kneed in np.unique(need[sizes == size]):
                groups = np.flatnonzero((sizes == size) & (need == kneed))
                cols = order[(starts[groups][:, None] + np.arange(size)[None, :]).ravel()]
                sub = T[:, cols].reshape(T.shape[0], len(groups), size)
                out = np.maximum(out, _kth(sub, int(kneed)).max(axis=1))
        return out
    if dr.kind == "general" and not dr.early_checks:
        return _kth(T, dr.threshold)
    # replay the arrival order through the tracker (the DES's own decision, arrival by
    # arrival; a general rule's tracker keeps the responders' span incrementally, so this
    # costs a few small projections per round, not a least-squares solve per arrival)
    tracker = DecodabilityTracker(code, dr)
    out = np.full(T.shape[0], np.inf)
    for r in range(T.shape[0]):
        order = np.argsort(T[r], kind="stable")
        finite = int(np.isfinite(T[r]).sum())
        tracker.reset()
        for i in order[:finite].tolist():
            if tracker.add(i):
                out[r] = T[r, i]
                break
    return out


def run_fast(
    code: GradientCode,
    kernels: RoundKernels,
    compute: RoundSampler,
    comm: RoundSampler,
    rule: DecodeRule,
    iterations: int,
    round_timeout: float | None,
    record_workers: bool,
    msg_bytes: int,
) -> tuple[list[dict[str, Any]] | dict[str, np.ndarray], list[tuple[Any, ...]]]:
    """Run the fast path; return records (a dict of columns when there is no workload).

    The records equal those of the round protocol fed the same draws (property-tested in
    ``tests/property/test_protocol.py``)."""
    n = code.n
    loads = code.loads.astype(float)
    comm_loads = np.full(n, kernels.q / kernels.l)
    C = compute.draw_rounds(iterations, loads)
    X = comm.draw_rounds(iterations, comm_loads)
    T = C + X  # encode cost, network and broadcast are zero by applicability
    t = completion_times(code, T, rule)
    failed = ~np.isfinite(t)
    if round_timeout is not None:
        failed |= t > round_timeout
    # a failed round lasts until its last finite arrival (or the timeout)
    with np.errstate(invalid="ignore"):
        last = np.where(np.isfinite(T), T, -np.inf).max(axis=1)
    last = np.where(np.isfinite(last), last, 0.0)
    fail_time = last if round_timeout is None else np.minimum(last, round_timeout)
    dec_at = np.where(failed, fail_time, t)
    arrived = T <= dec_at[:, None]
    n_resp = arrived.sum(axis=1)
    worker_rows: list[tuple[Any, ...]] = []
    if kernels.workload is None:
        # timing only: columns computed for all rounds at once
        duration = dec_at
        end = np.cumsum(duration)
        start = end - duration
        cols: dict[str, np.ndarray] = {
            "round": np.arange(iterations),
            "start": start,
            "end": end,
            "duration": duration,
            "decoded": ~failed,
            "decode_at": dec_at,
            "n_responders": n_resp,
            "early": ~failed & (n_resp < n - code.s),
            "bytes_received": n_resp * msg_bytes,
            "stale_discarded": np.zeros(iterations, int),
            "decode_time": np.zeros(iterations),
            "decode_wall": np.full(iterations, np.nan),
            "loss": np.full(iterations, np.nan),
            "rel_error": np.full(iterations, np.nan),
            "cond": np.full(iterations, np.nan),
            "l1_amplification": np.full(iterations, np.nan),
            "residual": np.full(iterations, np.nan),
            "rows_used": np.where(failed, 0, n_resp),
            "bytes_used": np.where(failed, 0, n_resp) * msg_bytes,
        }
        if record_workers:
            worker_rows = _worker_rows(C, X, T, arrived, start)
        return cols, worker_rows
    records: list[dict[str, Any]] = []
    now = 0.0
    for r in range(iterations):
        R = np.flatnonzero(arrived[r])
        kernels.begin_round()
        rec: dict[str, Any] = {
            "round": r,
            "start": now,
            "decoded": not failed[r],
            "decode_at": float(dec_at[r]),
            "n_responders": len(R),
            "responders": R.astype(np.int32),
            "early": bool(not failed[r] and len(R) < n - code.s),
            "bytes_received": len(R) * msg_bytes,
            "stale_discarded": 0,
        }
        # the fast path applies only with zero costs: no decode time is charged
        out = None if failed[r] else kernels.decode(R)
        rec.update(decode_columns(out, len(R), msg_bytes))
        rec["end"] = now + float(dec_at[r])
        rec["duration"] = float(dec_at[r])
        now = rec["end"]
        records.append(rec)
    if record_workers:
        starts = np.array([rec["start"] for rec in records])
        worker_rows = _worker_rows(C, X, T, arrived, starts)
    return records, worker_rows


def _worker_rows(
    C: np.ndarray, X: np.ndarray, T: np.ndarray, arrived: np.ndarray, start: np.ndarray
) -> list[tuple[Any, ...]]:
    """Per (round, worker) rows, as the protocol writes them (statuses: responder,
    cancelled, never)."""
    rows = []
    R, n = T.shape
    nan = math.nan
    for r in range(R):
        t0 = float(start[r])
        for i in range(n):
            c = float(C[r, i])
            if not math.isfinite(T[r, i]):  # given no work
                rows.append((r, i, t0, nan, nan, c, float(X[r, i]), math.inf, "never"))
                continue
            resp = bool(arrived[r, i])
            rows.append(
                (
                    r,
                    i,
                    t0,
                    t0,
                    t0 + c,
                    c,
                    float(X[r, i]),
                    t0 + float(T[r, i]) if resp else math.inf,
                    "responder" if resp else "cancelled",
                )
            )
    return rows
