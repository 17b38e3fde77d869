"""Gradient codes: real encode/decode kernels for every published scheme.

Use :func:`make_code` with a registry name; :func:`list_codes` lists them.
"""

from __future__ import annotations

import difflib
from typing import Any

from gcsim.codes.base import DecodeInfo, Decoder, GradientCode
from gcsim.codes.crc import CyclicRepetitionCode
from gcsim.codes.cyclic_mds import CyclicMDSCode
from gcsim.codes.frc import FractionalRepetitionCode
from gcsim.codes.grouped import GroupedCode
from gcsim.codes.ignore import IgnoreStragglersCode
from gcsim.codes.uncoded import UncodedCode
from gcsim.codes.ye_abbe import YeAbbeCode
from gcsim.errors import UnknownSchemeError

__all__ = [
    "CODES",
    "CyclicMDSCode",
    "CyclicRepetitionCode",
    "DecodeInfo",
    "Decoder",
    "FractionalRepetitionCode",
    "GradientCode",
    "GroupedCode",
    "IgnoreStragglersCode",
    "UncodedCode",
    "YeAbbeCode",
    "list_codes",
    "make_code",
]

#: Registry: name -> class (each has a ``build`` classmethod).
CODES: dict[str, Any] = {
    cls.name: cls
    for cls in (
        UncodedCode,
        IgnoreStragglersCode,
        FractionalRepetitionCode,
        CyclicRepetitionCode,
        CyclicMDSCode,
        YeAbbeCode,
        GroupedCode,
    )
}


def list_codes() -> list[str]:
    """Registered scheme names, in a fixed order."""
    return list(CODES)


def make_code(
    name: str, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
) -> GradientCode:
    """Build a gradient code by registry name.

    Parameters
    ----------
    name : str
        One of :func:`list_codes`.
    n, s, m : int
        Workers, stragglers tolerated in the worst case, communication reduction.
    rng : numpy Generator, int seed or None
        Randomness for random constructions (``crc``, ``grouped`` with ``gaussian``);
        ``None`` means seed 0, so results are reproducible.
    **options
        Scheme options, e.g. ``generator=`` and ``draws=`` for ``grouped``, ``points=`` for
        ``ye-abbe``, ``field=`` for ``cyclic-mds``, ``cache_size=`` for every scheme.

    Raises
    ------
    UnknownSchemeError
        For an unknown name (the message lists the known ones).
    InfeasibleParametersError
        When (n, s, m) violate the scheme's constraints (the message names the nearest
        feasible choices).
    """
    if not isinstance(name, str) or name not in CODES:
        close = difflib.get_close_matches(str(name), list(CODES), n=1)
        raise UnknownSchemeError(
            f"unknown gradient code {name!r}"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; known codes: {', '.join(CODES)}"
        )
    code: GradientCode = CODES[name].build(n=n, s=s, m=m, rng=rng, **options)
    return code
