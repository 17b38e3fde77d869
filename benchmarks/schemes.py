"""The scheme line-up shared by the decode-time and decoder-build benchmarks.

For every n the same straggler budget ``s`` is used for all schemes (except ``uncoded``,
which tolerates none): the largest s <= max(1, n // 12) with (s+1) | n, so that ``frc`` is
feasible. For n in {12, 48, 120, 240} this gives s = 1, 3, 9, 19 and n - s is odd, so
``cyclic-mds`` gets its real construction; a second ``cyclic-mds`` entry uses s + 1
stragglers, so that n - s is even and the complex construction is used (what
field='auto' picks there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def straggler_budget(n: int) -> int:
    """Largest s <= max(1, n // 12) with (s + 1) dividing n (s >= 1 when n >= 2)."""
    target = max(1, n // 12)
    for s in range(target, 0, -1):
        if n % (s + 1) == 0:
            return s
    return 0


@dataclass(frozen=True)
class Scheme:
    label: str
    name: str
    m: int
    s_offset: int = 0  # s = straggler_budget(n) + s_offset (ignored when fixed_s is set)
    fixed_s: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def s_for(self, n: int) -> int:
        if self.fixed_s is not None:
            return self.fixed_s
        return straggler_budget(n) + self.s_offset


SCHEMES: tuple[Scheme, ...] = (
    Scheme("uncoded", "uncoded", m=1, fixed_s=0),
    Scheme("ignore-stragglers", "ignore-stragglers", m=1),
    Scheme("frc", "frc", m=1),
    Scheme("crc", "crc", m=1),
    Scheme("cyclic-mds (real)", "cyclic-mds", m=1, options={"field": "real"}),
    Scheme("cyclic-mds (complex)", "cyclic-mds", m=1, s_offset=1, options={"field": "complex"}),
    Scheme("ye-abbe (m=2)", "ye-abbe", m=2, options={"points": "paper"}),
    Scheme("grouped gaussian (m=2)", "grouped", m=2, options={"generator": "gaussian"}),
)
