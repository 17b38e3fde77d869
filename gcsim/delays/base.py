"""Delay-model interface.

A :class:`DelayModel` describes the duration of one worker's task *for unit load*
(one partition for computation, one full-length message for communication). Load
scaling is explicit and selectable:

* ``"per-worker"`` (the default): one draw per worker and round, multiplied by the
  load. This is the model of Lee et al. and Ye–Abbe (``T = d * X``), for which the closed
  forms in :mod:`gcsim.analysis.order_stats` hold, and it keeps common random numbers
  across schemes with different loads (every scheme uses the same n draws per round).
* ``"per-partition"``: the sum of ``ceil(load)`` independent draws (one per partition);
  less variance for larger loads. Draws come as a (D, n) block per round with D the
  largest load, so two schemes share draws only when their loads are equal.

Models draw all n workers of a round in one vectorised call from a numpy Generator.
Stateful models (persistent stragglers, trace replay) keep their state in the
:class:`RoundSampler` returned by :meth:`DelayModel.sampler`, one per run.

For a model that is not i.i.d. (``iid = False``), :meth:`DelayModel.sample` draws i.i.d.
values from its *marginal* unit-load distribution (a uniformly chosen worker, the chain
at stationarity, a uniformly chosen trace entry); the per-run structure (worker identity,
correlation between rounds) lives only in its sampler.

Subclasses implement the private hooks :meth:`DelayModel._sample` and
:meth:`RoundSampler._draw`; the public methods validate their arguments first.
"""

from __future__ import annotations

import math
from abc import ABC
from typing import Any, ClassVar, Literal

import numpy as np

from gcsim.errors import InvalidInputError
from gcsim.rng import SeedLike, as_generator

__all__ = ["LOAD_MODES", "DelayModel", "LoadMode", "RoundSampler", "StatelessSampler"]

LoadMode = Literal["per-worker", "per-partition"]
LOAD_MODES: tuple[str, ...] = ("per-worker", "per-partition")


def _check_size(size: Any) -> tuple[int, ...]:
    """Normalise ``size`` (an int or a tuple of ints >= 0) to a tuple."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, (bool, np.bool_)):
        size = (size,)
    if not isinstance(size, tuple) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) and s >= 0
        for s in size
    ):
        raise InvalidInputError(
            f"size must be a non-negative int or a tuple of non-negative ints; got {size!r}"
        )
    return tuple(int(s) for s in size)


class RoundSampler(ABC):  # noqa: B024 (subclasses implement _draw or draw)
    """Draws the durations of successive rounds for n workers (one per run).

    Parameters
    ----------
    n : int
        Number of workers (>= 1).
    rng : numpy.random.Generator or int seed
        Source of randomness; the sampler consumes it as it draws.
    mode : {"per-worker", "per-partition"}
        Load scaling (see the module docstring).
    """

    def __init__(self, n: int, rng: SeedLike, mode: str) -> None:
        if mode not in LOAD_MODES:
            raise InvalidInputError(
                f"load mode must be one of {', '.join(LOAD_MODES)}; got {mode!r}"
            )
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidInputError(f"n (number of workers) must be an integer >= 1; got {n!r}")
        self.n: int = int(n)
        self.rng: np.random.Generator = as_generator(rng)
        self.mode: str = mode

    def _check_loads(self, loads: Any) -> np.ndarray:
        arr = np.asarray(loads, dtype=float)
        if arr.ndim == 0:
            arr = np.full(self.n, float(arr))
        if arr.shape != (self.n,):
            raise InvalidInputError(
                f"loads must be a scalar or have shape (n,) = ({self.n},); got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            bad = int(np.flatnonzero(~np.isfinite(arr) | (arr < 0))[0])
            raise InvalidInputError(
                f"loads must be finite and >= 0; got loads[{bad}]={float(arr[bad])!r}"
            )
        return arr

    def draw(self, loads: Any) -> np.ndarray:
        """Durations of the next round.

        Parameters
        ----------
        loads : array_like, shape (n,) or scalar
            Load of each worker (partitions it computes, or message length), >= 0.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Duration of each worker's task in this round.
        """
        return self._draw(self._check_loads(loads))

    def draw_trusted(self, loads: np.ndarray) -> np.ndarray:
        """:meth:`draw` for ``loads`` already validated (a float array of shape (n,)):
        the simulator's per-round hot path, which checks its loads once per run. A
        sampler that overrides :meth:`draw` itself is honoured."""
        if type(self).draw is not RoundSampler.draw:
            return self.draw(loads)
        return self._draw(loads)

    def draw_rounds(self, rounds: int, loads: Any) -> np.ndarray:
        """Durations of ``rounds`` successive rounds with the same loads.

        Gives the same numbers as ``rounds`` calls of :meth:`draw` from the same state
        (subclasses vectorise where they can).

        Returns
        -------
        numpy.ndarray, shape (rounds, n)
        """
        if (
            isinstance(rounds, (bool, np.bool_))
            or not isinstance(rounds, (int, np.integer))
            or rounds < 0
        ):
            raise InvalidInputError(f"rounds must be an integer >= 0; got {rounds!r}")
        arr = self._check_loads(loads)
        if rounds == 0:
            return np.zeros((0, self.n))
        return self._draw_rounds(int(rounds), arr)

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        """Hook: one round for validated ``loads`` (n,) → durations (n,)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _draw")

    def _draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        """Hook: ``rounds`` >= 1 rounds → (rounds, n); default: repeated :meth:`_draw`."""
        return np.stack([self._draw(loads) for _ in range(rounds)])


class DelayModel(ABC):  # noqa: B024 (subclasses implement _sample or sample)
    """Distribution of a worker's duration for unit load (see module docstring)."""

    #: registry name
    name: ClassVar[str] = "abstract"
    #: True when draws depend on previous rounds or on the worker id (not i.i.d.)
    iid: ClassVar[bool] = True
    #: True when ``sample(rng, (r, *shape))`` gives the same numbers as r successive
    #: ``sample(rng, shape)`` calls; then :class:`StatelessSampler` draws many rounds in
    #: one call and still matches repeated :meth:`RoundSampler.draw`.
    row_stable: ClassVar[bool] = True
    #: parameters that must be given although the signature has a default of None
    #: (the registry reports them as missing)
    required: ClassVar[tuple[str, ...]] = ()
    #: True when the model plays against the code (an adversary choosing stragglers):
    #: its :meth:`sampler` then takes a keyword ``code`` and the simulator passes the
    #: run's code (:meth:`gcsim.spec.RunSpec.samplers`)
    needs_code: ClassVar[bool] = False

    def sampler(self, n: int, rng: SeedLike, mode: str = "per-worker") -> RoundSampler:
        """A sampler for one run of n workers (stateful models override).

        Parameters
        ----------
        n : int
            Number of workers.
        rng : numpy.random.Generator or int seed
            The run's delay stream (see :func:`gcsim.rng.stream`).
        mode : {"per-worker", "per-partition"}
            Load scaling.
        """
        return StatelessSampler(self, n, rng, mode)

    def sample(self, rng: SeedLike, size: int | tuple[int, ...]) -> np.ndarray:
        """i.i.d. unit-load durations (the marginal distribution for non-i.i.d. models).

        Parameters
        ----------
        rng : numpy.random.Generator or int seed
            Source of randomness (never the global state).
        size : int or tuple of int
            Output shape.

        Returns
        -------
        numpy.ndarray of float, shape ``size``
            Non-negative durations.
        """
        return self._sample(as_generator(rng), _check_size(size))

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        """Hook: draws of shape ``size`` from a validated generator."""
        raise NotImplementedError(f"{type(self).__name__} must implement _sample")

    def dist(self) -> Any:
        """The scipy.stats frozen distribution of a unit-load draw, or None."""
        return None

    def params(self) -> dict[str, Any]:
        """Parameters, for records and reports (nested models as spec dicts)."""
        return {}

    def spec(self) -> dict[str, Any]:
        """``{"model": name, **params()}``; :func:`gcsim.delays.make_delay` rebuilds it."""
        return {"model": self.name, **self.params()}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({inner})"


class StatelessSampler(RoundSampler):
    """Sampler of an i.i.d. model: per-worker or per-partition load scaling."""

    def __init__(self, model: DelayModel, n: int, rng: SeedLike, mode: str) -> None:
        super().__init__(n, rng, mode)
        self.model = model

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        if self.mode == "per-worker":
            return self.model._sample(self.rng, (self.n,)) * loads
        D = max(1, math.ceil(float(loads.max())))
        X = self.model.sample(self.rng, (D, self.n))
        counts = np.ceil(loads).astype(int)
        mask = np.arange(D)[:, None] < counts[None, :]
        out: np.ndarray = (X * mask).sum(axis=0)
        return out

    def _draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        if self.mode == "per-worker" and self.model.row_stable:
            out = np.asarray(self.model.sample(self.rng, (rounds, self.n)), dtype=float)
            if not np.all(loads == 1.0):
                out *= loads[None, :]  # in place: no second rounds x n array
            return out
        return super()._draw_rounds(rounds, loads)

    @property
    def always_zero(self) -> bool:
        """Whether every draw is exactly 0 (a constant-zero model, e.g. no comm delay)."""
        return (
            getattr(self.model, "name", "") == "constant"
            and self.model.params().get("value") == 0.0
        )
