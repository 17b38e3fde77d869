"""gcsim: gradient coding for straggler mitigation, simulated and live.

The public API is what ``__all__`` lists; everything else is internal.

Importing ``gcsim`` is cheap: the public names are loaded on first use (PEP 562), so
``import gcsim.codes`` or ``gcsim --help`` never pay for pandas, SimPy or scipy.stats.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gcsim._lazy import lazy_getattr
from gcsim.errors import (
    DecodeResidualError,
    GcsimError,
    InfeasibleParametersError,
    InvalidInputError,
    NotDecodableError,
    UnknownSchemeError,
)

if TYPE_CHECKING:
    from gcsim.codes import Decoder, GradientCode, list_codes, make_code
    from gcsim.delays import DelayModel, list_delays, make_delay
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

#: Public name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "advise": "gcsim.advise",
    "Decoder": "gcsim.codes",
    "GradientCode": "gcsim.codes",
    "list_codes": "gcsim.codes",
    "make_code": "gcsim.codes",
    "DelayModel": "gcsim.delays",
    "list_delays": "gcsim.delays",
    "make_delay": "gcsim.delays",
    "Results": "gcsim.scenarios.store",
    "load_results": "gcsim.scenarios.store",
    "CostModel": "gcsim.sim",
    "Network": "gcsim.sim",
    "SimResult": "gcsim.sim",
    "simulate": "gcsim.sim",
    "LogisticRegression": "gcsim.workload",
    "RandomVectors": "gcsim.workload",
    "Workload": "gcsim.workload",
}

#: Subpackages reachable as attributes (``gcsim.sim.simulate``) without an explicit
#: import, as when the package imported them eagerly.
_SUBMODULES = frozenset(
    {"analysis", "codes", "delays", "rng", "scenarios", "sim", "testing", "workload"}
)


_lazy_attribute = lazy_getattr(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    return _lazy_attribute(name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})
