"""Gradient codes: real encode/decode kernels for every published scheme.

Use :func:`make_code` with a registry name; :func:`list_codes` lists them and
:func:`schemes` / :func:`scheme_info` give what each scheme declares
(:class:`SchemeInfo`). Importing this package loads numpy and nothing heavier (no
pandas, simpy or scipy).
"""

from __future__ import annotations

from gcsim.codes.base import DecodeInfo, Decoder, GradientCode
from gcsim.codes.crc import CyclicRepetitionCode
from gcsim.codes.cyclic_mds import CyclicMDSCode
from gcsim.codes.frc import FractionalRepetitionCode
from gcsim.codes.grouped import GroupedCode
from gcsim.codes.ignore import IgnoreStragglersCode
from gcsim.codes.info import Example, SchemeInfo, StyleHint
from gcsim.codes.registry import (
    CODES,
    list_codes,
    make_code,
    register_scheme,
    scheme_info,
    schemes,
    unregister_scheme,
)
from gcsim.codes.tracker import DecodabilityTracker, DecodeRule
from gcsim.codes.uncoded import UncodedCode
from gcsim.codes.ye_abbe import YeAbbeCode

__all__ = [
    "CODES",
    "CyclicMDSCode",
    "CyclicRepetitionCode",
    "DecodabilityTracker",
    "DecodeInfo",
    "DecodeRule",
    "Decoder",
    "Example",
    "FractionalRepetitionCode",
    "GradientCode",
    "GroupedCode",
    "IgnoreStragglersCode",
    "SchemeInfo",
    "StyleHint",
    "UncodedCode",
    "YeAbbeCode",
    "list_codes",
    "make_code",
    "register_scheme",
    "scheme_info",
    "schemes",
    "unregister_scheme",
]
