"""Decodability and numerical-stability check of a gradient code.

For every straggler set of size <= s (exhaustively while there are at most
``max_exhaustive`` of them, otherwise ``samples`` random sets of size exactly s, the
worst case), check that the responders are decodable, decode real messages and compare
with the exactly computed float64 gradient sum, in float64 and in float32.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gcsim.codes.base import GradientCode
from gcsim.errors import DecodeResidualError, InvalidInputError, NotDecodableError
from gcsim.rng import as_generator

__all__ = ["CheckResult", "check_code", "count_sets", "straggler_sets"]


def _count_sets(n: int, s: int) -> int:
    return sum(math.comb(n, t) for t in range(s + 1))


def count_sets(n: int, s: int, *, max_exhaustive: int = 20_000, samples: int = 200) -> int:
    """How many straggler sets :func:`straggler_sets` gives (and :func:`check_code`
    checks) with these settings."""
    total = _count_sets(n, s)
    return total if total <= max_exhaustive else samples


def straggler_sets(
    n: int,
    s: int,
    *,
    max_exhaustive: int = 20_000,
    samples: int = 200,
    rng: Any = None,
) -> tuple[Iterator[tuple[int, ...]], bool]:
    """Straggler sets to check: all of size <= s when there are at most
    ``max_exhaustive``, else ``samples`` random sets of size exactly s.
    Returns (iterator, exhaustive)."""
    if _count_sets(n, s) <= max_exhaustive:
        it = itertools.chain.from_iterable(
            itertools.combinations(range(n), t) for t in range(s + 1)
        )
        return it, True
    gen = as_generator(rng)

    def sampled() -> Iterator[tuple[int, ...]]:
        for _ in range(samples):
            yield tuple(sorted(int(x) for x in gen.choice(n, s, replace=False)))

    return sampled(), False


@dataclass
class CheckResult:
    """Outcome of :func:`check_code` (all errors are relative: ||g_hat - g|| / ||g||)."""

    scheme: str
    n: int
    s: int
    m: int
    d: int
    exact: bool
    sets_checked: int
    exhaustive: bool
    all_decodable: bool
    failures: int
    worst_cond: float
    worst_l1_amplification: float
    worst_rel_error_f64: float
    worst_rel_error_f32: float
    median_decode_s: float
    median_build_s: float
    first_failure: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_code(
    code: GradientCode,
    *,
    l: int = 64,
    max_exhaustive: int = 20_000,
    samples: int = 200,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CheckResult:
    """Check decodability and measure stability over straggler sets (see module doc).

    A set that should decode but does not, or whose float64 decode has a relative error
    above 1e-6 for an exact code, counts as a failure (the first is described).
    ``progress(done, total)`` is called after each straggler set (e.g. to drive a
    progress bar; :func:`count_sets` gives the total beforehand).
    """
    if not isinstance(l, int) or l < 1:
        raise InvalidInputError(f"l must be a positive integer; got {l!r}")
    rng = as_generator(seed)
    P = rng.standard_normal((code.k, l))
    g = P.sum(axis=0)
    gnorm = float(np.linalg.norm(g))
    M64 = code.encode(P)
    M32 = code.encode(P.astype(np.float32))
    sets, exhaustive = straggler_sets(
        code.n, code.s, max_exhaustive=max_exhaustive, samples=samples, rng=rng
    )
    n_checked = failures = 0
    first_failure = ""
    worst_cond = worst_l1 = worst64 = worst32 = 0.0
    t_dec: list[float] = []
    t_build: list[float] = []
    everyone = np.arange(code.n)
    total = count_sets(code.n, code.s, max_exhaustive=max_exhaustive, samples=samples)
    for stragglers in sets:
        if progress is not None and n_checked:
            progress(n_checked, total)
        n_checked += 1
        R = np.setdiff1d(everyone, stragglers)
        if not code.is_decodable(R):
            failures += 1
            first_failure = first_failure or f"stragglers {list(stragglers)}: not decodable"
            continue
        try:
            t0 = time.perf_counter()
            dec = code.decoder(R)
            t_build.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            g64 = code.decode(R, M64[R], l, check=False)
            t_dec.append(time.perf_counter() - t0)
            g32 = code.decode(R, M32[R], l, check=False)
        except (NotDecodableError, DecodeResidualError) as exc:
            failures += 1
            first_failure = first_failure or f"stragglers {list(stragglers)}: {exc}"
            continue
        e64 = float(np.linalg.norm(g64 - g)) / gnorm
        e32 = float(np.linalg.norm(g32.astype(np.float64) - g)) / gnorm
        if not np.isfinite(e64):
            e64 = math.inf
        if not np.isfinite(e32):
            e32 = math.inf
        worst_cond = max(worst_cond, dec.cond if np.isfinite(dec.cond) else math.inf)
        worst_l1 = max(worst_l1, dec.l1_amplification)
        worst64, worst32 = max(worst64, e64), max(worst32, e32)
        if code.exact and not e64 <= 1e-6:
            failures += 1
            first_failure = first_failure or (
                f"stragglers {list(stragglers)}: relative error {e64:.2e} in float64"
            )
    if progress is not None and n_checked:
        progress(n_checked, total)
    return CheckResult(
        scheme=code.name,
        n=code.n,
        s=code.s,
        m=code.m,
        d=code.d,
        exact=code.exact,
        sets_checked=n_checked,
        exhaustive=exhaustive,
        all_decodable=failures == 0,
        failures=failures,
        worst_cond=worst_cond,
        worst_l1_amplification=worst_l1,
        worst_rel_error_f64=worst64,
        worst_rel_error_f32=worst32,
        median_decode_s=float(np.median(t_dec)) if t_dec else math.nan,
        median_build_s=float(np.median(t_build)) if t_build else math.nan,
        first_failure=first_failure,
    )
