"""Approximate gradient code from a symmetric block design, after Kadhe, Koyluoglu and
Ramchandran ("Gradient coding based on block designs for mitigating adversarial
stragglers", ISIT 2019).

A symmetric ``(v, r, lambda)`` balanced incomplete block design has v points and v blocks
of r points each, and any two blocks share exactly lambda points. Here points are the
k = n data partitions and block i is what worker i computes; a worker sends the plain
sum of its r partial gradients (gcsim stores ``B`` as the incidence matrix over r, the
mean, so that its columns sum to 1 as for the other approximate codes; the weights
below are those of plain sums, the decoder matrix multiplies them by r). Whatever set F
of workers responds, the rows ``B_F`` of the incidence matrix (r ones each) satisfy
``B_F B_F^T = (r - lambda) I + lambda J``, so the least-squares decoder is the same
constant for every responder:

    a_F = r / (r + lambda (|F| - 1)),

and its squared coefficient error ``||a_F 1^T B_F - 1||^2`` (the squared distance of
the decoded combination of partitions from the all-ones vector) is

    err(|F|) = k - r^2 |F| / (r + lambda (|F| - 1)),

a function of ``|F|`` only: an adversary who chooses WHICH s workers straggle can do no
worse than a random choice. (Expanding: ``||c y - 1||^2 = c^2 sum y_j^2 - 2 c sum y_j +
k`` with ``y = B_F^T 1`` the coverage of each partition, ``sum y_j = r |F|`` and
``sum y_j^2 = 1^T B_F B_F^T 1 = |F| (r + lambda (|F| - 1))``; minimising over c gives
both formulas.) The ``one-step`` decoder instead scales the plain sum so that the
coefficients average one, ``c = k / (r |F|)``, with error
``k (k (r + lambda (|F| - 1)) / (r^2 |F|) - 1)``, again a function of ``|F|`` only.

Designs (every one built exactly, in integer arithmetic):

* ``projective``: the lines of the projective plane PG(2, q), q a prime power (GF(q)
  built from an irreducible polynomial): ``n = q^2 + q + 1``, ``r = q + 1``,
  ``lambda = 1`` (q = 2: the Fano plane, n = 7; q = 4: n = 21);
* ``paley``: the quadratic residues mod a prime q = 3 (mod 4) and their translates (a
  Paley difference set): ``n = q``, ``r = (q - 1) / 2``, ``lambda = (q - 3) / 4``;
* ``hadamard``: the +1 entries of the Sylvester Hadamard matrix of order n + 1 off its
  first row and column (the hyperplanes of PG(k - 1, 2)): ``n = 2^k - 1``,
  ``r = (n - 1) / 2``, ``lambda = (n - 3) / 4`` (n = 7 is again the Fano plane);
* ``complement=True`` takes every block's complement, a symmetric
  ``(v, v - r, v - 2 r + lambda)`` design (a larger load, a smaller error).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gcsim.codes._approx import ApproximateCode, check_decoder
from gcsim.codes._validate import check_full_length, check_options, fmt_values, nearest
from gcsim.codes.info import Example, SchemeInfo
from gcsim.errors import InfeasibleParametersError, InvalidInputError, did_you_mean, excerpt

DESIGNS = ("auto", "projective", "paley", "hadamard")
#: Largest q of a projective plane (n = q^2 + q + 1 <= 4161; built in about 0.6 s).
MAX_Q = 64
#: Largest n the error-message search for feasible sizes looks at.
_SEARCH = 10_000


def _is_prime(q: int) -> bool:
    if q < 2:
        return False
    return all(q % p for p in range(2, math.isqrt(q) + 1))


def prime_power(q: int) -> tuple[int, int] | None:
    """``(p, e)`` with ``q = p^e``, p prime, e >= 1; None when q is no prime power."""
    if q < 2:
        return None
    p = next(d for d in range(2, q + 1) if q % d == 0)  # the least prime factor
    e, r = 0, q
    while r % p == 0:
        r //= p
        e += 1
    return (p, e) if r == 1 else None


def projective_q(n: int) -> int | None:
    """The prime power q with ``q^2 + q + 1 = n`` (at most :data:`MAX_Q`), or None."""
    q = (math.isqrt(4 * n - 3) - 1) // 2 if n >= 1 else 0
    ok = q * q + q + 1 == n and q <= MAX_Q and prime_power(q) is not None
    return q if ok else None


def _poly_mod(a: list[int], f: list[int], p: int) -> list[int]:
    """``a mod f`` over GF(p); coefficient lists, lowest degree first, f monic."""
    a = a[:]
    while len(a) >= len(f):
        c = a[-1]
        if c:
            shift = len(a) - len(f)
            for i, fi in enumerate(f):
                a[shift + i] = (a[shift + i] - c * fi) % p
        a.pop()
    return a


def _irreducible(p: int, e: int) -> list[int]:
    """The first monic irreducible polynomial of degree e over GF(p) (trial division by
    every monic polynomial of degree 1..e/2)."""
    for code in range(p**e):
        f = [(code // p**i) % p for i in range(e)] + [1]
        if f[0] == 0 and e > 1:
            continue  # divisible by x
        divisors = (
            [(c // p**i) % p for i in range(d)] + [1]
            for d in range(1, e // 2 + 1)
            for c in range(p**d)
        )
        if all(any(_poly_mod(f, g, p)) for g in divisors):
            return f
    raise AssertionError("unreachable: irreducible polynomials exist in every degree")


def gf_tables(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Addition and multiplication tables (q x q) of GF(q), q a prime power; element x is
    the polynomial whose coefficients are the base-p digits of x (0 and 1 are 0 and 1)."""
    pe = prime_power(q)
    if pe is None:
        raise AssertionError("internal: GF(q) needs a prime power q")
    p, e = pe
    x = np.arange(q)
    digits = np.array([(x // p**i) % p for i in range(e)]).T  # (q, e)
    weights = p ** np.arange(e)
    add = (((digits[:, None, :] + digits[None, :, :]) % p) @ weights).astype(np.int32)
    f = _irreducible(p, e)
    mul = np.zeros((q, q), dtype=np.int32)
    for a in range(q):
        for b in range(a, q):
            prod = [0] * (2 * e - 1)
            for i in range(e):
                for j in range(e):
                    prod[i + j] += int(digits[a, i]) * int(digits[b, j])
            r = _poly_mod([c % p for c in prod], f, p) if e > 1 else [prod[0] % p]
            mul[a, b] = mul[b, a] = sum(int(c) * p**i for i, c in enumerate(r))
    return add, mul


def paley_ok(n: int) -> bool:
    """Whether n is a prime = 3 (mod 4) with a non-trivial Paley design (n >= 7)."""
    return n >= 7 and n % 4 == 3 and _is_prime(n)


def hadamard_ok(n: int) -> bool:
    """Whether ``n = 2^k - 1`` with k >= 3 (a Sylvester Hadamard design)."""
    return n >= 7 and (n + 1) & n == 0


def hadamard_design(n: int) -> list[np.ndarray]:
    """Blocks ``{j in 1..n : popcount(i & j) even}`` for i = 1..n, n = 2^k - 1: the +1
    entries off the first row and column of the Sylvester Hadamard matrix of order n + 1
    (the hyperplanes of PG(k - 1, 2)), a symmetric ``(n, (n-1)/2, (n-3)/4)`` design."""
    ids = np.arange(1, n + 1)
    par = np.array([bin(x).count("1") % 2 for x in range(n + 1)])
    return [ids[par[i & ids] == 0] - 1 for i in ids]


def projective_plane(q: int) -> list[np.ndarray]:
    """Blocks (lines) of PG(2, q), q a prime power: lists of point ids, n = q^2 + q + 1."""
    pts = [(1, a, b) for a in range(q) for b in range(q)]
    pts += [(0, 1, b) for b in range(q)]
    pts += [(0, 0, 1)]
    P = np.array(pts, dtype=np.int64)  # (n, 3): a normalised representative per point
    add, mul = gf_tables(q)
    # lines have the same normalised coordinates; point p lies on line L iff p . L = 0
    out = []
    for L in P:
        dot = add[add[mul[P[:, 0], L[0]], mul[P[:, 1], L[1]]], mul[P[:, 2], L[2]]]
        out.append(np.flatnonzero(dot == 0))
    return out


def paley_design(q: int) -> list[np.ndarray]:
    """Blocks ``D + i (mod q)`` with D the non-zero quadratic residues mod q."""
    D = np.unique([(x * x) % q for x in range(1, q)])
    return [np.sort((D + i) % q) for i in range(q)]


def design_parameters(n: int, design: str, complement: bool) -> tuple[str, int, int]:
    """(design actually used, r, lambda) for n workers; raises when none exists."""
    q = projective_q(n)
    if design == "auto":
        design = (
            "projective"
            if q is not None
            else ("paley" if paley_ok(n) else ("hadamard" if hadamard_ok(n) else ""))
        )
    if design == "projective" and q is not None:
        r, lam = q + 1, 1
    elif design in ("paley", "hadamard") and (paley_ok(n) if design == "paley" else hadamard_ok(n)):
        r, lam = (n - 1) // 2, (n - 3) // 4
    else:
        proj = [t * t + t + 1 for t in range(2, MAX_Q + 1) if prime_power(t)]
        pal = [p for p in range(7, _SEARCH) if paley_ok(p)]
        had = [2**k - 1 for k in range(3, 16)]
        want = {
            "auto": proj + pal + had,
            "projective": proj,
            "paley": pal,
            "hadamard": had,
        }[design or "auto"]
        what = {
            "auto": "a projective plane (n = q^2+q+1, q a prime power), a Paley design "
            "(n prime, "
            "n = 3 mod 4) or a Hadamard design (n = 2^k - 1)",
            "projective": "a projective plane: n = q^2+q+1 with q a prime power",
            "paley": "a Paley design: n a prime with n = 3 (mod 4), n >= 7",
            "hadamard": "a Sylvester Hadamard design: n = 2^k - 1 with k >= 3",
        }[design or "auto"]
        raise InfeasibleParametersError(
            f"bibd needs n workers to form {what}; got n={n} "
            f"(nearest feasible n: {fmt_values(nearest(want, n))}; projective: "
            f"{fmt_values(proj[:5], 5)}; paley: {fmt_values(pal[:6], 6)}; hadamard: "
            f"{fmt_values(had[:4], 4)})"
        )
    if complement:
        r, lam = n - r, n - 2 * r + lam
    return design, r, lam


def squared_error(k: int, r: int, lam: int, f: int, decoder: str = "optimal") -> float:
    """Closed-form squared coefficient error of a responder set of size ``f`` (see the
    module docstring); ``k`` for the empty set."""
    if f <= 0:
        return float(k)
    g = r + lam * (f - 1)
    if decoder == "optimal":
        return float(k - r * r * f / g)
    return float(k * (k * g / (r * r * f) - 1))  # one-step: the plain sum times k / (r f)


class BlockDesignCode(ApproximateCode):
    """Symmetric-BIBD gradient code (inexact; see the module docstring).

    Worker i holds block i and sends the mean of its r partial gradients (coefficients
    ``1 / r``, so every column of B sums to 1, as the approximate codes' one-step
    decoder assumes). Any non-empty responder set gives an estimate; the round ends by
    default at ``n - s`` responders (the count rule). Decoders: ``optimal`` (default,
    the least-squares one, here the closed-form constant ``r^2 / (r + lambda (|F| - 1))``
    per responder, no solve) or ``one-step`` (``n / |F|`` per responder: the plain sum
    normalised). :meth:`squared_error` gives the closed form for a set size; the root
    mean square :meth:`coefficient_error` of every set of that size is
    ``sqrt(squared_error / k)``.
    """

    name = "bibd"
    summary = "Kadhe et al. symmetric block design: error set by the straggler count (inexact)"
    constraints = (
        "m = 1, 0 <= s < n; n = q^2+q+1 with q a prime power (projective plane), n prime = 3 "
        "mod 4 (Paley) or n = 2^k - 1 (Hadamard)"
    )

    def __init__(
        self,
        n: int,
        s: int,
        *,
        design: str = "auto",
        complement: bool = False,
        decoder: str = "optimal",
        cache_size: int = 1024,
    ) -> None:
        used, r, lam = design_parameters(n, design, complement)
        if used == "projective":
            q = projective_q(n)
            assert q is not None
            blocks = projective_plane(q)
        elif used == "paley":
            blocks = paley_design(n)
        else:
            blocks = hadamard_design(n)
        if complement:
            blocks = [np.setdiff1d(np.arange(n), b) for b in blocks]
        self._r, self._lam = r, lam
        super().__init__(
            n=n,
            s=s,
            supports=blocks,
            coefficients=[np.full((len(b), 1), 1.0 / r) for b in blocks],
            decoder=decoder,
            cache_size=cache_size,
            params={"design": used, "complement": complement},
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> BlockDesignCode:
        """See :meth:`GradientCode.build` (no randomness: ``rng`` is unused)."""
        args = cls._validate(n, s, m, options)
        return cls(**args, **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        args = cls._validate(n, s, m, options)
        _, r, _ = design_parameters(args["n"], args["design"], args["complement"])
        return args["s"], r

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "complement", "decoder", "design"])
        design = options.pop("design", "auto")
        if design not in DESIGNS:
            raise InvalidInputError(
                f"bibd: design must be one of {', '.join(DESIGNS)}; got {excerpt(design)}"
                f"{did_you_mean(str(design), DESIGNS)}"
            )
        complement = options.pop("complement", False)
        if not isinstance(complement, (bool, np.bool_)):
            raise InvalidInputError(
                f"bibd: complement must be true or false; got {excerpt(complement)}"
            )
        decoder = check_decoder(cls.name, options.pop("decoder", "optimal"))
        _, r, _ = design_parameters(n, design, bool(complement))
        if r < 1 or r >= n:
            raise InfeasibleParametersError(
                f"bibd: the complement of this design has blocks of {r} of the n={n} "
                "partitions; use complement=false"
            )
        return {
            "n": n,
            "s": s,
            "design": design,
            "complement": bool(complement),
            "decoder": decoder,
        }

    # ------------------------------------------------------------------ properties
    @property
    def r(self) -> int:
        """Block size: partitions per worker (and workers per partition)."""
        return self._r

    @property
    def lam(self) -> int:
        """lambda: partitions any two workers share."""
        return self._lam

    def squared_error(self, responders: int) -> float:
        """Closed-form squared coefficient error ``||B_F^T a - 1||^2`` of a set of
        ``responders`` workers (see the module docstring); :meth:`coefficient_error` of
        any set of that size is ``sqrt(squared_error / k)``."""
        return squared_error(self.k, self._r, self._lam, int(responders), self.decoder_kind)

    # ------------------------------------------------------------------ decoding
    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        if self.decoder_kind != "optimal":
            return super()._structured_decoder(R)
        f, r = len(R), self._r
        c = r * r / (r + self._lam * (f - 1))  # r / (r + lambda (f - 1)) on plain sums
        return (
            np.full((1, f), c),
            1.0,
            "structured: constant least-squares weight r^2 / (r + lambda (|F| - 1))",
        )


INFO = SchemeInfo(
    cls=BlockDesignCode,
    display_name="Block-design code (Kadhe et al., inexact)",
    supports_m=False,
    exact=False,
    color="#999933",
    marker="H",
    options_help=(
        "design=auto (default) | projective | paley | hadamard; complement=false | true; "
        "decoder=optimal (least squares, closed form; default) | one-step; cache_size"
    ),
    examples=(
        Example(7, 1),
        Example(13, 2, 1, {"design": "projective"}),
        Example(11, 2, 1, {"design": "paley", "decoder": "one-step"}),
    ),
)
