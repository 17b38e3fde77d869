"""Persistent stragglers: a two-state (good/slow) Markov chain per worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gcsim.delays._validate import as_model, check_prob, check_real, require, spawn
from gcsim.delays.base import DelayModel, RoundSampler
from gcsim.errors import InvalidInputError
from gcsim.rng import SeedLike


class PersistentDelay(DelayModel):
    """Each worker is *good* or *slow*; a slow worker's duration is the base duration
    times ``factor``. Between consecutive rounds a good worker turns slow with
    probability ``p_slow`` and a slow one recovers with probability ``p_recover``,
    independently across workers. Round 0 starts from the stationary distribution,
    P(slow) = p_slow / (p_slow + p_recover), unless ``initial`` is given.

    The lag-k autocorrelation of a worker's state is ``(1 - p_slow - p_recover)^k``; the
    mean length of a slow spell is ``1 / p_recover`` rounds.

    Parameters
    ----------
    base : DelayModel, str or dict, default ``{"model": "constant", "value": 1.0}``
        Model of a good worker's duration (may itself be stateful; its sampler is
        wrapped).
    p_slow : float
        Per-round probability in [0, 1] that a good worker turns slow (required).
    p_recover : float
        Per-round probability in [0, 1] that a slow worker recovers (required).
    factor : float
        Slow-down >= 1 of a slow worker (required).
    initial : float, optional
        Probability in [0, 1] that a worker starts slow; default the stationary one
        (then ``p_slow + p_recover`` must be > 0).

    Notes
    -----
    A sampler splits its generator into two child streams, one for the chain and one for
    the base durations, so that :meth:`RoundSampler.draw_rounds` is vectorised and still
    equals repeated :meth:`RoundSampler.draw`. :meth:`sample` draws from the stationary
    marginal.
    """

    name = "persistent"
    iid = False
    row_stable = False
    required = ("p_slow", "p_recover", "factor")

    def __init__(
        self,
        base: DelayModel | str | Mapping[str, Any] | None = None,
        p_slow: float | None = None,
        p_recover: float | None = None,
        factor: float | None = None,
        initial: float | None = None,
    ) -> None:
        nm = self.name
        self.base = as_model(nm, "base", {"model": "constant"} if base is None else base)
        self.p_slow = check_prob(nm, "p_slow", require(nm, "p_slow", p_slow))
        self.p_recover = check_prob(nm, "p_recover", require(nm, "p_recover", p_recover))
        self.factor = check_real(nm, "factor", require(nm, "factor", factor), ge=1.0)
        self.initial = None if initial is None else check_prob(nm, "initial", initial)
        if self.initial is None and self.p_slow + self.p_recover == 0:
            raise InvalidInputError(
                f"{nm}: with p_slow=0 and p_recover=0 the chain has no unique stationary "
                f"distribution; give initial (probability a worker starts slow)"
            )

    @property
    def stationary_slow(self) -> float:
        """Stationary probability that a worker is slow (``initial`` when undefined)."""
        total = self.p_slow + self.p_recover
        if total == 0:
            assert self.initial is not None
            return self.initial
        return self.p_slow / total

    def sampler(self, n: int, rng: SeedLike, mode: str = "per-worker") -> RoundSampler:
        return PersistentSampler(self, n, rng, mode)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        x = self.base.sample(rng, size)
        slow = rng.random(size) < self.stationary_slow
        return np.where(slow, x * self.factor, x)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "base": self.base.spec(),
            "p_slow": self.p_slow,
            "p_recover": self.p_recover,
            "factor": self.factor,
        }
        if self.initial is not None:
            out["initial"] = self.initial
        return out


class PersistentSampler(RoundSampler):
    """State of the chains of one run; ``slow`` (shape (n,), bool) is the state of the
    round drawn last (before the first draw: the initial state)."""

    def __init__(self, model: PersistentDelay, n: int, rng: SeedLike, mode: str) -> None:
        super().__init__(n, rng, mode)
        self.model = model
        self._chain_rng, base_rng = spawn(self.rng, 2)
        p0 = model.stationary_slow if model.initial is None else model.initial
        self._slow = self._chain_rng.random(self.n) < p0
        self._started = False
        self.base: RoundSampler = model.base.sampler(self.n, base_rng, mode)

    @property
    def slow(self) -> np.ndarray:
        """Copy of the current states, shape (n,), True for slow workers."""
        return self._slow.copy()

    def _step(self, state: np.ndarray, u: np.ndarray) -> np.ndarray:
        m = self.model
        out: np.ndarray = np.where(state, u >= m.p_recover, u < m.p_slow)
        return out

    def _states(self, rounds: int) -> np.ndarray:
        """States of the next ``rounds`` rounds, shape (rounds, n); advances the chain."""
        steps = rounds if self._started else rounds - 1
        u = self._chain_rng.random((steps, self.n))
        states = np.empty((rounds, self.n), dtype=bool)
        state, j = self._slow, 0
        for t in range(rounds):
            if self._started or t > 0:
                state = self._step(state, u[j])
                j += 1
            states[t] = state
        self._slow, self._started = state, True
        return states

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        slow = self._states(1)[0]
        x = self.base.draw(loads)
        out: np.ndarray = np.where(slow, x * self.model.factor, x)
        return out

    def _draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        slow = self._states(rounds)
        x = self.base.draw_rounds(rounds, loads)
        out: np.ndarray = np.where(slow, x * self.model.factor, x)
        return out
