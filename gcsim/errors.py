"""Exception hierarchy of gcsim.

Every error gcsim raises on purpose is a :class:`GcsimError`.  Subclasses also derive
from the matching built-in exception (``ValueError``, ``KeyError``...) so that callers
that already catch those keep working.  Messages name the parameter, the constraint and
the value received, and where possible the nearest valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "EXCERPT_CHARS",
    "DecodeResidualError",
    "GcsimError",
    "InfeasibleParametersError",
    "InvalidInputError",
    "NotDecodableError",
    "NumericsWarning",
    "UnknownSchemeError",
    "excerpt",
    "one_line",
]

#: Characters of a user value that an error message echoes at most (then "…").
EXCERPT_CHARS = 60


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

    close = difflib.get_close_matches(str(word)[:200], list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, one-line ``repr`` of a user value for an error message: at most about
    ``limit`` characters (a long string, list or table is cut, with ``…``), so that a
    100,000-character value never floods the terminal. Cheap on huge values (never
    builds their full repr)."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 2, 6, 6, 4, 6
    r.maxstring = r.maxother = max(limit, 8)
    r.maxlong = 40
    if isinstance(value, int) and value.bit_length() > 128:  # repr of 10**5000 fails
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = r.repr(value)
    except Exception:  # a value whose repr itself fails (e.g. an int over 4300 digits)
        text = f"<{type(value).__name__}>"
    text = one_line(text)
    return text if len(text) <= limit + 1 else text[:limit] + "…"


def one_line(text: str) -> str:
    """``text`` with line breaks escaped (an error message is one line)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")
