"""What the advisor returns: :class:`Advice` (the ranked table, why the winner wins, the
scenario file of the recommendation, the Pareto-front data and figure)."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gcsim import _files
from gcsim.advise.evaluate import decode_wall, shares
from gcsim.advise.model import Cluster, Settings
from gcsim.advise.search import Row
from gcsim.errors import GcsimError, InvalidInputError
from gcsim.fit.report import toml_scalar

__all__ = ["COLUMNS", "METHODS", "Advice", "to_toml"]

#: columns of :meth:`Advice.table`
COLUMNS = (
    "rank",
    "scheme",
    "s",
    "m",
    "d",
    "generator",
    "layout",
    "rule",
    "policy",
    "value",
    "uncertainty",
    "method",
    "bytes_per_round",
    "worst_cond",
    "rel_error",
    "des_check",
    "why_listed",
    "also",
)

#: what each method means (the ``method`` column)
METHODS = {
    "closed-form": "exact distribution of the round time: the group integral of order "
    "statistics (gcsim.analysis.order_stats); no sampling error",
    "fast path": "gcsim.simulate(engine='fast'): vectorised order statistics of simulated "
    "rounds; uncertainty = standard error over the rounds",
    "replay": "the fast path's order statistics on the run's own sampler draws with the "
    "deterministic network and kernel costs (exactly the DES's round times with "
    "unlimited ingress); uncertainty = standard error",
    "replay (lower bound)": "the replay without the contention at the server's finite "
    "ingress: a lower bound (the DES confirms the top rows and replaces it)",
    "DES": "gcsim.simulate(engine='des'): the SimPy discrete-event model; uncertainty = "
    "standard error",
}

_OBJECTIVE_NAMES = {
    "mean": "mean round time",
    "p95": "95th-percentile round time",
    "loss": "time to the target loss (rounds to reach it × mean round time)",
}


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    x = float(x)
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.{digits}g}"
    return f"{x:.{max(1, digits - 2)}e}"


def _label(row: Row) -> str:
    gen = f" ({row.generator})" if row.generator != "-" else ""
    return f"{row.scheme}{gen}, s = {row.s}, m = {row.m}, d = {row.d}"


@dataclass
class Advice:
    """The advisor's answer.

    Attributes
    ----------
    cluster, settings
        The validated inputs.
    rows : list of Row
        Every configuration evaluated (accepted, excluded or only evaluated).
    ranked : list of Row
        The accepted rows, best first, one per timing-equivalent configuration (the
        other generators with the same timing are in the row's ``also``).
    notes : list of str
        What the search assumed, skipped or could not do.
    stats, timings : dict
        Counts (grid size, pruned, built, evaluated by each method...) and seconds.
    """

    cluster: Cluster
    settings: Settings
    rows: list[Row]
    ranked: list[Row]
    notes: list[str]
    stats: dict[str, Any]
    timings: dict[str, float]
    _why: dict[str, Any] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ the answer
    @property
    def best(self) -> Row:
        """The recommended configuration (the best row whose stability was measured)."""
        ok = [r for r in self.ranked if r.verified]
        if not ok:
            reasons = sorted({r.reason for r in self.rows if r.reason})[:3]
            raise InvalidInputError(
                "no configuration satisfies the constraints"
                + (": " + "; ".join(reasons) if reasons else "")
            )
        return ok[0]

    @property
    def objective_name(self) -> str:
        return _OBJECTIVE_NAMES[self.settings.objective]

    def listed(self) -> list[tuple[Row, str]]:
        """The rows of the table: the top k, then the best row of every other scheme."""
        k = self.settings.top
        out = [(r, "top") for r in [r for r in self.ranked if r.verified][:k]]
        seen = {r.scheme for r, _ in out}
        for r in self.ranked:
            if r.scheme not in seen:
                note = "" if r.verified else " (stability not measured)"
                out.append((r, f"best {r.scheme}{note}"))
                seen.add(r.scheme)
        return out

    def table(self) -> pd.DataFrame:
        """The ranked table (columns :data:`COLUMNS`)."""
        recs = []
        for r, why in self.listed():
            des_check = ""
            if r.confirm is not None:
                c = r.confirm
                val, se = c.value("p95" if self.settings.objective == "p95" else "mean")
                if self.settings.objective == "loss" and r.rounds_to_target:
                    val, se = val * r.rounds_to_target, se * r.rounds_to_target
                des_check = f"{_fmt(val)} ± {_fmt(se, 2)} ({c.rounds} rounds)"
            recs.append(
                {
                    "rank": self.ranked.index(r) + 1,
                    "scheme": r.scheme,
                    "s": r.s,
                    "m": r.m,
                    "d": r.d,
                    "generator": r.generator,
                    **_design_fields(r),
                    "bytes_per_round": r.bytes_per_round,
                    "worst_cond": r.stability.worst_cond,
                    "rel_error": r.stability.rel_error,
                    "des_check": des_check,
                    "why_listed": why,
                    "also": ", ".join(r.also),
                }
            )
        return pd.DataFrame(recs, columns=list(COLUMNS))

    def all_rows(self) -> pd.DataFrame:
        """Every evaluated configuration, one row each (also the excluded ones, with
        the reason), for analysis and the Pareto figure."""
        recs = []
        for r in self.rows:
            recs.append(
                {
                    "scheme": r.scheme,
                    "generator": r.generator,
                    "s": r.s,
                    "s_requested": r.s_req,
                    "m": r.m,
                    "d": r.d,
                    **_design_fields(r),
                    "mean": r.estimate.mean,
                    "p95": r.estimate.p95,
                    "bound": r.bound,
                    "bytes_per_round": r.bytes_per_round,
                    "worst_cond": r.stability.worst_cond,
                    "rel_error": r.stability.rel_error,
                    "stability_sets": r.stability.sets,
                    "status": r.status,
                    "reason": r.reason,
                }
            )
        return pd.DataFrame(recs)

    # ------------------------------------------------------------------ why
    def why(self) -> dict[str, Any]:
        """Where the winner's and the runner-up's round times go (compute and
        communication of the worker that ends the round, fixed network and encode time,
        decode and update, and what the cancel-policy replay leaves out), measured on
        the same replayed rounds, and a sentence."""
        if self._why is not None:
            return self._why
        best = self.best
        others = [r for r in self.ranked if r.verified and r is not best]
        runner = others[0] if others else None
        rounds = min(4000, max(500, self.settings.rounds))
        out: dict[str, Any] = {
            "winner": _label(best),
            "runner_up": _label(runner) if runner else "",
        }
        parts = {}
        for name, row in (("winner", best), ("runner_up", runner)):
            if row is None or row.code is None:
                continue
            sh = shares(row.code, self.cluster, row.rule, rounds, self.settings.seed)
            # what the cancel-policy replay leaves out: the non-preemptive policy and the
            # ingress contention (only a DES value holds them; else it is sampling noise)
            sh["other"] = row.estimate.mean - sh["total"] if row.method == "DES" else 0.0
            sh["decode_wall"] = decode_wall(row.code, self.cluster.dimension)
            parts[name] = sh
        out["parts"] = parts
        out["text"] = self._why_text(best, runner, parts)
        self._why = out
        return out

    def _why_text(self, best: Row, runner: Row | None, parts: dict[str, Any]) -> str:
        obj = self.objective_name
        if runner is None:
            return f"{_label(best)} is the only configuration that satisfies the constraints."
        gap = (runner.value - best.value) / runner.value * 100 if runner.value else 0.0
        lines = [
            f"{_label(best)} wins: its {obj} is {_fmt(best.value)} against "
            f"{_fmt(runner.value)} for the runner-up {_label(runner)} ({gap:.1f}% lower)."
        ]
        w, r = parts.get("winner"), parts.get("runner_up")
        if w and r:
            names = {
                "compute": "computation",
                "communication": "communication",
                "network": "fixed network and encode time",
                "decode": "decode and update",
                "other": "queueing, contention and policy",
            }
            scale = max(abs(w["total"]), abs(r["total"]), 1e-300)
            diffs = {
                k: w[k] - r[k]
                for k in names
                if math.isfinite(w[k] - r[k]) and abs(w[k] - r[k]) > 1e-3 * scale
            }
            gains = sorted((k for k in diffs if diffs[k] < 0), key=lambda k: diffs[k])
            pays = sorted((k for k in diffs if diffs[k] > 0), key=lambda k: -diffs[k])
            per = " per round" if self.settings.objective == "loss" else ""
            if gains:
                lines.append(
                    "It saves "
                    + ", ".join(f"{_fmt(-diffs[k], 3)} in {names[k]}" for k in gains)
                    + f"{per} (the worker that ends its round waits less)"
                    + (
                        "; it pays " + ", ".join(f"{_fmt(diffs[k], 3)} in {names[k]}" for k in pays)
                        if pays
                        else ""
                    )
                    + "."
                )
            reasons = []
            if best.d != runner.d:
                reasons.append(f"load d = {best.d} vs {runner.d}")
            if best.m != runner.m:
                reasons.append(f"messages of l/{best.m} vs l/{runner.m}")
            if best.s != runner.s:
                reasons.append(f"{best.s} vs {runner.s} stragglers tolerated")
            if best.layout != runner.layout:
                reasons.append(f"groups {best.layout} vs {runner.layout}")
            if reasons:
                lines.append("The difference comes from " + ", ".join(reasons) + ".")
            walls = [sh.get("decode_wall", math.nan) for sh in (w, r)]
            if all(math.isfinite(x) for x in walls) and self.cluster.costs.zero:
                lines.append(
                    f"Decoding one gradient of length {self.cluster.dimension} takes "
                    f"{walls[0] * 1e3:.3g} ms (winner) and {walls[1] * 1e3:.3g} ms (runner-up) "
                    f"on this machine, not charged: the cost model is zero."
                )
        if self.settings.objective == "loss" and best.rounds_to_target:
            lines.append(
                f"Rounds to the target loss: {best.rounds_to_target} (winner), "
                f"{runner.rounds_to_target} (runner-up); the time is rounds × mean round time."
            )
        return " ".join(lines)

    def why_table(self) -> pd.DataFrame:
        """The shares of :meth:`why` as a table (rows: parts; columns: winner,
        runner-up, difference)."""
        parts = self.why()["parts"]
        keys = ["compute", "communication", "network", "decode", "other", "total"]
        w = parts.get("winner", {})
        r = parts.get("runner_up", {})
        return pd.DataFrame(
            {
                "part": keys,
                "winner": [w.get(k, math.nan) for k in keys],
                "runner_up": [r.get(k, math.nan) for k in keys],
                "difference": [w.get(k, math.nan) - r.get(k, math.nan) for k in keys],
            }
        )

    # ------------------------------------------------------------------ scenario file
    def scenario_rows(self) -> list[Row]:
        """The recommendation and its runners-up that share its policy and rule (one
        scenario file has one policy and one decode rule)."""
        best = self.best
        out = [best]
        for r in self.ranked:
            if len(out) >= max(2, self.settings.top):
                break
            if r is not best and r.verified and r.policy == best.policy and r.rule == best.rule:
                out.append(r)
        return out

    def scenario_toml(self, *, name: str | None = None, rounds: int | None = None) -> str:
        """A scenario file (TOML) of the recommendation with its runners-up as
        ``[[schemes]]``: ``gcsim sweep FILE`` and ``gcsim live FILE`` confirm it."""
        import gcsim

        cl, st = self.cluster, self.settings
        best = self.best
        rows = self.scenario_rows()
        name = name or f"advise-n{cl.n}"
        lines = [
            f"# Recommended by `gcsim advise` (gcsim {gcsim.__version__}).",
            f"# Cluster: {cl.describe()}",
            f"# Objective: {self.objective_name}. Winner: {_label(best)}: "
            f"{_fmt(best.value)} ± {_fmt(best.se, 2)} ({best.method}).",
            "# Runners-up follow as further [[schemes]]. Confirm with:",
            "#   gcsim sweep THIS_FILE      (the simulator: every scheme on the same delay draws)",
            "#   gcsim live THIS_FILE       (the same protocol on MPI processes)",
            "",
        ]
        scen: dict[str, Any] = {
            "name": name,
            "description": f"gcsim advise recommendation for n = {cl.n}: {_label(best)}",
            "seed": st.seed,
            "rounds": int(rounds or st.confirm_rounds),
            "engine": "auto",
        }
        cluster: dict[str, Any] = {
            "n": cl.n,
            "policy": best.policy,
            "decode_rule": best.rule,
            "load_mode": cl.load_mode,
        }
        network = {
            k: v
            for k, v in cl.network.as_dict().items()
            if k in ("latency", "bandwidth", "ingress", "broadcast", "bytes_per_value")
            or (k == "sharing" and v != "fair")
        }
        costs = {k: v for k, v in cl.costs.as_dict().items() if k != "measured" or v}
        sections: list[tuple[str, dict[str, Any]]] = [
            ("scenario", scen),
            ("cluster", cluster),
            ("cluster.network", network),
            ("cluster.costs", costs),
            ("delays.compute", _spec(cl.compute)),
            ("delays.comm", _spec(cl.comm)),
        ]
        if cl.workload is not None:
            sections.append(("workload", dict(cl.workload)))
        else:
            sections.append(("workload", {"model": "none", "dimension": cl.dimension}))
        for title, table in sections:
            lines.append(f"[{title}]")
            lines += [f"{_key(k)} = {to_toml(v)}" for k, v in table.items()]
            lines.append("")
        used: set[str] = set()
        for i, r in enumerate(rows):
            label = _scheme_label(r, used)
            lines.append(
                "[[schemes]]" + ("  # the recommendation" if i == 0 else f"  # runner-up {i}")
            )
            lines.append(f"code = {to_toml(r.scheme)}")
            lines.append(f"label = {to_toml(label)}")
            lines.append(f"s = {_requested_s(r)}")
            lines.append(f"m = {r.m}")
            if r.variant.options:
                lines.append(f"options = {to_toml(dict(r.variant.options))}")
            lines.append(
                f"# predicted {self.objective_name}: {_fmt(r.value)} ± {_fmt(r.se, 2)} "
                f"({r.method}); d = {r.d}, effective s = {r.s}"
            )
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def write_scenario(self, path: str | os.PathLike[str], **kw: Any) -> Path:
        """Write :meth:`scenario_toml` to ``path`` atomically; returns the path."""
        return _atomic_write(Path(path), self.scenario_toml(**kw).encode())

    # ------------------------------------------------------------------ figure
    def pareto_data(self) -> pd.DataFrame:
        """The data of the Pareto figure (see :func:`gcsim.advise.figure.pareto_data`)."""
        from gcsim.advise.figure import pareto_data

        return pareto_data(self)

    def plot(self, path: str | os.PathLike[str] | None = None, *, dpi: int = 150) -> Any:
        """Draw the Pareto figure (round time against load d, bytes per round and worst
        condition number); write it atomically to ``path`` when given. Returns the
        matplotlib Figure."""
        from gcsim.advise.figure import plot_pareto, save_figure

        fig = plot_pareto(self.pareto_data(), objective=self.objective_name)
        if path is not None:
            save_figure(fig, Path(path), dpi=dpi)
        return fig

    # ------------------------------------------------------------------ reports
    def methods_note(self) -> str:
        used = sorted({r.method for r, _ in self.listed()})
        return "; ".join(f"**{m}**: {METHODS[m]}" for m in used if m in METHODS)

    def format(self) -> str:
        """Plain text for a terminal: the cluster, the table, why, notes, the search."""
        tab = self.table()
        show = tab.drop(columns=["also"]).copy()
        for col in ("value", "uncertainty", "bytes_per_round", "worst_cond", "rel_error"):
            show[col] = [_fmt(float(v), 4 if col == "value" else 2) for v in show[col]]
        lines = [
            f"cluster: {self.cluster.describe()}",
            f"objective: {self.objective_name}; constraints: {self.constraints_text()}",
            "",
            show.to_string(index=False),
            "",
            "why: " + self.why()["text"],
        ]
        lines += [f"note: {x}" for x in self.notes]
        lines += ["", "search: " + self.search_text()]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The whole answer as markdown: inputs, table, why, notes, what was searched."""
        st = self.settings
        lines = [
            "# gcsim advise",
            "",
            f"Cluster: {self.cluster.describe()}.",
            "",
            f"Objective: {self.objective_name}. Constraints: {self.constraints_text()}.",
            "",
            "## Ranked configurations",
            "",
            _markdown_table(self.table()),
            "",
            f"Methods: {self.methods_note()}. The top {st.confirm} were confirmed by the DES "
            f"({st.confirm_rounds} rounds, another seed): the `des_check` column.",
            "",
            "## Why the winner wins",
            "",
            self.why()["text"],
            "",
            _markdown_table(self.why_table()),
            "",
        ]
        if self.notes:
            lines += ["## Notes", ""] + [f"* {x}" for x in self.notes] + [""]
        lines += ["## Search", "", self.search_text(), ""]
        return "\n".join(lines)

    def constraints_text(self) -> str:
        st = self.settings
        if st.max_stragglers is None:
            parts = [f"s >= {st.min_stragglers}"]
        elif st.max_stragglers == st.min_stragglers:
            parts = [f"s = {st.min_stragglers}"]
        else:
            parts = [f"{st.min_stragglers} <= s <= {st.max_stragglers}"]
        if st.max_load is not None:
            parts.append(f"d <= {st.max_load}")
        if st.max_bytes is not None:
            parts.append(f"bytes per round <= {st.max_bytes:g}")
        if st.max_cond is not None:
            parts.append(f"worst condition number <= {st.max_cond:g}")
        if st.max_error is not None:
            parts.append(f"worst {self.cluster.dtype} relative error <= {st.max_error:g}")
        parts.append("exact codes only" if st.exact_only else "inexact codes allowed")
        if st.schemes is not None:
            parts.append("schemes " + ", ".join(st.schemes))
        parts.append("policies " + ", ".join(st.policies))
        parts.append("rules " + ", ".join(st.rules))
        return "; ".join(parts)

    def search_text(self) -> str:
        s, t = self.stats, self.timings
        return (
            f"{s['grid']} (scheme, generator, s, m) grid points; "
            f"{s['pruned_by_grid_bound']} pruned by the grid bound before any feasibility "
            f"check; {s['feasibility_checks']} feasibility checks ({s['infeasible']} "
            f"infeasible, {s['duplicates']} duplicates); {s['pruned_by_bound']} pruned by "
            f"the bound with d known, {s['pruned_same_layout']} non-MDS generators pruned by "
            f"their layout's MDS timing; {s['built']} codes built; evaluated by closed form "
            f"{s['closed_form']}, fast path {s['fast_path']}, replay {s['replay']}, DES "
            f"{s['des']} (timings shared {s['shared_timing']} times); "
            f"{s['stability_checks']} stability checks, {s['excluded']} configurations "
            f"excluded by them. Wall time {t.get('total', math.nan):.2f} s."
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary: inputs, table, why, notes, stats, timings."""

        def clean(x: Any) -> Any:
            if isinstance(x, dict):
                return {str(k): clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, (np.integer,)):
                return int(x)
            if isinstance(x, (float, np.floating)):
                v = float(x)
                return v if math.isfinite(v) else str(v)
            return x

        return clean(
            {
                "cluster": self.cluster.describe(),
                "objective": self.settings.objective,
                "constraints": self.constraints_text(),
                "table": self.table().to_dict(orient="records"),
                "why": {k: v for k, v in self.why().items()},
                "notes": self.notes,
                "stats": self.stats,
                "timings": self.timings,
            }
        )

    def save(self, folder: str | os.PathLike[str], *, figure: bool = True) -> list[Path]:
        """Write ``advice.md``, ``advice.json``, ``rows.csv``, ``recommendation.toml`` and
        (``figure``) ``pareto.png`` into ``folder``, each atomically."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = [
            _atomic_write(out / "advice.md", self.to_markdown().encode()),
            _atomic_write(
                out / "advice.json", (json.dumps(self.to_json(), indent=2) + "\n").encode()
            ),
            _atomic_write(out / "rows.csv", self.all_rows().to_csv(index=False).encode()),
            self.write_scenario(out / "recommendation.toml"),
        ]
        if figure:
            self.plot(out / "pareto.png")
            paths.append(out / "pareto.png")
        return paths


# ------------------------------------------------------------------------------ helpers


def _spec(model: Any) -> dict[str, Any]:
    spec = dict(model.spec())
    if spec.get("model") == "trace" and isinstance(spec.get("data"), str):
        spec["data"] = str(Path(spec["data"]).resolve())
    return spec


def _requested_s(row: Row) -> int:
    """The s to write: the code's effective s when asking for it builds the same code
    (a clearer file), else the s the advisor asked for."""
    if row.s != row.s_req:
        try:
            same = row.variant.info.effective(
                row.code.n if row.code else 0, row.s, row.m, **dict(row.variant.options)
            )
        except GcsimError:
            return row.s_req
        if same == (row.s, row.d):
            return row.s
    return row.s_req


def _scheme_label(row: Row, used: set[str]) -> str:
    gen = f"-{row.generator}" if row.generator != "-" else ""
    base = re.sub(r"[^A-Za-z0-9_\-]", "-", f"{row.scheme}{gen}-s{row.s}-m{row.m}")
    label, i = base, 2
    while label in used:
        label, i = f"{base}-{i}", i + 1
    used.add(label)
    return label


_BARE = re.compile(r"^[A-Za-z0-9_\-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def to_toml(value: Any) -> str:
    """One TOML value (inline): bool, int, float (inf and nan too), str, list, table."""
    scalar = toml_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, np.ndarray):
        return to_toml(value.tolist())
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {to_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    raise InvalidInputError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def atomic_replace(path: Path, write: Callable[[str], object], *, suffix: str = "") -> Path:
    """Create ``path`` atomically: ``write`` fills a temporary file next to it (its
    name ends in ``suffix``), which then gets the umask's mode and replaces ``path``;
    on any failure the temporary file is removed."""
    return _files.atomic_replace(path, write, suffix=suffix)


def _design_fields(r: Row) -> dict[str, Any]:
    """The design choices of ``r`` and its predicted value, as columns of both the
    ranked table and :meth:`Advice.all_rows` (in this order)."""
    return {
        "layout": r.layout,
        "rule": r.rule,
        "policy": r.policy,
        "value": r.value,
        "uncertainty": r.se,
        "method": r.method,
    }


def _atomic_write(path: Path, data: bytes) -> Path:
    return atomic_replace(path, lambda tmp: Path(tmp).write_bytes(data))


def _markdown_table(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return _fmt(float(v))
        return str(v).replace("|", "\\|")

    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in rec) + " |")
    return "\n".join(lines)
