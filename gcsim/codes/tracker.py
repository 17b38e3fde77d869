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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

if TYPE_CHECKING:
    from gcsim.codes.base import GradientCode

__all__ = ["DecodabilityTracker", "DecodeRule"]

RuleKind = Literal["count", "groups", "general"]


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
    kind : {"count", "groups", "general"}
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
    """

    kind: RuleKind
    threshold: int
    group_of: np.ndarray | None = None
    need: np.ndarray | None = None
    group_check: bool = False
    early_up_to: int = 0
    early: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("count", "groups", "general"):
            raise ValueError(f"decode rule kind must be count, groups or general; got {self.kind}")
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
        elif self.rule.early_checks:
            self._cover = np.zeros(self.code.k, dtype=np.int64)
            self._covered = 0

    def add(self, worker: int) -> bool:
        """Record a responder; return whether the set is decodable now."""
        w = int(worker)
        self.responders.append(w)
        if not self.decodable:
            self.decodable = self._check(w)
        return self.decodable

    def _check(self, w: int) -> bool:
        rule = self.rule
        if rule.kind == "count":
            return len(self.responders) >= rule.threshold
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
        if self._covered < self.code.k:
            return False  # an uncovered partition: never decodable
        return self.code.is_decodable(self.responders)
