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

#: values of one rounds x n matrix per chunk of rounds (32 MiB of float64; 2 MiB chunks
#: were no faster against the numpy floor in interleaved runs: 0.6-0.7x against 0.8-0.9x)
CHUNK_VALUES = 1 << 22


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
    loads = np.asarray(code.work, dtype=float)  # data share (= loads when k = n)
    comm_loads = np.full(n, kernels.q / kernels.l)
    # rounds are independent: work in chunks of rounds, so that peak memory stays near
    # one rounds x n matrix of a chunk (the samplers draw the same stream in chunks)
    chunk = max(1, min(iterations, CHUNK_VALUES // max(n, 1)))
    if iterations * n > CHUNK_VALUES // 4:  # large: at least 4 chunks (peak < 1x matrix)
        chunk = min(chunk, max(1, math.ceil(iterations / 4)))
    no_comm = bool(getattr(comm, "always_zero", False))  # e.g. no comm_delays given
    dec_parts, failed_parts, resp_parts, wrows = [], [], [], []
    arrived_rows: list[np.ndarray] = []
    workload = kernels.workload is not None
    start0 = 0.0
    for r0 in range(0, iterations, chunk):
        k = min(chunk, iterations - r0)
        C = compute.draw_rounds(k, loads)
        if no_comm:  # arrivals are the compute times: no second matrix, no addition
            X = np.zeros_like(C) if record_workers else C
            T = C
        else:
            X = comm.draw_rounds(k, comm_loads)
            T = np.add(C, X, out=X if not record_workers else None)  # X not needed again
        dec_at, failed = _decode_instants(code, T, rule, round_timeout)
        arrived = T <= dec_at[:, None]
        n_resp = np.count_nonzero(arrived, axis=1)
        dec_parts.append(dec_at)
        failed_parts.append(failed)
        resp_parts.append(n_resp)
        if workload:
            arrived_rows.extend(np.flatnonzero(row) for row in arrived)
        if record_workers:
            starts = start0 + np.concatenate([[0.0], np.cumsum(dec_at)[:-1]])
            wrows.extend(_worker_rows(C, X, T, arrived, starts))
        start0 += float(dec_at.sum())
        del C, X, T, arrived
    dec_at = np.concatenate(dec_parts)
    failed = np.concatenate(failed_parts)
    n_resp = np.concatenate(resp_parts)
    if not workload:
        # timing only: columns computed for all rounds at once
        duration = dec_at
        end = np.cumsum(duration)
        start = end - duration
        used = np.where(failed, 0, n_resp)
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
            "rows_used": used,
            "bytes_used": used * msg_bytes,
        }
        return cols, wrows
    records: list[dict[str, Any]] = []
    now = 0.0
    for r in range(iterations):
        R = arrived_rows[r]
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
    return records, wrows


def _decode_instants(
    code: GradientCode, T: np.ndarray, rule: DecodeRule, round_timeout: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each round's decision instant and whether it failed: a failed round lasts until
    its last finite arrival (or the timeout).

    Rule ``deadline`` (inexact codes): a round ends at the timeout or at its last finite
    arrival, whichever is first, and decodes whoever arrived by then (ties included, as
    in the protocol) when the code accepts that set."""
    if rule.kind == "deadline" and round_timeout is not None:
        with np.errstate(invalid="ignore"):
            last = np.where(np.isfinite(T), T, -np.inf).max(axis=1)
        nobody = ~np.isfinite(last)  # no worker had work: the round ends at its start
        t = np.where(nobody, 0.0, np.minimum(last, round_timeout))
        failed = nobody.copy()
        for r in np.flatnonzero(~nobody).tolist():
            R = np.flatnonzero(T[r] <= t[r])
            failed[r] = not (len(R) and code.is_decodable(R))
        return t, failed
    t = completion_times(code, T, rule)
    failed = ~np.isfinite(t)
    if round_timeout is not None:
        failed |= t > round_timeout
    if not failed.any():
        return t, failed
    with np.errstate(invalid="ignore"):
        last = np.where(np.isfinite(T), T, -np.inf).max(axis=1)
    last = np.where(np.isfinite(last), last, 0.0)
    fail_time = last if round_timeout is None else np.minimum(last, round_timeout)
    return np.where(failed, fail_time, t), failed


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
