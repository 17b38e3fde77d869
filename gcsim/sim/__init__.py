"""The SimPy cluster model and its vectorised fast path.

Names load on first use (PEP 562): the network and cost models are light, the simulator
brings pandas and simpy, and a live MPI rank needs only the former.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gcsim._lazy import lazy_getattr
from gcsim.sim.network import CostModel, Network

if TYPE_CHECKING:
    from gcsim.sim.engine import POLICIES, RULES, run, simulate
    from gcsim.sim.fastpath import completion_times
    from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS, SimResult

__all__ = [
    "POLICIES",
    "ROUND_COLUMNS",
    "RULES",
    "WORKER_COLUMNS",
    "CostModel",
    "Network",
    "SimResult",
    "completion_times",
    "run",
    "simulate",
]

_WHERE = {
    "completion_times": "gcsim.sim.fastpath",
    "ROUND_COLUMNS": "gcsim.sim.result",
    "WORKER_COLUMNS": "gcsim.sim.result",
    "SimResult": "gcsim.sim.result",
    "POLICIES": "gcsim.sim.engine",
    "RULES": "gcsim.sim.engine",
    "run": "gcsim.sim.engine",
    "simulate": "gcsim.sim.engine",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


def __dir__() -> list[str]:
    return sorted(__all__)
