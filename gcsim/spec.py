"""The run specification: one frozen, typed, validated description of one run.

A :class:`RunSpec` is built once, from Python (:meth:`RunSpec.create`, what
:func:`gcsim.simulate` does with its keyword arguments) or from a scenario point
(:meth:`RunSpec.from_point`), and validated then. The simulator and the live backend
take the same object: it carries the code, the delay models, the workload recipe, the
real gradient dimension, the network and cost models and the protocol settings, and
its :meth:`~RunSpec.to_point` / :meth:`~RunSpec.from_point` round trip (JSON) lets a live
rank rebuild exactly the same run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.delays import make_delay
from gcsim.delays.base import LOAD_MODES, DelayModel, RoundSampler
from gcsim.errors import InvalidInputError
from gcsim.protocol import DECODE_RULES, POLICIES, RoundProtocol
from gcsim.rng import stream
from gcsim.sim.network import CostModel, Network
from gcsim.workload import make_workload
from gcsim.workload.base import Workload

__all__ = [
    "ENGINES",
    "NUMERICS_POLICIES",
    "CodeRecipe",
    "RunSpec",
    "fast_path_applies",
    "resolve_workload",
]

ENGINES = ("auto", "des", "fast")
NUMERICS_POLICIES = ("warn", "refuse", "record")
DEFAULT_DIMENSION = 1000


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise InvalidInputError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return str(value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


@dataclass(frozen=True)
class CodeRecipe:
    """How to rebuild a registered code anywhere: ``make_code(name, n=, s=, m=,
    rng=stream(seed, "code", replicate), **options)``."""

    name: str
    n: int
    s: int
    m: int
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    replicate: int = 0

    def build(self) -> GradientCode:
        from gcsim.codes import make_code

        return make_code(
            self.name,
            n=self.n,
            s=self.s,
            m=self.m,
            rng=stream(self.seed, "code", self.replicate),
            **dict(self.options),
        )


@dataclass(frozen=True, eq=False)
class RunSpec:
    """Everything one run needs, validated (see the module docstring).

    Attributes
    ----------
    code : GradientCode
    compute, comm : DelayModel
        Compute delay per unit load; communication delay per full-length message.
    rounds, seed, replicate : int
    workload : mapping or Workload or None
        The workload recipe (a fresh workload is made per run) or an instance (used as
        is); None simulates timing only.
    dimension : int
        The real gradient length l (the workload's own; or the given length for a
        timing-only run, which sizes the messages).
    network, costs : Network, CostModel
    policy, decode_rule, load_mode, engine : str
    round_timeout : float or None
    error_target : float or None
        The largest accepted coefficient error of a round under ``decode_rule="error"``
        (None under any other rule).
    failed_workers : tuple of int
    record_workers : bool
    numerics : str
        What a decode ``decode(check=True)`` would refuse does: ``warn``, ``refuse`` or
        ``record`` (:data:`gcsim.sim.kernel.NUMERICS`).
    recipe : CodeRecipe or None
        How to rebuild the code in another process (None for a hand-built code).
    label : str
        The scheme's label in a scenario (its name otherwise).
    """

    code: GradientCode
    compute: DelayModel
    comm: DelayModel
    rounds: int
    seed: int
    replicate: int = 0
    workload: Mapping[str, Any] | Workload | None = None
    dimension: int = DEFAULT_DIMENSION
    network: Network = field(default_factory=Network)
    costs: CostModel = field(default_factory=CostModel)
    policy: str = "cancel"
    decode_rule: str = "decodable"
    load_mode: str = "per-worker"
    engine: str = "auto"
    round_timeout: float | None = None
    error_target: float | None = None
    failed_workers: tuple[int, ...] = ()
    record_workers: bool = False
    numerics: str = "warn"
    recipe: CodeRecipe | None = None
    label: str = ""
    _compute_cfg: Any = field(default=None, repr=False)
    _comm_cfg: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def create(
        cls,
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
        recipe: CodeRecipe | None = None,
        label: str = "",
        error_target: float | None = None,
    ) -> RunSpec:
        """Validate every argument (as :func:`gcsim.simulate` documents them) once."""
        if not isinstance(code, GradientCode):
            raise InvalidInputError(
                f"code must be a GradientCode from gcsim.make_code; got {type(code).__name__}"
            )
        rounds = _positive_int("iterations", iterations)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidInputError(f"seed must be a non-negative integer; got {seed!r}")
        if isinstance(replicate, bool) or not isinstance(replicate, (int, np.integer)):
            raise InvalidInputError(f"replicate must be an integer; got {replicate!r}")
        if replicate < 0:
            raise InvalidInputError(f"replicate must be >= 0; got {replicate!r}")
        policy = _choice("policy", policy, POLICIES)
        decode_rule = _choice("decode_rule", decode_rule, DECODE_RULES)
        engine = _choice("engine", engine, ENGINES)
        load_mode = _choice("load_mode", load_mode, LOAD_MODES)
        numerics = _choice("numerics", numerics, NUMERICS_POLICIES)
        if round_timeout is not None and (
            isinstance(round_timeout, bool)
            or not isinstance(round_timeout, (int, float, np.integer, np.floating))
            or not round_timeout > 0
        ):
            raise InvalidInputError(f"round_timeout must be > 0 or None; got {round_timeout!r}")
        if round_timeout is not None and math.isinf(round_timeout):
            round_timeout = None
        error_target = _rule_settings(decode_rule, round_timeout, error_target)
        network = network if network is not None else Network()
        costs = costs if costs is not None else CostModel()
        if not isinstance(network, Network):
            raise InvalidInputError(f"network must be a gcsim Network; got {network!r}")
        if not isinstance(costs, CostModel):
            raise InvalidInputError(f"costs must be a gcsim CostModel; got {costs!r}")
        compute = make_delay(delays)
        comm_cfg = comm_delays if comm_delays is not None else {"model": "constant", "value": 0.0}
        comm = make_delay(comm_cfg)
        wl_cfg, dim = resolve_workload(workload, dimension)
        from gcsim.resources import estimate_run

        fast = engine == "fast" or (
            engine == "auto" and fast_path_applies(compute, comm, network, costs, policy)[0]
        )
        estimate_run(
            n=code.n,
            d=code.d,
            m=code.m,
            rounds=rounds,
            dimension=dim,
            fast=fast,
            workload=dict(wl_cfg) if isinstance(wl_cfg, Mapping) else None,
            record_workers=bool(record_workers),
        ).check(f"{code.name} with n={code.n}, {rounds} rounds, l={dim}")
        return cls(
            code=code,
            compute=compute,
            comm=comm,
            rounds=rounds,
            seed=int(seed),
            replicate=int(replicate),
            workload=wl_cfg,
            dimension=dim,
            network=network,
            costs=costs,
            policy=policy,
            decode_rule=decode_rule,
            load_mode=load_mode,
            engine=engine,
            round_timeout=None if round_timeout is None else float(round_timeout),
            error_target=error_target,
            failed_workers=_failed_workers(failed_workers, code.n),
            record_workers=bool(record_workers),
            numerics=numerics,
            recipe=recipe,
            label=label or code.name,
            _compute_cfg=delays,
            _comm_cfg=comm_cfg,
        )

    @classmethod
    def from_point(cls, point: Mapping[str, Any]) -> RunSpec:
        """The run of one scenario point (its ``spec`` table, as stored in
        ``point.json``), with the code rebuilt from the point's own seed stream."""
        recipe = CodeRecipe(
            name=point["code"],
            n=int(point["n"]),
            s=int(point["s"]),
            m=int(point["m"]),
            options=dict(point.get("options", {})),
            seed=int(point["seed"]),
            replicate=int(point["replicate"]),
        )
        wl = dict(point["workload"])
        return cls.create(
            recipe.build(),
            delays=point["delays"]["compute"],
            comm_delays=point["delays"]["comm"],
            iterations=point["rounds"],
            seed=point["seed"],
            replicate=point["replicate"],
            network=Network(**point["network"]),
            costs=CostModel(**point["costs"]),
            policy=point["policy"],
            decode_rule=point["decode_rule"],
            workload=wl,
            load_mode=point["load_mode"],
            round_timeout=point["round_timeout"],
            engine=point["engine"],
            failed_workers=point["failed_workers"],
            numerics=point.get("numerics", "warn"),
            error_target=point.get("error_target"),
            recipe=recipe,
            label=str(point.get("scheme", "")),
        )

    def to_point(self) -> dict[str, Any]:
        """The JSON-able table :meth:`from_point` reads back (needs a recipe)."""
        if self.recipe is None:
            raise InvalidInputError(
                "this run's code was built by hand: it cannot be rebuilt in another process; "
                "build the spec from a scenario point or pass recipe=CodeRecipe(...)"
            )
        if isinstance(self.workload, Workload):
            raise InvalidInputError(
                "this run's workload is an instance: pass a workload recipe (a dict) to run "
                "it in another process"
            )
        rp = self.recipe
        if self.workload is None:
            wl: dict[str, Any] = {"model": "none", "dimension": self.dimension}
        else:
            wl = dict(self.workload)
        return {
            "scheme": self.label,
            "code": rp.name,
            "n": rp.n,
            "s": rp.s,
            "m": rp.m,
            "options": dict(rp.options),
            "seed": self.seed,
            "replicate": self.replicate,
            "rounds": self.rounds,
            "engine": self.engine,
            "policy": self.policy,
            "decode_rule": self.decode_rule,
            "load_mode": self.load_mode,
            "round_timeout": self.round_timeout,
            "failed_workers": list(self.failed_workers),
            "network": self.network.as_dict(),
            "costs": self.costs.as_dict(),
            "delays": {"compute": self._compute_cfg, "comm": self._comm_cfg},
            "workload": wl,
            # only when not the default, as the scenario expander writes it
            **({} if self.numerics == "warn" else {"numerics": self.numerics}),
            **({} if self.error_target is None else {"error_target": self.error_target}),
        }

    def with_(self, **changes: Any) -> RunSpec:
        """A copy with some fields replaced (not re-validated: pass valid values)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ derived
    @property
    def n(self) -> int:
        return self.code.n

    @property
    def message_length(self) -> int:
        """Values in one worker's message: ``code.message_length(dimension)``."""
        return self.code.message_length(self.dimension)

    @property
    def message_bytes(self) -> int:
        return self.message_length * self.network.bytes_per_value

    def protocol(self, *, record_workers: bool | None = None) -> RoundProtocol:
        """A fresh round protocol for this run (its rule, policy, timeout, message size)."""
        return RoundProtocol(
            self.code,
            rule=self.decode_rule,
            policy=self.policy,
            round_timeout=self.round_timeout,
            error_target=self.error_target,
            msg_bytes=self.message_bytes,
            record_workers=self.record_workers if record_workers is None else record_workers,
        )

    def make_workload(self) -> Workload | None:
        """A fresh workload for one run (the instance itself when one was given)."""
        if isinstance(self.workload, Workload) or self.workload is None:
            return self.workload
        return make_workload(dict(self.workload))

    def samplers(self) -> tuple[RoundSampler, RoundSampler]:
        """The compute and communication samplers on this run's seed streams (the failed
        workers' compute delay is infinite)."""
        n = self.code.n
        rng = stream(self.seed, "compute", self.replicate)
        if self.compute.needs_code:  # an adversary: it chooses stragglers against the code
            make: Any = self.compute.sampler  # such a model's sampler takes code=
            compute = make(n, rng, self.load_mode, code=self.code)
        else:
            compute = self.compute.sampler(n, rng, self.load_mode)
        if self.failed_workers:
            compute = _FailedSampler(compute, np.asarray(self.failed_workers, dtype=np.int64))
        comm = self.comm.sampler(n, stream(self.seed, "comm", self.replicate), "per-worker")
        return compute, comm

    def fast_path(self) -> tuple[bool, str]:
        """Whether the vectorised fast path gives exactly the DES's records, and why not."""
        return fast_path_applies(self.compute, self.comm, self.network, self.costs, self.policy)


def fast_path_applies(
    compute: DelayModel, comm: DelayModel, network: Network, costs: CostModel, policy: str
) -> tuple[bool, str]:
    """Whether the vectorised fast path gives exactly the DES's records, and why not."""
    if not (compute.iid and comm.iid):
        return False, "a delay model is not i.i.d. across rounds and workers"
    if policy != "cancel":
        return False, "the non-preemptive policy couples rounds"
    if not network.ideal:
        return False, "the network is not ideal (latency, bandwidth or ingress)"
    if not costs.zero:
        return False, "kernel costs are not zero"
    return True, ""


def _rule_settings(
    decode_rule: str, round_timeout: float | None, error_target: Any
) -> float | None:
    """The validated ``error_target`` (None unless the rule is ``error``); the
    ``deadline`` rule needs a finite ``round_timeout``."""
    if decode_rule == "deadline" and round_timeout is None:
        raise InvalidInputError(
            "decode_rule 'deadline' ends every round at round_timeout: set a finite "
            "round_timeout (seconds)"
        )
    if decode_rule != "error":
        if error_target is not None:
            raise InvalidInputError(
                f"error_target applies only to decode_rule 'error'; got decode_rule "
                f"{decode_rule!r} with error_target={error_target!r}"
            )
        return None
    if (
        isinstance(error_target, bool)
        or not isinstance(error_target, (int, float, np.integer, np.floating))
        or not 0 <= float(error_target) < math.inf
    ):
        raise InvalidInputError(
            "decode_rule 'error' needs error_target, the largest accepted coefficient error "
            f"||B_R^T a - 1|| / sqrt(n): a finite number >= 0 (e.g. 0.1); got {error_target!r}"
        )
    return float(error_target)


def resolve_workload(
    workload: Any, dimension: Any
) -> tuple[Mapping[str, Any] | Workload | None, int]:
    """Validated workload recipe and the real gradient dimension it implies."""
    if isinstance(workload, str):
        workload = {"model": workload}
    if isinstance(workload, Mapping) and workload.get("model") == "none":
        extra = sorted(set(workload) - {"model", "dimension"})
        if extra:
            raise InvalidInputError(
                f"workload 'none' (timing only) takes only 'dimension' (the message "
                f"length); got {', '.join(map(repr, extra))}"
            )
        if "dimension" in workload:
            if dimension is not None and dimension != workload["dimension"]:
                raise InvalidInputError(
                    f"dimension={dimension!r} contradicts workload dimension="
                    f"{workload['dimension']!r}"
                )
            dimension = workload["dimension"]
        workload = None
    if workload is None:
        dim = DEFAULT_DIMENSION if dimension is None else _positive_int("dimension", dimension)
        return None, dim
    wl = make_workload(workload if isinstance(workload, Workload) else dict(workload))
    assert wl is not None
    if dimension is not None and _positive_int("dimension", dimension) != wl.dimension:
        raise InvalidInputError(
            f"dimension={dimension!r} contradicts the workload's gradient length "
            f"{wl.dimension} (set the length in the workload, or leave dimension out)"
        )
    recipe = workload if isinstance(workload, Workload) else dict(workload)
    return recipe, int(wl.dimension)


def _failed_workers(value: Any, n: int) -> tuple[int, ...]:
    try:
        arr = np.asarray(list(value), dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"failed_workers must be a list of worker ids; got {value!r}"
        ) from None
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise InvalidInputError(f"failed_workers must be in 0..{n - 1}; got {bad.tolist()}")
    return tuple(int(x) for x in np.unique(arr))


class _FailedSampler(RoundSampler):
    """Wraps a sampler: the listed workers never finish (infinite duration)."""

    def __init__(self, inner: RoundSampler, failed: np.ndarray) -> None:
        super().__init__(inner.n, inner.rng, inner.mode)
        self.inner, self.failed = inner, failed

    def draw(self, loads: np.ndarray) -> np.ndarray:
        out = np.array(self.inner.draw(loads), dtype=float)
        out[self.failed] = np.inf
        return out

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        out = np.array(self.inner.draw_trusted(loads), dtype=float)
        out[self.failed] = np.inf
        return out

    def draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        out = np.array(self.inner.draw_rounds(rounds, loads), dtype=float)
        out[:, self.failed] = np.inf
        return out
