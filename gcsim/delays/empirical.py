"""Empirical durations: a distribution given by its quantiles (e.g. fitted to a trace)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gcsim.delays._validate import readonly, require
from gcsim.delays.base import DelayModel
from gcsim.errors import InvalidInputError


def _vector(model: str, name: str, value: Any) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise InvalidInputError(f"{model}: {name} must be a list of numbers; got {name}={value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{model}: {name} must be a list of numbers; got {name}={value!r}"
        ) from exc
    if arr.ndim != 1 or arr.size < 2:
        raise InvalidInputError(
            f"{model}: {name} must be a 1-D list of at least 2 numbers; got shape {arr.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InvalidInputError(
            f"{model}: {name} must be finite; got {name}[{bad[0]}]={float(arr[bad[0]])!r}"
        )
    return arr


class EmpiricalDelay(DelayModel):
    """Unit-load duration with a piecewise-linear quantile function: ``quantiles[j]`` is
    the ``probs[j]``-quantile, linear in between (an equal-mass histogram when the
    probabilities are equally spaced). :func:`gcsim.fit.fit_trace` writes one when the
    measured distribution fits no parametric family better.

    Parameters
    ----------
    quantiles : sequence of float
        Non-decreasing durations, >= 0, at least 2 (the first is the minimum, the last
        the maximum duration). Required.
    probs : sequence of float, optional
        Strictly increasing probabilities from 0 to 1, one per quantile; default equally
        spaced (``j / (len(quantiles) - 1)``).

    Notes
    -----
    A draw is ``np.interp(U, probs, quantiles)`` with U uniform on [0, 1): one uniform per
    draw, so many rounds drawn at once equal successive rounds (``row_stable``).
    """

    name = "empirical"
    required = ("quantiles",)

    def __init__(self, quantiles: Sequence[float] | None = None, probs: Any = None) -> None:
        nm = self.name
        q = _vector(nm, "quantiles", require(nm, "quantiles", quantiles))
        if np.any(q < 0):
            j = int(np.flatnonzero(q < 0)[0])
            raise InvalidInputError(
                f"{nm}: durations must be >= 0; got quantiles[{j}]={float(q[j])!r}"
            )
        if np.any(np.diff(q) < 0):
            j = int(np.flatnonzero(np.diff(q) < 0)[0])
            raise InvalidInputError(
                f"{nm}: quantiles must be non-decreasing; got quantiles[{j}]={float(q[j])!r} > "
                f"quantiles[{j + 1}]={float(q[j + 1])!r}"
            )
        self.explicit_probs = probs is not None
        if probs is None:
            p = np.linspace(0.0, 1.0, q.size)
        else:
            p = _vector(nm, "probs", probs)
            if p.size != q.size:
                raise InvalidInputError(
                    f"{nm}: probs must have one entry per quantile ({q.size}); got {p.size}"
                )
            if p[0] != 0.0 or p[-1] != 1.0 or np.any(np.diff(p) <= 0):
                raise InvalidInputError(
                    f"{nm}: probs must increase strictly from 0 to 1; got probs[0]={p[0]!r}, "
                    f"probs[-1]={p[-1]!r}"
                    + (", not strictly increasing" if np.any(np.diff(p) <= 0) else "")
                )
        self.quantiles: np.ndarray = readonly(q)
        self.probs: np.ndarray = readonly(p)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        out: np.ndarray = np.interp(rng.random(size), self.probs, self.quantiles)
        return out

    def cdf(self, x: Any) -> np.ndarray:
        """P(X <= x), piecewise linear (a jump where quantiles repeat)."""
        xs = np.asarray(x, dtype=float)
        q, p = self.quantiles, self.probs
        # the right-continuous CDF: the largest probability whose quantile is <= x
        j = np.searchsorted(q, xs, side="right")
        lo = np.clip(j - 1, 0, q.size - 1)
        hi = np.clip(j, 0, q.size - 1)
        width = q[hi] - q[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(width > 0, (xs - q[lo]) / width, 0.0)
        out = np.where(j <= 0, 0.0, np.where(j >= q.size, 1.0, p[lo] + frac * (p[hi] - p[lo])))
        return np.asarray(out, dtype=float)

    def ppf(self, u: Any) -> np.ndarray:
        """Quantile function (the model's definition)."""
        out: np.ndarray = np.interp(np.asarray(u, dtype=float), self.probs, self.quantiles)
        return out

    def dist(self) -> Any:
        """``scipy.stats.rv_histogram`` of the same law, or None when quantiles repeat
        (a point mass has no density)."""
        if np.any(np.diff(self.quantiles) <= 0):
            return None
        from scipy import stats

        return stats.rv_histogram((np.diff(self.probs), self.quantiles), density=False)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quantiles": [float(v) for v in self.quantiles]}
        if self.explicit_probs:
            out["probs"] = [float(v) for v in self.probs]
        return out

    def __repr__(self) -> str:
        q = self.quantiles
        return (
            f"EmpiricalDelay({q.size} quantiles, min={float(q[0])!r}, "
            f"median={float(np.interp(0.5, self.probs, q))!r}, max={float(q[-1])!r})"
        )
