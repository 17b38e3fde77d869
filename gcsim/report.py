"""The default decodability-and-stability report of every scheme (``gcsim report``)."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gcsim.analysis.stability import CheckResult, check_code
from gcsim.codes import make_code, schemes

__all__ = [
    "DEFAULT_CASES",
    "ReportCase",
    "default_cases",
    "format_table",
    "run_report",
    "write_report",
]


@dataclass(frozen=True)
class ReportCase:
    """One row of the report: a scheme, its parameters and options."""

    scheme: str
    n: int
    s: int
    m: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return self.scheme + (f" ({opts})" if opts else "")


def default_cases() -> tuple[ReportCase, ...]:
    """Every registered scheme's declared examples (``SchemeInfo.examples``), in
    registry order: each scheme at default sizes (n = 12 unless its structure needs
    another n), with its main options."""
    return tuple(
        ReportCase(info.name, ex.n, ex.s, ex.m, dict(ex.options))
        for info in schemes()
        for ex in info.examples
    )


#: The default cases of the schemes registered at import (see :func:`default_cases`).
DEFAULT_CASES: tuple[ReportCase, ...] = default_cases()

COLUMNS = (
    ("scheme", "scheme"),
    ("n", "n"),
    ("s", "s"),
    ("m", "m"),
    ("d", "d"),
    ("exact", "exact"),
    ("sets", "straggler sets"),
    ("ok", "all decode"),
    ("cond", "worst cond"),
    ("e64", "worst rel. err f64"),
    ("e32", "worst rel. err f32"),
    ("dec", "decode (µs)"),
    ("build", "decoder build (µs)"),
)


def run_report(
    cases: Sequence[ReportCase] | None = None,
    *,
    l: int = 64,
    seed: int = 0,
    max_exhaustive: int = 20_000,
    samples: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[ReportCase, CheckResult]]:
    """Build each case's code (seeded) and check it (default: :func:`default_cases`).
    ``progress(done, total)`` is called after each case."""
    out = []
    todo = list(default_cases() if cases is None else cases)
    for case in todo:
        code = make_code(case.scheme, n=case.n, s=case.s, m=case.m, rng=seed, **case.options)
        res = check_code(code, l=l, seed=seed, max_exhaustive=max_exhaustive, samples=samples)
        out.append((case, res))
        if progress is not None:
            progress(len(out), len(todo))
    return out


def _fmt(x: float) -> str:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    return f"{x:.2e}"


def _row(case: ReportCase, r: CheckResult) -> dict[str, str]:
    return {
        "scheme": case.label,
        "n": str(r.n),
        "s": str(r.s),
        "m": str(r.m),
        "d": str(r.d),
        "exact": "yes" if r.exact else "no",
        "sets": f"{r.sets_checked}{'' if r.exhaustive else ' (sampled)'}",
        "ok": "yes" if r.all_decodable else f"NO ({r.failures})",
        "cond": _fmt(r.worst_cond),
        "e64": _fmt(r.worst_rel_error_f64),
        "e32": _fmt(r.worst_rel_error_f32),
        "dec": f"{r.median_decode_s * 1e6:.0f}",
        "build": f"{r.median_build_s * 1e6:.0f}",
    }


def format_table(rows: Sequence[tuple[ReportCase, CheckResult]]) -> str:
    """A markdown table of the report."""
    head = "| " + " | ".join(t for _, t in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"
    lines = [head, sep]
    for case, r in rows:
        cells = _row(case, r)
        lines.append("| " + " | ".join(cells[k] for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def write_report(
    rows: Sequence[tuple[ReportCase, CheckResult]], path: Path, *, l: int, seed: int
) -> tuple[Path, Path]:
    """Write ``path`` (markdown) and ``path.with_suffix('.json')``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    md = [
        "# gcsim: decodability and stability of every scheme",
        "",
        f"Every straggler set of size <= s (sampled when there are more than 20 000), "
        f"random N(0,1) partial gradients of length l={l}, seed {seed}. Errors are "
        "||g_hat - g|| / ||g|| against the exact float64 sum; float32 means float32 "
        "partials, messages and decode. Times are medians per decode / per decoder "
        "construction.",
        "",
        format_table(rows),
        "",
    ]
    path.write_text("\n".join(md), encoding="utf-8")
    meta = {
        "l": l,
        "seed": seed,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "rows": [
            {
                "case": {"scheme": c.scheme, "n": c.n, "s": c.s, "m": c.m, "options": c.options},
                "result": r.as_dict(),
            }
            for c, r in rows
        ],
    }
    jpath = path.with_suffix(".json")
    jpath.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return path, jpath
