"""Delay models (pluggable, one per file): the duration of a worker's task for unit load.

Use :func:`make_delay` with a registry name, a spec dict or an instance;
:func:`list_delays` lists the names. A model's :meth:`~DelayModel.sampler` draws the
rounds of one run with per-worker or per-partition load scaling (see
:mod:`gcsim.delays.base`).
"""

from __future__ import annotations

from gcsim.delays.adversarial import AdversarialDelay, AdversarialSampler
from gcsim.delays.base import LOAD_MODES, DelayModel, LoadMode, RoundSampler, StatelessSampler
from gcsim.delays.bimodal import BimodalDelay
from gcsim.delays.constant import ConstantDelay
from gcsim.delays.exponential import ExponentialDelay
from gcsim.delays.heterogeneous import HeterogeneousDelay, HeterogeneousSampler
from gcsim.delays.lognormal import LognormalDelay
from gcsim.delays.pareto import ParetoDelay
from gcsim.delays.persistent import PersistentDelay, PersistentSampler
from gcsim.delays.registry import ALIASES, DELAYS, list_delays, make_delay
from gcsim.delays.scipy_dist import ScipyDelay
from gcsim.delays.shifted_exponential import ShiftedExponentialDelay
from gcsim.delays.trace import TraceDelay, TraceSampler, read_trace_csv
from gcsim.delays.uniform import UniformDelay
from gcsim.delays.weibull import WeibullDelay

__all__ = [
    "ALIASES",
    "DELAYS",
    "LOAD_MODES",
    "AdversarialDelay",
    "AdversarialSampler",
    "BimodalDelay",
    "ConstantDelay",
    "DelayModel",
    "ExponentialDelay",
    "HeterogeneousDelay",
    "HeterogeneousSampler",
    "LoadMode",
    "LognormalDelay",
    "ParetoDelay",
    "PersistentDelay",
    "PersistentSampler",
    "RoundSampler",
    "ScipyDelay",
    "ShiftedExponentialDelay",
    "StatelessSampler",
    "TraceDelay",
    "TraceSampler",
    "UniformDelay",
    "WeibullDelay",
    "list_delays",
    "make_delay",
    "read_trace_csv",
]
