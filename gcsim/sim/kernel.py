"""The real kernels of one round, shared by the DES and the fast path.

Encodes the workload's partial gradients with the code's real kernel, decodes the
responders' messages with the code's real decoder, measures the decoded gradient's
error against the exactly computed sum, and applies the update.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.protocol import KernelOutcome
from gcsim.sim.network import CostModel
from gcsim.workload.base import Workload

__all__ = ["RoundKernels"]


class RoundKernels:
    """Per-run state of the real kernels (see module docstring).

    With a static workload (random vectors) the messages are encoded once: the partial
    gradients never change, so this is exact. Without a workload (timing only) nothing is
    encoded or decoded: the decode columns are NaN and only the cost model's decode time
    (for reading the responders' rows) is charged.
    """

    def __init__(
        self,
        code: GradientCode,
        workload: Workload | None,
        costs: CostModel,
        dimension: int,
        rng: np.random.Generator,
    ) -> None:
        self.code = code
        self.workload = workload
        self.costs = costs
        self.l = workload.dimension if workload is not None else int(dimension)
        self.q = code.message_length(self.l)
        self.nnz = code.loads * code.m  # non-zero coefficients of each row of B
        self.encode_time = costs.encode_time(self.nnz, self.q)  # per worker
        self._messages: np.ndarray | None = None
        self._g: np.ndarray | None = None
        self._gnorm = 1.0
        if workload is not None:
            workload.setup(code.k, rng)
            if workload.static:
                self._prepare()

    def _prepare(self) -> None:
        assert self.workload is not None
        P = self.workload.partials()
        t0 = time.perf_counter()
        # overflow of an unstable code (ye-abbe in float32 at large n) is measured in the
        # records (rel_error inf), not reported as a warning per round
        with np.errstate(over="ignore", invalid="ignore"):
            self._messages = self.code.encode(P)
        enc_wall = time.perf_counter() - t0
        if self.costs.measured:
            share = self.nnz / max(1, self.nnz.sum())
            self.encode_time = enc_wall * share
        self._g = P.sum(axis=0, dtype=np.float64)
        norm = float(np.linalg.norm(self._g))
        self._gnorm = norm if norm > 0 else 1.0

    def begin_round(self) -> None:
        """Compute this round's partial gradients and messages (non-static workloads)."""
        if self.workload is not None and not self.workload.static:
            self._prepare()

    def decode(self, responders: np.ndarray) -> KernelOutcome:
        """Decode the responders' messages, measure, update the model. ``responders``
        are sorted unique worker ids (as the round protocol gives them)."""
        code = self.code
        t_upd = self.costs.update_time(self.l)
        if self.workload is None:  # timing only: charge a decode reading |R| rows
            t_dec = self.costs.decode_time(code.m, len(responders), self.q)
            return KernelOutcome(
                len(responders), math.nan, math.nan, math.nan, math.nan, t_dec, t_upd, math.nan
            )
        R = tuple(responders.tolist())
        dec = code._cached_decoder(R)  # built (or found) outside the timed decode
        rows = len(dec.rows)
        rel = math.nan
        loss = math.nan
        wall = math.nan
        t_dec = self.costs.decode_time(code.m, rows, self.q)
        if self._messages is not None:
            t0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):
                ghat, _ = code._decode_trusted(R, self._messages, self.l)
            wall = time.perf_counter() - t0
            if self.costs.measured:
                t_dec = wall
            assert self._g is not None
            with np.errstate(all="ignore"):
                rel = float(np.linalg.norm(ghat - self._g)) / self._gnorm
            if not math.isfinite(rel):
                rel = math.inf
            t0 = time.perf_counter()
            self.workload.update(ghat)
            if self.costs.measured:
                t_upd = time.perf_counter() - t0
            loss = self.workload.loss()
        return KernelOutcome(
            rows, dec.cond, dec.l1_amplification, dec.residual, rel, t_dec, t_upd, loss, wall
        )

    @property
    def final_model(self) -> Any:
        w = getattr(self.workload, "w", None)
        return None if w is None else np.array(w)
