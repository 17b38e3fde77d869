"""Parameter validation shared by the schemes (clear messages, nearest feasible values)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from gcsim.errors import InfeasibleParametersError, InvalidInputError, did_you_mean


def check_int(name: str, value: Any, *, minimum: int | None = None, scheme: str = "") -> int:
    where = f"{scheme}: " if scheme else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{where}{name} must be an integer; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InfeasibleParametersError(f"{where}{name} must be >= {minimum}; got {name}={value}")
    return value


def check_basic(scheme: str, n: Any, s: Any, m: Any) -> tuple[int, int, int]:
    n = check_int("n", n, minimum=1, scheme=scheme)
    s = check_int("s", s, minimum=0, scheme=scheme)
    m = check_int("m", m, minimum=1, scheme=scheme)
    return n, s, m


def require_m1(scheme: str, m: int) -> None:
    if m != 1:
        raise InfeasibleParametersError(
            f"{scheme} sends full-length messages: it needs m=1; got m={m} "
            "(for m > 1 use 'ye-abbe' or 'grouped')"
        )


def require_s_below_n(scheme: str, n: int, s: int) -> None:
    if s >= n:
        raise InfeasibleParametersError(
            f"{scheme} needs s < n (at least one responder); got n={n}, s={s} "
            f"(feasible s: 0..{n - 1})"
        )


def fmt_values(values: Iterable[int], limit: int = 12) -> str:
    vals = list(values)
    if len(vals) > limit:
        return ", ".join(map(str, vals[:limit])) + ", ..."
    return ", ".join(map(str, vals))


def nearest(values: Iterable[int], target: int, count: int = 2) -> list[int]:
    vals = sorted(set(values), key=lambda v: (abs(v - target), v))
    return sorted(vals[:count])


def check_options(scheme: str, options: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = sorted(allowed)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        hints = [f"{u!r}{did_you_mean(u, allowed)}" for u in unknown]
        known = ", ".join(allowed) if allowed else "none"
        raise InvalidInputError(
            f"{scheme}: unknown option(s) {', '.join(hints)}; options of {scheme}: {known}"
        )
