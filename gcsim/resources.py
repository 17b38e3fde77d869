"""Work and memory estimates, checked before anything large is allocated.

Every entry point that can be asked for an absurd size (a code with 10^9 workers, 10^9
rounds, a million replicates, a 10^12-long gradient) estimates its peak memory and run
time from the request first, refuses what cannot fit with one line that gives the
estimate and the limit, and warns above a stated threshold — instead of a MemoryError
after minutes, or a swap storm.

Limits: memory ``GCSIM_MEMORY_LIMIT`` (bytes, or with a unit: ``8GiB``, ``500MB``;
default 80% of this machine's physical memory); a run estimated above
``GCSIM_WARN_SECONDS`` (default 600 s) is warned about, not refused. The estimates are
deliberately coarse upper bounds (documented per term below), not predictions.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from gcsim.errors import GcsimError

__all__ = [
    "Estimate",
    "ResourceError",
    "check_code_size",
    "check_points",
    "estimate_run",
    "fmt_bytes",
    "memory_limit",
]

#: Most points one scenario may expand to.
MAX_POINTS = 200_000
_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


class ResourceError(GcsimError, MemoryError):
    """A request estimated not to fit in memory (or beyond a stated limit)."""


def fmt_bytes(b: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b:.0f} B"


def _fmt_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"


def memory_limit() -> float:
    """Bytes a run may use: ``GCSIM_MEMORY_LIMIT`` or 80% of physical memory."""
    text = os.environ.get("GCSIM_MEMORY_LIMIT", "").strip()
    if text:
        m = re.fullmatch(r"(?i)\s*([0-9.]+)\s*([kmgt]i?b|b)?\s*", text)
        if not m:
            raise GcsimError(
                f"GCSIM_MEMORY_LIMIT must be a size such as 8GiB or 500MB; got {text[:40]!r}"
            )
        return float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        phys = 8 * 2**30
    return 0.8 * float(phys)


def warn_seconds() -> float:
    try:
        return float(os.environ.get("GCSIM_WARN_SECONDS", "600"))
    except ValueError:
        return 600.0


@dataclass(frozen=True)
class Estimate:
    """Coarse upper bounds of one run's peak memory (bytes) and time (seconds)."""

    bytes: float
    seconds: float
    parts: dict[str, float]

    def check(self, what: str, *, warn: bool = True) -> None:
        """Refuse (ResourceError) above the memory limit; warn above the time threshold."""
        limit = memory_limit()
        if self.bytes > limit:
            big = max(self.parts, key=lambda k: self.parts[k])
            raise ResourceError(
                f"{what}: estimated peak memory {fmt_bytes(self.bytes)} exceeds the limit "
                f"{fmt_bytes(limit)} (largest part: {big}, {fmt_bytes(self.parts[big])}); "
                "reduce the size, or raise GCSIM_MEMORY_LIMIT if the machine has the memory"
            )
        if warn and self.seconds > warn_seconds():
            print(
                f"gcsim: warning: {what}: estimated run time {_fmt_seconds(self.seconds)} "
                f"(above GCSIM_WARN_SECONDS={warn_seconds():g} s)",
                file=sys.stderr,
            )


def check_code_size(name: str, n: int, s: int, m: int) -> None:
    """Refuse a code whose coefficient storage cannot fit, before building it; warn when
    building it is estimated to take long (above ``GCSIM_WARN_SECONDS``).

    Per worker the code keeps its support and coefficient blocks several times over
    (supports, coefficients, flat column/value arrays, padded copies): about 64 bytes per
    (partition, block) entry, with d about s + m entries per worker. ``crc`` builds a
    dense n x n matrix first (8 n^2 bytes, twice) and solves one s x s system per worker
    into it (about 4e-8 n^2 s); ``ye-abbe`` checks its own build time (it depends on
    its evaluation points: see :func:`gcsim.codes.ye_abbe.build_seconds`)."""
    d = max(1, min(n, s + m))
    parts = {"code coefficients": 64.0 * n * d * m + 200.0 * n}
    seconds = 1e-5 * n
    if name == "crc":
        parts["crc's dense n x n matrix"] = 16.0 * float(n) * float(n)
        seconds += 4e-8 * float(n) ** 2
    Estimate(sum(parts.values()), seconds, parts).check(
        f"building {name} with n={n}, s={s}, m={m}", warn=True
    )


def estimate_run(
    *,
    n: int,
    d: int,
    m: int,
    rounds: int,
    dimension: int,
    fast: bool,
    workload: dict[str, Any] | None,
    record_workers: bool = False,
    cache_size: int = 1024,
) -> Estimate:
    """Peak memory and time of one simulated run (see the module docstring)."""
    q = math.ceil(dimension / max(m, 1))
    parts: dict[str, float] = {"code": 64.0 * n * d * m + 200.0 * n}
    # records: ~40 numbers per round plus the responder ids
    parts["records"] = rounds * (400.0 + 4.0 * n)
    if record_workers:
        parts["worker rows"] = rounds * n * 150.0
    if fast:  # draws, arrivals and order statistics: ~6 arrays of rounds x n
        parts["fast path"] = 48.0 * rounds * n
    # decoders kept in the bounded cache (a matrix of m x |R| each)
    parts["decoder cache"] = min(cache_size, rounds) * 8.0 * m * n
    model = (workload or {}).get("model")
    if model == "logistic":
        samples = float(workload.get("samples", 2000))  # type: ignore[union-attr]
        features = float(workload.get("features", 100))  # type: ignore[union-attr]
        parts["workload data"] = 3 * 8.0 * samples * features
        parts["partials and messages"] = 8.0 * (n * features + n * q) * 2
    elif model == "softmax":
        wl = workload or {}
        synthetic = wl.get("dataset", "digits") == "synthetic"
        samples = float(wl.get("samples") or 2000) if synthetic else 2000.0
        features = float(wl.get("features", 20)) if synthetic else 70.0
        classes = float(wl.get("classes", 4)) if synthetic else 10.0
        parts["workload data"] = 8.0 * samples * (3 * features + 3 * classes)
        parts["partials and messages"] = 8.0 * (n * dimension + n * q) * 2
    elif model is not None:
        parts["partials and messages"] = 8.0 * (n * dimension + n * q) * 2
    total = sum(parts.values())
    # time: a few microseconds per worker and round in the DES, ~50 ns on the fast path,
    # plus the kernels: encode and decode touch about n * dimension values per round
    per_round = (5e-8 if fast else 4e-6) * n
    if model is not None:
        per_round += 2e-9 * n * max(d, 1) * dimension
    return Estimate(total, rounds * per_round, parts)


def check_points(count: int, what: str) -> None:
    """Refuse a scenario that expands to more points than :data:`MAX_POINTS`."""
    if count > MAX_POINTS:
        raise ResourceError(
            f"{what} expands to {count:,} points, more than the limit of {MAX_POINTS:,}; "
            "sweep fewer values or replicates"
        )
