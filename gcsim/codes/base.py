"""The general linear gradient code and its decoder.

Every scheme in gcsim is expressed in one linear form (see ``docs/codes.md``):

* each partial gradient ``g_j`` (length ``l``) is zero-padded to ``m * q`` with
  ``q = ceil(l / m)`` and split into ``m`` contiguous blocks ``g_j^(u)`` of length ``q``;
* worker ``i`` sends ``f_i = sum_{j,u} B[i, j*m + u] * g_j^(u)`` (length ``q``) and
  ``B[i, :]`` is zero outside the partitions worker ``i`` holds;
* a decoder for the responder set ``R`` is a matrix ``A_R`` (``m x |R|``) with
  ``A_R B_R = [I_m ... I_m]``; block ``u`` of the gradient sum is ``A_R[u] @ f_R``.

``B`` is stored sparsely, one coefficient block per worker, so codes with many workers
never materialise an ``n x k*m`` matrix unless asked for :attr:`GradientCode.B`.

Complex codes (the cyclic MDS code over the roots of unity when no real one exists) use
the same form over C: consecutive pairs of the real gradient are packed into one
complex number (a zero-copy view), so a message is still ``l`` reals (interleaved real
and imaginary parts) and the result is real.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gcsim.codes.tracker import DecodabilityTracker, DecodeRule, readonly_copy
from gcsim.errors import (
    DecodeResidualError,
    InvalidInputError,
    NotDecodableError,
)

__all__ = ["DecodeInfo", "Decoder", "GradientCode"]

FloatArray = NDArray[np.floating[Any]]
_CHUNK = 16_384  # columns per gathered block in Decoder.apply


@dataclass(frozen=True, eq=False)
class Decoder:
    """A decoder for one responder set.

    Attributes
    ----------
    responders : tuple of int
        The responder set, sorted ascending. Column ``r`` of :attr:`matrix` belongs to
        ``responders[r]``.
    matrix : ndarray, shape (m, len(responders))
        ``A_R`` with ``A_R @ B_R == [I_m ... I_m]`` (up to :attr:`residual`). Responders
        the decoder does not need have all-zero columns.
    rows : ndarray of int
        Positions (into :attr:`responders`) of the columns that are not zero: the
        messages the decode actually reads.
    cond : float
        2-norm condition number of the matrix that was actually inverted or solved
        (1.0 when nothing is inverted, e.g. a plain sum).
    l1_amplification : float
        ``max_u sum_r |A_R[u, r]|``: the worst-case factor by which an absolute error in
        the messages is amplified in one coordinate of the decoded gradient.
    residual : float
        ``max |A_R B_R - [I_m ... I_m]|`` computed from the code's coefficients: the
        algebraic accuracy of the decoder, independent of any data.
    method : str
        Which decoder produced it (``"structured: ..."`` or ``"generic: lstsq"``).
    amplification : float
        ``max |A_R| |B_R|`` (entrywise absolute values; at least about 1 for an exact
        decoder, exactly 1 when nothing cancels, e.g. a plain sum): how much larger the
        terms the encode and the decode add up are than the decoded gradient. A rounding
        error of relative size ``eps`` in the messages or their combination becomes an
        error of about ``eps * amplification`` in the result, relative to the partial
        gradients' magnitude ``sum_j |g_j|`` (see :meth:`error_estimate`).
    """

    responders: tuple[int, ...]
    matrix: np.ndarray
    rows: np.ndarray
    cond: float
    l1_amplification: float
    residual: float
    method: str
    amplification: float
    _used: np.ndarray = field(repr=False)

    def error_estimate(self, dtype: Any = np.float64) -> float:
        """Estimated relative error of a decode whose messages have this ``dtype``:
        ``eps(dtype) * amplification``, relative to ``|| sum_j |g_j| ||``.

        The rounding of the encode and of the decode in the messages' precision is
        amplified by the cancellation the decoder relies on; the algebraic
        :attr:`residual` is separate. Measured on N(0, 1) partial gradients, every
        built-in scheme's actual error is 0.05 to 0.6 times this estimate, in float32
        and float64 (``docs/codes.md``, "Precision and accumulation").
        """
        return _eps(dtype) * self.amplification

    def apply(self, messages: np.ndarray) -> np.ndarray:
        """Combine the messages of :attr:`responders` (rows in that order) into blocks.

        ``messages`` has shape ``(len(responders), q)`` in the code's field. Accumulation
        is a single matrix product in the dtype of ``messages`` (BLAS ``?gemm``/``?gemv``):
        float32 messages are combined in float32, float64 in float64; the coefficients
        themselves are always computed in float64 (complex128) and rounded once.
        """
        if len(self.rows) == len(self.responders):
            return self.apply_used(messages)
        coef = self._coef_for(messages.dtype)
        # gather the rows the decoder reads in cache-sized column chunks: no full copy
        q = messages.shape[1]
        out = np.empty((coef.shape[0], q), dtype=np.result_type(coef, messages))
        step = _CHUNK
        for c0 in range(0, q, step):
            np.matmul(coef, messages[self.rows, c0 : c0 + step], out=out[:, c0 : c0 + step])
        return out

    def apply_used(self, used_messages: np.ndarray) -> np.ndarray:
        """Like :meth:`apply`, given only the messages it reads (rows :attr:`rows`)."""
        return self._coef_for(used_messages.dtype) @ used_messages

    def _coef_for(self, dtype: np.dtype[Any]) -> np.ndarray:
        coef = self._used
        if dtype in (np.float32, np.complex64):
            coef = coef.astype(np.complex64 if np.iscomplexobj(coef) else np.float32)
        return coef


@dataclass(frozen=True)
class DecodeInfo:
    """What one decode did (returned by ``decode(..., return_info=True)``)."""

    decoder: Decoder
    used_responders: tuple[int, ...]
    exact: bool


class GradientCode:
    """Base class of every gradient code (the general linear form).

    Subclasses build the per-worker supports and coefficients, then call
    ``super().__init__``; they may override the private hooks ``_encode``,
    ``_encode_worker``, ``_is_decodable``, ``_structured_decoder`` and ``_decode_rule``
    with faster structured versions. Public methods validate their input and then call
    the hooks. A registered scheme also implements the :meth:`build` classmethod (the
    registry's constructor) and, where it can do so without building the code,
    :meth:`effective_parameters` (see ``docs/codes.md``, "Adding a scheme").
    """

    #: registry name, set by subclasses
    name: ClassVar[str] = "abstract"
    #: one-line description used by ``gcsim codes``
    summary: ClassVar[str] = ""
    #: human-readable constraint summary used by ``gcsim codes``
    constraints: ClassVar[str] = ""

    @classmethod
    def build(cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any) -> GradientCode:
        """Build the code for (n, s, m) from scheme options: the registry's constructor.

        Validates the parameters and raises :class:`~gcsim.errors.InfeasibleParametersError`
        (with the nearest feasible choices) when they violate the scheme's constraints,
        :class:`~gcsim.errors.InvalidInputError` for a malformed or unknown option.
        ``rng`` seeds random constructions (``None`` means seed 0).
        """
        raise NotImplementedError(f"{cls.__name__} does not implement the build classmethod")

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """The ``(s, d)`` that :meth:`build` with these arguments would give the code.

        A scheme may run at a higher ``s`` than requested (e.g. ``grouped`` when d does
        not divide n) and its load ``d`` follows from its structure. Raises exactly what
        :meth:`build` raises for infeasible parameters or bad options. This default builds
        the code (seed 0); schemes override it with a cheap computation that makes no
        random draws.
        """
        code = cls.build(n=n, s=s, m=m, rng=0, **options)
        return code.s, code.d

    def __init__(
        self,
        *,
        n: int,
        k: int,
        s: int,
        m: int,
        supports: Sequence[ArrayLike],
        coefficients: Sequence[ArrayLike],
        exact: bool,
        field: Literal["real", "complex"] = "real",
        cache_size: int = 1024,
        residual_tol: float = 1e-6,
        params: dict[str, Any] | None = None,
    ) -> None:
        self._n, self._k, self._s, self._m = int(n), int(k), int(s), int(m)
        self._exact = bool(exact)
        self._field = field
        dtype = np.complex128 if field == "complex" else np.float64
        sup = [np.asarray(x, dtype=np.int64) for x in supports]
        coef = [
            np.asarray(c, dtype=dtype).reshape(len(x), m)
            for x, c in zip(sup, coefficients, strict=True)
        ]
        if len(sup) != n or len(coef) != n:
            raise AssertionError("internal: one support and one coefficient block per worker")
        self._supports = tuple(readonly_copy(x) for x in sup)
        self._coefs = tuple(readonly_copy(c) for c in coef)
        # flat column indices (j*m + u) and values per worker, for encode and residuals
        self._wcols = tuple(
            readonly_copy((x[:, None] * m + np.arange(m)[None, :]).ravel()) for x in sup
        )
        self._wvals = tuple(readonly_copy(c.ravel()) for c in coef)
        width = max((len(c) for c in self._wcols), default=0)
        cols = np.zeros((n, width), dtype=np.int64)
        vals = np.zeros((n, width), dtype=dtype)
        for i, (c, v) in enumerate(zip(self._wcols, self._wvals, strict=True)):
            cols[i, : len(c)] = c
            vals[i, : len(v)] = v
        self._pcols, self._pvals = cols, vals
        self._rule_cache: DecodeRule | None = None
        self._assignment_cache: np.ndarray | None = None  # dense (n, k) built on request
        self._loads = np.fromiter((len(x) for x in sup), dtype=np.int64, count=len(sup))
        self._d = int(self._loads.max()) if len(sup) else 0
        if cache_size < 0:
            raise InvalidInputError(f"cache_size must be >= 0; got {cache_size}")
        self._cache: OrderedDict[tuple[Any, ...], Decoder] = OrderedDict()
        self._cache_size = int(cache_size)
        self.residual_tol = float(residual_tol)
        #: largest accepted :meth:`Decoder.error_estimate` of a checked decode; None:
        #: ``sqrt(eps)`` of the messages' dtype (see :meth:`precision_tolerance`)
        self.precision_tol: float | None = None
        self._params = dict(params or {})

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of workers."""
        return self._n

    @property
    def k(self) -> int:
        """Number of data partitions."""
        return self._k

    @property
    def s(self) -> int:
        """Number of stragglers tolerated in the worst case (any ``n - s`` decode)."""
        return self._s

    @property
    def m(self) -> int:
        """Communication reduction: a message has ``ceil(l / m)`` entries."""
        return self._m

    @property
    def d(self) -> int:
        """Computation load: the largest number of partitions a worker computes."""
        return self._d

    @property
    def assignment(self) -> np.ndarray:
        """Read-only bool array (n, k): ``assignment[i, j]`` iff worker i holds partition j.

        Built on first access (n * k bytes); the kernels use :meth:`support` instead.
        """
        if self._assignment_cache is None:
            a = np.zeros((self._n, self._k), dtype=bool)
            for i, x in enumerate(self._supports):
                a[i, x] = True
            a.flags.writeable = False
            self._assignment_cache = a
        return self._assignment_cache

    @property
    def loads(self) -> np.ndarray:
        """Partitions computed by each worker, shape (n,) (a copy)."""
        return self._loads.copy()

    @property
    def work(self) -> np.ndarray:
        """Each worker's share of the data in units of ``1/n`` of it, ``loads * n / k``,
        shape (n,) float: what its compute time scales with. Equal to :attr:`loads` when
        ``k = n`` (every built-in scheme except ``hetero-comm`` with a placement over
        another number of partitions)."""
        return self._loads * (self._n / self._k)

    @property
    def exact(self) -> bool:
        """True when decodable responder sets give the exact gradient sum."""
        return self._exact

    @property
    def field(self) -> str:
        """``"real"`` or ``"complex"`` (complex codes pack two reals per coefficient)."""
        return self._field

    @property
    def params(self) -> dict[str, Any]:
        """The construction parameters (for reports and reproducibility)."""
        return dict(self._params)

    def support(self, i: int) -> np.ndarray:
        """Sorted partition ids that worker ``i`` holds."""
        return self._supports[self._check_worker(i)]

    def coefficients(self, i: int) -> np.ndarray:
        """Coefficient block of worker ``i``: shape (len(support(i)), m)."""
        return self._coefs[self._check_worker(i)]

    @property
    def B(self) -> np.ndarray:
        """The dense encoding matrix, shape (n, k*m), column ``j*m + u``.

        Built on request (memory ``n * k * m``); the kernels never need it.
        """
        dtype = self._pvals.dtype
        out = np.zeros((self._n, self._k * self._m), dtype=dtype)
        for i in range(self._n):
            out[i, self._wcols[i]] = self._wvals[i]
        out.flags.writeable = False
        return out

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._params.items() if _short(v))
        return (
            f"{type(self).__name__}(name={self.name!r}, n={self.n}, k={self.k}, s={self.s}, "
            f"m={self.m}, d={self.d}, exact={self.exact}{extra})"
        )

    # ------------------------------------------------------------------ sizes
    def message_length(self, l: int) -> int:
        """Number of reals in one worker's message for gradients of length ``l``."""
        l = _check_length(l)
        if self._field == "complex":
            return 2 * math.ceil(l / 2)
        return math.ceil(l / self._m)

    # ------------------------------------------------------------------ encoding
    def encode(self, partials: ArrayLike) -> np.ndarray:
        """Encode all workers' messages.

        Parameters
        ----------
        partials : array_like, shape (k, l)
            Row ``j`` is the partial gradient of partition ``j``; float32 stays float32,
            anything else is computed in float64.

        Returns
        -------
        ndarray, shape (n, message_length(l))
            Row ``i`` is worker ``i``'s message; it depends only on the partitions
            worker ``i`` holds (other rows of ``partials`` are never read).
        """
        P = self._check_partials(partials)
        blocks = self._to_blocks(P)
        out = self._encode(blocks)
        return self._from_field(out, P.dtype)

    def encode_worker(self, i: int, partials: ArrayLike) -> np.ndarray:
        """Encode worker ``i``'s message.

        ``partials`` is either all partitions, shape (k, l), of which only the rows in
        :meth:`support` are read, or just the worker's own partitions in support order,
        shape (len(support(i)), l).
        """
        i = self._check_worker(i)
        arr = _as_float(partials, "partials")
        if arr.ndim != 2:
            raise InvalidInputError(f"partials must be 2-D (partitions, l); got shape {arr.shape}")
        sup = self._supports[i]
        if arr.shape[0] == self._k:
            own = arr[sup]
        elif arr.shape[0] == len(sup):
            own = arr
        else:
            raise InvalidInputError(
                f"partials for worker {i} must have {self._k} rows (all partitions) or "
                f"{len(sup)} rows (its own partitions {sup.tolist()}); got {arr.shape[0]}"
            )
        blocks = self._to_blocks(own)
        row = self._encode_worker(i, blocks)
        return self._from_field(row[None, :], arr.dtype)[0]

    def _encode(self, blocks: np.ndarray) -> np.ndarray:
        """blocks: (k, m, q) in the field dtype -> messages (n, q)."""
        q = blocks.shape[2]
        out = np.empty((self._n, q), dtype=blocks.dtype)
        for i in range(self._n):
            out[i] = self._encode_worker(i, blocks[self._supports[i]])
        return out

    def _encode_worker(self, i: int, own_blocks: np.ndarray) -> np.ndarray:
        """own_blocks: (d_i, m, q) for worker i's partitions in support order -> (q,)."""
        coef = self._coefs[i].astype(own_blocks.dtype, copy=False)
        return np.einsum("ju,juq->q", coef, own_blocks)

    # ------------------------------------------------------------------ decoding
    def is_decodable(self, responders: Iterable[int]) -> bool:
        """Whether the gradient sum can be recovered from this responder set.

        Works for any set of worker ids, including sets smaller than ``n - s`` that
        happen to decode (e.g. one responder in every FRC replica group).

        This is **algebraic** decodability, the same in every precision (the round
        protocol ends rounds by it). Whether :meth:`decode` (``check=True``) accepts
        the set numerically, in the precision of the messages, is
        :meth:`decode_problem`: a decodable set whose decoder amplifies rounding too
        much (e.g. Ye-Abbe with many workers, CRC in float32) raises
        :class:`DecodeResidualError` there.
        """
        R = self._check_responders(responders)[0]
        return self._is_decodable(R)

    def precision_tolerance(self, dtype: Any = np.float64) -> float:
        """Largest accepted :meth:`Decoder.error_estimate` for messages of ``dtype``:
        :attr:`precision_tol` when set, else ``sqrt(eps(dtype))`` (a decode may lose at
        most half the digits of the precision: 3.5e-4 in float32, 1.5e-8 in float64)."""
        if self.precision_tol is not None:
            return float(self.precision_tol)
        return math.sqrt(_eps(dtype))

    def decode_problem(self, responders: Iterable[int], dtype: Any = np.float64) -> str | None:
        """Why :meth:`decode` (``check=True``) of this set's messages in ``dtype`` would
        raise :class:`DecodeResidualError`, or None when it would return.

        None for inexact codes (their decode is never checked). Raises
        :class:`NotDecodableError` when the set is not decodable at all (see
        :meth:`is_decodable`: decodable means algebraically; this says whether the decode
        is numerically acceptable in this precision).
        """
        R = self._check_responders(responders)[0]
        return self._decode_problem(self._cached_decoder(R), dtype)

    def _decode_problem(self, dec: Decoder, dtype: Any) -> str | None:
        """The check of :meth:`decode`: the algebraic residual (float64 coefficients,
        ``residual_tol``), then the rounding in the messages' precision
        (:meth:`Decoder.error_estimate` against :meth:`precision_tolerance`)."""
        if not self._exact:
            return None
        R = dec.responders
        if not dec.residual <= self.residual_tol:
            return (
                f"{self.name} decoder for {len(R)} responders has residual "
                f"{dec.residual:.3g} > tolerance {self.residual_tol:.3g} "
                f"(condition number {dec.cond:.3g}): the decoded gradient would be wrong. "
                "Use a better-conditioned code or evaluation points, or pass check=False "
                "to get the inaccurate result"
            )
        est, tol = dec.error_estimate(dtype), self.precision_tolerance(dtype)
        if est <= tol:
            return None
        name = np.dtype(_real_dtype(dtype)).name
        other = (
            f"decode float64 messages (estimated error {dec.error_estimate(np.float64):.2g}), "
            if _eps(dtype) > _eps(np.float64)
            else ""
        )
        return (
            f"{self.name} decoder for {len(R)} responders: estimated relative error "
            f"{est:.2g} in {name} (eps {_eps(dtype):.2g} x amplification "
            f"{dec.amplification:.3g}; condition number {dec.cond:.3g}) > precision "
            f"tolerance {tol:.2g}: the decoded gradient would be inaccurate. To fix: "
            f"{other}use better-conditioned evaluation points or generator, or another "
            "code (a grouped Gaussian code stays near the float32 floor), set "
            "code.precision_tol, or pass check=False to get the inaccurate result"
        )

    def decoder(self, responders: Iterable[int], *, method: str = "auto") -> Decoder:
        """The decoder for a responder set (cached per set, bounded LRU cache).

        Parameters
        ----------
        method : {"auto", "structured", "generic"}
            ``auto`` uses the scheme's structured decoder where one exists, otherwise the
            generic least-squares solver; ``generic`` always uses least squares on the
            dense rows ``B_R``.

        Raises
        ------
        NotDecodableError
            When the set cannot decode, with the reason.
        """
        if method not in ("auto", "structured", "generic"):
            raise InvalidInputError(
                f"decoder method must be 'auto', 'structured' or 'generic'; got {method!r}"
            )
        R = self._check_responders(responders)[0]
        return self._cached_decoder(R, method)

    def _cached_decoder(self, R: tuple[int, ...], method: str = "auto") -> Decoder:
        """The decoder of a sorted, checked responder tuple, from the bounded cache."""
        key: tuple[Any, ...] = (*R, method)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        dec = self._make_decoder(R, method)
        if self._cache_size:
            self._cache[key] = dec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return dec

    def _decode_trusted(
        self, R: tuple[int, ...], messages: np.ndarray, l: int
    ) -> tuple[np.ndarray, Decoder]:
        """Decode without re-checking: ``R`` sorted unique worker ids (as the round
        protocol gives them), ``messages`` one float row per responder in that order, or
        all n rows (only the decoder's rows are read). No residual check. For the
        simulator's and the live server's hot path; the public :meth:`decode` checks."""
        dec = self._cached_decoder(R)
        if messages.shape[0] == len(R):
            blocks = dec.apply(self._msgs_to_field(messages))
        else:  # all n rows: gather only the ones the decoder reads
            used = np.asarray(R, dtype=np.int64)[dec.rows]
            blocks = dec.apply_used(self._msgs_to_field(messages[used]))
        return self._blocks_to_gradient(blocks, l, messages.dtype), dec

    @property
    def decode_rule(self) -> DecodeRule:
        """When a responder set decodes, as data (see :class:`DecodeRule`): the round
        protocol, the fast path and the live server all read this one declaration."""
        rule = self._rule_cache
        if rule is None:
            rule = self._rule_cache = self._decode_rule()
        return rule

    def tracker(self) -> DecodabilityTracker:
        """An incremental decodability tracker built from :attr:`decode_rule` (add
        responders one by one); it agrees with :meth:`is_decodable` on every prefix of
        an arrival order, except above a ``general`` rule's ``early_up_to``, where it is
        the count rule at ``n - s`` (as the rule declares)."""
        return DecodabilityTracker(self, self.decode_rule)

    def _decode_rule(self) -> DecodeRule:
        """Default: the general rule (numerical checks of small sets up to n = 64)."""
        return DecodeRule.general(self.n - self.s, self.n)

    def _group_decodable(self, g: int, members: list[int]) -> bool:
        """For ``groups`` rules with ``group_check``: whether group ``g``'s responders
        (worker ids, in arrival order) decode that group."""
        raise NotImplementedError(f"{self.name} declares no group check")

    def clear_cache(self) -> None:
        """Forget every cached decoder."""
        self._cache.clear()

    def decode(
        self,
        responders: Iterable[int],
        messages: ArrayLike,
        l: int,
        *,
        check: bool = True,
        method: str = "auto",
        return_info: bool = False,
    ) -> Any:
        """Recover the gradient sum from the responders' messages.

        Parameters
        ----------
        responders : iterable of int
            Worker ids; row ``t`` of ``messages`` is the message of ``responders[t]``.
        messages : array_like, shape (len(responders), message_length(l))
        l : int
            Gradient length (the padding added by :meth:`encode` is stripped).
        check : bool
            Raise :class:`DecodeResidualError` (exact codes only) when the decoder's
            residual exceeds ``residual_tol``, or when its estimated rounding error in
            the messages' precision (:meth:`Decoder.error_estimate`) exceeds
            :meth:`precision_tolerance` (see :meth:`decode_problem`). ``False``
            returns the result anyway.
        return_info : bool
            Also return a :class:`DecodeInfo`.

        Returns
        -------
        ndarray, shape (l,)
            The gradient sum (for inexact codes, the code's estimate of it), in the
            messages' dtype (float32 or float64).
        """
        l = _check_length(l)
        R, order = self._check_responders(responders, return_order=True)
        msgs = _as_float(messages, "messages")
        ml = self.message_length(l)
        if msgs.shape != (len(R), ml):
            raise InvalidInputError(
                f"messages must have shape (len(responders), message_length(l)) = "
                f"({len(R)}, {ml}); got {msgs.shape}"
            )
        dec = self.decoder(R, method=method)
        problem = self._decode_problem(dec, msgs.dtype) if check else None
        if problem is not None:
            raise DecodeResidualError(problem)
        if order is not None:
            msgs = msgs[order]
        blocks = dec.apply(self._msgs_to_field(msgs))  # (m, q) in field
        grad = self._blocks_to_gradient(blocks, l, msgs.dtype)
        if return_info:
            used = tuple(R[int(r)] for r in dec.rows)
            return grad, DecodeInfo(decoder=dec, used_responders=used, exact=self._exact)
        return grad

    def coefficient_error(self, responders: Iterable[int]) -> float:
        """``||A_R B_R - [I..I]||_F / sqrt(k m)`` of this set's decoder: the root-mean-square
        error of the weight each partial-gradient block gets in the decoded sum (0 for an
        exact decode; ``inf`` when the set does not decode at all). The quantity the
        ``error`` decode rule compares with its target."""
        R = self._check_responders(responders)[0]
        if not self._is_decodable(R):
            return math.inf
        return self._error_norm(R, self._cached_decoder(R).matrix)

    def _prefix_error(self, R: tuple[int, ...]) -> float:
        """:meth:`coefficient_error` of a sorted, checked set without caching its decoder
        (the ``error`` rule's tracker asks it after every arrival)."""
        if not self._is_decodable(R):
            return math.inf
        res = self._structured_decoder(R)
        A = (res if res is not None else self._generic_solve(R))[0]
        return self._error_norm(R, np.asarray(A))

    #: whether the code's decoder is least squares, so that its coefficient error is the
    #: distance of the target from the responders' span (tracked incrementally)
    _error_by_span: bool = False

    def _error_norm(self, R: tuple[int, ...], A: np.ndarray) -> float:
        E = self._coefficient_error(R, A)
        v = float(np.linalg.norm(E)) / math.sqrt(self._k * self._m)
        return v if math.isfinite(v) else math.inf

    def decoding_error(self, responders: Iterable[int], partials: ArrayLike) -> float:
        """Relative error ``||g_hat - g|| / ||g||`` of the decoder for this set, computed
        from the coefficients in float64 (no message rounding): ``g_hat - g = (A_R B_R -
        [I..I]) P``. For exact codes this is the algebraic error of the decoder."""
        P = self._check_partials(partials).astype(np.float64)
        R = self._check_responders(responders)[0]
        dec = self.decoder(R)
        E = self._coefficient_error(R, dec.matrix)  # (m, k*m)
        blocks = self._to_blocks(P)  # (k, m, q)
        k, m, q = blocks.shape
        err_blocks = E @ blocks.reshape(k * m, q)  # (m, q)
        err = self._blocks_to_gradient(err_blocks, P.shape[1], np.dtype(np.float64))
        g = P.sum(axis=0)
        norm = float(np.linalg.norm(g))
        return float(np.linalg.norm(err)) / (norm if norm > 0 else 1.0)

    # ------------------------------------------------------------------ hooks
    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        """Default: numerical check with the generic solver. Subclasses override with
        the combinatorial rule of their structure."""
        if not R:
            return False
        covered = np.zeros(self._k, dtype=bool)
        for i in R:
            covered[self._supports[i]] = True
        if not covered.all():
            return False
        try:
            A, _, _ = self._generic_solve(R)
        except NotDecodableError:
            return False
        return self._coefficient_residual(R, A) <= self.residual_tol

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str] | None:
        """Return (A_R, cond, method) or None when the scheme has no structured decoder.
        Raise NotDecodableError with the reason when R cannot decode."""
        return None

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        return (
            f"{self.name}: the {len(R)} responders do not determine the gradient sum "
            f"(any {self.n - self.s} of the {self.n} workers do)"
        )

    # ------------------------------------------------------------------ internals
    def _make_decoder(self, R: tuple[int, ...], method: str) -> Decoder:
        if not self._is_decodable(R):
            raise NotDecodableError(self._not_decodable_reason(R))
        res = None if method == "generic" else self._structured_decoder(R)
        if res is None:
            if method == "structured":
                raise InvalidInputError(f"{self.name} has no structured decoder; use 'generic'")
            A, cond, how = self._generic_solve(R)
        else:
            A, cond, how = res
        A = np.asarray(A)
        if self._field == "real" and np.iscomplexobj(A):
            A = A.real
        residual, amplification = self._coefficient_stats(R, A)
        used = np.flatnonzero(np.any(A != 0, axis=0))
        l1 = float(np.abs(A).sum(axis=1).max()) if A.size else 0.0
        A = readonly_copy(A)
        return Decoder(
            responders=R,
            matrix=A,
            rows=readonly_copy(used),
            cond=float(cond),
            l1_amplification=l1,
            residual=residual,
            method=how,
            amplification=amplification,
            _used=readonly_copy(A if len(used) == len(R) else A[:, used]),
        )

    def _dense_rows(self, R: Sequence[int]) -> np.ndarray:
        rows = np.zeros((len(R), self._k * self._m), dtype=self._pvals.dtype)
        for t, i in enumerate(R):
            rows[t, self._wcols[i]] = self._wvals[i]
        return rows

    def _target(self) -> np.ndarray:
        T = np.zeros((self._m, self._k * self._m))
        for u in range(self._m):
            T[u, u :: self._m] = 1.0
        return T

    def _generic_solve(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        BR = self._dense_rows(R)  # (|R|, k*m)
        T = self._target()
        X, _res, rank, sv = np.linalg.lstsq(BR.T, T.T.astype(BR.dtype), rcond=None)
        if rank == 0:
            raise NotDecodableError(self._not_decodable_reason(R))
        cond = float(sv[0] / sv[rank - 1]) if rank else math.inf
        return X.T, cond, "generic: lstsq"

    def _coefficient_error(self, R: tuple[int, ...], A: np.ndarray) -> np.ndarray:
        """A_R B_R - [I ... I], shape (m, k*m), from the sparse coefficients."""
        km = self._k * self._m
        used = np.flatnonzero(np.any(A != 0, axis=0))
        rows = np.asarray(R, dtype=np.int64)[used]
        cols = self._pcols[rows].ravel()
        vals = self._pvals[rows]
        out = np.zeros((self._m, km), dtype=np.result_type(A.dtype, vals.dtype))
        for u in range(self._m):
            w = (A[u, used][:, None] * vals).ravel()
            if np.iscomplexobj(w):
                out[u] = np.bincount(cols, weights=w.real, minlength=km) + 1j * np.bincount(
                    cols, weights=w.imag, minlength=km
                )
            else:
                out[u] = np.bincount(cols, weights=w, minlength=km)
        return out - self._target()

    def _coefficient_stats(self, R: tuple[int, ...], A: np.ndarray) -> tuple[float, float]:
        """(residual, amplification) of a decoder: ``max |A_R B_R - [I..I]|`` and
        ``max |A_R| |B_R|``, from the sparse coefficients."""
        residual = self._coefficient_residual(R, A)
        used = np.flatnonzero(np.any(A != 0, axis=0))
        if not used.size:
            return residual, 0.0
        rows = np.asarray(R, dtype=np.int64)[used]
        cols = self._pcols[rows].ravel()
        vals = np.abs(self._pvals[rows])
        absA = np.abs(A[:, used])
        km = self._k * self._m
        amp = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for u in range(self._m):
                w = (absA[u][:, None] * vals).ravel()
                top = float(np.bincount(cols, weights=w, minlength=km).max())
                if not math.isfinite(top):  # overflow or inf * 0: unusable
                    return residual, math.inf
                amp = max(amp, top)
        return residual, amp

    def _coefficient_residual(self, R: tuple[int, ...], A: np.ndarray) -> float:
        E = self._coefficient_error(R, A)
        r = float(np.abs(E).max()) if E.size else 0.0
        return r if math.isfinite(r) else math.inf

    def _check_worker(self, i: Any) -> int:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise InvalidInputError(f"worker id must be an integer; got {i!r}")
        if not 0 <= int(i) < self._n:
            raise InvalidInputError(f"worker id must be in 0..{self._n - 1}; got {int(i)}")
        return int(i)

    def _check_responders(
        self, responders: Iterable[int], return_order: bool = False
    ) -> tuple[tuple[int, ...], np.ndarray | None]:
        if isinstance(responders, (str, bytes)):
            raise InvalidInputError(f"responders must be worker ids; got {responders!r}")
        try:
            arr = np.asarray(
                list(responders) if not isinstance(responders, np.ndarray) else responders
            )
        except TypeError:
            raise InvalidInputError(
                f"responders must be an iterable of worker ids; got {responders!r}"
            ) from None
        if arr.size == 0:
            return (), None
        if arr.ndim != 1:
            raise InvalidInputError(f"responders must be 1-D; got shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InvalidInputError(f"responders must be integer worker ids; got {arr!r}")
        bad = arr[(arr < 0) | (arr >= self._n)]
        if bad.size:
            raise InvalidInputError(
                f"worker ids must be in 0..{self._n - 1}; got out-of-range {bad.tolist()[:5]}"
            )
        order = np.argsort(arr, kind="stable")
        srt = arr[order]
        dup = srt[1:][srt[1:] == srt[:-1]]
        if dup.size:
            raise InvalidInputError(
                f"duplicate worker ids in responders: {sorted(set(dup.tolist()))}"
            )
        identity = bool(np.all(order == np.arange(len(order))))
        return tuple(int(x) for x in srt), (None if identity else order)

    def _check_partials(self, partials: ArrayLike) -> np.ndarray:
        P = _as_float(partials, "partials")
        if P.ndim != 2 or P.shape[0] != self._k or P.shape[1] < 1:
            raise InvalidInputError(
                f"partials must have shape (k, l) = ({self._k}, l) with l >= 1; got {P.shape}"
            )
        return P

    def _to_blocks(self, P: np.ndarray) -> np.ndarray:
        """(rows, l) real -> (rows, m, q) in the field dtype (zero padded).

        Complex codes pack consecutive pairs (g[2t], g[2t+1]) into one complex number:
        a zero-copy view when l is even and the array contiguous.
        """
        rows, l = P.shape
        if self._field == "complex":
            cdt = np.complex64 if P.dtype == np.float32 else np.complex128
            q = math.ceil(l / 2)
            if 2 * q != l or not P.flags.c_contiguous:
                padded = np.zeros((rows, 2 * q), dtype=P.dtype)
                padded[:, :l] = P
                P = padded
            return P.view(cdt).reshape(rows, 1, q)
        q = math.ceil(l / self._m)
        if q * self._m == l:
            return P.reshape(rows, self._m, q)
        padded = np.zeros((rows, self._m * q), dtype=P.dtype)
        padded[:, :l] = P
        return padded.reshape(rows, self._m, q)

    def _from_field(self, out: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """(n, q) in field -> real messages (complex: interleaved real/imaginary parts)."""
        if self._field == "complex":
            cdt = np.complex64 if dtype == np.float32 else np.complex128
            out = np.ascontiguousarray(out, dtype=cdt)
            return out.view(dtype).reshape(out.shape[0], -1)
        return out.astype(dtype, copy=False)

    def _msgs_to_field(self, msgs: np.ndarray) -> np.ndarray:
        if self._field == "complex":
            cdt = np.complex64 if msgs.dtype == np.float32 else np.complex128
            return np.ascontiguousarray(msgs).view(cdt)
        return msgs

    def _blocks_to_gradient(self, blocks: np.ndarray, l: int, dtype: np.dtype) -> np.ndarray:
        if self._field == "complex":
            b = np.ascontiguousarray(blocks[0])
            g = b.view(b.real.dtype)
        else:
            g = np.asarray(blocks).real if np.iscomplexobj(blocks) else blocks
            g = g.reshape(-1)
        return np.ascontiguousarray(g[:l], dtype=dtype)


def _real_dtype(dtype: Any) -> Any:
    """float32 for float32/complex64 messages, float64 otherwise."""
    return np.float32 if np.dtype(dtype) in (np.float32, np.complex64) else np.float64


def _eps(dtype: Any) -> float:
    """Unit roundoff (machine epsilon) of the messages' precision."""
    return float(np.finfo(_real_dtype(dtype)).eps)


def _short(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def _check_length(l: Any) -> int:
    if isinstance(l, (bool, np.bool_)) or not isinstance(l, (int, np.integer)) or l < 1:
        raise InvalidInputError(f"gradient length l must be a positive integer; got {l!r}")
    return int(l)


def _as_float(x: ArrayLike, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise InvalidInputError(f"{what} must be a numeric array; got {type(x).__name__}") from exc
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if arr.dtype.kind in "iub" or arr.dtype == np.float16:
        return arr.astype(np.float64)
    if arr.dtype.kind == "f":
        return arr.astype(np.float64)
    raise InvalidInputError(
        f"{what} must be a real float array (float32 or float64); got dtype {arr.dtype}"
    )
