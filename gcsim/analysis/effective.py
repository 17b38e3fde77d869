"""Requested against effective code parameters: what a scheme really runs at.

A scheme asked for (n, s, m) may build a code with other parameters: ``grouped`` with an
MDS generator splits the n workers into n // d groups (d = s + m), so when d does not
divide n the groups are larger than d and the code tolerates more stragglers, at a
larger load, than was asked for. :func:`effective_params` says what the code would
really have (from :meth:`gcsim.codes.SchemeInfo.effective`, no random draws for the
built-in schemes) and, when it differs from the request, one line that says so.

``d_requested`` is the load of the scheme *as requested*: the smallest load it has among
the cluster sizes n..2n at which it tolerates exactly the requested s (``grouped``
at s = 3, m = 2: d = 5). It is ``None`` when no such cluster size is found (searching
at most :data:`SEARCH` sizes). Schemes whose load grows with n keep their load at n.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from gcsim.errors import InfeasibleParametersError, InvalidInputError

__all__ = ["SEARCH", "Effective", "effective_params"]

#: Most cluster sizes searched (each way) for ``d_requested`` and the nearest exact n.
SEARCH = 128

_Cache = MutableMapping[tuple[Any, ...], "tuple[int, int] | None"]


@dataclass(frozen=True)
class Effective:
    """A scheme's requested and effective (s, d) at one (n, m).

    Attributes
    ----------
    code : str
        Registry name of the scheme.
    n, m : int
        Workers and communication reduction (as requested; they never change).
    s_requested, s : int
        Stragglers tolerated: asked for, and what the built code tolerates.
    d_requested : int or None
        The scheme's load at the requested s (see the module docstring).
    d : int
        The built code's load (largest number of partitions per worker).
    exact_at : tuple of int
        The nearest cluster sizes (below and above n) at which the scheme runs with the
        requested s and load ``d_requested``; empty when it does at n.
    """

    code: str
    n: int
    m: int
    s_requested: int
    s: int
    d_requested: int | None
    d: int
    exact_at: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the code runs at another s or d than requested."""
        return self.s != self.s_requested or (
            self.d_requested is not None and self.d != self.d_requested
        )

    def describe(self) -> str:
        """One line: ``"grouped at n=12, s=3, m=2 runs at s=4, d=6: ..."``; empty when
        the code runs as requested."""
        if not self.changed:
            return ""
        head = (
            f"{self.code} at n={self.n}, s={self.s_requested}, m={self.m} runs at "
            f"s={self.s}, d={self.d}"
        )
        why = ""
        dr = self.d_requested
        if dr is not None:
            why = (
                f": d={dr} does not divide n={self.n}"
                if self.n % dr
                else f": its load at s={self.s_requested} would be d={dr}"
            )
        if self.exact_at:
            sizes = " or ".join(f"n={v}" for v in self.exact_at)
            why += f" ({sizes} gives s={self.s_requested}, d={dr} exactly)"
        return head + why


def _options_key(options: Mapping[str, Any]) -> str:
    return json.dumps(dict(options), sort_keys=True, default=repr)


def _at(
    code: str, n: int, s: int, m: int, options: Mapping[str, Any], cache: _Cache
) -> tuple[int, int] | None:
    """(s, d) of the scheme at n, or ``None`` where it is infeasible (memoised). Options
    sized for another n (one speed per worker, a placement) are infeasible there too."""
    key = (code, n, s, m, _options_key(options))
    if key not in cache:
        from gcsim.codes import scheme_info

        try:
            cache[key] = scheme_info(code).effective(n, s, m, **dict(options))
        except (InfeasibleParametersError, InvalidInputError):
            cache[key] = None
    return cache[key]


def effective_params(
    code: str,
    n: int,
    s: int,
    m: int = 1,
    options: Mapping[str, Any] | None = None,
    *,
    cache: _Cache | None = None,
) -> Effective:
    """The requested and effective (s, d) of scheme ``code`` at (n, s, m, options).

    Raises what :meth:`gcsim.codes.SchemeInfo.effective` raises at (n, s, m):
    :class:`~gcsim.errors.InfeasibleParametersError` (with the scheme's message) and
    :class:`~gcsim.errors.InvalidInputError` for bad options. ``cache`` (any mutable
    mapping) memoises the scheme's answers across calls, e.g. over a sweep.
    """
    from gcsim.codes import GradientCode, scheme_info

    info = scheme_info(code)
    opts = dict(options or {})
    memo: _Cache = {} if cache is None else cache
    s_eff, d_eff = info.effective(n, s, m, **opts)  # raises for n itself
    memo[(code, n, s, m, _options_key(opts))] = (s_eff, d_eff)
    # no search where the load cannot be lower (1, or an exact code at the Ye-Abbe
    # bound d = s + m), nor where asking the scheme builds the code (no cheap answer)
    at_bound = s_eff == s and (d_eff <= 1 or (info.exact and d_eff <= s + m))
    builds = getattr(info.cls.effective_parameters, "__func__", None) is getattr(
        GradientCode.effective_parameters, "__func__", None
    )
    d_req: int | None = None
    if not (at_bound or builds):
        for n2 in range(n, min(2 * n, n + SEARCH) + 1):
            got = _at(code, n2, s, m, opts, memo)
            if got is not None and got[0] == s and (d_req is None or got[1] < d_req):
                d_req = got[1]
    if d_req is None and s_eff == s:
        d_req = d_eff
    exact: tuple[int, ...] = ()
    if (s_eff != s or d_eff != d_req) and d_req is not None:

        def runs_as_asked(n2: int) -> bool:
            return _at(code, n2, s, m, opts, memo) == (s, d_req)

        below = next((n2 for n2 in range(n - 1, max(0, n - SEARCH), -1) if runs_as_asked(n2)), None)
        above = next((n2 for n2 in range(n + 1, n + SEARCH + 1) if runs_as_asked(n2)), None)
        exact = tuple(v for v in (below, above) if v is not None)
    return Effective(
        code=code,
        n=n,
        m=m,
        s_requested=s,
        s=int(s_eff),
        d_requested=d_req,
        d=int(d_eff),
        exact_at=exact,
    )
