"""The scheme registry: every registered scheme's :class:`SchemeInfo`, by name.

Registering a built-in scheme takes its module's ``INFO`` declaration plus one line in
:data:`_BUILTIN` below; an outside scheme calls :func:`register_scheme` (see
``docs/codes.md``, "Adding a scheme"). Code outside ``gcsim.codes`` reads schemes from
here (:func:`schemes`, :func:`scheme_info`) and never keeps its own list of names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gcsim.codes import (
    bernoulli,
    bibd,
    crc,
    cyclic_mds,
    expander,
    frc,
    frc_approx,
    grouped,
    hetero,
    hetero_comm,
    ignore,
    sgc,
    uncoded,
    ye_abbe,
)
from gcsim.codes.base import GradientCode
from gcsim.codes.info import Example, SchemeInfo, StyleHint
from gcsim.errors import InvalidInputError, UnknownSchemeError, did_you_mean, excerpt

__all__ = [
    "CODES",
    "Example",
    "SchemeInfo",
    "StyleHint",
    "list_codes",
    "make_code",
    "register_scheme",
    "scheme_info",
    "schemes",
    "unregister_scheme",
]

#: The built-in schemes, in their fixed order (tables, legends and colour slots).
_BUILTIN: tuple[SchemeInfo, ...] = (
    uncoded.INFO,
    ignore.INFO,
    frc.INFO,
    crc.INFO,
    cyclic_mds.INFO,
    ye_abbe.INFO,
    grouped.INFO,
    hetero.INFO,
    hetero_comm.INFO,
    bibd.INFO,
    frc_approx.INFO,
    bernoulli.INFO,
    expander.INFO,
    sgc.INFO,
)

_REGISTRY: dict[str, SchemeInfo] = {}


def register_scheme(info: SchemeInfo, *, replace: bool = False) -> SchemeInfo:
    """Add a scheme to the registry (after the ones already there); returns ``info``.

    Raises
    ------
    InvalidInputError
        When ``info.name`` is taken (unless ``replace``) or its (colour, marker) pair is
        already another scheme's: every scheme must be told apart in a plot.
    """
    if not isinstance(info, SchemeInfo):
        raise InvalidInputError(f"register_scheme takes a SchemeInfo; got {type(info).__name__}")
    if info.name in _REGISTRY and not replace:
        raise InvalidInputError(
            f"a scheme named {info.name!r} is already registered "
            f"({_REGISTRY[info.name].cls.__name__}); pass replace=True to replace it"
        )
    for other in _REGISTRY.values():
        if other.name != info.name and (other.color, other.marker) == (info.color, info.marker):
            raise InvalidInputError(
                f"{info.name}: colour {info.color} with marker {info.marker!r} is already "
                f"{other.name!r}'s; choose another colour or marker"
            )
    _REGISTRY[info.name] = info
    return info


def unregister_scheme(name: str) -> SchemeInfo:
    """Remove a scheme added with :func:`register_scheme`; returns its info."""
    if any(info.name == name for info in _BUILTIN):
        raise InvalidInputError(f"{name!r} is a built-in scheme and cannot be unregistered")
    return _REGISTRY.pop(scheme_info(name).name)


for _info in _BUILTIN:
    register_scheme(_info)


def schemes() -> list[SchemeInfo]:
    """Every registered scheme, the built-ins first in their fixed order."""
    return list(_REGISTRY.values())


def scheme_info(name: str) -> SchemeInfo:
    """The :class:`SchemeInfo` registered under ``name``.

    Raises
    ------
    UnknownSchemeError
        For an unknown name (the message suggests the closest one and lists them all).
    """
    info = _REGISTRY.get(name) if isinstance(name, str) else None
    if info is None:
        raise UnknownSchemeError(
            f"unknown gradient code {excerpt(name)}{did_you_mean(name, _REGISTRY)}; "
            f"known codes: {', '.join(_REGISTRY)}"
        )
    return info


def list_codes() -> list[str]:
    """Registered scheme names, in a fixed order."""
    return list(_REGISTRY)


class _Classes(Mapping[str, type[GradientCode]]):
    """Read-only live view: registered name -> code class."""

    def __getitem__(self, name: str) -> type[GradientCode]:
        return _REGISTRY[name].cls

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return f"CODES({', '.join(f'{k}={v.cls.__name__}' for k, v in _REGISTRY.items())})"


#: Registry view: name -> class (each has a ``build`` classmethod).
CODES: Mapping[str, type[GradientCode]] = _Classes()


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
        ``ye-abbe``, ``field=`` for ``cyclic-mds``, ``cache_size=`` for every scheme
        (``gcsim codes`` lists them).

    Raises
    ------
    UnknownSchemeError
        For an unknown name (the message lists the known ones).
    InfeasibleParametersError
        When (n, s, m) violate the scheme's constraints (the message names the nearest
        feasible choices).
    ResourceError
        When the code's coefficients cannot fit in memory (checked before building).
    """
    info = scheme_info(name)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (n, s, m)):
        from gcsim.resources import check_code_size

        check_code_size(name, n, max(s, 0), max(m, 1))
    return info.build(n=n, s=s, m=m, rng=rng, **options)
