"""Module attributes loaded on first use (PEP 562), from a table of name -> module."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_getattr(
    module: str, table: Mapping[str, str], cache: MutableMapping[str, Any] | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module``: a name in ``table`` is imported from the
    module it maps to, and kept in ``cache`` (the module's ``globals()``, so later
    accesses skip the hook) when one is given; any other name raises AttributeError."""

    def getattr_(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        if cache is not None:
            cache[name] = value
        return value

    return getattr_
