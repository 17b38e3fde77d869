"""Argument checks shared by gcsim's subpackages (messages name the parameter, the
constraint and the value)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gcsim.errors import InvalidInputError, excerpt


def check_real(
    model: str,
    name: str,
    value: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """``value`` as a finite float, checked against ``> gt``, ``>= ge`` and ``<= le``;
    messages start with ``"model: "`` (with nothing when ``model`` is empty)."""
    where = f"{model}: " if model else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise InvalidInputError(f"{where}{name} must be a real number; got {name}={excerpt(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidInputError(f"{where}{name} must be finite; got {name}={v!r}")
    if gt is not None and not v > gt:
        raise InvalidInputError(f"{where}{name} must be > {gt:g}; got {name}={v!r}")
    if ge is not None and not v >= ge:
        raise InvalidInputError(f"{where}{name} must be >= {ge:g}; got {name}={v!r}")
    if le is not None and not v <= le:
        raise InvalidInputError(f"{where}{name} must be <= {le:g}; got {name}={v!r}")
    return v
