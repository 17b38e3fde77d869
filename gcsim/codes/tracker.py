"""Decode rules as data, and the incremental decodability tracker built from them.

A code declares *when* a responder set decodes as a :class:`DecodeRule` (plain data:
no callables), so that the round protocol, the vectorised fast path and the live server
all read one declaration instead of guessing from class names:

* ``count``: decodable once ``threshold`` responders are in (uncoded, ignore-stragglers,
  Ye–Abbe: any ``n - s`` evaluations of the polynomial, never fewer);
* ``groups``: workers are split into groups (``group_of``); the set decodes once every
  group ``g`` has ``need[g]`` responders (FRC: one per replica group; grouped MDS codes:
  m per group). With ``group_check`` a group at its count must also pass the code's rank
  check (grouped codes with a non-MDS generator);
* ``general``: decodable exactly when :meth:`GradientCode.is_decodable` says so. Any
  ``threshold = n - s`` responders always decode; smaller sets ("special" sets that
  decode early) are checked numerically when ``n <= early_up_to`` and otherwise the
  rule is the count rule at ``threshold``. The check runs only once the responders
  cover every partition (a necessary condition), so it costs nothing on most arrivals.

The tracker answers "decodable yet?" after each arrival in O(1) for ``count`` and
``groups``; it agrees with ``is_decodable`` on every prefix of an arrival order, except
for ``general`` rules above ``early_up_to`` where it is the count rule (as declared).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

if TYPE_CHECKING:
    from gcsim.codes.base import GradientCode

__all__ = ["DecodabilityTracker", "DecodeRule"]

RuleKind = Literal["count", "groups", "general", "deadline", "error"]


def readonly_copy(a: ArrayLike, dtype: DTypeLike | None = None) -> np.ndarray:
    """A read-only copy of ``a`` (converted to ``dtype`` when given)."""
    out: np.ndarray = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


def _frozen(a: np.ndarray | None, dtype: type) -> np.ndarray | None:
    return None if a is None else readonly_copy(a, dtype)


@dataclass(frozen=True, eq=False)
class DecodeRule:
    """When a responder set decodes (see the module docstring).

    Attributes
    ----------
    kind : {"count", "groups", "general", "deadline", "error"}
        (``deadline`` and ``error`` are run-level rules for inexact codes, chosen with
        ``decode_rule``: the tracker never decides a ``deadline`` round, the timeout or
        the last arrival ends it; an ``error`` round ends at the first non-empty set
        whose :meth:`~gcsim.codes.GradientCode.coefficient_error` is at most ``target``.)
    threshold : int
        Responders that always suffice (``count``: exactly the rule; ``general``: the
        guaranteed count ``n - s``; ``groups``: the worst case ``n - s``).
    group_of : ndarray of int, shape (n,), or None
        Group of every worker (``groups`` only).
    need : ndarray of int, shape (groups,), or None
        Responders each group needs (``groups`` only).
    group_check : bool
        ``groups``: a group at its count must also pass the code's rank check.
    early_up_to : int
        ``general``: smaller sets are checked numerically when ``n <= early_up_to``.
    early : bool
        ``general``: whether this code (its n) gets those checks.
    target : float
        ``error``: the largest accepted coefficient error.
    """

    kind: RuleKind
    threshold: int
    group_of: np.ndarray | None = None
    need: np.ndarray | None = None
    group_check: bool = False
    early_up_to: int = 0
    early: bool = False
    target: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in ("count", "groups", "general", "deadline", "error"):
            raise ValueError(
                f"decode rule kind must be count, groups, general, deadline or error; "
                f"got {self.kind}"
            )
        if self.kind == "error" and not self.target >= 0:
            raise ValueError(f"an 'error' decode rule needs a target >= 0; got {self.target}")
        object.__setattr__(self, "group_of", _frozen(self.group_of, np.int64))
        object.__setattr__(self, "need", _frozen(self.need, np.int64))
        if self.kind == "groups" and (self.group_of is None or self.need is None):
            raise ValueError("a 'groups' decode rule needs group_of and need")

    @classmethod
    def count(cls, threshold: int) -> DecodeRule:
        """Decodable once ``threshold`` responders are in."""
        return cls("count", int(threshold))

    @classmethod
    def groups(
        cls, group_of: np.ndarray, need: np.ndarray, threshold: int, *, group_check: bool = False
    ) -> DecodeRule:
        """Decodable once every group has its ``need`` responders."""
        return cls("groups", int(threshold), group_of, need, group_check)

    @classmethod
    def general(cls, threshold: int, n: int, early_up_to: int = 64) -> DecodeRule:
        """Decodable when the code says so; any ``threshold`` responders suffice."""
        return cls(
            "general", int(threshold), early_up_to=int(early_up_to), early=int(n) <= early_up_to
        )

    @classmethod
    def deadline(cls, threshold: int) -> DecodeRule:
        """Never decodable by arrivals: the round ends at its deadline (or when every
        worker has answered) with whoever arrived (inexact codes)."""
        return cls("deadline", int(threshold))

    @classmethod
    def error(cls, threshold: int, target: float) -> DecodeRule:
        """Decodable at the first set whose coefficient error is at most ``target``."""
        return cls("error", int(threshold), target=float(target))

    @property
    def early_checks(self) -> bool:
        """``general``: whether sets smaller than ``threshold`` are checked at all."""
        return self.kind == "general" and self.early

    @property
    def vectorisable(self) -> bool:
        """Whether the decode instant is an order statistic (count, or MDS-like groups)."""
        return self.kind == "count" or (self.kind == "groups" and not self.group_check)

    def describe(self) -> str:
        """One line for reports: what the rule is."""
        if self.kind == "deadline":
            return "deadline: whoever arrived by the round timeout (or all, if sooner)"
        if self.kind == "error":
            return f"error: the first set with coefficient error <= {self.target:g}"
        if self.kind == "count":
            return f"count: any {self.threshold} responders"
        if self.kind == "groups":
            assert self.need is not None
            needs = sorted({int(x) for x in self.need})
            check = " plus a rank check" if self.group_check else ""
            return f"groups: {len(self.need)} groups, each needs {needs}{check}"
        early = (
            f"smaller sets checked numerically (n <= {self.early_up_to})"
            if self.early_checks
            else f"count rule (no early checks above n = {self.early_up_to})"
        )
        return f"general: any {self.threshold} responders; {early}"


class DecodabilityTracker:
    """Add responders one at a time; ask "decodable yet?" after each (see module doc)."""

    def __init__(self, code: GradientCode, rule: DecodeRule | None = None) -> None:
        self.code = code
        self.rule = rule if rule is not None else code.decode_rule
        self.responders: list[int] = []
        self.decodable = False
        r = self.rule
        if r.kind == "groups":
            assert r.group_of is not None and r.need is not None
            self._group_of = r.group_of.tolist()
            self._need = r.need.tolist()
        self.reset()

    def reset(self) -> None:
        """Forget every responder (start of a round)."""
        self.responders = []
        self.decodable = False
        if self.rule.kind == "groups":
            self._counts = [0] * len(self._need)
            self._members: dict[int, list[int]] = {}
            self._done: set[int] = set()
            self._satisfied = 0
        elif self.rule.kind == "error":
            self._watch = _ErrorWatch(self.code)
        elif self.rule.early_checks:
            self._cover = np.zeros(self.code.k, dtype=np.int64)
            self._covered = 0
            self._span = _Span(self.code)

    def add(self, worker: int) -> bool:
        """Record a responder; return whether the set is decodable now."""
        w = int(worker)
        self.responders.append(w)
        if not self.decodable:
            self.decodable = self._check(w)
        return self.decodable

    def add_many(self, workers: list[int]) -> int:
        """:meth:`add` each of ``workers`` in order until the set is decodable: return
        the position of the one that made it decodable (the later ones are not added),
        or -1 when none did (all were added)."""
        if not workers:
            return -1
        resp = self.responders
        if self.decodable:
            resp.append(int(workers[0]))
            return 0
        rule = self.rule
        if rule.kind == "count":
            take = max(rule.threshold - len(resp), 1)
            if take > len(workers):
                resp.extend(workers)
                return -1
            resp.extend(workers[:take])
            self.decodable = True
            return take - 1
        if rule.kind == "groups" and not rule.group_check and self._need:
            counts, group_of, need = self._counts, self._group_of, self._need
            satisfied, groups = self._satisfied, len(need)
            for p, w in enumerate(workers):
                g = group_of[w]
                c = counts[g] = counts[g] + 1
                if c == need[g]:
                    satisfied += 1
                    if satisfied == groups:
                        self._satisfied = satisfied
                        resp.extend(workers[: p + 1])
                        self.decodable = True
                        return p
            self._satisfied = satisfied
            resp.extend(workers)
            return -1
        for p, w in enumerate(workers):
            if self.add(w):
                return p
        return -1

    def _check(self, w: int) -> bool:
        rule = self.rule
        if rule.kind == "count":
            return len(self.responders) >= rule.threshold
        if rule.kind == "deadline":
            return False
        if rule.kind == "error":
            return self._watch.add(w) <= rule.target
        if rule.kind == "groups":
            g = self._group_of[w]
            self._counts[g] += 1
            c = self._counts[g]
            need = self._need[g]
            if not rule.group_check:
                if c == need:
                    self._satisfied += 1
            else:
                mem = self._members.setdefault(g, [])
                mem.append(w)
                if c >= need and g not in self._done and self.code._group_decodable(g, mem):
                    self._done.add(g)
                    self._satisfied += 1
            return self._satisfied == len(self._need)
        # general
        if len(self.responders) >= rule.threshold:
            return True
        if not rule.early_checks:
            return False
        sup = self.code.support(w)
        newly = int(np.count_nonzero(self._cover[sup] == 0))
        self._cover[sup] += 1
        self._covered += newly
        self._span.add(w)
        if self._covered < self.code.k or not self._span.near():
            return False  # an uncovered partition, or the target far from the span
        return self.code.is_decodable(self.responders)


class _ErrorWatch:
    """The coefficient error of the responders so far (``error`` rule), after each
    arrival: the target's distance from their span when the code decodes by least
    squares (incremental, :class:`_Span`), else the code's decoder for the prefix."""

    def __init__(self, code: GradientCode) -> None:
        self.code = code
        self.R: list[int] = []
        self.span = _Span(code) if getattr(code, "_error_by_span", False) else None
        self.scale = math.sqrt(code.k * code.m)

    def add(self, worker: int) -> float:
        self.R.append(worker)
        if self.span is not None:
            self.span.add(worker)
            self.span.near()
            return float(np.linalg.norm(self.span.res)) / self.scale
        return self.code._prefix_error(tuple(sorted(self.R)))


class _Span:
    """The span of the responders' rows of B (orthonormal basis, block Gram–Schmidt with
    reorthogonalisation), and the part of the target ``[I_m ... I_m]`` outside it.

    A cheap, exact filter for the ``general`` rule: when the target is far from the span
    (relative residual above ``1e-3``) no decoder can exist (its coefficient error would
    exceed the code's residual tolerance by orders of magnitude), so the costly
    least-squares check of :meth:`GradientCode.is_decodable` runs only when the target
    is (nearly) in the span. Rows are queued as they arrive and folded into the basis in
    one block when asked (:meth:`near`), so the cost is one QR per fold, not per arrival."""

    TOL = 1e-3

    def __init__(self, code: GradientCode) -> None:
        km = code.k * code.m
        T = code._target().T  # (k*m, m)
        dtype = np.result_type(code._pvals.dtype, np.float64)
        self.res = np.array(T, dtype=dtype)
        self.norm = float(np.linalg.norm(T))
        self.Q = np.empty((km, min(km, code.n)), dtype=dtype)  # orthonormal columns
        self.r = 0
        self.pending: list[int] = []
        self._wcols = code._wcols
        self._wvals = code._wvals
        self.km = km

    def add(self, worker: int) -> None:
        """Queue worker's row."""
        self.pending.append(worker)

    def near(self) -> bool:
        """Fold the queued rows in; whether the target is (nearly) in the span."""
        if self.pending:
            V = np.zeros((self.km, len(self.pending)), dtype=self.res.dtype)
            for c, w in enumerate(self.pending):
                V[self._wcols[w], c] = self._wvals[w]
            self.pending = []
            scale = float(np.abs(V).max())
            for _ in range(2):  # twice is enough (Kahan–Parlett)
                if self.r:
                    Q = self.Q[:, : self.r]
                    V -= Q @ (Q.conj().T @ V)
            if V.shape[1] == 1:  # one new row: normalise it (no QR needed)
                nv = float(np.linalg.norm(V))
                new = V / nv if nv > 1e-10 * max(scale, 1e-300) else V[:, :0]
            else:  # SVD, not QR: an unpivoted QR of dependent rows loses their span
                U, sv, _ = np.linalg.svd(V, full_matrices=False)
                new = U[:, sv > 1e-10 * max(scale, 1e-300)]
            new = new[:, : self.Q.shape[1] - self.r]
            if new.shape[1]:
                self.Q[:, self.r : self.r + new.shape[1]] = new
                self.r += new.shape[1]
                self.res -= new @ (new.conj().T @ self.res)
        return float(np.linalg.norm(self.res)) <= self.TOL * self.norm
