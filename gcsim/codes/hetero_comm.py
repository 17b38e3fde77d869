"""Heterogeneous gradient code with communication reduction, after Jahani-Nezhad and
Maddah-Ali ("Optimal communication-computation trade-off in heterogeneous gradient
coding", IEEE JSAIT 2021): for an arbitrary placement whose least-replicated partition
has r copies, messages of ``l / (r - s)`` values suffice against s stragglers, and no
linear scheme does better."""

from __future__ import annotations

from typing import Any

from gcsim.codes._hetero import (
    HeterogeneousCode,
    check_placement,
    check_speeds,
    cyclic_placement,
    loads_from_speeds,
    replication,
)
from gcsim.codes._validate import check_basic, check_options, require_s_below_n
from gcsim.codes.info import Example, SchemeInfo
from gcsim.errors import InfeasibleParametersError, InvalidInputError


class HeteroCommCode(HeterogeneousCode):
    """Any placement, messages of ``ceil(l / m)`` values for every ``m <= r - s``.

    ``r`` is the minimum replication of a partition (:attr:`min_replication`); the
    normalised communication cost ``1 / m`` is optimal at ``m = r - s``, the value of
    Jahani-Nezhad and Maddah-Ali, and ``m > r - s`` is refused. Coefficients from the
    null-space construction of :mod:`gcsim.codes._hetero`: any ``n - s`` responders
    decode exactly with one ``s x s`` solve.

    Parameters
    ----------
    speeds : list of n positive numbers, optional
        Relative worker speeds: the k = n partitions are replicated ``s + m`` times
        (so ``r - s = m``) and worker i computes about ``(s+m) n c_i / sum(c)`` of them,
        placed cyclically (default: equal speeds, every load s + m).
    placement : list of n lists of partition ids, optional
        An explicit placement (instead of ``speeds``): worker i computes the listed
        partitions, numbered 0..k-1. The engines charge a worker its share of the data
        (:attr:`work`, ``loads * n / k``), so a placement over k != n partitions is
        timed by how much data each worker reads, not by its partition count.
    """

    name = "hetero-comm"
    summary = "Jahani-Nezhad & Maddah-Ali: any placement, messages l/(r-s), r = min copies"
    constraints = (
        "m <= r - s with r the minimum replication (speeds: r = s + m, s + m <= n); 0 <= s < n"
    )

    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> HeteroCommCode:
        args = cls._validate(n, s, m, options)
        from gcsim.rng import as_generator  # numpy.random: only when building

        params: dict[str, Any] = {"placement": "speeds" if args["speeds"] is not None else "given"}
        if args["speeds"] is not None:
            params["speeds"] = [float(c) for c in args["speeds"]]
        return cls(
            n=args["n"],
            s=args["s"],
            m=args["m"],
            supports=args["supports"],
            k=args["k"],
            rng=as_generator(rng),
            params=params,
            **options,
        )

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        args = cls._validate(n, s, m, options)
        return args["s"], max(len(x) for x in args["supports"])

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        """Check (n, s, m) and the options; pops ``speeds`` and ``placement``."""
        n, s, m = check_basic(cls.name, n, s, m)
        require_s_below_n(cls.name, n, s)
        check_options(cls.name, options, ["cache_size", "placement", "speeds"])
        speeds_opt = options.pop("speeds", None)
        placement = options.pop("placement", None)
        if placement is not None and speeds_opt is not None:
            raise InvalidInputError(
                f"{cls.name}: give either speeds or placement, not both (a placement "
                "fixes the loads itself)"
            )
        if placement is not None:
            supports, k = check_placement(cls.name, placement, n)
            r = int(replication(supports, k).min())
            if m > r - s:
                raise InfeasibleParametersError(
                    f"{cls.name}: the placement's least-replicated partition has r={r} "
                    f"copies, so it needs m <= r - s = {r - s}; got s={s}, m={m}"
                    + (f" (feasible m: 1..{r - s})" if r - s >= 1 else " (use a smaller s)")
                )
            return {"n": n, "s": s, "m": m, "supports": supports, "k": k, "speeds": None}
        speeds = check_speeds(cls.name, speeds_opt, n)
        r = s + m
        if r > n:
            raise InfeasibleParametersError(
                f"{cls.name} replicates every partition r = s + m times on distinct "
                f"workers, so it needs s + m <= n; got n={n}, s={s}, m={m} "
                f"(feasible m at this s: 1..{n - s})"
            )
        loads = loads_from_speeds(speeds, r * n, n)
        supports = cyclic_placement(loads, n)
        return {"n": n, "s": s, "m": m, "supports": supports, "k": n, "speeds": speeds}


INFO = SchemeInfo(
    cls=HeteroCommCode,
    display_name="Heterogeneous, communication-optimal (Jahani-Nezhad & Maddah-Ali)",
    supports_m=True,
    exact=True,
    color="#661100",
    marker="d",
    options_help=(
        "speeds=[c_0, ..., c_{n-1}] (replication s+m, loads proportional to speed; "
        "'cluster' in a scenario) or placement=[[partitions of worker 0], ...] "
        "(m <= min replication - s); cache_size"
    ),
    examples=(
        Example(8, 2, 2, {"speeds": [1, 1, 1, 1, 2, 2, 3, 4]}),
        Example(
            6,
            1,
            2,
            {"placement": [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1]]},
        ),
    ),
)
