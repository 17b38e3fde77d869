"""Workloads: sources of real partial gradients."""

from __future__ import annotations

from typing import Any

from gcsim.errors import InvalidInputError, did_you_mean, excerpt
from gcsim.workload.base import Workload
from gcsim.workload.logistic import LogisticRegression
from gcsim.workload.random_vectors import RandomVectors
from gcsim.workload.softmax import SoftmaxRegression

__all__ = [
    "WORKLOADS",
    "LogisticRegression",
    "RandomVectors",
    "SoftmaxRegression",
    "Workload",
    "make_workload",
]

WORKLOADS: dict[str, type[Workload]] = {
    "random-vectors": RandomVectors,
    "logistic": LogisticRegression,
    "softmax": SoftmaxRegression,
}


def make_workload(spec: Any) -> Workload | None:
    """A workload from an instance, a name, or a dict ``{"model": name, **params}``.

    ``None`` or ``"none"`` means timing only (no gradients).
    """
    if spec is None or isinstance(spec, Workload):
        return spec
    if isinstance(spec, str):
        spec = {"model": spec}
    if not isinstance(spec, dict) or "model" not in spec:
        raise InvalidInputError(
            f"workload must be a Workload, a name or a dict with 'model'; got {excerpt(spec)}"
        )
    params = dict(spec)
    name = params.pop("model")
    if name == "none":
        return None
    if name not in WORKLOADS:
        raise InvalidInputError(
            f"unknown workload {excerpt(name)}{did_you_mean(name, WORKLOADS)}; "
            f"known: {', '.join(WORKLOADS)}, none"
        )
    import inspect

    accepted = [p for p in inspect.signature(WORKLOADS[name].__init__).parameters if p != "self"]
    for key in params:
        if key not in accepted:
            raise InvalidInputError(
                f"workload {excerpt(name)}: unknown parameter {excerpt(key)}"
                f"{did_you_mean(key, accepted)}; "
                f"parameters: {', '.join(accepted)}"
            )
    try:
        return WORKLOADS[name](**params)
    except TypeError as exc:
        raise InvalidInputError(f"workload {excerpt(name)}: {exc}") from None
