"""The SimPy cluster model and its vectorised fast path.

Names load on first use (PEP 562): the network and cost models are light, the simulator
brings pandas and simpy, and a live MPI rank needs only the former.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'gcsim.sim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(where), name)


def __dir__() -> list[str]:
    return sorted(__all__)
