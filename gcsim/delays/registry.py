"""Registry of delay models and the :func:`make_delay` factory."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from gcsim.delays.adversarial import AdversarialDelay
from gcsim.delays.base import DelayModel
from gcsim.delays.bimodal import BimodalDelay
from gcsim.delays.constant import ConstantDelay
from gcsim.delays.empirical import EmpiricalDelay
from gcsim.delays.exponential import ExponentialDelay
from gcsim.delays.heterogeneous import HeterogeneousDelay
from gcsim.delays.lognormal import LognormalDelay
from gcsim.delays.pareto import ParetoDelay
from gcsim.delays.persistent import PersistentDelay
from gcsim.delays.scipy_dist import ScipyDelay
from gcsim.delays.shifted_exponential import ShiftedExponentialDelay
from gcsim.delays.trace import TraceDelay
from gcsim.delays.uniform import UniformDelay
from gcsim.delays.weibull import WeibullDelay
from gcsim.errors import InvalidInputError, excerpt

__all__ = ["ALIASES", "DELAYS", "list_delays", "make_delay"]

#: Registry: name -> model class.
DELAYS: dict[str, type[DelayModel]] = {
    cls.name: cls
    for cls in (
        ConstantDelay,
        ExponentialDelay,
        ShiftedExponentialDelay,
        ParetoDelay,
        WeibullDelay,
        LognormalDelay,
        UniformDelay,
        BimodalDelay,
        ScipyDelay,
        HeterogeneousDelay,
        PersistentDelay,
        TraceDelay,
        EmpiricalDelay,
        AdversarialDelay,
    )
}

#: Alternative names: alias -> (registry name, default parameters).
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "ideal": ("constant", {"value": 0.0}),
    "zero": ("constant", {"value": 0.0}),
    "deterministic": ("constant", {}),
    "exp": ("exponential", {}),
    "shifted-exp": ("shifted-exponential", {}),
    "markov": ("persistent", {}),
}


def list_delays(*, aliases: bool = False) -> list[str]:
    """Registered model names in a fixed order (and the aliases when ``aliases``)."""
    return [*DELAYS, *ALIASES] if aliases else list(DELAYS)


def _resolve(name: Any) -> tuple[type[DelayModel], dict[str, Any]]:
    if not isinstance(name, str):
        raise InvalidInputError(f"delay model name must be a string; got {excerpt(name)}")
    key = name.strip().lower().replace("_", "-")
    if key in DELAYS:
        return DELAYS[key], {}
    if key in ALIASES:
        target, defaults = ALIASES[key]
        return DELAYS[target], dict(defaults)
    close = difflib.get_close_matches(key, list_delays(aliases=True), n=1)
    raise InvalidInputError(
        f"unknown delay model {excerpt(name)}"
        + (f" (did you mean {close[0]!r}?)" if close else "")
        + f"; known models: {', '.join(DELAYS)}"
    )


def _signature_help(cls: type[DelayModel]) -> tuple[list[str], set[str], bool]:
    """Accepted parameter names, required ones, and whether extra names are accepted."""
    names: list[str] = []
    required = set(cls.required)
    extra = False
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            extra = True
        elif p.kind is not inspect.Parameter.VAR_POSITIONAL:
            names.append(p.name)
            if p.default is inspect.Parameter.empty:
                required.add(p.name)
    return names, required, extra


def _build(cls: type[DelayModel], params: dict[str, Any]) -> DelayModel:
    names, required, extra = _signature_help(cls)
    unknown = [k for k in params if k not in names]
    if unknown and not extra:
        hints = []
        for u in unknown:
            close = difflib.get_close_matches(str(u), names, n=1)
            hints.append(f"{excerpt(u)}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InvalidInputError(
            f"{cls.name}: unknown parameter(s) {', '.join(hints)}; "
            f"parameters of {cls.name}: {', '.join(names) or 'none'}"
        )
    missing = [k for k in names if k in required and params.get(k) is None]
    if missing:
        raise InvalidInputError(
            f"{cls.name}: missing required parameter(s) {', '.join(map(repr, missing))}; "
            f"parameters of {cls.name}: {', '.join(names)} "
            f"(required: {', '.join(k for k in names if k in required)})"
        )
    return cls(**params)


def make_delay(spec: DelayModel | str | Mapping[str, Any], **params: Any) -> DelayModel:
    """Build a delay model from a spec.

    Parameters
    ----------
    spec : DelayModel, str or mapping
        A model instance (returned as is), a registry name or alias (parameters take
        their defaults, overridden by ``params``), or a dict
        ``{"model": name, **parameters}``, e.g. ``{"model": "pareto", "scale": 1.0,
        "alpha": 2.5}``; nested models (``base``, ``speeds``) may be names or dicts too.
        Names are case-insensitive and ``_`` stands for ``-``.
    **params
        Parameters, merged over those of a dict spec.

    Returns
    -------
    DelayModel

    Raises
    ------
    InvalidInputError
        Unknown model (with a close match), unknown parameter (with a close match),
        missing required parameter, or a parameter out of range (naming the parameter,
        the constraint and the value).

    Examples
    --------
    >>> make_delay("shifted-exponential", shift=1.0, rate=2.0)
    ShiftedExponentialDelay(shift=1.0, rate=2.0)
    >>> make_delay({"model": "bimodal", "base": "exponential", "p": 0.1, "factor": 5})
    BimodalDelay(base={'model': 'exponential', 'rate': 1.0}, p=0.1, factor=5.0)
    """
    if isinstance(spec, DelayModel):
        if params:
            raise InvalidInputError(
                f"make_delay: parameters {sorted(params)} cannot be applied to the model "
                f"instance {spec!r}; pass a name or a spec dict instead"
            )
        return spec
    if isinstance(spec, str):
        cls, merged = _resolve(spec)
        merged.update(params)
        return _build(cls, merged)
    if isinstance(spec, Mapping):
        if "model" not in spec:
            raise InvalidInputError(
                f"a delay spec dict needs a 'model' key naming one of {', '.join(DELAYS)}; "
                f"got keys {sorted(map(str, spec))}"
            )
        cls, merged = _resolve(spec["model"])
        merged.update({str(k): v for k, v in spec.items() if k != "model"})
        merged.update(params)
        return _build(cls, merged)
    raise InvalidInputError(
        f"a delay spec must be a DelayModel, a model name or a dict with a 'model' key; "
        f"got {excerpt(spec)}"
    )
