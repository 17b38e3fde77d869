"""Adversarial stragglers: an adversary picks which workers straggle, against the code.

Random straggler models (bimodal, persistent) make every set of slow workers as likely as
any other; the block-design codes of Kadhe, Koyluoglu and Ramchandran (ISIT 2019) are
judged instead by the WORST set of s stragglers. This model slows down, in every round,
the set of workers an adversary chooses to hurt the code most.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from gcsim.delays._validate import as_model, check_real, require, spawn
from gcsim.delays.base import DelayModel, RoundSampler
from gcsim.errors import InvalidInputError, excerpt
from gcsim.rng import SeedLike

__all__ = ["STRATEGIES", "AdversarialDelay", "AdversarialSampler", "straggler_error"]

STRATEGIES = ("worst", "random", "fixed")
#: The worst set is found by trying every set while there are at most this many.
EXHAUSTIVE_LIMIT = 5000
#: Two errors within this relative distance are a tie (broken at random).
_TIE = 1e-9


def straggler_error(code: Any, stragglers: tuple[int, ...]) -> float:
    """The code's :meth:`~gcsim.codes.GradientCode.coefficient_error` for the responders
    left when ``stragglers`` are out: the root mean square of ``A_R B_R - [I_m ... I_m]``
    (``inf`` when they do not decode; 0 for an exact code on a decodable set).

    For partial gradients with i.i.d. unit-variance entries its square is proportional
    to the expected squared error of the decoded gradient, so it ranks straggler sets
    the way the decode error does, without data.
    """
    out = set(stragglers)
    R = [i for i in range(code.n) if i not in out]
    if not R:
        return math.inf
    return float(code.coefficient_error(R))


class AdversarialDelay(DelayModel):
    """Every round, ``stragglers`` workers chosen by an adversary take ``factor`` times
    their base duration.

    Parameters
    ----------
    base : DelayModel, str or dict, default ``{"model": "constant", "value": 1.0}``
        i.i.d. model of every worker's duration before the slow-down.
    stragglers : int
        How many workers the adversary slows down each round (required, >= 0).
    strategy : {"worst", "random", "fixed"}
        ``worst`` (default): the set whose absence maximises the code's decode error
        (:func:`straggler_error`; a set the code cannot decode without counts as
        infinitely bad), searched over every set while there are at most 5000 and
        greedily (one worker at a time) beyond; ties are broken at random each round, so
        a code whose error depends only on the number of stragglers (a block design, an
        exact code within its tolerance) faces a uniformly random set. ``random``: a
        uniformly random set every round (the non-adversarial reference with the same
        number of stragglers). ``fixed``: always ``workers``.
    workers : list of int, optional
        The straggler set of ``strategy = "fixed"``.
    factor : float, default 10
        Slow-down (finite, >= 1) of a straggler: with a factor well above the spread of
        the base model the stragglers are the last to arrive, so a code that decodes
        from ``n - stragglers`` responders decodes from exactly the others.

    Notes
    -----
    The ``worst`` strategy needs the code: the simulator binds it when it builds the
    run's samplers (``DelayModel.needs_code``). The search is done once per run (its
    answer does not change between rounds). A sampler built without a code (e.g. for
    the order statistics of a round's durations, which do not depend on which workers
    are slowed) slows a uniformly random set, as ``random`` does;
    :meth:`AdversarialSampler.worst_sets` then raises. When the code decodes from fewer responders
    than ``n - stragglers`` (``stragglers`` below its s), the adversary still ranks the
    sets by the error of all the others. :meth:`sample` draws the marginal of a worker
    that is never chosen (the base model).
    """

    name = "adversarial"
    iid = False
    row_stable = False
    needs_code = True
    required = ("stragglers",)

    def __init__(
        self,
        base: DelayModel | str | Mapping[str, Any] | None = None,
        stragglers: int | None = None,
        strategy: str = "worst",
        workers: Any = None,
        factor: float = 10.0,
    ) -> None:
        self.base = as_model(self.name, "base", {"model": "constant"} if base is None else base)
        if not self.base.iid:
            raise InvalidInputError(
                f"{self.name}: base must be an i.i.d. model; got base={self.base!r}"
            )
        t = require(self.name, "stragglers", stragglers)
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 0:
            raise InvalidInputError(
                f"{self.name}: stragglers must be an integer >= 0 (workers slowed each "
                f"round); got stragglers={excerpt(t)}"
            )
        self.stragglers = int(t)
        if strategy not in STRATEGIES:
            raise InvalidInputError(
                f"{self.name}: strategy must be one of {', '.join(STRATEGIES)}; got "
                f"strategy={excerpt(strategy)}"
            )
        self.strategy = str(strategy)
        self.workers: tuple[int, ...] | None = None
        if strategy == "fixed":
            w = require(self.name, "workers", workers)
            try:
                arr = np.asarray(list(w))
            except TypeError:
                arr = np.asarray([None])
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu") or np.any(arr < 0):
                raise InvalidInputError(
                    f"{self.name}: workers must be a list of worker ids >= 0; got "
                    f"workers={excerpt(workers)}"
                )
            if len(set(arr.tolist())) != self.stragglers or arr.size != self.stragglers:
                raise InvalidInputError(
                    f"{self.name}: workers must list stragglers={self.stragglers} distinct "
                    f"ids; got workers={excerpt(workers)}"
                )
            self.workers = tuple(sorted(int(x) for x in arr))
        elif workers is not None:
            raise InvalidInputError(
                f"{self.name}: workers is only used with strategy='fixed'; got "
                f"strategy={self.strategy!r}"
            )
        self.factor = check_real(self.name, "factor", factor, ge=1.0)

    def sampler(
        self, n: int, rng: SeedLike, mode: str = "per-worker", *, code: Any = None
    ) -> AdversarialSampler:
        return AdversarialSampler(self, n, rng, mode, code)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        return self.base.sample(rng, size)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "base": self.base.spec(),
            "stragglers": self.stragglers,
            "strategy": self.strategy,
            "factor": self.factor,
        }
        if self.workers is not None:
            out["workers"] = list(self.workers)
        return out


class AdversarialSampler(RoundSampler):
    """One run of :class:`AdversarialDelay`: the base sampler's durations, the chosen
    set's multiplied by ``factor``. ``chosen`` holds the sets of the last 4096 rounds,
    in order."""

    def __init__(
        self, model: AdversarialDelay, n: int, rng: SeedLike, mode: str, code: Any = None
    ) -> None:
        super().__init__(n, rng, mode)
        self.model = model
        t = model.stragglers
        if t > self.n:
            raise InvalidInputError(f"{model.name}: stragglers={t} exceeds the n={self.n} workers")
        if model.workers is not None and model.workers and model.workers[-1] >= self.n:
            raise InvalidInputError(
                f"{model.name}: workers must be < n={self.n}; got {list(model.workers)}"
            )
        if code is not None and getattr(code, "n", self.n) != self.n:
            raise InvalidInputError(
                f"{model.name}: the code has n={code.n} workers but the run has n={self.n}"
            )
        self.code = code
        # the adversary's own stream: the base durations stay those of the same seed
        # whatever the code and however many ties it breaks (common random numbers)
        self.adv_rng, base_rng = spawn(self.rng, 2)
        self.base: RoundSampler = model.base.sampler(self.n, base_rng, mode)
        self.chosen: deque[tuple[int, ...]] = deque(maxlen=4096)
        self._worst: list[tuple[int, ...]] | None = None
        self.worst_error: float | None = None

    def bind_code(self, code: Any) -> None:
        """Set the code the ``worst`` adversary plays against (before the first draw)."""
        if getattr(code, "n", None) != self.n:
            raise InvalidInputError(
                f"{self.model.name}: the code has n={getattr(code, 'n', None)} workers but "
                f"the run has n={self.n}"
            )
        self.code, self._worst = code, None

    def worst_sets(self) -> list[tuple[int, ...]]:
        """The straggler sets of largest :func:`straggler_error` (exhaustive search), or
        the one the greedy search found; computed once."""
        if self._worst is not None:
            return self._worst
        code, t, n = self.code, self.model.stragglers, self.n
        if code is None:
            raise InvalidInputError(
                f"{self.model.name}: strategy 'worst' plays against a code; build the "
                "sampler with sampler(n, rng, mode, code=code) (gcsim.simulate does)"
            )
        if math.comb(n, t) <= EXHAUSTIVE_LIMIT:
            sets = list(itertools.combinations(range(n), t))
            errs = np.array([straggler_error(code, S) for S in sets])
            self._worst = _ties(sets, errs)
            self.worst_error = float(errs.max()) if errs.size else 0.0
            return self._worst
        chosen: tuple[int, ...] = ()
        err = straggler_error(code, ())
        for _ in range(t):
            cand = [tuple(sorted((*chosen, w))) for w in range(n) if w not in chosen]
            errs = np.array([straggler_error(code, S) for S in cand])
            best = _ties(cand, errs)
            chosen = best[int(self.adv_rng.integers(len(best)))]
            err = float(errs.max())
        self._worst, self.worst_error = [chosen], err
        return self._worst

    def _pick(self) -> tuple[int, ...]:
        model, n = self.model, self.n
        if model.strategy == "fixed":
            assert model.workers is not None
            return model.workers
        if model.strategy == "random" or self.code is None:
            pick = self.adv_rng.choice(n, model.stragglers, replace=False)
            return tuple(sorted(int(x) for x in pick))
        sets = self.worst_sets()
        return sets[int(self.adv_rng.integers(len(sets)))] if len(sets) > 1 else sets[0]

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        S = self._pick()  # the adversary moves first, then the durations are drawn
        self.chosen.append(S)
        out = np.array(self.base.draw_trusted(loads), dtype=float)
        if S:
            out[list(S)] *= self.model.factor
        return out


def _ties(sets: list[tuple[int, ...]], errs: np.ndarray) -> list[tuple[int, ...]]:
    """The sets whose error is the largest (relative tolerance 1e-9)."""
    if not sets:
        return [()]
    top = float(errs.max())
    if math.isinf(top):
        keep = np.isinf(errs)
    else:
        keep = errs >= top - _TIE * max(abs(top), 1.0)
    return [S for S, k in zip(sets, keep, strict=True) if k]
