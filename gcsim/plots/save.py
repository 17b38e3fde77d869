"""Every figure of a results folder, saved as PNG and PDF, with a note of what was skipped."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gcsim._files import atomic_replace
from gcsim.plots._data import (
    ResultsLike,
    as_int_if_whole,
    labels,
    left_out_note,
    ok_summary,
    records_of,
    single_values,
    summary_of,
)
from gcsim.plots.accuracy import plot_time_to_accuracy, time_to_accuracy_data
from gcsim.plots.cdf import (
    HEAVY_TAIL_RATIO,
    plot_round_time_cdf,
    round_time_cdf_data,
    wants_log_time,
)
from gcsim.plots.decode_time import decode_time_vs_n_data, plot_decode_time_vs_n
from gcsim.plots.loss import loss_vs_time_data, plot_loss_vs_time
from gcsim.plots.round_time import plot_round_time_vs_s, round_time_vs_s_data
from gcsim.plots.stability import COND_CAP, plot_stability_vs_n, stability_vs_n_data
from gcsim.plots.style import SchemeStyle, add_legend, new_axes, scheme_styles, style_context
from gcsim.plots.tradeoff import plot_tradeoff_d_vs_m, tradeoff_d_vs_m_data

__all__ = ["FIGURES", "MAX_FACETS", "FigurePlan", "facets", "figure_plan", "plot_results"]

log = logging.getLogger(__name__)

#: Figure names (file stems) in drawing order, with a one-line description.
FIGURES: dict[str, str] = {
    "round_time_vs_s": "mean round time vs stragglers tolerated s, 95% CI bands",
    "tradeoff_d_vs_m": "computation load d vs communication reduction m, Ye–Abbe bound",
    "stability_vs_n": "worst relative error and condition number vs n, float64/float32",
    "round_time_cdf": "empirical CDF of round times for one cluster",
    "loss_vs_time": "training loss vs simulated wall-clock time",
    "time_to_accuracy": "mean loss vs time with 95% bands over replicates; time to target loss",
    "decode_time_vs_n": "measured decode time per round vs n",
}

#: Most panels the trade-off figure gets (one per s); beyond, only the most common s.
MAX_TRADEOFF_PANELS = 4

#: Formats :func:`plot_results` accepts.
FORMATS = ("png", "pdf", "svg", "eps")


#: Columns of the one-cluster figures, as named in the README notes.
_CLUSTER = {"n": "n", "s": "requested s", "replicate": "replicate"}


@dataclass(eq=False)
class FigurePlan:
    """What one figure will show, or why it is skipped.

    Attributes
    ----------
    name : str
        File stem, a key of :data:`FIGURES`.
    data : DataFrame
        The output of the figure's data function.
    reason : str or None
        Why the figure is skipped; ``None`` when it is drawn.
    note : str
        What was chosen (which n, which s...), for the README.
    """

    name: str
    data: pd.DataFrame
    reason: str | None = None
    note: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def drawn(self) -> bool:
        return self.reason is None


def _values(df: pd.DataFrame, col: str) -> list[Any]:
    if col not in df.columns:
        return []
    return sorted({as_int_if_whole(v) for v in df[col].dropna()}, key=str)


def _join(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _nums(summary: pd.DataFrame, col: str) -> list[Any]:
    if col not in summary.columns:
        return []
    vals = pd.to_numeric(summary[col], errors="coerce").dropna().unique()
    return [as_int_if_whole(v) for v in sorted(vals)]


#: Most panels a figure gets for the values of a swept factor it does not show on an
#: axis (policy, precision, a delay parameter...); beyond, one value is picked and said.
MAX_FACETS = 4

#: Swept factors each figure shows itself (on an axis, by picking one value with a
#: note, or by line style), so they never make panels of their own.
_HANDLED = {
    "round_time_vs_s": {"cluster.n", "code.s"},
    "round_time_cdf": {"cluster.n", "code.s"},
    "loss_vs_time": {"cluster.n", "code.s"},
}


@dataclass(eq=False)
class _Subset:
    """The summary and records of one facet (a :class:`ResultsLike`)."""

    summary: pd.DataFrame
    records: pd.DataFrame
    factors: list[str] = field(default_factory=list)


def swept_factors(results: ResultsLike) -> list[str]:
    """The swept factors of the results (``Results.factors``; else the dotted columns of
    the summary, such as ``cluster.policy``) that take more than one value among the
    successful points."""
    ok = ok_summary(results)
    names = getattr(results, "factors", None)
    if not names:
        names = [c for c in ok.columns if "." in str(c)]
    return [f for f in names if f in ok.columns and ok[f].astype(str).nunique() > 1]


def _short(factor: str) -> str:
    return factor.split(".", 1)[1] if factor.startswith(("cluster.", "scenario.")) else factor


def facets(results: ResultsLike, handled: set[str]) -> tuple[list[tuple[str, ResultsLike]], str]:
    """One ``(title, subset)`` per combination of the swept factors not in ``handled``
    that vary, at most :data:`MAX_FACETS`; beyond, the most common combination (ties:
    the first in sorted order) with a note saying so. No such factor: the results
    whole, no title. Returns the facets and the note (``""`` when nothing was
    picked)."""
    varying = [f for f in swept_factors(results) if f not in handled]
    if not varying:
        return [("", results)], ""
    summary, records = summary_of(results), records_of(results)
    ok = ok_summary(results)
    keys = ok[varying].astype(str).apply(tuple, axis=1)
    counts = keys.value_counts(sort=False)
    combos = sorted(counts.index, key=lambda c: tuple(_sort_key(v) for v in c))
    note = ""
    if len(combos) > MAX_FACETS:
        top = max(combos, key=lambda c: (counts[c], -combos.index(c)))
        others = {f: sorted(set(ok[f].astype(str)), key=_sort_key) for f in varying}
        note = (
            f"at {_combo_text(varying, top)}: one of "
            + "; ".join(f"{_short(f)} = {', '.join(v)}" for f, v in others.items())
            + f" ({len(combos)} combinations, more than {MAX_FACETS} panels)"
        )
        combos = [top]
    out: list[tuple[str, ResultsLike]] = []
    for combo in combos:
        sel_s = np.ones(len(summary), dtype=bool)
        sel_r = np.ones(len(records), dtype=bool)
        for f, v in zip(varying, combo, strict=True):
            sel_s &= (summary[f].astype(str) == v).to_numpy()
            if f in records.columns:
                sel_r &= (records[f].astype(str) == v).to_numpy()
        sub = _Subset(summary[sel_s], records[sel_r] if len(records) else records)
        out.append((_combo_text(varying, combo), sub))
    return out, note


def _sort_key(v: str) -> tuple[int, Any]:
    try:
        return (0, float(v))
    except ValueError:
        return (1, v)


def _combo_text(factors: Sequence[str], combo: Sequence[str]) -> str:
    return ", ".join(f"{_short(f)} = {v}" for f, v in zip(factors, combo, strict=True))


def _concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The facets' data in one table, their left-out notes kept."""
    nonempty = [p for p in parts if not p.empty]
    out = pd.concat(nonempty, ignore_index=True) if nonempty else parts[0].iloc[0:0].copy()
    out.attrs = {}
    for key in ("left_out", "picked"):
        notes = list(dict.fromkeys(x for p in parts for x in p.attrs.get(key, [])))
        if notes:
            out.attrs[key] = notes
    return out


def _faceted(
    plan: FigurePlan, results: ResultsLike, fn: Callable[..., pd.DataFrame], **kw: Any
) -> None:
    """Fill ``plan`` with the data of every facet of ``results`` (``fn(subset, **kw)``):
    ``plan.options["facets"]`` holds ``(title, data)``; ``plan.data`` all of them."""
    subsets, note = facets(results, _HANDLED.get(plan.name, set()))
    parts = [(title, fn(sub, **kw)) for title, sub in subsets]
    parts = [(t, d) for t, d in parts if not d.empty] or parts[:1]
    plan.data = _concat([d for _, d in parts])
    if plan.data.empty and plan.reason is None:
        plan.reason = "no data in any panel"
    if len(parts) > 1:
        plan.options["facets"] = parts
        plan.note = "; ".join(x for x in (plan.note, "one panel per " + _facet_names(parts)) if x)
    elif parts[0][0]:
        plan.options["facets"] = parts
    if note:
        plan.note = "; ".join(x for x in (plan.note, note) if x)


def _facet_names(parts: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """ "policy: cancel, non-preemptive" for one factor; the panel titles otherwise."""
    heads = {t.split(" = ", 1)[0] for t, _ in parts if ", " not in t}
    if len(heads) == 1 and all(", " not in t and " = " in t for t, _ in parts):
        return f"value of {heads.pop()}: " + ", ".join(t.split(" = ", 1)[1] for t, _ in parts)
    return "combination: " + " | ".join(t for t, _ in parts)


def _n_note(results: ResultsLike, n_used: Any) -> str:
    """ "at n = X of a, b, c" when the results hold several n; else ``""``."""
    all_n = _nums(ok_summary(results), "n")
    if len(all_n) > 1:
        return f"at n = {n_used}: the most common n, ties to the largest, of {_join(all_n)}"
    return ""


def figure_plan(results: ResultsLike) -> list[FigurePlan]:
    """Run every data function and decide which figures have what they need.

    Rules: ``round_time_vs_s`` needs a scheme with two values of s (at the chosen n);
    ``tradeoff_d_vs_m`` one successful point with known s, m and d (one panel per s that
    two schemes share, at most four, else the most common one); ``stability_vs_n``
    a measured relative error or condition number and at least two values of n;
    ``round_time_cdf`` a decoded round in the records; ``loss_vs_time`` a finite loss;
    ``decode_time_vs_n`` a measured decode time and at least two values of n.

    Returns
    -------
    list of FigurePlan
        One per :data:`FIGURES` entry, in that order.
    """
    all_n = _nums(ok_summary(results), "n")
    plans: list[FigurePlan] = []

    plan = _plan(
        "round_time_vs_s",
        round_time_vs_s_data(results),
        "no successful point has a finite mean round time",
    )
    if plan.drawn:
        n_used = plan.data["n"].iloc[0]
        if len(all_n) > 1:
            plan.note = (
                f"at n = {n_used}: the most common n, ties to the largest, of {_join(all_n)}"
            )
        _faceted(plan, results, round_time_vs_s_data, n=n_used)
        if plan.data.groupby("scheme")["s"].nunique().max() < 2:
            plan.reason = f"s does not vary (one s per scheme at n = {n_used})"
        moved = [
            f"{r['scheme']} asked s = {r['s_requested']} runs at s = {r['s']}"
            for r in plan.data.to_dict("records")
            if str(r.get("s_requested", r["s"])) != str(r["s"])
        ]
        if moved:  # drawn at the s the code runs at, and labelled
            plan.note = "; ".join([*([plan.note] if plan.note else []), *moved])
    plans.append(plan)

    data = tradeoff_d_vs_m_data(results)
    plan = _plan("tradeoff_d_vs_m", data, "no successful point with known s, m and d")
    if plan.drawn:
        per_s = data.groupby("s")["scheme"].nunique()
        shared = [as_int_if_whole(v) for v in per_s.index[per_s >= 2]]
        panels = shared or _values(data, "s")
        lone = [v for v in _values(data, "s") if v not in panels]
        # a panel in which every code sends full-length messages (m = 1) shows one
        # column of markers on the bound: no trade-off to see, so it is left out
        flat = [v for v in panels if (data.loc[data["s"] == v, "m"] <= 1).all()]
        panels = [v for v in panels if v not in flat]
        if not panels:
            plan.reason = (
                "every code runs at m = 1 (full-length messages): no computation vs "
                "communication trade-off to show"
            )
        elif len(panels) > MAX_TRADEOFF_PANELS:
            counts = data[data["s"].isin(panels)].groupby("s")["points"].sum()
            top = as_int_if_whole(counts[counts == counts.max()].index.max())
            plan.note = f"one panel, s = {top}, the most common of s = " + _join(panels)
            panels = [top]
        else:
            plan.note = "one panel per s: " + _join(panels)
        if lone:
            plan.note += f"; s = {_join(lone)} left out (one scheme only)"
        if flat and panels:
            plan.note += f"; s = {_join(flat)} left out (every code at m = 1)"
        for picked in data.attrs.get("picked", []):
            plan.note = f"{picked}; {plan.note}"
        plan.options["panels"] = panels
    plans.append(plan)

    plan = _plan(
        "stability_vs_n",
        stability_vs_n_data(results),
        "no relative error or condition number was measured (timing-only runs, "
        "or no successful point)",
    )
    _needs_two_n(plan)
    if plan.drawn and plan.data["failed"].any():
        plan.note = "crosses at the top mark numerical failures (inf)"
    if plan.drawn:
        cond = plan.data.loc[plan.data["metric"] == "cond", "value"].to_numpy(float)
        if np.any(~(cond <= COND_CAP)):
            beyond = f"condition numbers beyond 1/ε of float64 ({COND_CAP:.1e}) drawn at it"
            plan.note = "; ".join(x for x in (plan.note, beyond) if x)
    _pooled_note(plan, results, {"cluster.n", "workload.dtype"}, "worst value over")
    plans.append(plan)

    plan = _plan("round_time_cdf", round_time_cdf_data(results), "no decoded round in the records")
    if records_of(results).empty:
        plan.reason = "no per-round records (load the results with records=True)"
    elif plan.drawn:
        n_used, s_used = plan.data["n"].iloc[0], plan.data["s"].iloc[0]
        plan.note = _join([_n_note(results, n_used) or f"n = {n_used}", *_s_note(plan.data)])
        _faceted(plan, results, round_time_cdf_data, n=n_used, s=s_used)
        plan.options["logx"] = wants_log_time(plan.data["duration"].to_numpy(float))
        if plan.options["logx"]:
            plan.note += "; log time axis (heavy tail: the longest round is over "
            plan.note += f"{HEAVY_TAIL_RATIO:g} times the median)"
    plans.append(plan)

    plan = _plan(
        "loss_vs_time",
        loss_vs_time_data(results),
        "no finite training loss: the scenario trains no model",
    )
    if plan.drawn:
        n_used, s_used = plan.data["n"].iloc[0], plan.data["s"].iloc[0]
        plan.note = _join(
            [
                _n_note(results, n_used) or f"n = {n_used}",
                *_s_note(plan.data),
                *single_values(plan.data, {"replicate": "replicate"}),
                "one run per scheme",
            ]
        )
        _faceted(plan, results, loss_vs_time_data, n=n_used, s=s_used)
    plans.append(plan)

    # two panels already: other swept factors are never pooled into the bands, one
    # combination is drawn and the note says which
    target = ((getattr(results, "resolved", None) or {}).get("accuracy") or {}).get("target_loss")
    subsets, _ = facets(results, _HANDLED.get("loss_vs_time", set()))
    title, sub = subsets[0]
    plan = _plan(
        "time_to_accuracy",
        time_to_accuracy_data(sub, target=target),
        "no finite training loss: the scenario trains no model",
    )
    if plan.drawn and not target:
        plan.reason = "no [accuracy] target_loss in the scenario"
    elif plan.drawn:
        n_used = plan.data["n"].iloc[0]
        picked = []
        if title:
            picked.append(
                f"at {title}"
                + (
                    f" (the first of {len(subsets)} combinations of the other swept "
                    "factors; filter the results to draw another)"
                    if len(subsets) > 1
                    else ""
                )
            )
        plan.note = _join(
            [
                _n_note(results, n_used) or f"n = {n_used}",
                *_s_note(plan.data),
                *picked,
                f"bands over {int(plan.data['k'].max())} replicate(s)",
            ]
        )
    plans.append(plan)

    plan = _plan(
        "decode_time_vs_n",
        decode_time_vs_n_data(results),
        "no successful point has a measured decode time",
    )
    _needs_two_n(plan)
    _pooled_note(plan, results, {"cluster.n"}, "mean (band: smallest to largest) over")
    plans.append(plan)
    for plan in plans:  # values that could not be drawn are said, never silently dropped
        if plan.drawn and plan.name in ("round_time_cdf", "loss_vs_time"):
            picked = plan.data.attrs.get("picked", [])
            plan.note = "; ".join(x for x in (plan.note, *picked) if x)
        extra = left_out_note(plan.data)
        if extra and plan.drawn:
            plan.note = "; ".join(p for p in (plan.note, extra) if p)
        elif extra:
            plan.reason = f"{plan.reason} ({extra})"
    return plans


def _pooled_note(plan: FigurePlan, results: ResultsLike, shown: set[str], how: str) -> None:
    """Say which swept factors a figure combines (it draws one value per scheme and n)."""
    pooled = [f for f in swept_factors(results) if f not in shown]
    if plan.drawn and pooled:
        ok = ok_summary(results)
        parts = [
            f"{_short(f)} = {', '.join(sorted(set(ok[f].astype(str)), key=_sort_key))}"
            for f in pooled
        ]
        plan.note = "; ".join(x for x in (plan.note, f"{how} {'; '.join(parts)}") if x)


def _s_note(data: pd.DataFrame) -> list[str]:
    return single_values(data, {"s": "requested s"})


def _plan(name: str, data: pd.DataFrame, empty: str) -> FigurePlan:
    """The plan of figure ``name`` showing ``data``: skipped for the reason ``empty``
    when its data function found nothing."""
    return FigurePlan(name, data, reason=empty if data.empty else None)


def _needs_two_n(plan: FigurePlan) -> None:
    """Skip a figure drawn against n when its data hold a single n."""
    ns = _values(plan.data, "n")
    if plan.drawn and len(ns) < 2:
        plan.reason = f"n does not vary (n = {ns[0]})"


def _draw(plan: FigurePlan, styles: Mapping[str, SchemeStyle]) -> Figure:
    name, data = plan.name, plan.data
    if name == "tradeoff_d_vs_m":
        panels = plan.options.get("panels") or [None]
        fig, axs = new_axes(len(panels), width=4.3 * len(panels) + 2.2)
        handles: dict[str, Any] = {}
        for ax, s in zip(axs, panels, strict=True):
            plot_tradeoff_d_vs_m(data, s=s, ax=ax, styles=styles)
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
            leg = ax.get_legend()
            if leg is not None:
                leg.remove()
        legends = [st.legend(label) for label, st in styles.items()]  # in slot order
        bounds = [k for k in handles if k not in legends]  # the bound and the region last
        order = [k for k in legends if k in handles] + bounds
        with style_context():
            add_legend(axs[-1], [handles[k] for k in order], order)
        return fig
    if name == "time_to_accuracy":
        fig, axs = new_axes(2, width=13.0)
        plot_time_to_accuracy(data, axes=axs, styles=styles)
        return fig
    if name == "stability_vs_n":
        fig, axs = new_axes(2, width=12.5)
        plot_stability_vs_n(data, axes=axs, styles=styles)
        fig.suptitle("Numerical stability vs cluster size")
        return fig
    draw: dict[str, Callable[..., Any]] = {
        "round_time_vs_s": plot_round_time_vs_s,
        "round_time_cdf": plot_round_time_cdf,
        "loss_vs_time": plot_loss_vs_time,
        "decode_time_vs_n": plot_decode_time_vs_n,
    }
    extra: dict[str, Any] = {"logx": plan.options["logx"]} if "logx" in plan.options else {}
    parts: list[tuple[str, pd.DataFrame]] = plan.options.get("facets") or [("", data)]
    fig, axs = new_axes(len(parts), width=None if len(parts) == 1 else 4.6 * len(parts) + 2.4)
    for ax, (title, part) in zip(axs, parts, strict=True):
        draw[name](part, ax=ax, styles=styles, **extra)
        if title:
            ax.set_title(f"{ax.get_title()}\n{title}")
    if len(axs) > 1:  # one legend, right of the last panel, for the schemes of every panel
        _shared_legend(axs, styles)
    return fig


def _shared_legend(axs: Sequence[Any], styles: Mapping[str, SchemeStyle]) -> None:
    handles: dict[str, Any] = {}
    title = ""
    for ax in axs:
        leg = ax.get_legend()
        if leg is not None:
            title = leg.get_title().get_text() or title
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
            leg.remove()
    legends = [st.legend(label) for label, st in styles.items()]
    order = [k for k in legends if k in handles] + [k for k in handles if k not in legends]
    with style_context():
        add_legend(axs[-1], [handles[k] for k in order], order, title=title or None)


def _caption(fig: Figure, text: str) -> None:
    """A small note under the figure (e.g. values left out as non-finite)."""
    if text:
        fig.text(0.01, -0.02, f"Note: {text}.", fontsize=7, color="0.35", ha="left", va="top")


def _save(fig: Figure, path: Path, fmt: str, dpi: int) -> None:
    """Write the figure atomically: to a uniquely named temporary file beside it, then
    renamed over it, so a kill while plotting never leaves a truncated figure and two
    processes drawing the same figure never write into one temporary file."""
    FigureCanvasAgg(fig)
    meta: dict[str, Any] = {"CreationDate": None} if fmt == "pdf" else {}
    atomic_replace(
        path,
        lambda tmp: fig.savefig(
            tmp, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.05, metadata=meta or None
        ),
        suffix=".tmp",
    )


def _readme(plans: Sequence[FigurePlan], written: Mapping[str, list[Path]]) -> str:
    lines = [
        "# Figures",
        "",
        "Drawn by `gcsim.plots.plot_results`.",
        "",
        "| figure | shows | status |",
        "|---|---|---|",
    ]
    for p in plans:
        if p.drawn:
            files = ", ".join(f"[{f.name}]({f.name})" for f in written.get(p.name, []))
            status = "drawn: " + files + (f" ({p.note})" if p.note else "")
        else:
            status = f"skipped: {p.reason}"
        lines.append(f"| {p.name} | {FIGURES[p.name]} | {status} |")
    skipped = [p for p in plans if not p.drawn]
    lines += ["", f"{len(plans) - len(skipped)} drawn, {len(skipped)} skipped.", ""]
    return "\n".join(lines)


def plot_results(
    results: ResultsLike,
    out_dir: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[Path]:
    """Draw every figure the results have data for and save each in every format.

    Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas (no pyplot,
    no global state). Which figures are drawn follows :func:`figure_plan`; every scheme
    keeps one colour in all of them (:func:`scheme_styles` of every label in the
    results). ``out_dir/README.md`` lists the figures drawn (with the n and s chosen)
    and those skipped with the reason; skips are also logged at INFO level, and a file
    of a skipped figure left in ``out_dir`` by an earlier run is removed.

    Parameters
    ----------
    results : Results
        A loaded results folder (:func:`gcsim.scenarios.store.load_results`).
    out_dir : path
        Folder for the files (created if needed).
    formats : sequence of str
        File formats, from ``png``, ``pdf``, ``svg``, ``eps``.
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    list of Path
        The figure files written, in :data:`FIGURES` order then format order (the README
        is not included).
    """
    fmts = [str(f).lower().lstrip(".") for f in formats]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}; got {formats!r}")
    if int(dpi) <= 0:
        raise ValueError(f"dpi must be positive; got dpi={dpi!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary, records = summary_of(results), records_of(results)
    codes: dict[str, Any] = {}
    if "code" in summary.columns:
        codes = dict(zip(labels(summary), summary["code"], strict=True))
    styles = scheme_styles([*labels(summary), *labels(records)], codes)
    written: dict[str, list[Path]] = {}
    paths: list[Path] = []
    with style_context():
        plans = figure_plan(results)
        for plan in plans:
            if not plan.drawn:
                log.info("figure %s skipped: %s", plan.name, plan.reason)
                for fmt in FORMATS:  # a stale file from an earlier run would contradict
                    (out / f"{plan.name}.{fmt}").unlink(missing_ok=True)
                continue
            fig = _draw(plan, styles)
            _caption(fig, left_out_note(plan.data))
            for fmt in fmts:
                path = out / f"{plan.name}.{fmt}"
                _save(fig, path, fmt, int(dpi))
                written.setdefault(plan.name, []).append(path)
                paths.append(path)
    (out / "README.md").write_text(_readme(plans, written), encoding="utf-8")
    return paths
