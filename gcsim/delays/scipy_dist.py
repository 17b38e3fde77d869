"""Any continuous ``scipy.stats`` distribution with non-negative support."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim.delays._validate import check_real
from gcsim.delays.base import DelayModel
from gcsim.errors import InvalidInputError, did_you_mean

if TYPE_CHECKING:
    from scipy import stats


def _stats() -> Any:
    """scipy.stats, imported on first use (it costs about a second to import)."""
    from scipy import stats

    return stats


@cache
def continuous_names() -> tuple[str, ...]:
    """Names of the continuous distributions in ``scipy.stats``."""
    stats = _stats()
    return tuple(
        sorted(n for n in dir(stats) if isinstance(getattr(stats, n), stats.rv_continuous))
    )


class ScipyDelay(DelayModel):
    """Unit-load duration drawn from a ``scipy.stats`` continuous distribution.

    Draws call ``frozen.rvs(size=..., random_state=rng)`` (never scipy's global state).
    scipy costs tens of microseconds per call, so prefer a native model in hot loops;
    ``draw_rounds`` repeats per-round calls, because not every scipy sampler gives the
    same numbers for one (r, n) call as for r calls of size n.

    Parameters
    ----------
    dist : str or scipy.stats.rv_continuous
        Distribution name in ``scipy.stats`` (e.g. ``"gamma"``, ``"lognorm"``) or the
        distribution object itself.
    args : sequence of float, default ()
        Positional parameters: the shape parameters, then optionally loc and scale, as
        scipy takes them.
    **kwargs : float
        Named parameters (shape names, ``loc``, ``scale``).

    Raises
    ------
    InvalidInputError
        For an unknown or discrete distribution (with a close-match suggestion), unknown,
        duplicate or missing parameters, parameters scipy rejects, or a support that
        includes negative values (durations must be non-negative).
    """

    name = "scipy"
    row_stable = False

    def __init__(
        self, dist: str | stats.rv_continuous, args: Sequence[float] = (), **kwargs: float
    ) -> None:
        gen = self._lookup(dist)
        self.dist_name: str = gen.name
        shapes = [s.strip() for s in gen.shapes.split(",")] if gen.shapes else []
        names = [*shapes, "loc", "scale"]
        if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
            raise InvalidInputError(
                f"{self.name}: args must be a sequence of numbers; got args={args!r}"
            )
        if len(args) > len(names):
            raise InvalidInputError(
                f"{self.name}: {self.dist_name} takes at most {len(names)} positional "
                f"parameters ({', '.join(names)}); got args={tuple(args)!r}"
            )
        values: dict[str, float] = {}
        for key, val in zip(names, args, strict=False):
            values[key] = check_real(self.name, f"{self.dist_name} {key}", val)
        for key, val in kwargs.items():
            if key not in names:
                raise InvalidInputError(
                    f"{self.name}: unknown parameter {key!r} for scipy.stats.{self.dist_name}"
                    f"{did_you_mean(key, names)}; its parameters: {', '.join(names)}"
                )
            if key in values:
                raise InvalidInputError(
                    f"{self.name}: parameter {key!r} of {self.dist_name} given both in args "
                    f"and by name; got args={tuple(args)!r}, {key}={val!r}"
                )
            values[key] = check_real(self.name, f"{self.dist_name} {key}", val)
        missing = [s for s in shapes if s not in values]
        if missing:
            raise InvalidInputError(
                f"{self.name}: scipy.stats.{self.dist_name} needs shape parameter(s) "
                f"{', '.join(missing)}; got {self._fmt(values)}"
            )
        self.values: dict[str, float] = {k: values[k] for k in names if k in values}
        frozen = gen(**self.values)
        lo, hi = (float(v) for v in frozen.support())
        if np.isnan(lo) or np.isnan(hi):
            raise InvalidInputError(
                f"{self.name}: scipy.stats.{self.dist_name} rejects the parameters "
                f"{self._fmt(self.values)} (shape parameters out of range or scale <= 0)"
            )
        if lo < 0:
            loc = self.values.get("loc", 0.0)
            hint = (
                f"; shift it with loc >= {loc - lo:g}"
                if np.isfinite(lo)
                else " (unbounded below); pick a distribution on [0, inf)"
            )
            raise InvalidInputError(
                f"{self.name}: durations must be non-negative, but scipy.stats."
                f"{self.dist_name}({self._fmt(self.values)}) has support [{lo:g}, {hi:g}] "
                f"including negative values{hint}"
            )
        self._frozen = frozen

    def _lookup(self, dist: Any) -> stats.rv_continuous:
        stats = _stats()
        if isinstance(dist, stats.rv_continuous):
            return dist
        if isinstance(dist, stats.rv_discrete):
            raise InvalidInputError(
                f"{self.name}: dist must be a continuous distribution; got the discrete "
                f"scipy.stats.{dist.name}"
            )
        if not isinstance(dist, str):
            raise InvalidInputError(
                f"{self.name}: dist must be the name of a scipy.stats continuous "
                f"distribution; got dist={dist!r}"
            )
        obj = getattr(stats, dist, None)
        if isinstance(obj, stats.rv_discrete):
            raise InvalidInputError(
                f"{self.name}: dist must be a continuous distribution; "
                f"scipy.stats.{dist} is discrete"
            )
        if not isinstance(obj, stats.rv_continuous):
            close = difflib.get_close_matches(dist, continuous_names(), n=3)
            raise InvalidInputError(
                f"{self.name}: scipy.stats has no continuous distribution {dist!r}"
                + (f" (did you mean {', '.join(map(repr, close))}?)" if close else "")
            )
        return obj

    @staticmethod
    def _fmt(values: dict[str, float]) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "no parameters"

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return np.asarray(self._frozen.rvs(size=size, random_state=rng), dtype=float)

    def dist(self) -> Any:
        return self._frozen

    def params(self) -> dict[str, Any]:
        return {"dist": self.dist_name, **self.values}
