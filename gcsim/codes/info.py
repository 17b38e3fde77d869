"""What a scheme declares for the rest of gcsim: :class:`SchemeInfo`.

Every scheme module declares one ``INFO = SchemeInfo(cls=..., ...)`` next to its code
class, and :mod:`gcsim.codes.registry` lists it (one line). Everything outside
``gcsim.codes`` that needs to know about schemes (the CLI, the report, the plot styles,
the scenario expander) reads these declarations instead of keeping its own list of
scheme names.

This module imports only the standard library and numpy-free parts of gcsim, so that
scheme modules can import it without a cycle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict

from gcsim.errors import InfeasibleParametersError

if TYPE_CHECKING:
    from gcsim.codes.base import GradientCode

__all__ = ["MARKERS", "OKABE_ITO", "Example", "SchemeInfo", "SlotStyle", "StyleHint", "slot_style"]

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")

#: The Okabe–Ito palette (safe for the common forms of colour blindness), in slot order:
#: the built-in schemes declare the first seven in registry order, and plots give the
#: further labels the free slots (:mod:`gcsim.plots.style`). Yellow is last (weak
#: contrast on white).
OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow: the first further label
)
#: Markers, one per colour slot (plots shift them on each pass round the palette).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")


class SlotStyle(TypedDict):
    """The ``color`` and ``marker`` keywords of :class:`SchemeInfo` for one slot."""

    color: str
    marker: str


def slot_style(slot: int) -> SlotStyle:
    """Colour and marker of one of the first eight style slots, as :class:`SchemeInfo`
    keywords (``SchemeInfo(..., **slot_style(2))``): each built-in scheme takes the slot
    of its registry position, as the plots do for any label."""
    return {"color": OKABE_ITO[slot], "marker": MARKERS[slot]}


@dataclass(frozen=True)
class StyleHint:
    """How plots draw a scheme: a colour and a marker of its own, and whether it is exact.

    Attributes
    ----------
    color : str
        Hex colour ``#RRGGBB``.
    marker : str
        Matplotlib marker.
    inexact : bool
        The scheme only estimates the gradient sum: plots draw it with a hollow marker
        and a dashed line and add ``" (inexact)"`` to its legend label.
    """

    color: str
    marker: str
    inexact: bool = False

    @property
    def linestyle(self) -> str:
        """``"--"`` for an inexact scheme, ``"-"`` otherwise."""
        return "--" if self.inexact else "-"

    @property
    def fillstyle(self) -> str:
        """Matplotlib marker fill: ``"none"`` (hollow) for an inexact scheme."""
        return "none" if self.inexact else "full"

    def label(self, text: str) -> str:
        """The legend label of ``text``: ``text + " (inexact)"`` for an inexact scheme."""
        return f"{text} (inexact)" if self.inexact else text


@dataclass(frozen=True)
class Example:
    """One representative configuration of a scheme (the default report runs them).

    ``options`` is stored read-only.
    """

    n: int
    s: int
    m: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def __hash__(self) -> int:  # the options mapping is not hashable
        return hash((self.n, self.s, self.m, tuple(sorted(self.options))))


@dataclass(frozen=True, kw_only=True)
class SchemeInfo:
    """A registered scheme: its class and what the rest of gcsim needs to know about it.

    ``name``, ``summary`` and ``constraints`` are read from the class (``cls.name`` ...),
    the single source the class's own error messages use; the other attributes are
    declared here.

    Attributes
    ----------
    cls : type of GradientCode
        The code class; its :meth:`~gcsim.codes.GradientCode.build` classmethod builds it.
    display_name : str
        Human-readable name for tables and prose (``"Fractional repetition (Tandon et
        al.)"``); inexact schemes say so in it.
    supports_m : bool
        Whether the scheme has a communication reduction ``m > 1`` (else it needs m = 1).
    supports_s : bool
        Whether the scheme tolerates stragglers at all (else it needs s = 0): a
        scenario's default ``[code].s`` applies only to schemes that do.
    exact : bool
        Whether the codes it builds recover the exact gradient sum (``code.exact``).
    color, marker : str
        Plot style: a hex colour and a matplotlib marker, distinct from every other
        registered scheme's (see :attr:`style`).
    options_help : str
        One line describing the scheme options of ``build`` (``gcsim codes`` prints it).
    examples : tuple of Example
        Representative configurations (the default ``gcsim report`` checks each).
    name, summary, constraints : str
        From the class.
    """

    cls: type[GradientCode]
    display_name: str
    supports_m: bool
    exact: bool
    color: str
    marker: str
    options_help: str = ""
    examples: tuple[Example, ...] = ()
    supports_s: bool = True
    name: str = field(init=False)
    summary: str = field(init=False)
    constraints: str = field(init=False)

    def __post_init__(self) -> None:
        from gcsim.codes.base import GradientCode

        cls = self.cls
        if not (isinstance(cls, type) and issubclass(cls, GradientCode)):
            raise TypeError(f"SchemeInfo.cls must be a GradientCode subclass; got {cls!r}")
        name = cls.name
        if not name or name == GradientCode.name:
            raise ValueError(f"{cls.__name__} must set the class attribute 'name'")
        if getattr(cls.build, "__func__", None) is getattr(GradientCode.build, "__func__", 0):
            raise ValueError(f"{cls.__name__} must implement the 'build' classmethod")
        if not _HEX.match(self.color):
            raise ValueError(f"{name}: color must be a hex string '#RRGGBB'; got {self.color!r}")
        if not self.marker:
            raise ValueError(f"{name}: marker must be a matplotlib marker; got {self.marker!r}")
        for ex in self.examples:
            if ex.m != 1 and not self.supports_m:
                raise ValueError(f"{name}: example {ex} has m={ex.m} but supports_m is False")
        object.__setattr__(self, "examples", tuple(self.examples))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "summary", cls.summary)
        object.__setattr__(self, "constraints", cls.constraints)

    # ------------------------------------------------------------------ plotting
    @property
    def style(self) -> StyleHint:
        """The plot style hint: colour, marker and the ``inexact`` flag."""
        return StyleHint(self.color, self.marker, inexact=not self.exact)

    # ------------------------------------------------------------------ building
    def build(self, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any) -> GradientCode:
        """Build the code (``cls.build``): same arguments and errors as
        :func:`gcsim.codes.make_code`."""
        return self.cls.build(n=n, s=s, m=m, rng=rng, **options)

    def effective(self, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """``(s, d)`` the built code would have, without building it where the scheme
        can tell (no random draws).

        The effective ``s`` may exceed the requested one (``grouped`` when d does not
        divide n). Raises :class:`~gcsim.errors.InfeasibleParametersError` with the same
        message as :meth:`build` when the parameters are infeasible, and
        :class:`~gcsim.errors.InvalidInputError` for bad options.
        """
        s_eff, d_eff = self.cls.effective_parameters(n=n, s=s, m=m, **options)
        return int(s_eff), int(d_eff)

    def feasible(self, n: int, s: int, m: int = 1, **options: Any) -> bool:
        """Whether :meth:`build` accepts (n, s, m): ``False`` exactly where it would
        raise :class:`~gcsim.errors.InfeasibleParametersError` (malformed options still
        raise :class:`~gcsim.errors.InvalidInputError`)."""
        try:
            self.effective(n, s, m, **options)
        except InfeasibleParametersError:
            return False
        return True
