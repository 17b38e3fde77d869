"""gcsim: gradient coding for straggler mitigation, simulated and live.

The public API is what ``__all__`` lists; everything else is internal.
"""

from __future__ import annotations

from gcsim.codes import Decoder, GradientCode, list_codes, make_code
from gcsim.errors import (
    DecodeResidualError,
    GcsimError,
    InfeasibleParametersError,
    InvalidInputError,
    NotDecodableError,
    UnknownSchemeError,
)

__version__ = "0.1.0"

__all__ = [
    "DecodeResidualError",
    "Decoder",
    "GcsimError",
    "GradientCode",
    "InfeasibleParametersError",
    "InvalidInputError",
    "NotDecodableError",
    "UnknownSchemeError",
    "__version__",
    "list_codes",
    "make_code",
]
