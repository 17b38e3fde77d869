"""The gradient-code contract, as checks that run on ANY :class:`~gcsim.codes.GradientCode`.

gcsim's own test suite runs these checks on every built-in scheme; authors of a new
scheme run them on theirs (as ``optuna.testing`` does for samplers)::

    import gcsim.testing

    gcsim.testing.check_code(my_code)            # every check; AssertionError on a breach

    @gcsim.testing.parametrize_checks()          # or one pytest test per check
    def test_my_code(check):
        check(MyCode.build(n=8, s=2))

Every check takes the same keyword arguments (those it does not use are ignored), so a
list of checks can be parametrised: ``rng`` (seed or Generator), ``l`` (gradient
length; the default 13 is a multiple of no m > 1, so padding is exercised),
``exhaustive_limit`` (straggler sets are all enumerated while there are at most this
many), ``samples`` (random sets otherwise) and ``orders`` (random arrival orders for
the tracker). A breach raises :class:`AssertionError` with a message naming the code,
the responder set and what was expected.

**Accuracy tolerance, justified.** A backward-stable decode of messages carrying encode
rounding of relative size ~eps has error ``<= c * eps * cond(decoder) * scale``, where c
grows with the number of terms summed and ``scale = || sum_j |g_j| ||`` (the error of any
floating-point sum is relative to the sum of magnitudes, not to the sum itself, which may
cancel). :func:`decode_tolerance` allows ``c = 50 n``: generous for the summation growth,
yet 4-10 orders of magnitude below what a wrong decoder produces. Encodes are compared
with the product of the declared coefficients entry by entry, within
``4 (d m + 4) eps`` times the sum of the magnitudes of the terms (two summation orders of
at most d m terms, plus a complex product).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import numpy as np

from gcsim.codes.base import Decoder, GradientCode
from gcsim.codes.tracker import DecodabilityTracker, DecodeRule
from gcsim.errors import DecodeResidualError, GcsimError, InvalidInputError, NotDecodableError
from gcsim.rng import as_generator

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11; annotations only

__all__ = [
    "CHECKS",
    "DEFAULT_EXHAUSTIVE_LIMIT",
    "DEFAULT_L",
    "Check",
    "CheckSettings",
    "ContractReport",
    "check_assignment",
    "check_code",
    "check_declared_parameters",
    "check_encode",
    "check_message_length",
    "check_not_decodable",
    "check_round_trips",
    "check_stability_reporting",
    "check_tracker",
    "decode_tolerance",
    "parametrize_checks",
    "reference_messages",
    "relative_error",
    "straggler_sets",
]

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
#: Default gradient length: a multiple of no m > 1, so the padding is exercised.
DEFAULT_L = 13
#: Straggler sets are enumerated while there are at most this many.
DEFAULT_EXHAUSTIVE_LIMIT = 20_000
DEFAULT_SAMPLES = 200
DEFAULT_ORDERS = 20
#: Every worker's encode is checked up to this many workers (a sample beyond).
_MAX_WORKERS_CHECKED = 256
#: The dense B is compared with the coefficients up to this many entries.
_MAX_DENSE = 4_000_000
#: A least-squares residual this small means the rows determine the sum.
_DETERMINED = 1e-9

Seed = int | np.random.Generator | None


class CheckSettings(TypedDict, total=False):
    """The keyword arguments every check takes (all optional; see the module docstring)."""

    rng: Seed
    l: int
    exhaustive_limit: int
    samples: int
    orders: int


@dataclass(frozen=True)
class _Settings:
    """:class:`CheckSettings` with the defaults filled in."""

    rng: Seed = 0
    l: int = DEFAULT_L
    exhaustive_limit: int = DEFAULT_EXHAUSTIVE_LIMIT
    samples: int = DEFAULT_SAMPLES
    orders: int = DEFAULT_ORDERS


def _settings(settings: CheckSettings) -> _Settings:
    """The settings with their defaults; a TypeError for a name no check takes."""
    return _Settings(**settings)


# ---------------------------------------------------------------------------- helpers
def decode_tolerance(code: GradientCode, cond: float, eps: float = EPS64) -> float:
    """Largest accepted :func:`relative_error` of an exact decode: ``50 n eps max(1,
    cond)`` (see the module docstring for the justification)."""
    return 50 * code.n * eps * max(1.0, float(cond))


def relative_error(estimate: np.ndarray, partials: np.ndarray) -> float:
    """``||estimate - sum_j g_j||`` relative to the magnitude scale ``|| sum_j |g_j| ||``
    (float64)."""
    P = np.asarray(partials, dtype=np.float64)
    err = float(np.linalg.norm(np.asarray(estimate, dtype=np.float64) - P.sum(axis=0)))
    scale = float(np.linalg.norm(np.abs(P).sum(axis=0)))
    return err / scale if scale > 0 else err


def straggler_sets(
    n: int,
    s: int,
    *,
    exhaustive_limit: int = DEFAULT_EXHAUSTIVE_LIMIT,
    samples: int = DEFAULT_SAMPLES,
    rng: Seed = 0,
) -> tuple[list[tuple[int, ...]], bool]:
    """Straggler sets of size ``<= s`` to check, and whether that is all of them.

    Every set while there are at most ``exhaustive_limit``; otherwise the empty set and
    ``samples - 1`` random ones, half of size exactly ``s`` (the worst case) and half of
    a uniform size in ``0..s``.
    """
    total = sum(math.comb(n, t) for t in range(s + 1))
    if total <= exhaustive_limit:
        sets = [c for t in range(s + 1) for c in itertools.combinations(range(n), t)]
        return sets, True
    gen = as_generator(rng)
    out: list[tuple[int, ...]] = [()]
    for i in range(max(samples - 1, 0)):
        t = s if i % 2 == 0 else int(gen.integers(0, s + 1))
        out.append(tuple(sorted(int(x) for x in gen.choice(n, t, replace=False))))
    return out, False


def reference_messages(code: GradientCode, partials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The messages the declared coefficients define, computed independently of the
    code's kernels, and the entrywise sum of the magnitudes of their terms (the scale
    of their rounding error). Both have shape ``(n, message_length(l))``, float64.

    Implements ``docs/codes.md``: ``g_j`` is zero-padded and split into ``m`` blocks
    (complex codes: consecutive pairs packed into one complex number) and worker ``i``
    sends ``sum_{j in support(i), u} coefficients(i)[j, u] * g_j^(u)``.
    """
    P = np.asarray(partials, dtype=np.float64)
    k, l = P.shape
    if code.field == "complex":
        q = math.ceil(l / 2)
        padded = np.zeros((k, 2 * q))
        padded[:, :l] = P
        blocks = (padded[:, 0::2] + 1j * padded[:, 1::2])[:, None, :]
    else:
        q = math.ceil(l / code.m)
        padded = np.zeros((k, code.m * q))
        padded[:, :l] = P
        blocks = padded.reshape(k, code.m, q)
    vals = np.zeros((code.n, q), dtype=blocks.dtype)
    mags = np.zeros((code.n, q))
    for i in range(code.n):
        sup, coef = code.support(i), code.coefficients(i)
        vals[i] = np.einsum("ju,juq->q", coef, blocks[sup])
        mags[i] = np.einsum("ju,juq->q", np.abs(coef), np.abs(blocks[sup]))
    if code.field == "complex":
        msgs = np.empty((code.n, 2 * q))
        msgs[:, 0::2], msgs[:, 1::2] = vals.real, vals.imag
        return msgs, np.repeat(mags, 2, axis=1)
    return vals, mags


def _fail(code: GradientCode, what: str) -> AssertionError:
    return AssertionError(f"{code!r}: {what}")


@contextmanager
def _no_error(code: GradientCode, what: str) -> Iterator[None]:
    """Any gcsim error inside becomes an AssertionError saying what was attempted."""
    try:
        yield
    except GcsimError as exc:
        raise _fail(code, f"{what} raised {type(exc).__name__}: {exc}") from exc


def _complement(n: int, stragglers: Iterable[int]) -> np.ndarray:
    return np.setdiff1d(np.arange(n), np.asarray(list(stragglers), dtype=np.int64))


def _workers(code: GradientCode, gen: np.random.Generator) -> list[int]:
    if code.n <= _MAX_WORKERS_CHECKED:
        return list(range(code.n))
    pick = gen.choice(code.n, _MAX_WORKERS_CHECKED, replace=False)
    return sorted({0, code.n - 1, *(int(x) for x in pick)})


# ---------------------------------------------------------------------------- checks
def check_declared_parameters(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """n, k, s, m, d, exact, field and the decode rule are well formed and consistent
    (d is the largest support, ``0 <= s < n``, the rule's threshold is ``n - s``, a
    registered scheme's declared ``exact`` and ``supports_m`` match the code)."""
    _settings(settings)
    for attr in ("n", "k", "s", "m", "d"):
        v = getattr(code, attr)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise _fail(code, f"{attr} must be an int; got {v!r}")
    n, s, m = code.n, code.s, code.m
    if n < 1 or code.k < 1 or m < 1:
        raise _fail(code, f"n, k and m must be >= 1; got n={n}, k={code.k}, m={m}")
    if not 0 <= s < n:
        raise _fail(code, f"the declared s={s} must satisfy 0 <= s < n={n}")
    loads = [len(code.support(i)) for i in range(n)]
    if code.d != max(loads):
        raise _fail(code, f"d={code.d} but the largest support has {max(loads)} partitions")
    if list(code.loads) != loads:
        raise _fail(code, "loads must list len(support(i)) for every worker")
    if not isinstance(code.exact, bool):
        raise _fail(code, f"exact must be a bool; got {code.exact!r}")
    if code.field not in ("real", "complex"):
        raise _fail(code, f"field must be 'real' or 'complex'; got {code.field!r}")
    if code.field == "complex" and m != 1:
        raise _fail(code, f"a complex code packs pairs of reals and needs m=1; got m={m}")
    if not (isinstance(code.name, str) and code.name):
        raise _fail(code, "the class must set a registry name")
    if not (math.isfinite(code.residual_tol) and code.residual_tol > 0):
        raise _fail(code, f"residual_tol must be finite and > 0; got {code.residual_tol}")
    _check_rule_shape(code, code.decode_rule)
    _check_registry_entry(code)


def _check_rule_shape(code: GradientCode, rule: DecodeRule) -> None:
    n, s = code.n, code.s
    if not isinstance(rule, DecodeRule):
        raise _fail(code, f"decode_rule must be a DecodeRule; got {type(rule).__name__}")
    if rule.threshold != n - s:
        raise _fail(
            code,
            f"decode rule threshold {rule.threshold} != n - s = {n - s} "
            f"(the responders that always suffice); rule: {rule.describe()}",
        )
    if not rule.describe():
        raise _fail(code, "DecodeRule.describe() is empty")
    if rule.kind == "groups":
        assert rule.group_of is not None and rule.need is not None
        g, need = rule.group_of, rule.need
        if g.shape != (n,) or need.ndim != 1 or len(need) == 0:
            raise _fail(code, f"groups rule: group_of must have shape ({n},), need be 1-D")
        if g.min() < 0 or g.max() >= len(need):
            raise _fail(code, f"groups rule: group ids must be in 0..{len(need) - 1}")
        sizes = np.bincount(g, minlength=len(need))
        if np.any(need < 1) or np.any(need > sizes):
            raise _fail(
                code,
                f"groups rule: every group needs between 1 and its size responders; "
                f"need {need.tolist()}, sizes {sizes.tolist()}",
            )
    if rule.kind == "general" and rule.early != (n <= rule.early_up_to):
        raise _fail(
            code, f"general rule: early={rule.early} but n={n}, early_up_to={rule.early_up_to}"
        )
    if rule.kind == "count" and rule.early_checks:
        raise _fail(code, "a count rule has no early checks")


def _check_registry_entry(code: GradientCode) -> None:
    from gcsim.codes.registry import list_codes, scheme_info

    if code.name not in list_codes():
        return  # an unregistered code declares nothing more
    info = scheme_info(code.name)
    if not isinstance(code, info.cls):
        return  # a subclass reusing a registered name (e.g. a test double)
    if info.exact != code.exact:
        raise _fail(code, f"the registry declares exact={info.exact}, the code {code.exact}")
    if code.m != 1 and not info.supports_m:
        raise _fail(code, f"the registry declares supports_m=False but m={code.m}")


def check_assignment(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """Supports, coefficient blocks, ``assignment`` and ``B`` describe one assignment:
    supports are sorted distinct partition ids, coefficient blocks have shape
    ``(len(support), m)`` and are finite, ``assignment[i]`` is exactly the support, ``B``
    is zero outside it and equals the blocks inside, and every partition is held."""
    _settings(settings)
    n, k, m = code.n, code.k, code.m
    want = np.complex128 if code.field == "complex" else np.float64
    A = code.assignment
    if A.shape != (n, k) or A.dtype != bool:
        raise _fail(code, f"assignment must be a bool ({n}, {k}) array; got {A.dtype} {A.shape}")
    if A.flags.writeable:
        raise _fail(code, "assignment must be read-only")
    for i in range(n):
        sup, coef = code.support(i), code.coefficients(i)
        if sup.ndim != 1 or (len(sup) and (sup.min() < 0 or sup.max() >= k)):
            raise _fail(code, f"support({i}) = {sup.tolist()} must hold partition ids 0..{k - 1}")
        if np.any(np.diff(sup) <= 0):
            raise _fail(code, f"support({i}) = {sup.tolist()} must be sorted and distinct")
        if coef.shape != (len(sup), m) or coef.dtype != want:
            raise _fail(
                code,
                f"coefficients({i}) must be {np.dtype(want)} of shape ({len(sup)}, {m}); "
                f"got {coef.dtype} {coef.shape}",
            )
        if not np.all(np.isfinite(coef)):
            raise _fail(code, f"coefficients({i}) are not finite")
        if not np.array_equal(np.flatnonzero(A[i]), sup):
            raise _fail(code, f"assignment[{i}] != support({i})")
    held = A.any(axis=0)
    if not held.all():
        raise _fail(code, f"partitions {np.flatnonzero(~held)[:10].tolist()} are held by nobody")
    if n * k * m <= _MAX_DENSE:
        B = code.B
        if B.shape != (n, k * m):
            raise _fail(code, f"B must have shape ({n}, {k * m}); got {B.shape}")
        nonzero = np.abs(B).reshape(n, k, m).sum(axis=2) > 0
        if np.any(nonzero & ~A):
            i, j = map(int, np.argwhere(nonzero & ~A)[0])
            raise _fail(code, f"B[{i}] is non-zero on partition {j}, which worker {i} lacks")
        for i in range(n):
            cols = (code.support(i)[:, None] * m + np.arange(m)[None, :]).ravel()
            if not np.array_equal(B[i, cols], code.coefficients(i).ravel()):
                raise _fail(code, f"B[{i}] does not hold coefficients({i})")


def check_message_length(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """``message_length(l)`` is ``ceil(l / m)`` reals (``2 ceil(l / 2)`` for a complex
    code) and ``encode`` returns that many per worker: float64 for float64 partials,
    float32 for float32 ones."""
    cfg = _settings(settings)
    gen, l = as_generator(cfg.rng), cfg.l
    for length in sorted({1, 2, l, l + 1, 3 * code.m, 3 * code.m + 1}):
        want = 2 * math.ceil(length / 2) if code.field == "complex" else math.ceil(length / code.m)
        got = code.message_length(length)
        if got != want:
            raise _fail(code, f"message_length({length}) = {got}; expected {want}")
    P = gen.standard_normal((code.k, l))
    for dtype in (np.float64, np.float32):
        with _no_error(code, "encode"):
            M = code.encode(P.astype(dtype))
        if M.shape != (code.n, code.message_length(l)) or M.dtype != dtype:
            raise _fail(
                code,
                f"encode of {np.dtype(dtype)} partials (k={code.k}, l={l}) returned "
                f"{M.dtype} {M.shape}; expected {np.dtype(dtype)} "
                f"({code.n}, {code.message_length(l)})",
            )


def check_encode(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """Row i of ``encode`` depends only on worker i's support (partitions it lacks are
    poisoned with NaN), equals ``encode_worker(i, ...)`` from all partitions or only its
    own, and equals what the declared coefficients define (:func:`reference_messages`),
    in float64 and float32."""
    cfg = _settings(settings)
    gen, l = as_generator(cfg.rng), cfg.l
    P = gen.standard_normal((code.k, l))
    ref, mags = reference_messages(code, P)
    for dtype, eps in ((np.float64, EPS64), (np.float32, EPS32)):
        Pd = P.astype(dtype)
        with _no_error(code, "encode"):
            M = code.encode(Pd).astype(np.float64)
        tol = 4 * (code.d * code.m + 4) * eps * mags + np.finfo(np.float64).tiny
        bad = np.abs(M - ref) > tol
        if bad.any():
            i, c = map(int, np.argwhere(bad)[0])
            raise _fail(
                code,
                f"encode ({np.dtype(dtype)}) row {i} entry {c} is {M[i, c]!r} but its declared "
                f"coefficients give {ref[i, c]!r} (tolerance {tol[i, c]:.3g}): the messages "
                "are not what coefficients(i) define",
            )
    clean = code.encode(P)
    tol64 = 4 * (code.d * code.m + 4) * EPS64 * mags + np.finfo(np.float64).tiny
    for i in _workers(code, gen):
        poisoned = P.copy()
        poisoned[~code.assignment[i]] = np.nan
        with _no_error(code, f"encode / encode_worker for worker {i}"):
            rows = {
                "encode(partials)[i]": code.encode(poisoned)[i],
                "encode_worker(i, partials)": code.encode_worker(i, poisoned),
                "encode_worker(i, own partitions)": code.encode_worker(i, P[code.support(i)]),
            }
        for what, row in rows.items():
            if row.shape != clean[i].shape:
                raise _fail(code, f"{what} for worker {i} has shape {row.shape}")
            if not np.all(np.isfinite(row)):
                raise _fail(
                    code,
                    f"{what}: worker {i}'s message reads a partition outside its support "
                    f"{code.support(i).tolist()} (NaN placed there leaked in)",
                )
            if np.any(np.abs(row - clean[i]) > 2 * tol64[i]):
                raise _fail(code, f"{what} for worker {i} differs from encode(partials)[{i}]")


def check_round_trips(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """Every responder set of size ``>= n - s`` (all of them, or a sample; see
    :func:`straggler_sets`) is decodable and ``decode(encode(P))`` is the sum of the
    partials within :func:`decode_tolerance` of the decoder's condition number (exact
    codes; an inexact code must return a finite estimate). On a few sets also: float32
    messages within the float32 tolerance (a set that ``decode_problem`` refuses in
    float32 must raise ``DecodeResidualError`` and, with ``check=False``, still meet the
    tolerance), any order of the responders, and the generic least-squares decoder."""
    _round_trips(code, _settings(settings))


def _round_trips(code: GradientCode, cfg: _Settings) -> tuple[int, bool]:
    gen, l = as_generator(cfg.rng), cfg.l
    P = gen.standard_normal((code.k, l))
    with _no_error(code, "encode"):
        M = code.encode(P)
    sets, exhaustive = straggler_sets(
        code.n, code.s, exhaustive_limit=cfg.exhaustive_limit, samples=cfg.samples, rng=gen
    )
    for stragglers in sets:
        R = _complement(code.n, stragglers)
        if not code.is_decodable(R):
            raise _fail(
                code,
                f"is_decodable is False without stragglers {list(stragglers)}: any "
                f"n - s = {code.n - code.s} responders must decode (declared s={code.s})",
            )
        _decode_and_compare(code, R, M, P, l, f"stragglers {list(stragglers)}")
    # a few more properties on the worst-case sets
    worst = [st for st in sets if len(st) == code.s][:3] or sets[:1]
    for stragglers in worst:
        R = _complement(code.n, stragglers)
        where = f"stragglers {list(stragglers)}"
        with _no_error(code, f"decode ({where}, float32)"):
            M32 = code.encode(P.astype(np.float32))
            problem = code.decode_problem(R, np.float32)
            g32 = np.asarray(code.decode(R, M32[R], l)) if problem is None else M32[0]
        if problem is not None:  # numerically refused in float32: decode must say so
            try:
                code.decode(R, M32[R], l)
            except DecodeResidualError:
                pass
            else:
                raise _fail(
                    code,
                    f"decode of float32 messages returned although decode_problem says it "
                    f"raises ({where}): {problem}",
                )
            with _no_error(code, f"decode ({where}, float32, check=False)"):
                g32 = np.asarray(code.decode(R, M32[R], l, check=False))
        if g32.dtype != np.float32:
            raise _fail(code, f"decode of float32 messages returned {g32.dtype} ({where})")
        if code.exact:
            err, tol = relative_error(g32, P), decode_tolerance(code, code.decoder(R).cond, EPS32)
            if not err <= tol:
                raise _fail(code, f"float32 decode error {err:.3g} > tolerance {tol:.3g} ({where})")
        perm = gen.permutation(R)
        a = code.decode(R, M[R], l)
        with _no_error(code, f"decode ({where}, shuffled)"):
            b = code.decode(perm, M[perm], l)
        if code.exact and not relative_error(b, P) <= decode_tolerance(code, code.decoder(R).cond):
            raise _fail(code, f"decode depends on the order of the responders ({where})")
        if not code.exact and not np.allclose(a, b, rtol=1e-9, atol=1e-12):
            raise _fail(code, f"decode depends on the order of the responders ({where})")
        if code.exact:
            with _no_error(code, f"decoder ({where}, generic)"):
                gen_dec = code.decoder(R, method="generic")
            if not gen_dec.method.startswith("generic"):
                raise _fail(code, f"decoder(method='generic') reports method {gen_dec.method!r}")
            g = code.decode(R, M[R], l, method="generic", check=False)
            err, tol = relative_error(g, P), decode_tolerance(code, gen_dec.cond)
            if not err <= tol:
                raise _fail(
                    code,
                    f"the generic least-squares decode has error {err:.3g} > tolerance "
                    f"{tol:.3g} (cond {gen_dec.cond:.3g}, {where}): the declared "
                    "coefficients do not determine the sum",
                )
    return len(sets), exhaustive


def _decode_and_compare(
    code: GradientCode, R: np.ndarray, M: np.ndarray, P: np.ndarray, l: int, where: str
) -> Decoder:
    with _no_error(code, f"decode ({where})"):
        ghat = code.decode(R, M[R], l)
        dec: Decoder = code.decoder(R)
    if ghat.shape != (l,) or ghat.dtype != np.float64:
        raise _fail(code, f"decode returned {ghat.dtype} {ghat.shape}; expected float64 ({l},)")
    if not np.all(np.isfinite(ghat)):
        raise _fail(code, f"decode returned non-finite values ({where})")
    if code.exact:
        err, tol = relative_error(ghat, P), decode_tolerance(code, dec.cond)
        if not err <= tol:
            raise _fail(
                code,
                f"decode error {err:.3g} > tolerance {tol:.3g} = 50 n eps max(1, cond) "
                f"with cond {dec.cond:.3g} ({where}, decoder {dec.method!r})",
            )
    elif code.field == "real":
        # an estimate: it must be what the decoder matrix does to the declared messages
        ref, mags = reference_messages(code, P)
        A = np.asarray(dec.matrix, dtype=np.float64)
        want = (A @ ref[R]).reshape(-1)[:l]
        scale = (np.abs(A) @ mags[R]).reshape(-1)[:l]
        tol = 4 * (code.d * code.m + len(R) + 4) * EPS64 * scale + np.finfo(np.float64).tiny
        bad = np.abs(ghat - want) > tol
        if bad.any():
            c = int(np.argmax(bad))
            raise _fail(
                code,
                f"decode entry {c} is {ghat[c]!r} but decoder(R).matrix applied to the "
                f"messages the declared coefficients define gives {want[c]!r} ({where})",
            )
    return dec


def check_not_decodable(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """Arbitrary responder sets (every subset when ``2^n <= exhaustive_limit / 4``, else
    ``samples`` random ones of every size): a set ``is_decodable`` rejects makes
    ``decoder`` and ``decode`` raise :class:`~gcsim.errors.NotDecodableError` with a
    reason, and (exact codes) its coefficients must not determine the sum (least squares
    leaves a residual above 1e-9: ``is_decodable`` is not too pessimistic); a set it
    accepts decodes (within tolerance for an exact code) and stays
    decodable when a worker is added (monotone); the empty set never decodes."""
    _not_decodable(code, _settings(settings))


def _not_decodable(code: GradientCode, cfg: _Settings) -> int:
    gen, l, samples = as_generator(cfg.rng), cfg.l, cfg.samples
    n = code.n
    P = gen.standard_normal((code.k, l))
    M = code.encode(P)
    if 2**n <= cfg.exhaustive_limit // 4:
        sets: list[tuple[int, ...]] = [
            c for t in range(n + 1) for c in itertools.combinations(range(n), t)
        ]
    else:
        sets = [()]
        for _ in range(max(samples - 1, 0)):
            t = int(gen.integers(0, n + 1))
            sets.append(tuple(sorted(int(x) for x in gen.choice(n, t, replace=False))))
    round_trips = rejected = 0
    dense = np.asarray(code.B) if code.exact and n * code.k * code.m <= _MAX_DENSE else None
    for R in sets:
        where = f"responders {list(R)}"
        ok = code.is_decodable(R)
        if not isinstance(ok, (bool, np.bool_)):
            raise _fail(code, f"is_decodable must return a bool; got {ok!r}")
        if not R and ok:
            raise _fail(code, "the empty responder set is_decodable")
        if not ok:
            rejected += 1
            # decode goes through decoder: checked on the first `samples` rejected sets
            for what in ("decoder", "decode") if rejected <= samples else ("decoder",):
                try:
                    if what == "decoder":
                        code.decoder(R)
                    else:
                        code.decode(R, M[list(R)], l)
                except NotDecodableError as exc:
                    if not str(exc).strip():
                        raise _fail(
                            code, f"{what}: NotDecodableError without a reason ({where})"
                        ) from exc
                except Exception as exc:
                    raise _fail(
                        code,
                        f"{what} of a set is_decodable rejects raised {type(exc).__name__}: "
                        f"{exc} ({where}); expected NotDecodableError with the reason",
                    ) from exc
                else:
                    raise _fail(
                        code,
                        f"{what} succeeded on a set is_decodable rejects ({where}); "
                        "expected NotDecodableError",
                    )
            if dense is not None and R:
                resid = _least_squares_residual(dense, R, code.m)
                if resid <= _DETERMINED:
                    raise _fail(
                        code,
                        f"is_decodable rejects {where}, but their coefficients determine the "
                        f"sum (least-squares residual {resid:.3g}): is_decodable is too "
                        "pessimistic",
                    )
            continue
        missing = sorted(set(range(n)) - set(R))
        if missing:
            extra = int(gen.choice(missing))
            if not code.is_decodable(sorted({*R, extra})):
                raise _fail(code, f"is_decodable is not monotone: {where} + worker {extra}")
        if round_trips < samples:
            round_trips += 1
            _decode_and_compare(code, np.asarray(R), M, P, l, where)
        else:
            with _no_error(code, f"decoder ({where})"):
                code.decoder(R)
    return len(sets)


def _least_squares_residual(B: np.ndarray, R: Sequence[int], m: int) -> float:
    """``max |A B_R - [I..I]|`` for the least-squares ``A``: ~eps cond when the rows of
    ``R`` determine the sum, bounded away from 0 (by the distance of the target from
    their span) when they do not."""
    BR = B[list(R)]
    T = np.zeros((m, B.shape[1]))
    for u in range(m):
        T[u, u::m] = 1.0
    X = np.linalg.lstsq(BR.T, T.T.astype(BR.dtype), rcond=None)[0]
    return float(np.abs(X.T @ BR - T).max())


def check_tracker(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """The tracker built from ``code.decode_rule`` agrees with ``is_decodable`` on every
    prefix of ``orders`` random arrival orders. A ``general`` rule without early checks
    (n above ``early_up_to``) must say so and be the count rule at ``n - s`` (and any
    ``n - s`` responders must indeed decode). An inexact code's rule says when a round
    ends (its ``count`` rule at ``n - s``), while ``is_decodable`` says whether an
    estimate exists at all: the tracker must be the count rule, and ``is_decodable``
    true wherever the tracker is (it may also be true earlier). ``reset`` forgets every
    responder."""
    _tracker(code, _settings(settings))


def _tracker(code: GradientCode, cfg: _Settings) -> int:
    gen, orders = as_generator(cfg.rng), cfg.orders
    rule = code.decode_rule
    _check_rule_shape(code, rule)
    counting = rule.kind == "general" and not rule.early_checks
    estimating = not code.exact and rule.kind == "count"
    if counting and (rule.early or code.n <= rule.early_up_to):
        raise _fail(code, f"general rule without early checks at n={code.n}: {rule.describe()}")
    if counting and "count rule" not in rule.describe():
        raise _fail(code, f"a general rule without early checks must say it counts: {rule}")
    tracker = DecodabilityTracker(code, rule)
    if code.tracker().rule is not rule:
        raise _fail(code, "code.tracker() must use code.decode_rule")
    for _ in range(orders):
        order = [int(x) for x in gen.permutation(code.n)]
        tracker.reset()
        if tracker.decodable or tracker.responders:
            raise _fail(code, "tracker.reset() must forget every responder")
        before = False
        for t, worker in enumerate(order):
            now = tracker.add(worker)
            prefix = order[: t + 1]
            if counting or estimating:
                want = t + 1 >= rule.threshold
                if want and (code.exact or estimating) and not code.is_decodable(prefix):
                    raise _fail(code, f"{t + 1} >= n - s responders do not decode: {prefix}")
            else:
                want = bool(code.is_decodable(prefix))
            if now != want:
                raise _fail(
                    code,
                    f"tracker says {now} but the rule ({rule.describe()}) means {want} after "
                    f"arrivals {prefix}" + ("" if counting or estimating else " (is_decodable)"),
                )
            if before and not now:
                raise _fail(code, f"tracker stopped being decodable after {prefix}")
            before = now
        if tracker.responders != order:
            raise _fail(code, "tracker.responders must list the arrivals in order")
    return orders


def check_stability_reporting(code: GradientCode, **settings: Unpack[CheckSettings]) -> None:
    """For decodable sets (all workers and sampled ``n - s`` sets) the decoder reports
    honest numbers: ``responders`` sorted, ``matrix`` of shape ``(m, |R|)`` zero outside
    ``rows``, ``cond >= 1`` and ``l1_amplification`` equal to ``max_u sum_r |A[u, r]|``,
    ``residual`` equal to ``max |A B_R - [I..I]|`` and ``amplification`` to
    ``max |A| |B_R|``, recomputed from the dense rows; all finite, and the residual
    within ``residual_tol`` for an exact code."""
    cfg = _settings(settings)
    gen = as_generator(cfg.rng)
    n, m = code.n, code.m
    sets = [np.arange(n)]
    for _ in range(min(cfg.samples, 5)):
        sets.append(np.sort(gen.choice(n, n - code.s, replace=False)))
    T = np.zeros((m, code.k * m))
    for u in range(m):
        T[u, u::m] = 1.0
    for R in sets:
        where = f"responders {R.tolist()}"
        with _no_error(code, f"decoder ({where})"):
            dec = code.decoder(R)
        if dec.responders != tuple(int(x) for x in R):
            raise _fail(code, f"decoder.responders {dec.responders} != sorted set ({where})")
        A = np.asarray(dec.matrix)
        if A.shape != (m, len(R)):
            raise _fail(code, f"decoder.matrix has shape {A.shape}; expected ({m}, {len(R)})")
        unused = np.setdiff1d(np.arange(len(R)), dec.rows)
        if np.any(A[:, unused] != 0):
            raise _fail(code, f"decoder.matrix is non-zero outside decoder.rows ({where})")
        for attr in ("cond", "l1_amplification", "residual", "amplification"):
            v = getattr(dec, attr)
            if not (isinstance(v, float) and math.isfinite(v) and v >= 0):
                raise _fail(code, f"decoder.{attr} = {v!r} must be a finite float ({where})")
        if dec.cond < 1 - 1e-9:
            raise _fail(code, f"decoder.cond = {dec.cond} < 1 ({where})")
        l1 = float(np.abs(A).sum(axis=1).max())
        if not math.isclose(dec.l1_amplification, l1, rel_tol=1e-12, abs_tol=1e-300):
            raise _fail(code, f"decoder.l1_amplification {dec.l1_amplification} != {l1}")
        if n * code.k * m <= _MAX_DENSE:
            BR = np.asarray(code.B)[R]
            resid = float(np.abs(A @ BR - T).max())
            amp = float((np.abs(A) @ np.abs(BR)).max())
            if not math.isclose(dec.amplification, amp, rel_tol=1e-9, abs_tol=1e-300):
                raise _fail(
                    code, f"decoder.amplification {dec.amplification} != max |A| |B_R| = {amp}"
                )
            slack = 16 * EPS64 * amp * max(code.d, 1) + 1e-300
            if abs(resid - dec.residual) > slack + 1e-12 * resid:
                raise _fail(
                    code,
                    f"decoder.residual {dec.residual:.3g} but max |A B_R - [I..I]| = "
                    f"{resid:.3g} ({where})",
                )
        if code.exact and not dec.residual <= code.residual_tol:
            raise _fail(
                code,
                f"decoder residual {dec.residual:.3g} > residual_tol {code.residual_tol:.3g} "
                f"for a decodable set of an exact code ({where}, cond {dec.cond:.3g})",
            )


# ---------------------------------------------------------------------------- running
class Check(NamedTuple):
    """One named contract check; call it like the function: ``check(code, **settings)``."""

    name: str
    func: Callable[..., None]

    def __call__(self, code: GradientCode, **settings: Any) -> None:
        self.func(code, **settings)


#: Every contract check, in the order :func:`check_code` runs them.
CHECKS: tuple[Check, ...] = (
    Check("declared_parameters", check_declared_parameters),
    Check("assignment", check_assignment),
    Check("message_length", check_message_length),
    Check("encode", check_encode),
    Check("round_trips", check_round_trips),
    Check("not_decodable", check_not_decodable),
    Check("tracker", check_tracker),
    Check("stability_reporting", check_stability_reporting),
)


def parametrize_checks(argname: str = "check") -> Any:
    """``pytest.mark.parametrize(argname, CHECKS)`` with the checks' names as ids."""
    import pytest

    return pytest.mark.parametrize(argname, CHECKS, ids=[c.name for c in CHECKS])


@dataclass(frozen=True)
class ContractReport:
    """What :func:`check_code` checked (it raises on the first breach); a count whose
    check was skipped stays at its default."""

    code: str
    checks: tuple[str, ...] = ()
    straggler_sets: int = 0
    exhaustive: bool = True
    responder_sets: int = 0
    arrival_orders: int = 0


def check_code(
    code: GradientCode, *, skip: Sequence[str] = (), **settings: Unpack[CheckSettings]
) -> ContractReport:
    """Run every contract check (:data:`CHECKS`) on ``code``.

    Parameters
    ----------
    code : GradientCode
        Any code instance (built-in, registered or not).
    rng : int, Generator or None
        Seed of the random partials, sets and orders (``None``: seed 0).
    exhaustive_limit : int
        Enumerate every straggler set while there are at most this many (and every
        responder subset while ``2^n <= exhaustive_limit / 4``); sample otherwise.
    l : int
        Gradient length.
    samples, orders : int
        Random sets when not exhaustive; random arrival orders for the tracker.
    skip : sequence of str
        Names of checks not to run.

    Raises
    ------
    AssertionError
        At the first breach, with a message naming the code and the failing case.
    """
    if not isinstance(code, GradientCode):
        raise InvalidInputError(f"check_code takes a GradientCode; got {type(code).__name__}")
    unknown = set(skip) - {c.name for c in CHECKS}
    if unknown:
        raise InvalidInputError(
            f"unknown check(s) {sorted(unknown)}; known: {[c.name for c in CHECKS]}"
        )
    # one random stream shared by every check (None, the default, is seed 0)
    shared: CheckSettings = {**settings, "rng": as_generator(settings.get("rng"))}
    cfg = _settings(shared)  # a TypeError for an unknown name, before any check runs
    report = ContractReport(code=repr(code))
    for check in CHECKS:
        if check.name in skip:
            continue
        if check.name == "round_trips":
            n_sets, exhaustive = _round_trips(code, cfg)
            report = replace(report, straggler_sets=n_sets, exhaustive=exhaustive)
        elif check.name == "not_decodable":
            report = replace(report, responder_sets=_not_decodable(code, cfg))
        elif check.name == "tracker":
            report = replace(report, arrival_orders=_tracker(code, cfg))
        else:
            check(code, **shared)
        report = replace(report, checks=(*report.checks, check.name))
    return report
