"""Shared machinery of the approximate (inexact) gradient codes.

An approximate code has ``k = n`` partitions and ``m = 1``. Any non-empty responder set
gives an estimate of the gradient sum; the round ends by default at ``n - s`` responders
(the ``count`` rule, as for ignore-stragglers). Two decoders, chosen with the build
option ``decoder``:

* ``"one-step"`` (default): fixed weights on the responders, set by the scheme (for a
  code whose columns sum to 1, every responder gets ``n / |R|``); O(|R|), no solve;
* ``"optimal"``: ``a = argmin ||B_R^T a - 1||`` by least squares (Glasgow and Wootters),
  never a larger coefficient error than the one-step decoder.

The coefficient error of a decoder ``a`` for the set ``R`` is
``||B_R^T a - 1||_2 / sqrt(k)`` (:meth:`~gcsim.codes.GradientCode.coefficient_error`):
0 for an exact decode, and the root-mean-square error of the weight each partial
gradient gets in the estimate.

The random constructions share :func:`randomise_edges`: degree-preserving double-edge
swaps that turn a regular starting layout into a (nearly uniform) random one with the
same degrees, seeded, and never failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gcsim.codes._validate import check_int
from gcsim.codes.base import GradientCode
from gcsim.codes.tracker import DecodeRule
from gcsim.errors import InfeasibleParametersError, InvalidInputError, did_you_mean, excerpt

__all__ = ["DECODERS", "ApproximateCode", "check_decoder", "check_load", "randomise_edges"]

#: The decoders of an approximate code (build option ``decoder``).
DECODERS = ("one-step", "optimal")
#: Swaps per edge when randomising a layout (mixing is fast for regular graphs).
SWAPS_PER_EDGE = 10


def check_decoder(scheme: str, value: Any) -> str:
    """The ``decoder`` option: one of :data:`DECODERS`."""
    if not isinstance(value, str) or value not in DECODERS:
        raise InvalidInputError(
            f"{scheme}: decoder must be one of {', '.join(DECODERS)}; got {excerpt(value)}"
            f"{did_you_mean(value, DECODERS) if isinstance(value, str) else ''}"
        )
    return value


def check_load(scheme: str, value: Any, n: int, *, what: str = "d") -> int:
    """A computation load (or degree) option: an integer in ``1..n``."""
    d = check_int(what, value, minimum=1, scheme=scheme)
    if d > n:
        raise InfeasibleParametersError(
            f"{scheme}: {what} must be at most n={n} (a worker holds at most every "
            f"partition); got {what}={d}"
        )
    return d


class ApproximateCode(GradientCode):
    """Base class of the approximate codes (see the module docstring).

    Subclasses build ``supports`` and ``coefficients`` and implement
    :meth:`_one_step` (the fixed decoding weights) and :meth:`build`.
    """

    #: name of the one-step decoder in :attr:`Decoder.method`
    one_step_name = "n/|R| on every responder"

    def __init__(
        self,
        *,
        n: int,
        s: int,
        supports: Sequence[ArrayLike],
        coefficients: Sequence[ArrayLike],
        decoder: str = "one-step",
        cache_size: int = 1024,
        params: dict[str, Any] | None = None,
    ) -> None:
        self._decoder_kind = check_decoder(self.name, decoder)
        # the optimal decoder's error is the target's distance from the responders' span
        self._error_by_span = decoder == "optimal"
        super().__init__(
            n=n,
            k=n,
            s=s,
            m=1,
            supports=supports,
            coefficients=coefficients,
            exact=False,
            cache_size=cache_size,
            params={**(params or {}), "decoder": decoder},
        )

    @property
    def decoder_kind(self) -> str:
        """``"one-step"`` or ``"optimal"`` (the build option ``decoder``)."""
        return self._decoder_kind

    # ------------------------------------------------------------------ hooks
    def _decode_rule(self) -> DecodeRule:
        return DecodeRule.count(self.n - self.s)

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        return len(R) > 0

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        return f"{self.name}: no responder (any non-empty set gives an estimate)"

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        if self._decoder_kind == "optimal":
            A, cond, _ = self._generic_solve(R)
            return A, cond, "structured: least squares (optimal decoding)"
        w = np.asarray(self._one_step(R), dtype=float)
        return w[None, :], 1.0, f"structured: one-step ({self.one_step_name})"

    def _one_step(self, R: tuple[int, ...]) -> np.ndarray:
        """Fixed weights of the one-step decoder, one per responder of ``R`` (sorted).

        Default: ``n / |R|`` on every responder, unbiased for a code whose columns sum to
        1 when the straggler set is uniformly random."""
        return np.full(len(R), self.n / len(R))

    # ------------------------------------------------------------------ error
    def column_sums(self) -> np.ndarray:
        """``B^T 1``: the weight each partition gets when every worker responds and
        the decoder adds the messages (shape (k,))."""
        cols = np.concatenate([*self._supports, np.zeros(0, dtype=np.int64)])
        vals = np.concatenate([c[:, 0].real for c in self._coefs] + [np.zeros(0)])
        return np.bincount(cols, weights=vals, minlength=self.k)

    def expected_error(self, stragglers: int) -> float:
        """Mean squared coefficient error ``E ||B_R^T a - 1||^2 / k`` of the one-step
        decoder ``a = (n / r) 1_R`` over a uniformly random responder set of size
        ``r = n - stragglers``, for a code whose columns sum to 1 (exactly, not a bound):

        ``E = s n / (r (n - 1)) * (||B||_F^2 - k / n) / k``.

        (Let ``w = a - 1``: ``E[w w^T] = (s / r) (n / (n - 1)) (I - J / n)`` for sampling
        without replacement, and ``B^T 1 = 1``.)
        """
        n = self.n
        s = check_int("stragglers", stragglers, minimum=0, scheme=self.name)
        if s >= n:
            raise InvalidInputError(f"{self.name}: stragglers must be < n={n}; got {s}")
        if s == 0 or n == 1:
            return 0.0
        r = n - s
        fro = float(sum(float(np.sum(np.abs(c) ** 2)) for c in self._coefs))
        return s * n / (r * (n - 1)) * (fro - self.k / n) / self.k


def randomise_edges(
    edges: np.ndarray, rng: np.random.Generator, *, bipartite: bool, swaps: int | None = None
) -> np.ndarray:
    """Degree-preserving double-edge swaps on a simple graph (no loops, no multi-edges).

    ``edges`` has shape (E, 2). A swap picks two edges ``(a, b)``, ``(c, e)`` and
    rewires them to ``(a, e)``, ``(c, b)`` (for a graph that is not bipartite, also
    ``(a, c)``, ``(b, e)`` with probability 1/2), unless that would make a loop or a
    repeated edge. For a bipartite graph column 0 holds the left side (workers) and
    column 1 the right side (partitions). ``swaps`` defaults to ``10 E``; the result is
    a (nearly uniform) random simple graph with the same degrees.
    """
    E = edges.copy()
    m = len(E)
    if m < 2:
        return E
    present = {(int(a), int(b)) for a, b in E}
    if not bipartite:
        present |= {(b, a) for a, b in present}
    total = SWAPS_PER_EDGE * m if swaps is None else swaps
    picks = rng.integers(0, m, size=(total, 2))
    flips = rng.random(total) < 0.5
    for t in range(total):
        x, y = int(picks[t, 0]), int(picks[t, 1])
        if x == y:
            continue
        a, b = int(E[x, 0]), int(E[x, 1])
        c, e = int(E[y, 0]), int(E[y, 1])
        if not bipartite and flips[t]:
            c, e = e, c  # rewire to (a, c), (e, b) through the same formula
        if bipartite:
            new1, new2 = (a, e), (c, b)
        else:
            new1, new2 = (a, e), (c, b)
            if a == e or c == b:
                continue
        if new1 in present or new2 in present or new1 == new2:
            continue
        present.discard((a, b))
        present.discard((c, e))
        if not bipartite:
            present.discard((b, a))
            present.discard((e, c))
        present.add(new1)
        present.add(new2)
        if not bipartite:
            present.add((new1[1], new1[0]))
            present.add((new2[1], new2[0]))
        E[x] = new1
        E[y] = new2
    return E
