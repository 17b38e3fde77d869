"""Sweep expansion: factors x schemes x replicates -> points, each fully specified.

* Each key of ``[sweep]`` is a factor; the factors are combined as a product.
* Each ``[[sweep.zip]]`` table is one factor whose keys vary together (zipped).
* Every scheme runs at every combination, ``replicates`` times.

A point whose code parameters are infeasible (e.g. an FRC point with (s+1) not dividing
n) is kept with status ``infeasible`` and its reason; the rest runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from gcsim.analysis.effective import Effective, effective_params
from gcsim.codes import CODES, make_code, scheme_info
from gcsim.delays import make_delay
from gcsim.errors import GcsimError, InfeasibleParametersError, excerpt
from gcsim.resources import ResourceError, check_points, estimate_run
from gcsim.rng import stream
from gcsim.scenarios.schema import SCHEMA, ScenarioError, check_value
from gcsim.spec import resolve_workload
from gcsim.workload import make_workload

__all__ = ["Point", "expand", "factor_keys"]

FREE_FORM = ("delays.compute", "delays.comm", "workload")
NOT_SWEEPABLE = ("output", "live", "scenario.name", "scenario.description", "scenario.replicates")


@dataclass
class Point:
    """One simulation to run: a scheme at one combination of the factors, one replicate.

    ``s_requested`` is the s the scenario asks for; ``s`` and ``d`` are what the built
    code has (``None`` when infeasible), ``d_requested`` the scheme's load at the
    requested s (see :mod:`gcsim.analysis.effective`), and ``adjusted`` one line saying
    why the code runs at other parameters than requested (empty when it does not).
    The point id hashes ``spec`` only, so these fields never change an id.
    """

    index: int
    point: str
    scheme: str
    code: str
    n: int
    s_requested: int
    m: int
    replicate: int
    dtype: str
    factors: dict[str, Any]
    spec: dict[str, Any]
    status: str = "pending"
    error: str = ""
    s: int | None = None
    d_requested: int | None = None
    d: int | None = None
    adjusted: str = ""
    tuned: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "point": self.point,
            "scheme": self.scheme,
            "code": self.code,
            "n": self.n,
            "s_requested": self.s_requested,
            "s": self.s,
            "m": self.m,
            "d_requested": self.d_requested,
            "d": self.d,
            "adjusted": self.adjusted,
            "tuned": self.tuned,
            "replicate": self.replicate,
            "dtype": self.dtype,
            "factors": self.factors,
            "status": self.status,
            "error": self.error,
            "spec": self.spec,
        }


def factor_keys(resolved: dict[str, Any]) -> list[str]:
    keys = list(resolved["sweep"]["factors"])
    for z in resolved["sweep"]["zip"]:
        keys += [k for k in z if k not in keys]
    return keys


def _check_sweep_path(resolved: dict[str, Any], path: str, value: Any) -> Any:
    """Validate one swept assignment against the schema; return the checked value."""
    where = f"sweep.{path}"
    if path.startswith(NOT_SWEEPABLE) or path == "sweep" or path.startswith("sweep."):
        raise ScenarioError(f"{where}: this key cannot be swept")
    parts = path.split(".")
    if parts[0] == "schemes":
        labels = [s["label"] for s in resolved["schemes"]]
        if len(parts) < 3 or parts[1] not in labels:
            import difflib

            close = difflib.get_close_matches(parts[1] if len(parts) > 1 else "", labels, n=1)
            hint = f" (did you mean 'schemes.{close[0]}.…'?)" if close else ""
            raise ScenarioError(
                f"{where}: address a scheme as schemes.LABEL.key with LABEL "
                f"one of {', '.join(labels)}{hint}"
            )
        key = parts[2]
        if key == "options":
            if len(parts) < 4:
                raise ScenarioError(f"{where}: sweep one option: schemes.LABEL.options.NAME")
            return value
        spec = SCHEMA["scheme"]
        if key not in spec or key in ("options", "label", "code") or len(parts) != 3:
            raise ScenarioError(f"{where}: sweepable scheme keys are s, m and options.NAME")
        return check_value(where, spec[key], value)
    for ff in FREE_FORM:
        if path.startswith(ff + ".") and len(path) > len(ff) + 1:
            if path == "workload.model":
                return check_value(where, SCHEMA["workload"]["model"], value)
            return value
    section, _, key = path.rpartition(".")
    if section in SCHEMA and key in SCHEMA[section] and SCHEMA[section][key].kind != "table":
        return check_value(where, SCHEMA[section][key], value)
    import difflib

    candidates = [
        f"{sec}.{k}"
        for sec, fs in SCHEMA.items()
        if sec != "scheme"
        for k, f in fs.items()
        if f.kind != "table" and not f"{sec}.{k}".startswith(NOT_SWEEPABLE)
    ]
    close = difflib.get_close_matches(path, candidates, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ScenarioError(
        f"{where}: not a key of the scenario{hint}; sweepable keys are "
        "scalar keys such as cluster.n, code.s, delays.compute.rate, "
        "workload.dimension, schemes.LABEL.s"
    )


def _assign(sc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    if parts[0] == "schemes":
        node = next(s for s in sc["schemes"] if s["label"] == parts[1])
        for p in parts[2:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        return
    node = sc
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def _describe(assign: dict[str, Any]) -> str:
    """The swept values of a combination for a message (values as short excerpts)."""
    return ", ".join(f"{k}={_short(v)}" for k, v in assign.items()) or "the base scenario"


def _short(v: Any) -> str:
    if isinstance(v, str) and len(v) <= 40 and v.isprintable():
        return v
    return excerpt(v)


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def expand(resolved: dict[str, Any]) -> list[Point]:
    """All points of a resolved scenario, in a fixed order (see module docstring)."""
    sweep = resolved["sweep"]
    factors: list[list[dict[str, Any]]] = []
    for key, values in sweep["factors"].items():
        factors.append([{key: _check_sweep_path(resolved, key, v)} for v in values])
    for z in sweep["zip"]:
        length = len(next(iter(z.values())))
        factors.append(
            [{k: _check_sweep_path(resolved, k, z[k][i]) for k in z} for i in range(length)]
        )
    count = math.prod(len(f) for f in factors) * len(resolved["schemes"])
    check_points(count * resolved["scenario"]["replicates"], "the scenario")
    points: list[Point] = []
    keys = factor_keys(resolved)
    cache: dict[tuple[Any, ...], Any] = {}  # scheme answers, shared by the combinations
    built: dict[tuple[Any, ...], Any] = {}  # codes built, shared by the combinations
    checked: set[str] = set()
    # the sweep itself is not copied per combination (a long sweep made this quadratic)
    base = {k: v for k, v in resolved.items() if k != "sweep"}
    for combo in itertools.product(*factors) if factors else [()]:
        assign: dict[str, Any] = {}
        for part in combo:
            assign.update(part)
        sc = copy.deepcopy(base)
        for path, value in assign.items():
            _assign(sc, path, value)
        # the models depend on few keys: check each distinct combination of them once
        key = json.dumps(
            [
                sc["delays"],
                sc["workload"],
                sc["cluster"],
                sc["scenario"]["rounds"],
                sc["scenario"]["engine"],
            ],
            sort_keys=True,
            default=str,
        )
        if key not in checked:
            _check_models(sc, assign)
            checked.add(key)
        for sch in sc["schemes"]:
            points.extend(_scheme_points(sc, sch, assign, keys, len(points), cache, built))
    return points


#: Warnings already printed by this process (each is said once, not once per point).
_WARNED: set[str] = set()
#: log of the largest float64
_LOG_MAX = math.log(sys.float_info.max)
#: Models whose every draw is bounded by their parameters or data (finite mean).
_BOUNDED = ("constant", "uniform", "exponential", "shifted-exponential", "empirical", "trace")


def infinite_mean(model: Any) -> str:
    """Why a delay model's mean is infinite, or its draws overflow float64 (``""`` when
    neither). Closed forms for the built-in families (those of their scipy ``dist()``,
    without importing scipy.stats at validation), the model's scipy ``dist().mean()``
    for the others; a composite model (bimodal, persistent, heterogeneous) inherits its
    base's."""
    name = getattr(model, "name", "")
    if name in _BOUNDED:
        return ""
    if name == "pareto":
        if model.alpha <= 1.0:
            return f"pareto with alpha = {model.alpha:g} <= 1 has an infinite mean"
        return ""
    if name == "lognormal":
        if model.mu > _LOG_MAX:
            return (
                f"lognormal with mu = {model.mu:g} draws values beyond float64 (exp(mu) "
                "overflows): they become inf and those workers never respond"
            )
        if model.mu + model.sigma**2 / 2 > _LOG_MAX:
            return (
                f"lognormal with mu = {model.mu:g}, sigma = {model.sigma:g} has a mean "
                "beyond float64"
            )
        return ""
    if name == "weibull":
        log_mean = math.log(model.scale) + math.lgamma(1.0 + 1.0 / model.shape)
        return (
            ""
            if log_mean <= _LOG_MAX
            else (f"weibull with shape = {model.shape:g} has a mean beyond float64")
        )
    base = getattr(model, "base", None)
    if base is not None and name in ("bimodal", "persistent", "heterogeneous", "adversarial"):
        why = infinite_mean(base)
        return f"its base: {why}" if why else ""
    dist = getattr(model, "dist", None)
    frozen = dist() if callable(dist) else None
    if frozen is None:
        return ""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean = float(frozen.mean())
    if not math.isfinite(mean):
        return f"{name} {excerpt(model.params(), 80)} has an infinite mean (scipy: {mean})"
    return ""


def _warn_once(text: str) -> None:
    if text not in _WARNED:
        _WARNED.add(text)
        print(f"gcsim: warning: {text}", file=sys.stderr)


def _check_models(sc: dict[str, Any], assign: dict[str, Any]) -> None:
    n = sc["cluster"]["n"]
    rounds = sc["scenario"]["rounds"]
    try:  # the least any run of n workers needs, before a sampler allocates per worker
        estimate_run(n=n, d=1, m=1, rounds=rounds, dimension=1, fast=False, workload=None).check(
            f"cluster.n = {n} with {rounds} rounds (at {_describe(assign)})", warn=False
        )
    except ResourceError as exc:
        raise ScenarioError(str(exc)) from None
    models = {}
    for key in ("compute", "comm"):
        mode = sc["cluster"]["load_mode"] if key == "compute" else "per-worker"
        try:  # building a sampler also checks n against traces and per-worker speeds
            model = make_delay(sc["delays"][key])
            model.sampler(n, stream(0, "check"), mode)
        except GcsimError as exc:
            raise ScenarioError(f"delays.{key} (at {_describe(assign)}): {exc}") from None
        models[key] = model
        why = infinite_mean(model)
        if why and "infinite mean" in why:
            _warn_once(
                f"delays.{key}: {why}; mean round times do not converge (a few huge draws "
                "dominate them): compare median_round_time and p95_round_time, and expect "
                "failed rounds or points where draws overflow"
            )
        elif why:
            _warn_once(f"delays.{key}: {why}; expect failed rounds, or failed points")
        rows = getattr(model, "rounds", None)
        start = getattr(model, "start", 0)
        if isinstance(rows, int) and isinstance(start, int):
            rows -= start
        if (
            getattr(model, "on_exhausted", None) == "error"
            and isinstance(rows, int)
            and isinstance(start, int)  # a random start row is only known at run time
            and rounds > rows
        ):
            raise ScenarioError(
                f"delays.{key} (at {_describe(assign)}): the trace has {rows} rounds but "
                f"scenario.rounds = {rounds} and on_exhausted = 'error'; use fewer rounds "
                "or on_exhausted = 'wrap'"
            )
    try:
        resolve_workload(sc["workload"], None)  # e.g. 'none' takes only a dimension
        wl = make_workload(sc["workload"])
        if wl is not None:
            wl.check(n)
    except GcsimError as exc:
        raise ScenarioError(f"workload (at {_describe(assign)}): {exc}") from None
    if sc["scenario"]["engine"] == "fast":
        from gcsim.sim import CostModel, Network
        from gcsim.spec import fast_path_applies

        try:
            ok, why = fast_path_applies(
                models["compute"],
                models["comm"],
                Network(**sc["cluster"]["network"]),
                CostModel(**sc["cluster"]["costs"]),
                sc["cluster"]["policy"],
            )
        except GcsimError as exc:
            raise ScenarioError(f"cluster (at {_describe(assign)}): {exc}") from None
        if not ok:
            raise ScenarioError(
                f"scenario.engine = 'fast' (at {_describe(assign)}): the fast "
                f"path does not apply: {why}; use engine = 'auto' or 'des'"
            )
    bad = [w for w in sc["cluster"]["failed_workers"] if w >= n]
    if bad:
        raise ScenarioError(
            f"cluster.failed_workers (at {_describe(assign)}): worker ids "
            f"must be < n={n}; got {excerpt(bad)}"
        )
    bpv = sc["cluster"]["network"]["bytes_per_value"]
    if bpv not in (2, 4, 8, 16):
        raise ScenarioError(f"cluster.network.bytes_per_value: must be 2, 4, 8 or 16; got {bpv}")


def _check_size(
    sc: dict[str, Any],
    size: tuple[int, int, int],
    assign: dict[str, Any],
    label: str,
    *,
    warn: bool = True,
) -> None:
    """Refuse a point that cannot fit in memory (one line with the estimate); ``size``
    is the code's (n, d, m)."""
    wl = dict(sc["workload"])
    _, dim = resolve_workload(wl, None)
    engine = sc["scenario"]["engine"]
    n, d, m = size
    try:
        estimate_run(
            n=n,
            d=d,
            m=m,
            rounds=sc["scenario"]["rounds"],
            dimension=dim,
            fast=engine != "des" and sc["cluster"]["policy"] == "cancel",
            workload=None if wl.get("model") == "none" else wl,
        ).check(f"schemes ({label}) at {_describe(assign)}", warn=warn)
    except ResourceError as exc:
        raise ScenarioError(str(exc)) from None


def _built_size(
    built: dict[tuple[Any, ...], Any],
    name: str,
    n: int,
    s: int,
    m: int,
    seed: int,
    options: dict[str, Any],
) -> tuple[int, int, int]:
    """The (n, d, m) the code really has; building it checks its parameters.

    ``built`` (one per expansion) keeps the answer, or the error, per what a code
    depends on (scheme, n, s, m, seed, options): a sweep over factors that do not change
    the code (dtype, delays, policy, ...) builds each code once (grouped with draws = 5
    at m = 28 costs about a second a build)."""
    key = (name, n, s, m, seed, json.dumps(options, sort_keys=True, default=repr))
    if key not in built:
        try:
            code = make_code(name, n=n, s=s, m=m, rng=stream(seed, "code", 0), **options)
            built[key] = (code.n, code.d, code.m)
        except GcsimError as exc:
            built[key] = exc
    hit = built[key]
    if isinstance(hit, GcsimError):
        raise hit
    return hit


def _cluster_speeds(sc: dict[str, Any], sch: dict[str, Any], assign: dict[str, Any]) -> Any:
    """The scheme's options with ``speeds = "cluster"`` replaced by the per-worker speeds
    of ``delays.compute`` (a ``heterogeneous`` model with explicit speeds)."""
    options = sch["options"]
    if not (isinstance(options, dict) and options.get("speeds") == "cluster"):
        return options
    from gcsim.delays import make_delay
    from gcsim.delays.heterogeneous import explicit_speeds

    n = sc["cluster"]["n"]
    model = make_delay(sc["delays"]["compute"])  # checked already by _check_models
    speeds = explicit_speeds(model, n)
    if speeds is None:
        raise ScenarioError(
            f"schemes ({sch['label']}).options.speeds = 'cluster' (at {_describe(assign)}) "
            f"takes the speeds of delays.compute, which must be a heterogeneous model "
            f"with n = {n} explicit speeds; got {excerpt(model.spec(), 80)} (or give "
            "the speeds as a list)"
        )
    return {**options, "speeds": [float(c) for c in speeds]}


def _scheme_points(
    sc: dict[str, Any],
    sch: dict[str, Any],
    assign: dict[str, Any],
    keys: list[str],
    start: int,
    cache: dict[tuple[Any, ...], Any],
    built: dict[tuple[Any, ...], Any],
) -> list[Point]:
    name = sch["code"]
    if name not in CODES:
        import difflib

        close = difflib.get_close_matches(name, list(CODES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(
            f"schemes ({sch['label']}).code: unknown code {excerpt(name)}{hint}; known: "
            f"{', '.join(CODES)}"
        )
    n = sc["cluster"]["n"]
    info = scheme_info(name)
    s = sch["s"] if sch["s"] >= 0 else (sc["code"]["s"] if info.supports_s else 0)
    m = sch["m"] if sch["m"] >= 0 else (sc["code"]["m"] if info.supports_m else 1)
    seed = sc["scenario"]["seed"]
    wl = dict(sc["workload"])
    dtype = str(wl.get("dtype", "float64"))
    options = _cluster_speeds(sc, sch, assign)
    status, error = "pending", ""
    eff: Effective | None = None
    try:
        # the run's size with the smallest load first: a point that cannot fit whatever
        # its code is refused before the code is built (building a large code takes long)
        _check_size(sc, (n, 1, min(max(m, 1), n)), assign, sch["label"], warn=False)
        size = _built_size(built, name, n, s, m, seed, options)
        _check_size(sc, size, assign, sch["label"])
        eff = effective_params(name, n, s, m, options, cache=cache)
    except InfeasibleParametersError as exc:
        if not (sc.get("tune") or {}).get("enabled"):
            status, error = "infeasible", str(exc)
        # tuned: the scenario's own s and m are a starting point; the tuning decides
        # (and says infeasible when no configuration of the scheme fits)
    except ScenarioError:  # already says where
        raise
    except GcsimError as exc:
        raise ScenarioError(f"schemes ({sch['label']}) at {_describe(assign)}: {exc}") from None
    cl = sc["cluster"]
    timeout = cl["round_timeout"]
    if cl["decode_rule"] == "deadline" and math.isinf(timeout):
        raise ScenarioError(
            "cluster.decode_rule: 'deadline' ends every round at cluster.round_timeout; "
            f"set a finite cluster.round_timeout (at {_describe(assign)})"
        )
    out: list[Point] = []
    for rep in range(sc["scenario"]["replicates"]):
        spec = {
            "scheme": sch["label"],
            "code": name,
            "n": n,
            "s": s,
            "m": m,
            "options": options,
            "seed": seed,
            "replicate": rep,
            "rounds": sc["scenario"]["rounds"],
            "engine": sc["scenario"]["engine"],
            "policy": cl["policy"],
            "decode_rule": cl["decode_rule"],
            "load_mode": cl["load_mode"],
            "round_timeout": None if math.isinf(timeout) else timeout,
            "failed_workers": cl["failed_workers"],
            "network": cl["network"],
            "costs": cl["costs"],
            "delays": sc["delays"],
            "workload": wl,
            "factors": {k: assign.get(k) for k in keys},
            # only when not the default, so that the ids of existing points are unchanged
            **({} if cl["numerics"] == "warn" else {"numerics": cl["numerics"]}),
            **({"error_target": cl["error_target"]} if cl["decode_rule"] == "error" else {}),
            **({"tune": sc["tune"]} if (sc.get("tune") or {}).get("enabled") else {}),
            **({"target_loss": sc["accuracy"]["target_loss"]} if sc.get("accuracy") else {}),
        }
        idx = start + len(out)
        pid = f"{idx:04d}-{sch['label']}-r{rep}-{_digest(spec)}"
        out.append(
            Point(
                index=idx,
                point=pid,
                scheme=sch["label"],
                code=name,
                n=n,
                s_requested=s,
                m=m,
                replicate=rep,
                dtype=dtype,
                factors=spec["factors"],
                spec=spec,
                status=status,
                error=error,
                s=eff.s if eff else None,
                d_requested=eff.d_requested if eff else None,
                d=eff.d if eff else None,
                adjusted=eff.describe() if eff else "",
            )
        )
    return out
