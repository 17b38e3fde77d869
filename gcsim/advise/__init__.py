"""``gcsim.advise``: the best gradient code and parameters for a given cluster.

``advise(n=..., delays=..., comm_delays=...)`` searches every registered scheme × s × m
× generator × decode rule × policy, ranks the configurations by the objective (mean
round time by default, the 95th percentile, or the time to a target training loss) and
says how each number was obtained (closed form, fast path, replay or DES) and with what
uncertainty. See ``docs/advise.md``.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gcsim.advise.model import Cluster, Settings, cluster_from_scenario
from gcsim.advise.result import COLUMNS, METHODS, Advice
from gcsim.advise.search import Row, Search

__all__ = ["COLUMNS", "METHODS", "Advice", "Cluster", "Row", "Settings", "advise"]


def advise(
    n: int | None = None,
    *,
    delays: Any = None,
    comm_delays: Any = None,
    network: Any = None,
    costs: Any = None,
    dimension: int | None = None,
    dtype: str | None = None,
    load_mode: str | None = None,
    workload: Any = None,
    scenario: str | Path | None = None,
    min_stragglers: int = 0,
    max_stragglers: int | None = None,
    max_load: int | None = None,
    m_values: Sequence[int] | None = None,
    max_bytes: float | None = None,
    max_cond: float | None = None,
    max_error: float | None = None,
    exact_only: bool = True,
    schemes: Sequence[str] | None = None,
    policies: Sequence[str] = ("cancel", "non-preemptive"),
    rules: Sequence[str] = ("decodable", "count"),
    variants: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    objective: str = "mean",
    target_loss: float | None = None,
    max_rounds: int = 500,
    top: int = 5,
    rounds: int = 2000,
    confirm: int = 3,
    confirm_rounds: int = 500,
    seed: int = 0,
    window: float = 3.0,
    stability_samples: int = 50,
    stability_budget_s: float = 2.0,
) -> Advice:
    """Which scheme, and which s, d and m, to use on a cluster.

    Parameters
    ----------
    n : int
        Workers (= data partitions).
    delays, comm_delays : DelayModel, str or dict
        Compute delay per partition (unit load) and communication delay per full-length
        message, any gcsim delay model (named, fitted dicts, heterogeneous, trace...).
    network, costs : gcsim.Network / gcsim.CostModel or dicts
        The network (default ideal) and the kernel costs (default zero).
    dimension : int
        Gradient length l (default 1000; a workload's own length otherwise).
    dtype : {"float64", "float32"}
        Message precision: bytes per value, and which measured error counts.
    load_mode : {"per-worker", "per-partition"}
    workload : dict
        A training workload (``{"model": "logistic", ...}``), needed by
        ``objective="loss"``.
    scenario : path
        Read the cluster (n, delays, network, costs, workload) from a scenario file;
        the arguments above override it.
    min_stragglers : int
        Tolerate at least this many stragglers (worst case).
    max_stragglers : int
        Tolerate at most this many (with ``min_stragglers``: exactly s, for comparisons
        at equal s; a code that can only reach a larger s is then left out).
    max_load : int
        Largest computation load d.
    m_values : list of int
        Only these communication reductions m (schemes with an m; default: every m).
    max_bytes : float
        Largest bytes per round (all n messages).
    max_cond, max_error : float
        Largest worst-case condition number of the decoders, and largest measured
        relative error of the decoded gradient in ``dtype`` (over sampled straggler sets).
    exact_only : bool
        Exact codes only (default). With False, inexact schemes (ignore-stragglers) are
        ranked too: by time for the time objectives (their error is in ``rel_error``;
        bound it with ``max_error``), by training for the loss objective.
    schemes : list of str
        Only these registry names (default: every registered scheme).
    policies, rules : lists
        Allowed straggler policies and decode rules.
    variants : mapping
        Scheme name -> option sets to search instead of the registry examples', e.g.
        ``{"grouped": [{"generator": "gaussian", "draws": 10}]}``.
    objective : {"mean", "p95", "loss"}
        Mean or 95th-percentile round time, or the time to ``target_loss`` (rounds to
        reach it × mean round time).
    target_loss, max_rounds
        The loss to reach and the rounds allowed to reach it.
    top : int
        Rows in the table's top part (then the best row of every other scheme).
    rounds, confirm, confirm_rounds : int
        Rounds per simulated estimate; how many of the top rows the DES confirms, and
        with how many rounds.
    seed : int
        Root seed (codes and delay draws; common random numbers across configurations).
    window : float
        A scheme's best row is looked for while within ``window`` × the overall best.
    stability_samples, stability_budget_s
        Straggler sets per stability check, and its time budget per configuration.

    Returns
    -------
    Advice

    Raises
    ------
    GcsimError
        Bad input (one line naming the argument), or no configuration satisfies the
        constraints.
    """
    kw: dict[str, Any] = {}
    if scenario is not None:
        kw.update(cluster_from_scenario(scenario))
    given = {
        "n": n,
        "delays": delays,
        "comm_delays": comm_delays,
        "network": network,
        "costs": costs,
        "dimension": dimension,
        "dtype": dtype,
        "load_mode": load_mode,
        "workload": workload,
    }
    for k, v in given.items():
        if v is not None:
            kw[k] = v
    if kw.get("workload") is not None and "dimension" in kw and dimension is None:
        kw.pop("dimension")
    kw.setdefault("dtype", "float64")
    kw.setdefault("load_mode", "per-worker")
    cluster = Cluster.create(kw.pop("n", None), **kw)
    settings = Settings.create(
        min_stragglers=min_stragglers,
        max_stragglers=max_stragglers,
        max_load=max_load,
        m_values=tuple(m_values) if m_values is not None else None,
        max_bytes=max_bytes,
        max_cond=max_cond,
        max_error=max_error,
        exact_only=exact_only,
        schemes=tuple(schemes) if schemes is not None else None,
        policies=tuple(policies),
        rules=tuple(rules),
        objective=objective,
        target_loss=target_loss,
        max_rounds=max_rounds,
        top=top,
        rounds=rounds,
        confirm=confirm,
        confirm_rounds=confirm_rounds,
        seed=seed,
        window=window,
        stability_samples=stability_samples,
        stability_budget_s=stability_budget_s,
    )
    search = Search(cluster, settings, variants)
    search.run()
    ranked = search.ranked()
    advice = Advice(
        cluster=cluster,
        settings=settings,
        rows=search.rows,
        ranked=ranked,
        notes=search.notes + _notes(search, ranked),
        stats=search.stats,
        timings=search.timings,
    )
    advice.best  # noqa: B018 - raises the one-line error when nothing is left
    return advice


def _notes(search: Search, ranked: list[Row]) -> list[str]:
    notes = []
    st = search.settings
    present = {r.scheme for r in ranked}
    skipped = sorted({v for v in (st.schemes or []) if v not in present})
    from gcsim.codes import schemes as registry

    names = [i.name for i in registry() if (st.schemes is None or i.name in st.schemes)]
    if st.exact_only:
        names = [x for x in names if registry_exact(x)]
    missing = [x for x in names if x not in present]
    if missing:
        best = ranked[0].value if ranked else math.nan
        notes.append(
            f"no row for {', '.join(missing)}: infeasible, excluded by a constraint, or no "
            f"configuration within {st.window:g}× the best ({best:.4g}) "
            f"(raise window to see more)"
        )
    del skipped
    inexact = [r for r in ranked[: st.top] if not r.variant.exact]
    if inexact and st.objective != "loss":
        worst = max(r.stability.rel_error for r in inexact)
        notes.append(
            f"inexact rows ({', '.join(sorted({r.scheme for r in inexact}))}) are ranked by "
            f"time only: their decoded gradient is off by up to {worst:.2g} (relative, on "
            f"random partial gradients; column rel_error); bound it with max_error, or rank "
            f"by training with objective='loss'"
        )
    if search.excluded_reasons:
        top = sorted(search.excluded_reasons.items(), key=lambda kv: -kv[1])[:4]
        notes.append(
            "excluded by stability: "
            + "; ".join(f"{k} ({v} configuration{'s' if v > 1 else ''})" for k, v in top)
        )
    return notes


def registry_exact(name: str) -> bool:
    from gcsim.codes import scheme_info

    return scheme_info(name).exact


class _CallableModule(types.ModuleType):
    """``gcsim.advise`` is both this package and the function: once the package is
    imported, the attribute ``gcsim.advise`` is the module, so calling it calls
    :func:`advise`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Advice:
        return advise(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
