"""``gcsim.simulate``: validate a configuration once (a :class:`~gcsim.spec.RunSpec`),
pick the engine, run the round protocol, tabulate."""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

from gcsim.codes.base import GradientCode
from gcsim.errors import InvalidInputError, NumericsWarning
from gcsim.protocol import POLICIES, RULES, effective_rule
from gcsim.rng import stream
from gcsim.sim.des import DESServer
from gcsim.sim.fastpath import run_fast
from gcsim.sim.kernel import RoundKernels
from gcsim.sim.network import CostModel, Network
from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS, SimResult

if TYPE_CHECKING:
    from gcsim.spec import RunSpec

__all__ = ["POLICIES", "RULES", "run", "simulate"]


def simulate(
    code: GradientCode,
    *,
    delays: Any,
    iterations: int,
    seed: int,
    comm_delays: Any = None,
    network: Network | None = None,
    costs: CostModel | None = None,
    policy: str = "cancel",
    decode_rule: str = "decodable",
    workload: Any = None,
    dimension: int | None = None,
    load_mode: str = "per-worker",
    round_timeout: float | None = None,
    engine: str = "auto",
    record_workers: bool = False,
    failed_workers: Any = (),
    replicate: int = 0,
    numerics: str = "warn",
    error_target: float | None = None,
) -> SimResult:
    """Simulate ``iterations`` rounds of coded distributed gradient descent.

    Parameters
    ----------
    code : GradientCode
        The gradient code (see :func:`gcsim.make_code`); its real kernels are run.
    delays : DelayModel, str or dict
        Computation-delay model per unit load (one partition), see :mod:`gcsim.delays`.
    iterations : int
        Number of rounds.
    seed : int
        Root seed. Named streams (``compute``, ``comm``, ``data``) are spawned from it, so
        two schemes simulated with the same seed face the same delay draws (common random
        numbers) and a run is fully determined by its seed.
    comm_delays : DelayModel, str, dict or None
        Communication-delay model per full-length message (scaled by the message
        fraction ``ceil(l/m)/l``); ``None`` means no communication delay.
    network : Network
        Latency and bandwidths (default ideal).
    costs : CostModel
        Encode/decode/update times (default zero).
    policy : {"cancel", "non-preemptive"}
        What stragglers do at round end.
    decode_rule : {"decodable", "count", "deadline", "error"}
        Decode as soon as the responders are decodable, or at a fixed count n - s. For
        inexact codes also ``deadline`` (the round ends at ``round_timeout`` with whoever
        arrived, or when every worker has answered; DES only) and ``error`` (at the first
        responder set whose coefficient error ``||B_R^T a - 1|| / sqrt(n)`` is at most
        ``error_target``; a round that never gets there fails). An exact code decodes as
        soon as decodable under both.
    workload : Workload, str, dict or None
        Source of real partial gradients (``"random-vectors"``, ``"logistic"``); ``None``
        simulates timing only (no kernels run; decoder columns are NaN).
    dimension : int or None
        Gradient length of a timing-only run (sizes the messages; default 1000). With a
        workload the length is the workload's own; a different value is an error.
    load_mode : {"per-worker", "per-partition"}
        Load scaling of the compute delays (see :mod:`gcsim.delays.base`).
    round_timeout : float or None
        A round not decodable within this time fails (recorded) and the next one starts
        (rule ``deadline``: the deadline itself).
    error_target : float or None
        The ``error`` rule's target (required there, refused under other rules).
    engine : {"auto", "des", "fast"}
        ``auto`` uses the fast path when it gives exactly the DES's round times.
    record_workers : bool
        Also record one row per (round, worker) in :attr:`SimResult.workers`.
    failed_workers : sequence of int
        Workers that never respond (permanent failures). Beyond the code's tolerance
        every round fails; it is recorded as failed, never a hang.
    replicate : int
        Replicate index (independent streams for the same seed).
    numerics : {"warn", "refuse", "record"}
        What a round does whose decode ``code.decode(check=True)`` would refuse in the
        messages' precision (residual, or estimated rounding error, over tolerance; see
        :meth:`~gcsim.codes.GradientCode.decode_problem`): ``warn`` (default) uses it
        and emits one :class:`~gcsim.errors.NumericsWarning` per run naming the worst
        round; ``refuse`` records the round as failed (``decoded`` False, no update);
        ``record`` uses it silently. Timing-only runs decode nothing.
    """
    from gcsim.spec import RunSpec

    spec = RunSpec.create(
        code,
        delays=delays,
        iterations=iterations,
        seed=seed,
        comm_delays=comm_delays,
        network=network,
        costs=costs,
        policy=policy,
        decode_rule=decode_rule,
        workload=workload,
        dimension=dimension,
        load_mode=load_mode,
        round_timeout=round_timeout,
        engine=engine,
        record_workers=record_workers,
        failed_workers=failed_workers,
        replicate=replicate,
        numerics=numerics,
        error_target=error_target,
    )
    return run(spec)


def run(spec: RunSpec) -> SimResult:
    """Simulate one validated run specification (see :func:`simulate`)."""
    code = spec.code
    ok, why = spec.fast_path()
    if spec.engine == "fast" and not ok:
        raise InvalidInputError(f"the fast path does not apply here: {why}; use engine='des'")
    use_fast = spec.engine == "fast" or (spec.engine == "auto" and ok)
    compute, comm = spec.samplers()
    wl = spec.make_workload()
    kernels = RoundKernels(
        code,
        wl,
        spec.costs,
        spec.dimension,
        stream(spec.seed, "data", spec.replicate),
        numerics=spec.numerics,
    )
    rule = effective_rule(code, spec.decode_rule, spec.error_target)
    wrows: list[tuple[Any, ...]]
    if use_fast:
        recs, wrows = run_fast(
            code,
            kernels,
            compute,
            comm,
            rule,
            spec.rounds,
            spec.round_timeout,
            spec.record_workers,
            spec.message_bytes,
        )
    else:
        proto = spec.protocol()
        DESServer(proto, kernels, compute, comm, spec.network, spec.rounds).run()
        recs, wrows = proto.records, proto.worker_rows
    if isinstance(recs, list):  # (columns: timing only, nothing decoded)
        _apply_numerics(recs, kernels, spec.numerics)
    df = pd.DataFrame(recs)
    if "responders" not in df.columns:
        df["responders"] = None
    df = df[list(ROUND_COLUMNS)]
    workers = pd.DataFrame(wrows, columns=list(WORKER_COLUMNS)) if spec.record_workers else None
    config = {
        "code": repr(code),
        "scheme": code.name,
        "n": code.n,
        "s": code.s,
        "m": code.m,
        "d": code.d,
        "delays": repr(spec.compute),
        "comm_delays": repr(spec.comm),
        "network": spec.network.as_dict(),
        "costs": spec.costs.as_dict(),
        "policy": spec.policy,
        "decode_rule": spec.decode_rule,
        "rule": rule.describe(),
        "workload": repr(wl),
        "dimension": spec.dimension,
        "load_mode": spec.load_mode,
        "round_timeout": spec.round_timeout,
        "error_target": spec.error_target,
        "seed": spec.seed,
        "replicate": spec.replicate,
        "iterations": spec.rounds,
        "failed_workers": list(spec.failed_workers),
        "numerics": spec.numerics,
        "numerics_flagged": len(kernels.flags),
        "engine": "fast" if use_fast else "des",
        **({} if ok else {"fast_path_not_applicable": why}),
    }
    return SimResult(
        records=df,
        engine="fast" if use_fast else "des",
        config=config,
        workers=workers,
        final_model=kernels.final_model,
    )


def _apply_numerics(recs: list[dict[str, Any]], kernels: RoundKernels, policy: str) -> None:
    """The run's ``numerics`` policy, after the engine: the kernels refused the decode of
    some decoded rounds (``refuse``: they become failed rounds, as when the protocol
    finds no decodable set; the protocol itself is the same for every engine), or the
    run warns once about the worst of the flagged decodes (``warn``)."""
    if not kernels.flags:
        return
    decoded = [i for i, rec in enumerate(recs) if rec["decoded"]]
    if len(decoded) != kernels._calls:
        raise AssertionError("internal: one kernel decode per decoded round")
    for call in kernels.refused:
        rec = recs[decoded[call]]
        rec["decoded"] = False
        rec["early"] = False
    if policy != "warn":
        return
    worst = max(kernels.flags, key=lambda f: (f.rel_error, f.estimate))
    rnd = recs[decoded[worst.call]]["round"]
    code = kernels.code
    why = (
        f"estimated error {worst.estimate:.2g} > tolerance {worst.tolerance:.2g}"
        if worst.residual <= code.residual_tol
        else f"residual {worst.residual:.2g} > {code.residual_tol:.2g}"
    )
    warnings.warn(
        f"gcsim: {len(kernels.flags)} of {len(decoded)} decoded rounds of {code.name} "
        f"(n={code.n}, s={code.s}, m={code.m}) used a decode that decode(check=True) "
        f"refuses; worst: round {rnd}, relative error {worst.rel_error:.2g}, cond "
        f"{worst.cond:.3g} ({why}). Use float64 messages, better-conditioned points or "
        "another code; numerics='refuse' fails those rounds, numerics='record' silences "
        "this",
        NumericsWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside ``gcsim/sim`` (the user's call of
    ``simulate`` or ``run``), counted from the function that calls ``warnings.warn``."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        here + os.sep
    ):
        frame = frame.f_back
        level += 1
    return level
