"""Cyclic MDS gradient code of Raviv, Tamo, Tandon and Dimakis (ICML 2018).

The code is the cyclic [n, n-s] code whose non-zero spectrum is a run of n-s
consecutive frequencies containing 0 (so it contains the all-ones vector and, by the BCH
bound, is MDS). Row i of B is the generator polynomial's coefficient vector shifted by
i: support ``{i, ..., i+s} mod n``, load d = s+1.

* When n-s is odd, the frequency run is ``{-t..t}`` (t = (n-s-1)/2), closed under
  conjugation, and the generator polynomial has real coefficients: a *real* cyclic MDS
  code, real messages, real arithmetic.
* When n-s is even no real cyclic MDS code contains 1; the run ``{-t..t+1}`` gives a
  complex code over the roots of unity.  The real gradient is then packed into a complex
  vector of half the length, so a message is still l reals and the decoded result is real.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes._cyclic import CyclicCode
from gcsim.codes._validate import ValidatedBuild, check_full_length, check_options
from gcsim.codes.info import Example, SchemeInfo, slot_style
from gcsim.errors import InfeasibleParametersError, InvalidInputError, excerpt


def _frequencies(n: int, s: int, field: str) -> np.ndarray:
    # a run of L = n - s consecutive frequencies centred on 0: it contains 0 (so the code
    # holds the all-ones vector) and keeps the zeros of the generator polynomial far from
    # 1, which keeps the decoding coefficients small (|g(1)| large).
    L = n - s
    t = (L - 1) // 2
    return np.arange(-t, L - t)


class CyclicMDSCode(CyclicCode, ValidatedBuild):
    """Raviv et al. cyclic MDS code (see module docstring)."""

    name = "cyclic-mds"
    summary = "Raviv et al. cyclic MDS over the roots of unity (real when n-s is odd)"
    constraints = "m = 1, 0 <= s < n; field='real' needs n-s odd"

    def __init__(self, n: int, s: int, field: str = "auto", *, cache_size: int = 1024) -> None:
        if field == "auto":
            field = "real" if (n - s) % 2 == 1 else "complex"
        alpha = np.exp(2j * np.pi / n)
        nz = _frequencies(n, s, field)
        zeros = np.setdiff1d(np.arange(n), np.mod(nz, n))
        g = np.poly(alpha**zeros)[::-1] if len(zeros) else np.ones(1, dtype=complex)
        g = g / g[0]  # ascending coefficients, degree s, normalised to g_0 = 1
        if field == "real":
            g = g.real
        self._g = g
        self._nz = nz
        self._alpha = alpha
        super().__init__(
            n,
            s,
            1,
            [g[:, None]] * n,  # the same generator coefficients, shifted by i
            field="complex" if field == "complex" else "real",
            cache_size=cache_size,
            params={"field": field},
        )

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        """Check (n, s, m) and the options; pops ``field`` from ``options``."""
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "field"])
        field = options.pop("field", "auto")
        if field not in ("auto", "real", "complex"):
            raise InvalidInputError(
                f"cyclic-mds: field must be 'auto', 'real' or 'complex'; got {excerpt(field)}"
            )
        if field == "real" and (n - s) % 2 == 0:
            raise InfeasibleParametersError(
                f"cyclic-mds over the reals needs n-s odd; got n={n}, s={s} "
                f"(feasible s: {s - 1 if s > 0 else s + 1}, {s + 1} if < n; or field='complex')"
            )
        return {"n": n, "s": s, "field": field}

    @classmethod
    def _effective(cls, args: dict[str, Any]) -> tuple[int, int]:
        return args["s"], args["s"] + 1

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str] | None:
        L = self.n - self.s
        if len(R) < L:
            return None  # a special smaller set: fall back to least squares
        F = np.asarray(R[:L])
        # a(x) = sum_{i in F} a_i x^i must satisfy a(alpha^t) c(alpha^t) = n [t == 0]
        # for every non-zero frequency t: a square Vandermonde system on the unit circle.
        M = self._alpha ** np.outer(self._nz, F)
        g_at_1 = complex(np.sum(self._g))
        rhs = np.where(self._nz == 0, self.n / g_at_1, 0.0).astype(complex)
        a = np.linalg.solve(M, rhs)
        A = np.zeros((1, len(R)), dtype=complex)
        A[0, :L] = a
        if self.field == "real":
            A = A.real
        return A, float(np.linalg.cond(M)), "structured: Vandermonde solve on unit circle"


INFO = SchemeInfo(
    cls=CyclicMDSCode,
    display_name="Cyclic MDS (Raviv et al.)",
    supports_m=False,
    exact=True,
    **slot_style(4),
    options_help="field='auto' (default) | 'real' (needs n-s odd) | 'complex'; cache_size",
    examples=(Example(12, 2), Example(12, 3)),
)
