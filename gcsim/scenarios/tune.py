"""Tuned comparisons: every scheme's free parameters chosen by the advisor first.

A comparison of gradient codes is only fair when every scheme runs at its own best
settings: a baseline at a hand-picked m (or generator, or decode rule) is a straw man.
With ``[tune] enabled = true`` the sweep asks :func:`gcsim.advise.advise` for each scheme
and each combination of the swept factors, before any point runs:

* **equal s** (``tune.load = 0``, the default): the scheme's best configuration that
  tolerates exactly the requested s (a code that cannot reach that s exactly gets the
  smallest s above it that it can, and the results say so in ``adjusted``);
* **equal computation** (``tune.load = D``): its best configuration with load d <= D
  that tolerates at least the requested s.

What is tuned is ``tune.params``: ``m`` (the communication reduction), ``options`` (the
generator, evaluation points...; options written in a ``[[schemes]]`` entry are kept as
given, only the others are searched) and ``decode_rule``. The straggler policy is the
scenario's. The advisor ranks by ``tune.objective`` with common random numbers, the top
rows confirmed by the DES; then the sweep simulates the picked configuration with the
scenario's own seeds, as for any point.

The answers are kept in ``tuning.json`` in the results folder: a resumed sweep reuses
them (the same configuration whatever happened in between), and they are listed in the
manifest and the summary (column ``tuned``).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gcsim.errors import GcsimError, InfeasibleParametersError

__all__ = ["TUNABLE", "tune_points"]

#: What ``tune.params`` may name.
TUNABLE = ("m", "options", "decode_rule")


def _key(spec: Mapping[str, Any]) -> str:
    """What a tuning answer depends on (the replicate does not)."""
    keep = (
        "code",
        "n",
        "s",
        "m",
        "options",
        "seed",
        "policy",
        "decode_rule",
        "load_mode",
        "network",
        "costs",
        "delays",
        "workload",
        "failed_workers",
        "round_timeout",
        "tune",
    )
    return json.dumps({k: spec.get(k) for k in keep}, sort_keys=True, default=str)


def _cluster(spec: Mapping[str, Any]) -> dict[str, Any]:
    from gcsim.advise.model import cluster_kwargs

    return cluster_kwargs(
        n=spec["n"],
        delays=spec["delays"],
        network=spec["network"],
        costs=spec["costs"],
        load_mode=spec["load_mode"],
        workload=spec.get("workload"),
        where=f"tuning {spec['code']}",
    )


def _variants(
    name: str, given: Mapping[str, Any], tune_options: bool, n: int, s: int
) -> list[dict[str, Any]] | None:
    """Option sets to search: the given options alone; or, tuning options, None when
    none are given (the advisor's own variants: the registry examples, sized for this
    cluster) and otherwise every registry example that agrees with the given options,
    completed by them, whose options are valid at this n (an example's ``speeds`` list
    is sized for its own n)."""
    if not tune_options:
        return [dict(given)]
    if not given:
        return None
    from gcsim.codes import scheme_info
    from gcsim.errors import InfeasibleParametersError

    info = scheme_info(name)
    out: list[dict[str, Any]] = []
    for ex in info.examples:
        opts = dict(ex.options)
        if not all(opts.get(k, v) == v for k, v in given.items()):
            continue
        merged = {**opts, **given}
        try:
            info.effective(n, s, 1, **merged)
        except InfeasibleParametersError:
            pass  # infeasible at m = 1 only, perhaps: the advisor tries every m
        except GcsimError:
            continue  # options that do not fit this n
        if merged not in out:
            out.append(merged)
    return out or [dict(given)]


def _rules(rule: str, tuned: bool) -> tuple[str, ...]:
    """The decode rules the advisor may pick from. The rules of inexact codes
    (``deadline``, ``error``) take run settings the advisor does not search: such a
    point keeps its rule (see :func:`_kept_rule`) and is tuned under the count rule."""
    from gcsim.protocol import INEXACT_RULES

    if rule in INEXACT_RULES:
        return ("count",)
    return ("decodable", "count") if tuned else (rule,)


def _kept_rule(spec: Mapping[str, Any], picked: str) -> str:
    """The decode rule a tuned point runs with: its own when it is a rule of inexact
    codes, the advisor's pick otherwise."""
    from gcsim.protocol import INEXACT_RULES

    return str(spec["decode_rule"]) if spec["decode_rule"] in INEXACT_RULES else picked


def _variant_map(spec: Mapping[str, Any], tune_options: bool) -> dict[str, Any] | None:
    v = _variants(spec["code"], spec["options"], tune_options, int(spec["n"]), int(spec["s"]))
    return None if v is None else {spec["code"]: v}


def _ask(spec: Mapping[str, Any], s_lo: int, s_hi: int | None) -> Any:
    from gcsim.advise import advise
    from gcsim.codes import scheme_info

    tune = spec["tune"]
    info = scheme_info(spec["code"])
    params = set(tune["params"])
    rounds = int(tune["rounds"])
    return advise(
        **_cluster(spec),
        min_stragglers=s_lo if info.supports_s else 0,
        max_stragglers=s_hi if info.supports_s else None,
        max_load=int(tune["load"]) or None,
        m_values=None if "m" in params else (int(spec["m"]),),
        exact_only=False,
        schemes=[spec["code"]],
        policies=(spec["policy"],),
        rules=_rules(spec["decode_rule"], "decode_rule" in params),
        variants=_variant_map(spec, "options" in params),
        objective=tune["objective"],
        top=1,
        rounds=rounds,
        confirm=3,
        confirm_rounds=max(100, rounds // 4),
        seed=int(spec["seed"]),
    )


def _tune_one(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The advisor's pick for one point (a JSON-able dict)."""
    from gcsim.codes import scheme_info

    info = scheme_info(spec["code"])
    s = int(spec["s"])
    load = int(spec["tune"]["load"])
    note = ""
    tries: list[tuple[int, int | None]]
    if not info.supports_s:
        tries = [(0, 0)]
    elif load and info.exact:
        tries = [(s, None)]  # equal computation: at least s within the load budget
    elif info.exact:
        # equal s: exactly s, else the smallest larger s the code reaches
        tries = [(s, s), (s, None)]
    else:
        tries = [(s, s)]  # an inexact code's s is its accuracy knob: kept as asked
    rows: list[Any] = []
    why = ""
    for lo, hi in tries:
        try:
            advice = _ask(spec, lo, hi)
        except GcsimError as exc:
            why = str(exc)
            continue
        rows = [r for r in advice.ranked if r.verified or r is advice.best]
        if hi is None and not load and rows:  # the nearest s above the requested one
            low = min(r.s for r in rows)
            rows = [r for r in rows if r.s == low]
        if rows:
            break
    if not rows:
        raise InfeasibleParametersError(
            f"tuning {spec['code']} found no configuration (s = {s}"
            + (f", d <= {load}" if load else "")
            + f"): {why or 'none is feasible'}"
        )
    best = rows[0]
    if not load and info.supports_s and best.s != s:
        note = f"no configuration at s = {s} exactly; the nearest is s = {best.s}"
    m = int(best.m)
    return {
        "s": int(best.s_req),
        "m": int(m),
        "options": dict(best.variant.options),
        "decode_rule": str(best.rule),
        "s_effective": int(best.s),
        "d": int(best.d),
        "value": float(best.value),
        "se": float(best.se),
        "method": str(best.method),
        "objective": str(spec["tune"]["objective"]),
        "note": note,
    }


def read_tuning(path: Path) -> dict[str, Any]:
    """The answers kept in ``tuning.json`` ({} when there is none yet).

    Raises
    ------
    GcsimError
        The file is unreadable: re-tuning could pick other configurations than the
        finished points ran with, so the folder must be started again."""
    if not path.is_file():
        return {}
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            raise TypeError("not a JSON object")
        return dict(known)
    except (ValueError, TypeError, OSError) as exc:
        raise GcsimError(
            f"{path}: cannot read the tuning of the finished points ({type(exc).__name__}); "
            "use --restart to move the folder aside and tune again"
        ) from None


def describe(t: Mapping[str, Any]) -> str:
    """One line for tables: what the advisor picked and its estimate."""
    opts = ", ".join(f"{k}={v}" for k, v in t["options"].items() if k != "cache_size")
    parts = [f"m={t['m']}", f"d={t['d']}"]
    if opts:
        parts.append(opts)
    parts.append(f"rule={t['decode_rule']}")
    est = f"{t['objective']} {t['value'] * 1e3:.3g} ms by {t['method']}"
    return "; ".join(parts) + f" ({est})" + (f"; {t['note']}" if t.get("note") else "")


def tune_points(points: list[Any], folder: Path | None = None, *, progress: bool = False) -> int:
    """Tune every point whose spec carries a ``tune`` table (see the module docstring),
    in place: the spec gets the picked ``s``, ``m``, ``options`` and ``decode_rule``
    plus ``tuned`` (the record), the point its effective s, d, m and a ``tuned`` line.

    Answers already in ``FOLDER/tuning.json`` are reused; new ones are added to it.
    Returns the number of advisor searches run."""
    from gcsim.analysis.effective import effective_params
    from gcsim.scenarios.store import atomic_write_text

    todo = [p for p in points if p.status != "infeasible" and p.spec.get("tune")]
    if not todo:
        return 0
    path = folder / "tuning.json" if folder is not None else None
    known: dict[str, Any] = {}
    if path is not None:
        known = read_tuning(path)
    keys = list(dict.fromkeys(_key(p.spec) for p in todo))
    searches = 0
    missing = [k for k in keys if k not in known]
    if missing and progress:
        print(
            f"gcsim: tuning {len(missing)} scheme configuration(s) with the advisor",
            file=sys.stderr,
        )
    by_key = {_key(p.spec): p.spec for p in todo}
    for k in missing:
        try:
            known[k] = _tune_one(by_key[k])
        except InfeasibleParametersError as exc:
            known[k] = {"error": str(exc)}
        searches += 1
        if path is not None:
            atomic_write_text(path, json.dumps(known, indent=1, sort_keys=True))
    for p in todo:
        t = known[_key(p.spec)]
        if "error" in t:
            p.status, p.error = "infeasible", str(t["error"])
            continue
        p.spec.update(
            s=t["s"],
            m=t["m"],
            options=t["options"],
            decode_rule=_kept_rule(p.spec, t["decode_rule"]),
        )
        p.spec["tuned"] = t
        p.m = int(t["m"])
        p.tuned = describe(t)
        try:
            eff = effective_params(p.code, p.n, int(t["s"]), int(t["m"]), t["options"])
        except GcsimError:  # pragma: no cover - the advisor built this code
            continue
        p.s, p.d = eff.s, eff.d
        p.d_requested = eff.d_requested
        p.adjusted = t["note"] or ("" if math.isclose(eff.s, p.s_requested) else eff.describe())
    return searches
