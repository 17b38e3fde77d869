"""gcsim: gradient coding for straggler mitigation, simulated and live.

The public API is what ``__all__`` lists; everything else is internal.
"""

from __future__ import annotations

from gcsim.codes import Decoder, GradientCode, list_codes, make_code
from gcsim.delays import DelayModel, list_delays, make_delay
from gcsim.errors import (
    DecodeResidualError,
    GcsimError,
    InfeasibleParametersError,
    InvalidInputError,
    NotDecodableError,
    UnknownSchemeError,
)
from gcsim.scenarios.store import Results, load_results
from gcsim.sim import CostModel, Network, SimResult, simulate
from gcsim.workload import LogisticRegression, RandomVectors, Workload

__version__ = "0.1.0"

__all__ = [
    "CostModel",
    "DecodeResidualError",
    "Decoder",
    "DelayModel",
    "GcsimError",
    "GradientCode",
    "InfeasibleParametersError",
    "InvalidInputError",
    "LogisticRegression",
    "Network",
    "NotDecodableError",
    "RandomVectors",
    "Results",
    "SimResult",
    "UnknownSchemeError",
    "Workload",
    "__version__",
    "list_codes",
    "list_delays",
    "load_results",
    "make_code",
    "make_delay",
    "simulate",
]
