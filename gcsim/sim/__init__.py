"""The SimPy cluster model and its vectorised fast path."""

from gcsim.sim.fastpath import completion_times
from gcsim.sim.network import CostModel, Network
from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS, SimResult
from gcsim.sim.simulate import POLICIES, RULES, run, simulate

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
