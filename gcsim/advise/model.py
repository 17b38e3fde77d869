"""The advisor's inputs, validated once: the cluster and what the user asks for.

Every problem raises :class:`~gcsim.errors.InvalidInputError` (a
:class:`~gcsim.errors.GcsimError`) with one line naming the argument, what was given and
what would be right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from gcsim.delays import make_delay
from gcsim.delays.base import LOAD_MODES, DelayModel
from gcsim.errors import GcsimError, InvalidInputError
from gcsim.protocol import POLICIES, RULES
from gcsim.sim.network import CostModel, Network

__all__ = ["DTYPES", "OBJECTIVES", "Cluster", "Settings", "cluster_from_scenario"]

#: objectives: mean round time, 95th percentile, time to a target training loss
OBJECTIVES = ("mean", "p95", "loss")
#: message precisions and their bytes per value
DTYPES = {"float64": 8, "float32": 4}


def _int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an integer; got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        where = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise InvalidInputError(f"{name} must be {where}; got {value!r}")
    return int(value)


def _positive(name: str, value: Any, *, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{name} must be a positive number; got {value!r}")
    v = float(value)
    if math.isnan(v) or v <= 0:
        raise InvalidInputError(f"{name} must be > 0; got {value!r}")
    return v


def _choices(name: str, values: Any, options: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    try:
        out = tuple(values)
    except TypeError:
        raise InvalidInputError(
            f"{name} must be a list of {', '.join(options)}; got {values!r}"
        ) from None
    bad = [v for v in out if v not in options]
    if bad or not out:
        raise InvalidInputError(
            f"{name} must be a non-empty list of {', '.join(options)}; got {list(out)!r}"
        )
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Cluster:
    """The cluster the advice is for.

    Attributes
    ----------
    n : int
        Workers (= data partitions).
    compute, comm : DelayModel
        Compute delay per unit load (one partition); communication delay per full-length
        message (scaled by the message fraction).
    compute_cfg, comm_cfg : Any
        The specs as given (what the scenario file of the recommendation repeats).
    network : Network
    costs : CostModel
    dimension : int
        Gradient length l (the workload's own when there is one).
    dtype : str
        Message precision, ``float64`` or ``float32`` (sets the network's bytes per value).
    load_mode : str
    workload : mapping or None
        The workload recipe (needed by the ``loss`` objective).
    """

    n: int
    compute: DelayModel
    comm: DelayModel
    compute_cfg: Any
    comm_cfg: Any
    network: Network
    costs: CostModel
    dimension: int
    dtype: str
    load_mode: str = "per-worker"
    workload: Mapping[str, Any] | None = None

    @classmethod
    def create(
        cls,
        n: Any,
        *,
        delays: Any = None,
        comm_delays: Any = None,
        network: Any = None,
        costs: Any = None,
        dimension: Any = None,
        dtype: Any = "float64",
        load_mode: Any = "per-worker",
        workload: Any = None,
    ) -> Cluster:
        """Validate the cluster description (see :func:`gcsim.advise.advise`)."""
        if n is None:
            raise InvalidInputError("n (the number of workers) is required; got none")
        n = _int("n", n, 1, 100_000)
        if delays is None:
            raise InvalidInputError(
                "delays (the compute delay model per partition) is required, e.g. "
                "{'model': 'shifted-exponential', 'shift': 1.6, 'rate': 0.8}"
            )
        compute = make_delay(delays)
        comm_cfg = comm_delays if comm_delays is not None else {"model": "constant", "value": 0.0}
        comm = make_delay(comm_cfg)
        if dtype not in DTYPES:
            raise InvalidInputError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
        bpv = DTYPES[str(dtype)]
        if network is None:
            network = Network(bytes_per_value=bpv)
        elif isinstance(network, Mapping):
            network = Network(**{"bytes_per_value": bpv, **dict(network)})
        if not isinstance(network, Network):
            raise InvalidInputError(f"network must be a gcsim.Network or a dict; got {network!r}")
        if network.bytes_per_value != bpv:
            raise InvalidInputError(
                f"dtype={dtype!r} sends {bpv} bytes per value but the network says "
                f"bytes_per_value={network.bytes_per_value}; make them agree"
            )
        if costs is None:
            costs = CostModel()
        elif isinstance(costs, Mapping):
            costs = CostModel(**dict(costs))
        if not isinstance(costs, CostModel):
            raise InvalidInputError(f"costs must be a gcsim.CostModel or a dict; got {costs!r}")
        if load_mode not in LOAD_MODES:
            raise InvalidInputError(
                f"load_mode must be one of {', '.join(LOAD_MODES)}; got {load_mode!r}"
            )
        from gcsim.spec import resolve_workload

        if isinstance(workload, str):
            workload = {"model": workload}
        if workload is not None and not isinstance(workload, Mapping):
            raise InvalidInputError(
                f"workload must be a recipe dict such as {{'model': 'logistic', ...}}; "
                f"got {workload!r}"
            )
        wl, dim = resolve_workload(dict(workload) if workload else None, dimension)
        if isinstance(wl, Mapping) and wl.get("model") == "random-vectors":
            wl = {**dict(wl), "dtype": str(dtype)}
        return cls(
            n=n,
            compute=compute,
            comm=comm,
            compute_cfg=delays,
            comm_cfg=comm_cfg,
            network=network,
            costs=costs,
            dimension=int(dim),
            dtype=str(dtype),
            load_mode=str(load_mode),
            workload=dict(wl) if isinstance(wl, Mapping) else None,
        )

    @property
    def bytes_per_value(self) -> int:
        return self.network.bytes_per_value

    @property
    def eps(self) -> float:
        """Unit round-off of the message precision."""
        return float(np.finfo(np.float32 if self.dtype == "float32" else np.float64).eps)

    def describe(self) -> str:
        """One line: n, the delay models, the gradient length and the network."""
        net = "ideal network" if self.network.ideal else f"network {self.network.as_dict()}"
        return (
            f"n = {self.n}; compute {self.compute.spec()} per partition; communication "
            f"{self.comm.spec()} per full message; l = {self.dimension} ({self.dtype}); {net}"
        )


@dataclass(frozen=True)
class Settings:
    """What is asked: constraints, objective and effort (see :func:`gcsim.advise.advise`)."""

    min_stragglers: int = 0
    max_stragglers: int | None = None
    max_load: int | None = None
    m_values: tuple[int, ...] | None = None
    max_bytes: float | None = None
    max_cond: float | None = None
    max_error: float | None = None
    exact_only: bool = True
    schemes: tuple[str, ...] | None = None
    policies: tuple[str, ...] = POLICIES
    rules: tuple[str, ...] = RULES
    objective: str = "mean"
    target_loss: float | None = None
    max_rounds: int = 500
    top: int = 5
    rounds: int = 2000
    confirm: int = 3
    confirm_rounds: int = 500
    seed: int = 0
    window: float = 3.0
    stability_samples: int = 50
    stability_budget_s: float = 2.0

    @classmethod
    def create(cls, **kw: Any) -> Settings:
        """Validate the settings (unknown keys are a TypeError of the caller)."""
        s = cls(**kw)
        _int("min_stragglers", s.min_stragglers, 0)
        if s.max_stragglers is not None:
            _int("max_stragglers", s.max_stragglers, 0)
            if s.max_stragglers < s.min_stragglers:
                raise InvalidInputError(
                    f"max_stragglers ({s.max_stragglers}) must be >= min_stragglers "
                    f"({s.min_stragglers})"
                )
        if s.max_load is not None:
            _int("max_load", s.max_load, 1)
        if s.m_values is not None:
            if isinstance(s.m_values, (int, str)) or not s.m_values:
                raise InvalidInputError(
                    f"m_values must be a non-empty list of integers >= 1; got {s.m_values!r}"
                )
            for v in s.m_values:
                _int("m_values", v, 1)
            s = replace(s, m_values=tuple(int(v) for v in s.m_values))
        _positive("max_bytes", s.max_bytes)
        _positive("max_cond", s.max_cond)
        _positive("max_error", s.max_error)
        if not isinstance(s.exact_only, bool):
            raise InvalidInputError(f"exact_only must be true or false; got {s.exact_only!r}")
        schemes = s.schemes
        if schemes is not None:
            from gcsim.codes import scheme_info

            if isinstance(schemes, str):
                schemes = (schemes,)
            schemes = tuple(scheme_info(str(x)).name for x in schemes)
            if not schemes:
                raise InvalidInputError("schemes must name at least one scheme; got []")
        policies = _choices("policies", s.policies, POLICIES)
        rules = _choices("rules", s.rules, RULES)
        if s.objective not in OBJECTIVES:
            raise InvalidInputError(
                f"objective must be one of {', '.join(OBJECTIVES)}; got {s.objective!r}"
            )
        if s.objective == "loss":
            if s.target_loss is None:
                raise InvalidInputError(
                    "objective 'loss' needs target_loss (the training loss to reach)"
                )
            _positive("target_loss", s.target_loss)
        _int("max_rounds", s.max_rounds, 1, 1_000_000)
        _int("top", s.top, 1, 1000)
        _int("rounds", s.rounds, 10, 10_000_000)
        _int("confirm", s.confirm, 0, 100)
        _int("confirm_rounds", s.confirm_rounds, 10, 10_000_000)
        _int("seed", s.seed, 0)
        w = _positive("window", s.window, allow_none=False)
        if w is not None and w < 1:
            raise InvalidInputError(f"window must be >= 1 (a factor of the best); got {w!r}")
        _int("stability_samples", s.stability_samples, 1, 100_000)
        _positive("stability_budget_s", s.stability_budget_s, allow_none=False)
        return replace(s, schemes=schemes, policies=policies, rules=rules)


def cluster_from_scenario(path: str | Path, sets: Sequence[str] = ()) -> dict[str, Any]:
    """The cluster of a scenario file as keyword arguments of :func:`advise`: ``n``,
    ``delays``, ``comm_delays``, ``network``, ``costs``, ``load_mode``, ``workload`` (or
    ``dimension`` for a timing-only scenario) and ``dtype``; the scenario's schemes and
    sweep are not used (the advisor searches them all)."""
    from gcsim.scenarios import load_scenario

    try:
        resolved, _, _ = load_scenario(path, tuple(sets))
    except GcsimError:
        raise
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the scenario: {exc}") from None
    cl = resolved["cluster"]
    return cluster_kwargs(
        n=cl["n"],
        delays=resolved["delays"],
        network=cl["network"],
        costs=cl["costs"],
        load_mode=cl["load_mode"],
        workload=resolved.get("workload"),
        where=str(path),
    )


def cluster_kwargs(
    *,
    n: int,
    delays: Mapping[str, Any],
    network: Mapping[str, Any],
    costs: Mapping[str, Any],
    load_mode: str,
    workload: Mapping[str, Any] | None,
    where: str,
) -> dict[str, Any]:
    """Keyword arguments of :func:`advise` for a scenario's cluster (its resolved
    ``[cluster]`` parts, ``[delays]`` and ``[workload]``): a timing-only or
    random-vectors workload gives ``dimension``, a training one ``workload``; the
    message precision follows ``bytes_per_value`` (or the workload's ``dtype``)."""
    net = {k: v for k, v in dict(network).items() if k in Network.__dataclass_fields__}
    wl = dict(workload or {"model": "none"})
    out: dict[str, Any] = {
        "n": n,
        "delays": delays["compute"],
        "comm_delays": delays["comm"],
        "network": net,
        "costs": dict(costs),
        "load_mode": load_mode,
    }
    dtype = "float32" if int(net.get("bytes_per_value", 8)) == 4 else "float64"
    if wl.get("model") in ("none", "random-vectors"):
        out["dimension"] = int(wl.get("dimension", 1000))
        if wl.get("model") == "random-vectors":
            dtype = str(wl.get("dtype", dtype))
    else:
        out["workload"] = wl
    if int(net.get("bytes_per_value", 8)) not in (4, 8):
        raise InvalidInputError(
            f"{where}: the advisor models float32 or float64 messages (bytes_per_value 4 or "
            f"8); got {net.get('bytes_per_value')}"
        )
    net["bytes_per_value"] = DTYPES[dtype]
    out["dtype"] = dtype
    return out
