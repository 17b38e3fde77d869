"""Incremental decodability: add responders one at a time, ask "decodable yet?" in O(1).

The simulator calls :meth:`DecodabilityTracker.add` at every arrival; asking the code's
``is_decodable`` on the growing set would cost O(|R|) or worse per arrival.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gcsim.codes.base import GradientCode

__all__ = ["CountTracker", "DecodabilityTracker", "GenericTracker", "GroupTracker"]


class DecodabilityTracker:
    """Base tracker: re-asks the code on every arrival (always correct, slowest)."""

    def __init__(self, code: GradientCode) -> None:
        self.code = code
        self.responders: list[int] = []
        self.decodable = False

    def reset(self) -> None:
        """Forget every responder (start of a round)."""
        self.responders = []
        self.decodable = False

    def add(self, worker: int) -> bool:
        """Record a responder; return whether the set is decodable now."""
        self.responders.append(int(worker))
        if not self.decodable:
            self.decodable = self._check(int(worker))
        return self.decodable

    def _check(self, worker: int) -> bool:
        return self.code.is_decodable(self.responders)


class CountTracker(DecodabilityTracker):
    """Decodable as soon as ``threshold`` responders are in (count rule)."""

    def __init__(self, code: GradientCode, threshold: int) -> None:
        super().__init__(code)
        self.threshold = int(threshold)

    def _check(self, worker: int) -> bool:
        return len(self.responders) >= self.threshold


class GroupTracker(DecodabilityTracker):
    """Group-wise rule: decodable when every group is satisfied.

    ``need[g]`` responders make group g satisfied; when ``rank_check`` is given it is
    called as ``rank_check(g, members)`` once a group reaches its count (non-MDS codes).
    """

    def __init__(
        self,
        code: GradientCode,
        group_of: np.ndarray,
        need: np.ndarray,
        rank_check: Callable[[int, list[int]], bool] | None = None,
    ) -> None:
        super().__init__(code)
        self.group_of = np.asarray(group_of)
        self.need = np.asarray(need)
        self.rank_check = rank_check
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.counts = np.zeros(len(self.need), dtype=np.int64)
        self.members: dict[int, list[int]] = {}
        self.done: set[int] = set()
        self.satisfied = 0

    def _check(self, worker: int) -> bool:
        g = int(self.group_of[worker])
        self.counts[g] += 1
        c = int(self.counts[g])
        need = int(self.need[g])
        if self.rank_check is None:
            if c == need:
                self.satisfied += 1
        else:
            mem = self.members.setdefault(g, [])
            mem.append(worker)
            if c >= need and g not in self.done and self.rank_check(g, mem):
                self.done.add(g)
                self.satisfied += 1
        return self.satisfied == len(self.need)


class GenericTracker(DecodabilityTracker):
    """Count rule at ``threshold`` plus, for small codes (n <= ``exact_below``), the
    code's numerical check on smaller sets (special sets that decode early)."""

    def __init__(self, code: GradientCode, threshold: int, exact_below: int = 64) -> None:
        super().__init__(code)
        self.threshold = int(threshold)
        self.exact = code.n <= exact_below

    def _check(self, worker: int) -> bool:
        if len(self.responders) >= self.threshold:
            return True
        return self.exact and self.code.is_decodable(self.responders)
