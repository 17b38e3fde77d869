"""Fit a delay model to measured task times (``gcsim fit``; docs/fit.md).

>>> fit = fit_trace("trace.csv")                      # doctest: +SKIP
>>> gcsim.simulate(code, delays=fit.model, load_mode=fit.load_mode, ...)  # doctest: +SKIP
>>> print(fit.toml())                                 # [delays.compute] for a scenario

Importing :mod:`gcsim.fit` is light: the public names load on first use (PEP 562), and
scipy, pandas and matplotlib only when a fit or a report runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gcsim._lazy import lazy_getattr

if TYPE_CHECKING:
    from gcsim.fit.core import (
        Confidence,
        FitResult,
        QuantityFit,
        fit_live_point,
        fit_trace,
        scale_spec,
    )
    from gcsim.fit.families import FAMILIES, Candidate, fit_families
    from gcsim.fit.io import Trace, read_live_point, read_trace, trace_from_frame

__all__ = [
    "FAMILIES",
    "Candidate",
    "Confidence",
    "FitResult",
    "QuantityFit",
    "Trace",
    "fit_families",
    "fit_live_point",
    "fit_trace",
    "read_live_point",
    "read_trace",
    "scale_spec",
    "trace_from_frame",
]

_LAZY: dict[str, str] = {
    "Confidence": "gcsim.fit.core",
    "FitResult": "gcsim.fit.core",
    "QuantityFit": "gcsim.fit.core",
    "fit_live_point": "gcsim.fit.core",
    "fit_trace": "gcsim.fit.core",
    "scale_spec": "gcsim.fit.core",
    "FAMILIES": "gcsim.fit.families",
    "Candidate": "gcsim.fit.families",
    "fit_families": "gcsim.fit.families",
    "Trace": "gcsim.fit.io",
    "read_live_point": "gcsim.fit.io",
    "read_trace": "gcsim.fit.io",
    "trace_from_frame": "gcsim.fit.io",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
