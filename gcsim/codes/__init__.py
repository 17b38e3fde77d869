"""Gradient codes: real encode/decode kernels for every published scheme.

Use :func:`make_code` with a registry name; :func:`list_codes` lists them and
:func:`schemes` / :func:`scheme_info` give what each scheme declares
(:class:`SchemeInfo`). Importing this package loads numpy and nothing heavier (no
pandas, simpy or scipy).
"""

from __future__ import annotations

from gcsim.codes import registry
from gcsim.codes.base import DecodeInfo, Decoder, GradientCode
from gcsim.codes.bibd import BlockDesignCode
from gcsim.codes.crc import CyclicRepetitionCode
from gcsim.codes.cyclic_mds import CyclicMDSCode
from gcsim.codes.frc import FractionalRepetitionCode
from gcsim.codes.grouped import GroupedCode
from gcsim.codes.hetero import HeteroAwareCode
from gcsim.codes.hetero_comm import HeteroCommCode
from gcsim.codes.ignore import IgnoreStragglersCode
from gcsim.codes.registry import *  # noqa: F403 (the registry's API: registry.__all__)
from gcsim.codes.tracker import DecodabilityTracker, DecodeRule
from gcsim.codes.uncoded import UncodedCode
from gcsim.codes.ye_abbe import YeAbbeCode

__all__ = [
    "BlockDesignCode",
    "CyclicMDSCode",
    "CyclicRepetitionCode",
    "DecodabilityTracker",
    "DecodeInfo",
    "DecodeRule",
    "Decoder",
    "FractionalRepetitionCode",
    "GradientCode",
    "GroupedCode",
    "HeteroAwareCode",
    "HeteroCommCode",
    "IgnoreStragglersCode",
    "UncodedCode",
    "YeAbbeCode",
    *registry.__all__,
]
