"""Heterogeneous cluster: fixed per-worker speeds multiplying a base model's rate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gcsim.delays._validate import as_model, readonly, require
from gcsim.delays.base import DelayModel, RoundSampler
from gcsim.errors import InvalidInputError
from gcsim.rng import SeedLike


class HeterogeneousDelay(DelayModel):
    """Worker i's duration is the base duration divided by its speed: ``X / speed_i``.

    A speed of 2 halves every duration of that worker, 0.5 doubles it. Speeds are fixed
    for a whole run (one sampler), so the model is not i.i.d. across workers.

    Parameters
    ----------
    base : DelayModel, str or dict, default ``{"model": "constant", "value": 1.0}``
        Model of a speed-1 worker (may itself be stateful, e.g. ``persistent``; its
        sampler is wrapped).
    speeds : array_like or DelayModel, str or dict
        Either explicit speeds, shape (n,), all finite and > 0 (the length is checked
        against n when a sampler is built), or a model spec from which n speeds are drawn
        once per run from the sampler's generator, before any duration, e.g.
        ``{"model": "lognormal", "mu": 0.0, "sigma": 0.5}`` or
        ``{"model": "uniform", "low": 0.5, "high": 2.0}``. Required.

    Notes
    -----
    :meth:`sample` draws from the marginal law of a uniformly chosen worker (explicit
    speeds) or of a worker with a freshly drawn speed (speed model).
    """

    name = "heterogeneous"
    iid = False
    row_stable = False
    required = ("speeds",)

    def __init__(
        self,
        base: DelayModel | str | Mapping[str, Any] | None = None,
        speeds: Any = None,
    ) -> None:
        self.base = as_model(self.name, "base", {"model": "constant"} if base is None else base)
        speeds = require(self.name, "speeds", speeds)
        self.speed_model: DelayModel | None = None
        self.speeds: np.ndarray | None = None
        if isinstance(speeds, (DelayModel, str, Mapping)):
            self.speed_model = as_model(self.name, "speeds", speeds)
            if not self.speed_model.iid:
                raise InvalidInputError(
                    f"{self.name}: the speed model must be i.i.d.; got speeds={self.speed_model!r}"
                )
        else:
            try:
                arr = np.asarray(speeds, dtype=float)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"{self.name}: speeds must be an array of positive numbers or a model "
                    f"spec; got speeds={speeds!r}"
                ) from exc
            if arr.ndim != 1 or arr.size == 0:
                raise InvalidInputError(
                    f"{self.name}: explicit speeds must be a non-empty 1-D array (one per "
                    f"worker); got shape {arr.shape}"
                )
            bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
            if bad.size:
                raise InvalidInputError(
                    f"{self.name}: speeds must be finite and > 0; got speeds[{bad[0]}]="
                    f"{float(arr[bad[0]])!r}"
                )
            self.speeds = readonly(arr)

    def speeds_for(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The n speeds of one run: the explicit ones (length checked) or n fresh draws.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Read-only array of positive speeds.
        """
        if self.speeds is not None:
            if self.speeds.size != n:
                raise InvalidInputError(
                    f"{self.name}: speeds has {self.speeds.size} entries but the run has "
                    f"n={n} workers"
                )
            return self.speeds
        assert self.speed_model is not None
        sp = self.speed_model.sample(rng, (n,))
        if not np.all(np.isfinite(sp) & (sp > 0)):
            bad = int(np.flatnonzero(~(np.isfinite(sp) & (sp > 0)))[0])
            raise InvalidInputError(
                f"{self.name}: the speed model {self.speed_model!r} drew a speed that is not "
                f"finite and > 0 (worker {bad}: {float(sp[bad])!r}); use a model on (0, inf)"
            )
        return readonly(sp)

    def sampler(self, n: int, rng: SeedLike, mode: str = "per-worker") -> RoundSampler:
        return HeterogeneousSampler(self, n, rng, mode)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        x = self.base.sample(rng, size)
        if self.speeds is not None:
            sp = self.speeds[rng.integers(0, self.speeds.size, size)]
        else:
            assert self.speed_model is not None
            sp = self.speed_model.sample(rng, size)
        out: np.ndarray = x / sp
        return out

    def params(self) -> dict[str, Any]:
        speeds: Any
        if self.speed_model is not None:
            speeds = self.speed_model.spec()
        else:
            assert self.speeds is not None
            speeds = [float(v) for v in self.speeds]
        return {"base": self.base.spec(), "speeds": speeds}


class HeterogeneousSampler(RoundSampler):
    """Draws the speeds once (attribute ``speeds``, shape (n,)), then wraps the base
    model's sampler, dividing its durations by the speeds."""

    def __init__(self, model: HeterogeneousDelay, n: int, rng: SeedLike, mode: str) -> None:
        super().__init__(n, rng, mode)
        self.model = model
        self.speeds: np.ndarray = model.speeds_for(self.n, self.rng)
        self.base: RoundSampler = model.base.sampler(self.n, self.rng, mode)

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.base.draw(loads) / self.speeds
        return out

    def _draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.base.draw_rounds(rounds, loads) / self.speeds[None, :]
        return out


def explicit_speeds(model: Any, n: int) -> np.ndarray | None:
    """The n fixed per-worker speeds of a model (what a heterogeneity-aware code sizes its
    loads from): those of a ``heterogeneous`` model with explicit speeds, found also as
    the ``base`` of a wrapping model (``persistent(heterogeneous(...))``; nested ones
    multiply), or None when there are none (homogeneous, speeds drawn per run, or a
    length other than n)."""
    speeds = np.ones(n)
    found = False
    node = model
    for _ in range(32):  # models nest a few levels at most
        if isinstance(node, HeterogeneousDelay):
            if node.speeds is None or node.speeds.size != n:
                return None
            speeds = speeds * node.speeds
            found = True
        node = getattr(node, "base", None)
        if not isinstance(node, DelayModel):
            break
    return speeds if found else None
