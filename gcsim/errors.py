"""Exception hierarchy of gcsim.

Every error gcsim raises on purpose is a :class:`GcsimError`.  Subclasses also derive
from the matching built-in exception (``ValueError``, ``KeyError``...) so that callers
that already catch those keep working.  Messages name the parameter, the constraint and
the value received, and where possible the nearest valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "DecodeResidualError",
    "GcsimError",
    "InfeasibleParametersError",
    "InvalidInputError",
    "NotDecodableError",
    "NumericsWarning",
    "UnknownSchemeError",
]


class GcsimError(Exception):
    """Base class of every error raised by gcsim on purpose."""


class InvalidInputError(GcsimError, ValueError):
    """An argument has the wrong shape, type, range or value (e.g. a duplicate worker id)."""


class InfeasibleParametersError(GcsimError, ValueError):
    """The requested code parameters violate a construction constraint."""


class UnknownSchemeError(GcsimError, ValueError):
    """No gradient code is registered under the requested name."""


class NotDecodableError(GcsimError):
    """The responder set does not determine the gradient sum."""


class DecodeResidualError(GcsimError, ArithmeticError):
    """A decoder was found but its residual exceeds the tolerance (numerical breakdown).

    Raised instead of returning a silently wrong gradient.  Pass ``check=False`` to
    :meth:`GradientCode.decode` to get the (inaccurate) result anyway, e.g. to measure it.
    """


class NumericsWarning(UserWarning):
    """A simulation updated its model with gradients that ``decode(check=True)`` would
    have refused in the messages' precision (``numerics="warn"``, the default; one per
    run, naming the worst round). ``numerics="refuse"`` fails those rounds instead,
    ``numerics="record"`` keeps them silently."""


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` with the choice closest to ``word``, or ``""`` when none
    is close: the hint error messages give after an unknown name."""
    import difflib

    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
