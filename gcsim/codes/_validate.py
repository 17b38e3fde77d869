"""Parameter validation shared by the schemes (clear messages, nearest feasible values)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.errors import InfeasibleParametersError, InvalidInputError, did_you_mean, excerpt

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    scheme: str = "",
) -> int:
    where = f"{scheme}: " if scheme else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{where}{name} must be an integer; got {excerpt(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InfeasibleParametersError(f"{where}{name} must be >= {minimum}; got {name}={value}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(f"{where}{name} must be <= {maximum}; got {name}={excerpt(value)}")
    return value


#: Most random constructions ``draws`` may try, and straggler sets ``probe`` may test
#: per construction (each costs linear algebra at build time: validation builds codes).
MAX_DRAWS = 1000
MAX_PROBE = 10_000


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


def check_full_length(scheme: str, n: Any, s: Any, m: Any) -> tuple[int, int]:
    """``(n, s)`` of a scheme that sends full-length messages (m = 1) and needs at least
    one responder (s < n): :func:`check_basic`, :func:`require_m1`, :func:`require_s_below_n`."""
    n, s, m = check_basic(scheme, n, s, m)
    require_m1(scheme, m)
    require_s_below_n(scheme, n, s)
    return n, s


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
        hints = [f"{excerpt(u)}{did_you_mean(u, allowed)}" for u in unknown]
        known = ", ".join(allowed) if allowed else "none"
        raise InvalidInputError(
            f"{scheme}: unknown option(s) {', '.join(hints)}; options of {scheme}: {known}"
        )


class ValidatedBuild(GradientCode):
    """A scheme built in two steps: :meth:`_validate` checks (n, s, m) and the options
    (popping those it consumes) and returns the validated constructor arguments by name;
    :meth:`build` passes them and the remaining options to the constructor, and
    :meth:`effective_parameters` reads ``(s, d)`` off them (:meth:`_effective`) without
    building, so both raise the same errors."""

    @classmethod
    def build(cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any) -> Self:
        """See :meth:`GradientCode.build`: validate, then construct (``rng`` unused)."""
        return cls(**cls._validate(n, s, m, options), **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """See :meth:`GradientCode.effective_parameters`: validate, then :meth:`_effective`."""
        return cls._effective(cls._validate(n, s, m, options))

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{cls.__name__} must implement _validate")

    @classmethod
    def _effective(cls, args: dict[str, Any]) -> tuple[int, int]:
        """``(s, d)`` of the code built from the validated arguments ``args``."""
        raise NotImplementedError(f"{cls.__name__} must implement _effective")
