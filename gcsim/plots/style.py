"""House style of every gcsim figure: scheme colours, markers, fonts, legends.

Every registered scheme declares its own colour and marker
(:class:`gcsim.codes.SchemeInfo`; the built-ins use the Okabe–Ito palette, safe for the
common forms of colour blindness) and whether it is exact: an inexact scheme is drawn
with a hollow marker and a dashed line, and its legend label ends in ``" (inexact)"``.
Registered schemes always get the same slot, in the registry order
(:func:`gcsim.codes.schemes`), and keep their declared colour and marker unless an
earlier label of the same results has it already: then they take a spare one, so that
no two labels of one set of results share a colour or a marker (up to 15 labels). A
label derived from a registry name (``"grouped-gaussian"``, the scenario's default
label for a scheme with options) takes its family's slot when no other label of the
family has it; any other label takes the free slots in sorted order. So within one set
of results every label has one style in every figure (pass the same ``styles`` to every
drawing function, as :func:`gcsim.plots.plot_results` does). The slots' own colours are
the eight Okabe–Ito ones, then seven of Paul Tol's "muted" scheme
(:data:`EXTRA_COLORS`), each with a marker of its own (:data:`SLOT_MARKERS`): the first
:data:`DISTINCT_SLOTS` slots all differ in colour and in marker. Beyond, slots repeat a
colour with another marker and line style, so every (colour, marker) pair stays
distinct for the first 60 labels.

Series that coincide (two codes with the same round times, such as ``frc`` and
``grouped`` at m = 1) would hide one another: :func:`overlap_layers` finds them, and
:func:`layer_kwargs` draws each later one dashed over a thinner marker, higher in the
z-order, so the one underneath shows through the gaps.

Nothing here changes matplotlib's global state: :func:`style_context` is a local
``matplotlib.rc_context`` that the drawing functions enter while they create artists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gcsim.codes.info import MARKERS, OKABE_ITO, SchemeInfo, StyleHint
from gcsim.codes.registry import schemes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DISTINCT_SLOTS",
    "EXTRA_COLORS",
    "LINESTYLES",
    "MARKERS",
    "OKABE_ITO",
    "PALETTE",
    "RC",
    "REGISTRY_ORDER",
    "SchemeStyle",
    "add_legend",
    "empty_state",
    "layer_kwargs",
    "new_axes",
    "overlap_layers",
    "registry_family",
    "registry_order",
    "scheme_rows",
    "scheme_styles",
    "style_context",
    "style_for",
    "styled_axes",
]


def registry_order() -> tuple[str, ...]:
    """Registered scheme names in their fixed slot order (read from the registry now)."""
    return tuple(info.name for info in schemes())


#: Registry names in their fixed slot order, as registered when this module was
#: imported (:func:`registry_order` also sees schemes registered later).
REGISTRY_ORDER: tuple[str, ...] = registry_order()

#: Line styles, one per pass round the palette.
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":")

#: Colours of the slots after the eight Okabe–Ito ones: Paul Tol's "muted" scheme (also
#: safe for colour-blind readers), none of them an Okabe–Ito colour.
EXTRA_COLORS: tuple[str, ...] = (
    "#882255",  # wine
    "#44AA99",  # teal
    "#999933",  # olive
    "#332288",  # indigo
    "#AA4499",  # purple
    "#661100",  # brown
    "#888888",  # grey
)

#: Every slot colour, in slot order.
PALETTE: tuple[str, ...] = (*OKABE_ITO, *EXTRA_COLORS)

#: One marker per slot colour (the registry's eight, then seven more); filled markers
#: only (a line-only marker such as "1" has no face and vanished in scatter plots).
SLOT_MARKERS: tuple[str, ...] = (*MARKERS, "h", "p", "<", ">", "d", "H", "8")

#: Slots whose colours and markers all differ from one another.
DISTINCT_SLOTS = len(PALETTE)

_SLOTS = DISTINCT_SLOTS * len(LINESTYLES)

#: Local matplotlib settings of every figure (entered with :func:`style_context`).
RC: dict[str, Any] = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # embed TrueType: editable text in publication PDFs
    "ps.fonttype": 42,
    "svg.fonttype": "none",
}


@dataclass(frozen=True)
class SchemeStyle:
    """How one scheme label is drawn.

    Attributes
    ----------
    color : str
        Hex colour from :data:`OKABE_ITO`.
    marker : str
        Matplotlib marker.
    linestyle : str
        Matplotlib line style (figures that use the line style for something else,
        such as the float64/float32 split, keep colour and marker only).
    slot : int
        Position in the style cycle (the registry names take the first slots).
    inexact : bool
        The label's scheme only estimates the gradient (the registry says so): a hollow
        marker and ``" (inexact)"`` in the legend.
    """

    color: str
    marker: str
    linestyle: str
    slot: int
    inexact: bool = False

    @property
    def hint(self) -> StyleHint:
        """Colour, marker and exactness as a registry :class:`~gcsim.codes.StyleHint`,
        whose rules give the fill and the legend text."""
        return StyleHint(self.color, self.marker, inexact=self.inexact)

    @property
    def fillstyle(self) -> str:
        """Matplotlib marker fill: ``"none"`` (hollow) for an inexact scheme."""
        return self.hint.fillstyle

    def legend(self, label: str) -> str:
        """The legend text of ``label``: with ``" (inexact)"`` for an inexact scheme."""
        return self.hint.label(label)

    def marker_kwargs(self) -> dict[str, Any]:
        """Colour, marker and fill for ``Axes.plot`` (no line style)."""
        return {"color": self.color, "marker": self.marker, "fillstyle": self.fillstyle}

    def line_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Axes.plot``."""
        return {**self.marker_kwargs(), "linestyle": self.linestyle}


def _registry_style(info: SchemeInfo, slot: int) -> SchemeStyle:
    hint = info.style
    return SchemeStyle(hint.color, hint.marker, hint.linestyle, slot, inexact=hint.inexact)


def style_for(slot: int) -> SchemeStyle:
    """The palette style of one slot of the cycle (slots wrap after 60); labels that
    are not registry names take these from the slot after the registry's.

    The first :data:`DISTINCT_SLOTS` slots have distinct colours and distinct markers;
    each later pass round the palette shifts the markers (by 3 per pass, so a colour
    never meets its earlier marker again) and changes the line style."""
    slot = int(slot) % _SLOTS
    npal = len(PALETTE)
    lap = slot // npal
    return SchemeStyle(
        color=PALETTE[slot % npal],
        marker=SLOT_MARKERS[(slot + 3 * lap) % len(SLOT_MARKERS)],
        linestyle=LINESTYLES[lap % len(LINESTYLES)],
        slot=slot,
    )


def _label_key(label: str) -> tuple[str, str]:
    return (label.casefold(), label)


#: Characters that may follow a registry name in a derived label ("grouped-gaussian").
_SEPARATORS = frozenset("-_ (/:.")


def registry_family(label: str, codes: Mapping[str, Any] | None = None) -> str | None:
    """The registry name a label belongs to, or ``None``.

    ``codes[label]`` when given and a registry name; else the registry name the label
    is or starts with, followed by a separator (``"grouped-gaussian"`` -> ``"grouped"``,
    the scenario's default label for a scheme with options).
    """
    order = registry_order()
    if codes is not None and str(codes.get(label)) in order:
        return str(codes[label])
    # the longest matching name wins ("grouped-x" when both "grouped" and "grouped-x" exist)
    for name in sorted(order, key=len, reverse=True):
        if label == name or (label.startswith(name) and label[len(name)] in _SEPARATORS):
            return name
    return None


def _complete(
    labels: Iterable[Any],
    styles: Mapping[str, SchemeStyle],
    codes: Mapping[str, Any] | None,
) -> dict[str, SchemeStyle]:
    out = dict(styles)
    used = {st.slot for st in out.values()}
    missing = {str(x) for x in labels if x is not None and x == x} - set(out)  # drops NaN
    infos = schemes()
    slot_of = {info.name: slot for slot, info in enumerate(infos)}

    def take(name: str, st: SchemeStyle) -> None:
        out[name] = st
        used.add(st.slot)

    for slot, info in enumerate(infos):  # 1. registry names: their own slot and style
        if info.name in missing and slot not in used:
            take(info.name, _registry_style(info, slot))
    rest = sorted(missing - set(out), key=_label_key)
    inexact: set[str] = set()
    for name in list(rest):  # 2. derived labels: their family's slot when still free
        fam = registry_family(name, codes)
        if fam is None:
            continue
        if not infos[slot_of[fam]].exact:
            inexact.add(name)
        if slot_of[fam] not in used:
            take(name, _registry_style(infos[slot_of[fam]], slot_of[fam]))
            rest.remove(name)
    slot = len(infos)
    for name in rest:  # 3. the others: the free slots after the registry's, in order
        while slot in used and slot < _SLOTS:
            slot += 1
        st = style_for(slot)
        if name in inexact:  # a variant of an inexact scheme is drawn as one
            st = SchemeStyle(st.color, st.marker, "--", st.slot, inexact=True)
        take(name, st)
    ranked = dict(sorted(out.items(), key=lambda kv: (kv[1].slot, _label_key(kv[0]))))
    return _distinct(ranked, keep=set(styles))


#: Colours a label gets when its own is taken in the figure: the extra colours first,
#: yellow (weak on white) last.
_SPARE_COLORS: tuple[str, ...] = (*EXTRA_COLORS, *OKABE_ITO[:-1], OKABE_ITO[-1])


def _distinct(styles: Mapping[str, SchemeStyle], keep: set[str]) -> dict[str, SchemeStyle]:
    """Every label of one set of results with a colour and a marker no other label has.

    Labels are taken in slot order: the first keeps its declared colour (a registered
    scheme's own, its family's, or its slot's); a later label whose colour (or marker)
    is already taken gets the first spare one still free, so two schemes that declare
    the same colour never look alike in one figure. The styles in ``keep`` (given by
    the caller) are never changed. Beyond 15 labels colours repeat (markers and line
    styles still tell them apart)."""
    out: dict[str, SchemeStyle] = {}
    kept = [st for k, st in styles.items() if k in keep]
    colors = {st.color.upper() for st in kept}
    markers = {st.marker for st in kept}
    pairs = {(st.color.upper(), st.marker) for st in kept}
    for name, st in styles.items():
        if name not in keep:
            color, marker, line = st.color, st.marker, st.linestyle
            if color.upper() in colors:
                color = next((c for c in _SPARE_COLORS if c.upper() not in colors), color)
            if marker in markers:
                marker = next((m for m in SLOT_MARKERS if m not in markers), marker)
            if (color.upper(), marker) in pairs:  # every colour and marker taken
                for k in range(st.slot, st.slot + _SLOTS):
                    cand = style_for(k)
                    if (cand.color.upper(), cand.marker) not in pairs:
                        color, marker = cand.color, cand.marker
                        line = "--" if st.inexact else cand.linestyle
                        break
            st = SchemeStyle(color, marker, line, st.slot, inexact=st.inexact)
        colors.add(st.color.upper())
        markers.add(st.marker)
        pairs.add((st.color.upper(), st.marker))
        out[name] = st
    return out


def scheme_styles(
    labels: Iterable[Any], codes: Mapping[str, Any] | None = None
) -> dict[str, SchemeStyle]:
    """A style for every label: registry names fixed, the others in sorted order.

    Parameters
    ----------
    labels : iterable
        Scheme labels (duplicates and missing values are ignored; others are turned
        into ``str``).
    codes : mapping, optional
        Label -> registry name of its code (the summary's ``code`` column).

    Returns
    -------
    dict
        ``label -> SchemeStyle``, in slot order (the legend order). A registry name gets
        its fixed slot; a label derived from one (``codes``, or a prefix such as
        ``"grouped-gaussian"``) gets that slot when no label of the family took it
        (the first in sorted order wins); the others take the following slots in
        sorted order.
    """
    return _complete(labels, {}, codes)


def ordered(labels: Iterable[Any], styles: Mapping[str, SchemeStyle]) -> list[str]:
    """Labels in legend order: the order of ``styles`` (slot order)."""
    present = {str(x) for x in labels}
    rank = {name: i for i, name in enumerate(styles)}
    return sorted(present, key=lambda x: (rank.get(x, len(rank)), _label_key(x)))


def resolve_styles(
    labels: Iterable[Any], styles: Mapping[str, SchemeStyle] | None
) -> dict[str, SchemeStyle]:
    """``styles`` completed with a style for every label it lacks.

    The given styles are kept; the missing labels are placed as in
    :func:`scheme_styles`, in the slots still free.
    """
    return _complete(labels, styles or {}, None)


@contextmanager
def style_context(extra: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Enter the house rc settings locally (never changes the global rcParams)."""
    rc = dict(RC)
    if extra:
        rc.update(extra)
    with matplotlib.rc_context(cast(Any, rc)):
        yield


def new_axes(
    ncols: int = 1, *, width: float | None = None, height: float = 3.6
) -> tuple[Figure, list[Axes]]:
    """A fresh :class:`~matplotlib.figure.Figure` (no pyplot) with ``ncols`` panels."""
    width = width if width is not None else 5.6 * ncols + 1.6
    fig = Figure(figsize=(width, height), layout="constrained")
    axs = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axs)


@contextmanager
def styled_axes(ax: Axes | None, xlabel: str, ylabel: str) -> Iterator[Axes]:
    """How a one-panel figure starts: inside :func:`style_context`, ``ax`` (or the panel
    of a new :func:`new_axes` figure) with its axis labels set."""
    with style_context():
        if ax is None:
            ax = new_axes()[1][0]
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        yield ax


def scheme_rows(
    data: pd.DataFrame, styles: Mapping[str, SchemeStyle] | None
) -> list[tuple[str, SchemeStyle, pd.DataFrame]]:
    """``(label, style, rows)`` for every scheme of ``data`` (its ``scheme`` column), in
    legend order, ``styles`` completed as by :func:`resolve_styles`."""
    st = resolve_styles(data["scheme"], styles)
    return [(x, st[x], data[data["scheme"] == x]) for x in ordered(data["scheme"], st)]


def add_legend(
    ax: Axes,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    outside: bool = True,
) -> Any:
    """A legend outside the data, right of the axes (``outside=False``: best spot inside).

    Handles whose label starts with ``_`` are left out (matplotlib's convention).
    """
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if outside:
        return ax.legend(
            handles,
            labels,
            title=title,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
        )
    return ax.legend(handles, labels, title=title, loc="best")


def empty_state(ax: Axes, message: str) -> Axes:
    """Write ``message`` in the middle of an axes that has nothing to draw."""
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        wrap=True,
        fontsize=10,
        color="0.35",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return ax


def overlap_layers(
    series: Sequence[tuple[str, Any, Any]], *, rtol: float = 0.005, log: bool = False
) -> dict[str, int]:
    """How many earlier series each series lies on top of, in drawing order.

    ``series`` holds ``(label, x, y)`` in the order they are drawn. Two series coincide
    when they have the same x values and their y values differ by at most ``rtol`` of
    the y range of all series (``log``: of the range of log10 y), i.e. when one would
    hide the other. Returns ``label -> layer``: 0 for a series that coincides with no
    earlier one, else 1 + the largest layer among the earlier series it coincides
    with (so a third copy draws over the second, which draws over the first)."""
    import numpy as np

    def values(v: Any) -> Any:
        a = np.asarray(v, dtype=float)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.log10(a)
        return a

    ys = [values(y) for _, _, y in series]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.array([])
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    tol = rtol * span if span > 0 else 1e-12
    layers: dict[str, int] = {}
    for i, (label, x, _) in enumerate(series):
        xi = np.asarray(x, dtype=float)
        layer = 0
        for j in range(i):
            lab_j, xj_raw, _ = series[j]
            xj = np.asarray(xj_raw, dtype=float)
            if xi.shape != xj.shape or not np.allclose(xi, xj, equal_nan=True):
                continue
            yi, yj = ys[i], ys[j]
            same = np.isfinite(yi) == np.isfinite(yj)
            both = np.isfinite(yi) & np.isfinite(yj)
            if same.all() and both.any() and np.all(np.abs(yi[both] - yj[both]) <= tol):
                layer = max(layer, layers[lab_j] + 1)
        layers[label] = layer
    return layers


#: Dash patterns of layers 1, 2, ... (layer 0 keeps its own line style).
LAYER_DASHES: tuple[tuple[float, tuple[float, float]], ...] = (
    (0.0, (4.0, 4.0)),
    (4.0, (2.0, 6.0)),
    (2.0, (1.5, 3.0)),
)


def layer_kwargs(layer: int, *, markersize: float | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Axes.plot`` that keep a series visible on top of the
    ``layer`` series it coincides with (:func:`overlap_layers`): layer 0 nothing; a
    later layer a dash pattern of its own, a smaller marker (the one underneath shows as
    a ring around it) and a higher z-order."""
    if layer <= 0:
        return {}
    size = float(markersize if markersize is not None else RC["lines.markersize"])
    return {
        "linestyle": LAYER_DASHES[(layer - 1) % len(LAYER_DASHES)],
        "markersize": size * 0.72**layer,
        "zorder": 2.0 + 0.1 * layer,
    }
