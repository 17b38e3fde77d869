"""Expander-graph approximate gradient code (Raviv, Tamo, Tandon, Dimakis, ICML 2018)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gcsim.codes._approx import ApproximateCode, check_decoder, randomise_edges
from gcsim.codes._validate import check_full_length, check_int, check_options
from gcsim.codes.info import Example, SchemeInfo
from gcsim.errors import InfeasibleParametersError, InvalidInputError, did_you_mean, excerpt

GRAPHS = ("random", "margulis")


class ExpanderCode(ApproximateCode):
    """``B = A_G / d``: the normalised adjacency matrix of a d-regular graph on the n
    workers (= partitions); worker i holds the partitions of its neighbours.

    Graphs (option ``graph``):

    * ``"random"`` (default): a random simple d-regular graph, built from a circulant
      layout by degree-preserving double-edge swaps (seeded). Needs ``n d`` even and
      ``d <= n - 1``. Random regular graphs with ``d >= 3`` are near-Ramanujan with high
      probability (second eigenvalue close to ``2 sqrt(d - 1)``); ``d <= 2`` gives cycles
      or a matching, no expansion.
    * ``"margulis"``: the Margulis–Gabber–Galil graph on ``Z_q x Z_q`` (n = q^2), 8-regular
      with loops and repeated edges (coefficient = multiplicity / 8); second eigenvalue at
      most ``5 sqrt(2)``.

    The one-step decoder gives every responder ``n / |R|``. Since ``B 1 = 1`` and ``B`` is
    symmetric, for any straggler set of size ``t`` its coefficient error obeys
    ``||B_R^T a - 1|| <= (lambda / d) sqrt(n t / (n - t))`` (:meth:`error_bound`), with
    ``lambda`` the second largest absolute eigenvalue of ``A_G``.
    """

    name = "expander"
    summary = "Raviv et al. expander code: B = adjacency / d of a d-regular graph (inexact)"
    constraints = (
        "m = 1, 0 <= s < n; random: n*d even, 1 <= d <= n-1 (default s+1, or s+2 "
        "for parity); margulis: n a perfect square, d = 8"
    )

    def __init__(
        self,
        n: int,
        s: int,
        adjacency: np.ndarray,
        degree: int,
        *,
        decoder: str = "one-step",
        cache_size: int = 1024,
        params: dict[str, Any] | None = None,
    ) -> None:
        A = np.asarray(adjacency, dtype=float)
        supports = [np.flatnonzero(A[i]) for i in range(n)]
        coefs = [(A[i, sup] / degree)[:, None] for i, sup in enumerate(supports)]
        super().__init__(
            n=n,
            s=s,
            supports=supports,
            coefficients=coefs,
            decoder=decoder,
            cache_size=cache_size,
            params={**(params or {}), "degree": degree},
        )
        self._degree = int(degree)
        self._lambda: float | None = None

    @classmethod
    def build(cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any) -> ExpanderCode:
        n, s, graph, d, decoder = cls._validate(n, s, m, options)
        if graph == "margulis":
            A = margulis_adjacency(math.isqrt(n))
        else:
            from gcsim.rng import as_generator  # numpy.random: only when building

            A = random_regular_adjacency(n, d, as_generator(rng))
        return cls(n, s, A, d, decoder=decoder, params={"graph": graph}, **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """``(s, d)``; a Margulis graph's load is its largest number of distinct
        neighbours (computed, no random draws)."""
        n, s, graph, d, _ = cls._validate(n, s, m, options)
        if graph == "margulis":
            A = margulis_adjacency(math.isqrt(n))
            return s, int((A > 0).sum(axis=1).max())
        return s, d

    @classmethod
    def _validate(
        cls, n: Any, s: Any, m: Any, options: dict[str, Any]
    ) -> tuple[int, int, str, int, str]:
        """Check (n, s, m) and the options; pops ``graph``, ``d`` and ``decoder``."""
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "d", "decoder", "graph"])
        graph = options.pop("graph", "random")
        if not isinstance(graph, str) or graph not in GRAPHS:
            hint = did_you_mean(graph, GRAPHS) if isinstance(graph, str) else ""
            raise InvalidInputError(
                f"expander: graph must be one of {', '.join(GRAPHS)}; got {excerpt(graph)}{hint}"
            )
        decoder = check_decoder(cls.name, options.pop("decoder", "one-step"))
        if graph == "margulis":
            d = check_int("d", options.pop("d", 8), minimum=1, scheme=cls.name)
            q = math.isqrt(n)
            if q * q != n or q < 2:
                near = sorted({max(q, 2) ** 2, (q + 1) ** 2})
                raise InfeasibleParametersError(
                    f"expander: the Margulis graph needs n to be a perfect square >= 4; "
                    f"got n={n} (nearest: {', '.join(map(str, near))})"
                )
            if d != 8:
                raise InfeasibleParametersError(
                    f"expander: the Margulis graph is 8-regular, so d must be 8; got d={d}"
                )
            return n, s, graph, d, decoder
        if n < 2:
            raise InfeasibleParametersError(
                f"expander needs n >= 2 (a graph with edges); got n={n}"
            )
        default = min(s + 1, n - 1)
        if (n * default) % 2:
            default = default + 1 if default + 1 <= n - 1 else default - 1
        d = check_int("d", options.pop("d", default), minimum=1, scheme=cls.name)
        if d > n - 1 or (n * d) % 2:
            feas = [t for t in range(1, n) if (n * t) % 2 == 0]
            near = sorted(feas, key=lambda t: (abs(t - d), t))[:2]
            raise InfeasibleParametersError(
                f"expander: a simple d-regular graph on n vertices needs d <= n-1 and n*d "
                f"even; got n={n}, d={d} (nearest feasible d: {', '.join(map(str, sorted(near)))})"
            )
        return n, s, graph, d, decoder

    @property
    def degree(self) -> int:
        """The graph's degree d (the load is at most d)."""
        return self._degree

    @property
    def second_eigenvalue(self) -> float:
        """``lambda``: the second largest absolute eigenvalue of the adjacency matrix
        (computed on first use, O(n^3))."""
        if self._lambda is None:
            A = np.asarray(self.B, dtype=float) * self._degree
            ev = np.sort(np.linalg.eigvalsh((A + A.T) / 2))[::-1]
            self._lambda = float(np.max(np.abs(ev[1:]))) if len(ev) > 1 else 0.0
        return self._lambda

    def error_bound(self, stragglers: int) -> float:
        """Worst-case coefficient error ``||B_R^T a - 1|| / sqrt(n)`` of the one-step
        decoder over every straggler set of this size: ``(lambda / d) sqrt(t / (n - t))``
        (``w = a - 1`` is orthogonal to 1, ``||w||^2 = n t / (n - t)``, and ``B`` shrinks
        vectors orthogonal to 1 by at least ``lambda / d``)."""
        t = check_int("stragglers", stragglers, minimum=0, scheme=self.name)
        if t >= self.n:
            raise InvalidInputError(f"{self.name}: stragglers must be < n={self.n}; got {t}")
        return self.second_eigenvalue / self._degree * math.sqrt(t / (self.n - t))


def circulant_edges(n: int, d: int) -> np.ndarray:
    """A simple d-regular circulant graph: offsets 1..d//2, plus n/2 when d is odd."""
    offs = list(range(1, d // 2 + 1))
    edges = [(i, (i + o) % n) for i in range(n) for o in offs]
    if d % 2:
        edges += [(i, i + n // 2) for i in range(n // 2)]
    return np.asarray(edges, dtype=np.int64).reshape(-1, 2)


def random_regular_adjacency(n: int, d: int, gen: np.random.Generator) -> np.ndarray:
    """Adjacency matrix (0/1) of a random simple d-regular graph on n vertices."""
    E = randomise_edges(circulant_edges(n, d), gen, bipartite=False)
    A = np.zeros((n, n))
    A[E[:, 0], E[:, 1]] = 1.0
    A[E[:, 1], E[:, 0]] = 1.0
    return A


def margulis_adjacency(q: int) -> np.ndarray:
    """Adjacency matrix (with multiplicities) of the 8-regular Margulis–Gabber–Galil graph
    on Z_q x Z_q: (x, y) ~ (x +- 2y, y), (x +- (2y + 1), y), (x, y +- 2x), (x, y +- (2x + 1))."""
    n = q * q
    x, y = np.divmod(np.arange(n), q)
    A = np.zeros((n, n))
    v = x * q + y
    for sign in (1, -1):
        for nx, ny in (
            (x + sign * 2 * y, y),
            (x + sign * (2 * y + 1), y),
            (x, y + sign * 2 * x),
            (x, y + sign * (2 * x + 1)),
        ):
            np.add.at(A, (v, (nx % q) * q + ny % q), 1.0)
    return A


INFO = SchemeInfo(
    cls=ExpanderCode,
    display_name="Expander-graph code (Raviv et al., inexact)",
    supports_m=False,
    exact=False,
    color="#332288",
    marker="h",
    options_help=(
        "graph='random' (default; d=degree, default s+1) | 'margulis' (n a square, d=8); "
        "decoder='one-step' (default, n/|R|) | 'optimal' (least squares); cache_size"
    ),
    examples=(Example(12, 2), Example(16, 4, 1, {"graph": "margulis", "decoder": "optimal"})),
)
