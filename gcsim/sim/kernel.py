"""The real kernels of one round, shared by the DES and the fast path.

Encodes the workload's partial gradients with the code's real kernel, decodes the
responders' messages with the code's real decoder, measures the decoded gradient's
error against the exactly computed sum, and applies the update.

The decode takes the trusted path (no exception in the hot loop), but every decode is
judged as the public ``decode(check=True)`` would judge it in the messages' precision
(:meth:`~gcsim.codes.GradientCode.decode_problem`), and the run's ``numerics`` policy
(:data:`NUMERICS`) says what a numerically unacceptable decode does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.protocol import KernelOutcome
from gcsim.sim.network import CostModel
from gcsim.workload.base import Workload

__all__ = ["NUMERICS", "NumericsFlag", "RoundKernels"]

#: A decode reading at least this many message values runs on one BLAS thread: it is a
#: skinny product (m rows), bound by memory bandwidth, as fast on one thread as on all
#: cores of an idle machine, and several times slower threaded on a busy one (the
#: library's spinning threads wait for cores): 2 x 500 by 500 x 5000 took 2.2 ms on one
#: thread, 2.5 ms on two (idle), 15 ms on two under load.
_ONE_THREAD_FROM = 1 << 18
#: decode plans kept (see RoundKernels._plan): about this many worker ids in all
_PLAN_IDS = 100_000

#: What a decode that ``decode(check=True)`` would refuse in the messages' precision does.
NUMERICS: dict[str, str] = {
    "warn": "the model is updated with it; one NumericsWarning per run names the worst "
    "round (its relative error, condition number and the estimated error)",
    "refuse": "the round fails like an undecodable one (decoded False, no update)",
    "record": "the model is updated with it, silently (the decode columns record it)",
}


@dataclass(frozen=True)
class NumericsFlag:
    """One decode that ``decode(check=True)`` would have refused."""

    call: int  # ordinal of the decode among the run's decoded rounds (0-based)
    rel_error: float
    cond: float
    estimate: float  # Decoder.error_estimate in the messages' dtype
    tolerance: float
    residual: float
    problem: str


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
        numerics: str = "warn",
    ) -> None:
        self.code = code
        self.numerics = numerics
        #: the decodes ``decode(check=True)`` would have refused, in call order
        self.flags: list[NumericsFlag] = []
        self._calls = 0
        self.workload = workload
        self.costs = costs
        self.l = workload.dimension if workload is not None else int(dimension)
        self.q = code.message_length(self.l)
        self.nnz = code.loads * code.m  # non-zero coefficients of each row of B
        self.encode_time = costs.encode_time(self.nnz, self.q)  # per worker
        self._messages: np.ndarray | None = None
        self._field_msgs: np.ndarray | None = None  # the messages in the code's field
        self._g: np.ndarray | None = None
        self._gnorm = 1.0
        # per responder set: (decoder, its problem, message rows read, coefficients);
        # a few recent sets (they repeat at small n, never at large n)
        self._plans: dict[tuple[int, ...], tuple[Any, str | None, np.ndarray, np.ndarray]] = {}
        self._timing: dict[int, KernelOutcome] = {}  # timing only: outcome per |R|
        self._max_plans = max(16, _PLAN_IDS // code.n)
        self._real = getattr(code, "_field", "real") != "complex"
        self._blas: Any = None  # threadpoolctl's BLAS libraries (big decodes only)
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
        field = self.code._msgs_to_field(self._messages)
        if self._field_msgs is not None and self._field_msgs.dtype != field.dtype:
            self._plans.clear()  # (plans hold coefficients in the messages' field dtype)
        self._field_msgs = field
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
        if self.workload is None:  # timing only: charge a decode reading |R| rows
            out = self._timing.get(len(responders))
            if out is None:
                t_dec = self.costs.decode_time(code.m, len(responders), self.q)
                t_upd = self.costs.update_time(self.l)
                out = KernelOutcome(
                    len(responders), math.nan, math.nan, math.nan, math.nan, t_dec, t_upd, math.nan
                )
                self._timing[len(responders)] = out  # (frozen: shared by the rounds)
            return out
        t_upd = self.costs.update_time(self.l)
        R = tuple(responders.tolist())
        call = self._calls
        self._calls += 1
        loss = math.nan
        if self._messages is None:  # (a workload without messages: nothing to decode)
            dec = code._cached_decoder(R)
            rows = len(dec.rows)
            t_dec = self.costs.decode_time(code.m, rows, self.q)
            return KernelOutcome(
                rows, dec.cond, dec.l1_amplification, dec.residual, math.nan, t_dec, t_upd,
                loss, math.nan,
            )  # fmt: skip
        plan = self._plans.get(R)
        if plan is None:
            plan = self._plan(R)
        dec, problem, used, coef = plan
        rows = len(dec.rows)
        t_dec = self.costs.decode_time(code.m, rows, self.q)
        dtype = self._messages.dtype
        refuse = problem is not None and self.numerics == "refuse"
        assert self._field_msgs is not None and self._g is not None
        # the trusted decode (code._decode_trusted), its lookups done once per set
        with np.errstate(all="ignore"):
            t0 = time.perf_counter()
            if used.size * self.q >= _ONE_THREAD_FROM:
                with self._one_blas_thread():
                    blocks = coef @ self._field_msgs[used]
            else:
                blocks = coef @ self._field_msgs[used]
            if self._real and blocks.dtype == dtype:  # (its plain case, inlined)
                ghat = blocks.reshape(-1)[: self.l]
            else:
                ghat = code._blocks_to_gradient(blocks, self.l, dtype)
            wall = time.perf_counter() - t0
            d = ghat - self._g
            rel = math.sqrt(float(d.dot(d))) / self._gnorm  # (= np.linalg.norm(d))
        if self.costs.measured:
            t_dec = wall
        if not math.isfinite(rel):
            rel = math.inf
        if problem is not None:
            self.flags.append(
                NumericsFlag(
                    call,
                    rel,
                    dec.cond,
                    dec.error_estimate(dtype),
                    code.precision_tolerance(dtype),
                    dec.residual,
                    problem,
                )
            )
        if refuse:
            # the server refuses the decode before using it: nothing is read, charged or
            # updated; the measured columns still say what it would have given
            return KernelOutcome(
                0, dec.cond, dec.l1_amplification, dec.residual, rel, 0.0, 0.0, math.nan
            )
        t0 = time.perf_counter()
        self.workload.update(ghat)
        if self.costs.measured:
            t_upd = time.perf_counter() - t0
        loss = self.workload.loss()
        return KernelOutcome(
            rows, dec.cond, dec.l1_amplification, dec.residual, rel, t_dec, t_upd, loss, wall
        )

    def _plan(self, R: tuple[int, ...]) -> tuple[Any, str | None, np.ndarray, np.ndarray]:
        """The decoder of a responder set (built or found outside the timed decode), its
        numerical problem in the messages' precision, the message rows it reads and its
        coefficients in the messages' field."""
        code = self.code
        assert self._messages is not None and self._field_msgs is not None
        dec = code._cached_decoder(R)
        problem = code._decode_problem(dec, self._messages.dtype)
        used = np.asarray(R, dtype=np.intp)[dec.rows]
        coef = dec._coef_for(self._field_msgs.dtype)
        plan = (dec, problem, used, coef)
        if len(self._plans) >= self._max_plans:
            self._plans.pop(next(iter(self._plans)))  # the oldest
        self._plans[R] = plan
        return plan

    def _one_blas_thread(self) -> Any:
        """A context in which BLAS uses one thread (threadpoolctl; found once per run)."""
        if self._blas is None:
            from threadpoolctl import ThreadpoolController

            self._blas = ThreadpoolController().select(user_api="blas")
        return self._blas.limit(limits=1)

    @property
    def refused(self) -> list[int]:
        """Ordinals (among the decoded rounds) of the decodes refused by ``numerics =
        "refuse"``: :func:`gcsim.sim.run` records those rounds as failed."""
        return [f.call for f in self.flags] if self.numerics == "refuse" else []

    @property
    def final_model(self) -> Any:
        w = getattr(self.workload, "w", None)
        return None if w is None else np.array(w)
