"""``gcsim.simulate``: validate a configuration, pick the engine, run, tabulate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gcsim.codes.base import GradientCode
from gcsim.delays import make_delay
from gcsim.delays.base import LOAD_MODES, DelayModel, RoundSampler
from gcsim.errors import InvalidInputError
from gcsim.rng import stream
from gcsim.sim.des import run_des
from gcsim.sim.fastpath import run_fast
from gcsim.sim.kernel import RoundKernels
from gcsim.sim.network import CostModel, Network
from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS, SimResult
from gcsim.workload import make_workload

__all__ = ["POLICIES", "RULES", "fast_path_applies", "simulate"]

POLICIES = ("cancel", "non-preemptive")
RULES = ("decodable", "count")
ENGINES = ("auto", "des", "fast")


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise InvalidInputError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return str(value)


def fast_path_applies(
    compute: DelayModel, comm: DelayModel, network: Network, costs: CostModel, policy: str
) -> tuple[bool, str]:
    """Whether the vectorised fast path gives exactly the DES's round times, and why not."""
    if not (compute.iid and comm.iid):
        return False, "a delay model is not i.i.d. across rounds and workers"
    if policy != "cancel":
        return False, "the non-preemptive policy couples rounds"
    if not network.ideal:
        return False, "the network is not ideal (latency, bandwidth or ingress)"
    if not costs.zero:
        return False, "kernel costs are not zero"
    return True, ""


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
    dimension: int = 1000,
    load_mode: str = "per-worker",
    round_timeout: float | None = None,
    engine: str = "auto",
    record_workers: bool = False,
    failed_workers: Any = (),
    replicate: int = 0,
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
    decode_rule : {"decodable", "count"}
        Decode as soon as the responders are decodable, or at a fixed count n - s.
    workload : Workload, str, dict or None
        Source of real partial gradients (``"random-vectors"``, ``"logistic"``); ``None``
        simulates timing only (no kernels run; decoder columns are NaN).
    dimension : int
        Gradient length when there is no workload (message sizes for the network).
    load_mode : {"per-worker", "per-partition"}
        Load scaling of the compute delays (see :mod:`gcsim.delays.base`).
    round_timeout : float or None
        A round not decodable within this time fails (recorded) and the next one starts.
    engine : {"auto", "des", "fast"}
        ``auto`` uses the fast path when it gives exactly the DES's round times.
    record_workers : bool
        Also record one row per (round, worker) in :attr:`SimResult.workers`.
    failed_workers : sequence of int
        Workers that never respond (permanent failures). Beyond the code's tolerance
        every round fails; it is recorded as failed, never a hang.
    replicate : int
        Replicate index (independent streams for the same seed).
    """
    from gcsim.codes.base import GradientCode as _GC

    if not isinstance(code, _GC):
        raise InvalidInputError(
            f"code must be a GradientCode from gcsim.make_code; got {type(code).__name__}"
        )
    if (
        isinstance(iterations, bool)
        or not isinstance(iterations, (int, np.integer))
        or iterations < 1
    ):
        raise InvalidInputError(f"iterations must be a positive integer; got {iterations!r}")
    if isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)) or dimension < 1:
        raise InvalidInputError(f"dimension must be a positive integer; got {dimension!r}")
    policy = _choice("policy", policy, POLICIES)
    decode_rule = _choice("decode_rule", decode_rule, RULES)
    engine = _choice("engine", engine, ENGINES)
    load_mode = _choice("load_mode", load_mode, LOAD_MODES)
    if round_timeout is not None and (
        not isinstance(round_timeout, (int, float)) or not round_timeout > 0
    ):
        raise InvalidInputError(f"round_timeout must be > 0 or None; got {round_timeout!r}")
    if not code.exact and decode_rule == "decodable":
        decode_rule = "count"  # an inexact code "decodes" at n - s by definition
    network = network if network is not None else Network()
    costs = costs if costs is not None else CostModel()
    if not isinstance(network, Network):
        raise InvalidInputError(f"network must be a gcsim Network; got {network!r}")
    if not isinstance(costs, CostModel):
        raise InvalidInputError(f"costs must be a gcsim CostModel; got {costs!r}")
    compute_model = make_delay(delays)
    comm_model = make_delay(
        comm_delays if comm_delays is not None else {"model": "constant", "value": 0.0}
    )
    wl = make_workload(workload)

    ok, why = fast_path_applies(compute_model, comm_model, network, costs, policy)
    if engine == "fast" and not ok:
        raise InvalidInputError(f"the fast path does not apply here: {why}; use engine='des'")
    use_fast = engine == "fast" or (engine == "auto" and ok)

    failed = _failed_workers(failed_workers, code.n)
    compute = compute_model.sampler(code.n, stream(seed, "compute", replicate), load_mode)
    if failed.size:
        compute = _FailedSampler(compute, failed)
    comm = comm_model.sampler(code.n, stream(seed, "comm", replicate), "per-worker")
    kernels = RoundKernels(code, wl, costs, dimension, stream(seed, "data", replicate))

    if use_fast:
        recs, wrows = run_fast(
            code,
            kernels,
            compute,
            comm,
            decode_rule,
            int(iterations),
            round_timeout,
            record_workers,
            network.bytes_per_value,
        )
    else:
        recs, wrows = run_des(
            code,
            kernels,
            compute,
            comm,
            network,
            policy,
            decode_rule,
            int(iterations),
            round_timeout,
            record_workers,
        )
    df = pd.DataFrame(recs)
    if "responders" not in df.columns:
        df["responders"] = None
    df = df[list(ROUND_COLUMNS)]
    workers = pd.DataFrame(wrows, columns=list(WORKER_COLUMNS)) if record_workers else None
    config = {
        "code": repr(code),
        "scheme": code.name,
        "n": code.n,
        "s": code.s,
        "m": code.m,
        "d": code.d,
        "delays": repr(compute_model),
        "comm_delays": repr(comm_model),
        "network": network.as_dict(),
        "costs": costs.as_dict(),
        "policy": policy,
        "decode_rule": decode_rule,
        "workload": repr(wl),
        "dimension": kernels.l,
        "load_mode": load_mode,
        "round_timeout": round_timeout,
        "seed": seed,
        "replicate": replicate,
        "iterations": int(iterations),
        "failed_workers": failed.tolist(),
        "engine": "fast" if use_fast else "des",
        **({} if ok else {"fast_path_not_applicable": why}),
    }
    return SimResult(
        records=df,
        engine=config["engine"],
        config=config,
        workers=workers,
        final_model=kernels.final_model,
    )


def _failed_workers(value: Any, n: int) -> np.ndarray:
    try:
        arr = np.asarray(list(value), dtype=np.int64)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"failed_workers must be a list of worker ids; got {value!r}"
        ) from None
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise InvalidInputError(f"failed_workers must be in 0..{n - 1}; got {bad.tolist()}")
    return np.unique(arr)


class _FailedSampler(RoundSampler):
    """Wraps a sampler: the listed workers never finish (infinite duration)."""

    def __init__(self, inner: RoundSampler, failed: np.ndarray) -> None:
        super().__init__(inner.n, inner.rng, inner.mode)
        self.inner, self.failed = inner, failed

    def draw(self, loads: np.ndarray) -> np.ndarray:
        out = np.array(self.inner.draw(loads), dtype=float)
        out[self.failed] = np.inf
        return out

    def draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        out = np.array(self.inner.draw_rounds(rounds, loads), dtype=float)
        out[:, self.failed] = np.inf
        return out
