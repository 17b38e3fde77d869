"""Stochastic gradient coding (Bitar, Wootters, El Rouayheb), inexact."""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._approx import ApproximateCode, check_decoder, check_load, randomise_edges
from gcsim.codes._validate import check_full_length, check_options
from gcsim.codes.info import Example, SchemeInfo
from gcsim.errors import InvalidInputError, excerpt


class StochasticGradientCode(ApproximateCode):
    """Every partition on exactly ``d`` workers, every worker exactly ``d`` partitions;
    a responder sends its partial gradients' sum scaled by ``1 / (d (1 - p))`` and the
    server adds whatever arrives.

    ``p`` is the probability with which a worker is assumed to straggle (option ``p``,
    default ``s / n``). When each worker straggles independently with probability
    ``p`` the estimate is unbiased, and partition j's weight is
    ``Binomial(d, 1 - p) / (d (1 - p))``, so the mean squared coefficient error is
    ``p / (d (1 - p))`` per partition (:meth:`expected_error`): gradient descent becomes
    stochastic gradient descent with a variance that falls as ``1 / d``.

    The assignment is a random d-regular bipartite graph between workers and partitions
    (the cyclic layout ``i .. i+d-1 mod n`` randomised by degree-preserving swaps,
    seeded): its law is the same for every pair of workers, so on average any two
    workers share the same number of partitions, ``d (d - 1) / (n - 1)`` (pair-wise
    balanced in expectation; a particular draw is not a block design).

    With every worker responding and ``p = 0`` the sum is exact. The ``optimal`` decoder
    (least squares) is available as for every approximate code.
    """

    name = "sgc"
    summary = "Bitar et al. stochastic coding: d-regular random layout, sum arrivals (inexact)"
    constraints = "m = 1, 0 <= s < n, 1 <= d <= n (default s+1), 0 <= p < 1 (default s/n)"
    one_step_name = "plain sum of the responders"

    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> StochasticGradientCode:
        n, s, d, p, decoder = cls._validate(n, s, m, options)
        from gcsim.rng import as_generator  # numpy.random: only when building

        gen = as_generator(rng)
        layout = np.asarray([(i, (i + t) % n) for i in range(n) for t in range(d)], dtype=np.int64)
        E = randomise_edges(layout, gen, bipartite=True) if 1 < d < n else layout
        order = np.lexsort((E[:, 1], E[:, 0]))
        E = E[order]
        supports = np.split(E[:, 1], np.cumsum(np.bincount(E[:, 0], minlength=n))[:-1])
        scale = 1.0 / (d * (1.0 - p))
        coefs = [np.full((len(sup), 1), scale) for sup in supports]
        return cls(
            n=n,
            s=s,
            supports=supports,
            coefficients=coefs,
            decoder=decoder,
            params={"replication": d, "p": p},
            **options,
        )

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """``(s, d)`` without building (every worker holds exactly d partitions)."""
        _, s, d, _, _ = cls._validate(n, s, m, options)
        return s, d

    @classmethod
    def _validate(
        cls, n: Any, s: Any, m: Any, options: dict[str, Any]
    ) -> tuple[int, int, int, float, str]:
        """Check (n, s, m) and the options; pops ``d``, ``p`` and ``decoder``."""
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "d", "decoder", "p"])
        d = check_load(cls.name, options.pop("d", min(s + 1, n)), n)
        p = options.pop("p", s / n)
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float, np.integer, np.floating))
            or not (0 <= float(p) < 1)
        ):
            raise InvalidInputError(
                f"sgc: p (the probability a worker straggles) must be a number in [0, 1); "
                f"got {excerpt(p)}"
            )
        decoder = check_decoder(cls.name, options.pop("decoder", "one-step"))
        return n, s, d, float(p), decoder

    @property
    def p(self) -> float:
        """The straggling probability the scaling assumes."""
        return float(self._params["p"])

    def _one_step(self, R: tuple[int, ...]) -> np.ndarray:
        return np.ones(len(R))

    def expected_error(self, stragglers: int | None = None) -> float:
        """Mean squared coefficient error ``E ||B_R^T 1 - 1||^2 / k`` of the plain sum
        when every worker straggles independently with probability :attr:`p`:
        ``p / (d (1 - p))``. (``stragglers`` is not used: the model has no fixed count.)"""
        p, d = self.p, int(self._params["replication"])
        return p / (d * (1.0 - p))

    def expected_error_fixed(self, stragglers: int) -> float:
        """The same for a uniformly random straggler set of exactly ``t`` workers:
        partition j keeps ``X ~ Hypergeometric(n, d, n - t)`` holders and weight
        ``X / (d (1 - p))``; returns ``E (X / (d (1 - p)) - 1)^2``."""
        n, d, p = self.n, int(self._params["replication"]), self.p
        r = n - int(stragglers)
        c = 1.0 / (d * (1.0 - p))
        mean = d * r / n
        var = d * (r / n) * (1 - r / n) * (n - d) / (n - 1) if n > 1 else 0.0
        return var * c * c + (mean * c - 1.0) ** 2


INFO = SchemeInfo(
    cls=StochasticGradientCode,
    display_name="Stochastic gradient coding (Bitar et al., inexact)",
    supports_m=False,
    exact=False,
    color="#AA4499",
    marker="8",
    options_help=(
        "d=replication (default s+1); p=straggling probability the scaling assumes "
        "(default s/n); decoder='one-step' (default, plain sum) | 'optimal'; cache_size"
    ),
    examples=(Example(12, 2), Example(12, 3, 1, {"d": 3, "decoder": "optimal"})),
)
