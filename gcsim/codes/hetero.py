"""Heterogeneity-aware gradient code in the style of Wang, Guo, Tang, Li and Li (ICDCS 2019):
faster workers compute more partitions, and any n - s workers still give the exact sum."""

from __future__ import annotations

from typing import Any

from gcsim.codes._hetero import (
    HeterogeneousCode,
    check_speeds,
    cyclic_placement,
    loads_from_speeds,
)
from gcsim.codes._validate import check_full_length, check_options
from gcsim.codes.info import Example, SchemeInfo


class HeteroAwareCode(HeterogeneousCode):
    """Loads proportional to the workers' speeds, every partition on s+1 workers (m = 1).

    The k = n partitions are replicated s+1 times; worker i computes
    ``d_i ~ (s+1) n c_i / sum(c)`` of them (integers in ``1..n``, see
    :func:`gcsim.codes._hetero.loads_from_speeds`), placed cyclically so the copies of a
    partition sit on distinct workers. The coefficients come from the null-space
    construction of :mod:`gcsim.codes._hetero` (a trigonometric parity matrix and a
    random decoding functional, seeded): any ``n - s`` responders decode exactly with one
    ``s x s`` solve. With equal speeds every
    load is s+1, as in the cyclic repetition code.

    Parameters
    ----------
    speeds : list of n positive numbers, optional
        Relative throughputs (partitions per unit time); default all equal. In a
        scenario, ``speeds = "cluster"`` takes them from ``delays.compute`` when it is a
        ``heterogeneous`` model with explicit speeds.
    """

    name = "hetero"
    summary = "Wang et al. heterogeneity-aware: loads proportional to speed, any n-s exact"
    constraints = "m = 1, 0 <= s < n, speeds: n positive numbers (default equal)"

    @classmethod
    def build(
        cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any
    ) -> HeteroAwareCode:
        args = cls._validate(n, s, m, options)
        from gcsim.rng import as_generator  # numpy.random: only when building

        loads = args["loads"]
        return cls(
            n=args["n"],
            s=args["s"],
            m=1,
            supports=cyclic_placement(loads, args["n"]),
            k=args["n"],
            rng=as_generator(rng),
            params={"speeds": [float(c) for c in args["speeds"]]},
            **options,
        )

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        args = cls._validate(n, s, m, options)
        return args["s"], int(args["loads"].max())

    @classmethod
    def _validate(cls, n: Any, s: Any, m: Any, options: dict[str, Any]) -> dict[str, Any]:
        """Check (n, s, m) and the options; pops ``speeds``."""
        n, s = check_full_length(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "speeds"])
        speeds = check_speeds(cls.name, options.pop("speeds", None), n)
        loads = loads_from_speeds(speeds, (s + 1) * n, n)
        return {"n": n, "s": s, "speeds": speeds, "loads": loads}


INFO = SchemeInfo(
    cls=HeteroAwareCode,
    display_name="Heterogeneity-aware (Wang et al.)",
    supports_m=False,
    exact=True,
    color="#44AA99",
    marker="p",
    options_help=(
        "speeds=[c_0, ..., c_{n-1}] relative worker speeds (default equal; 'cluster' in a "
        "scenario takes them from a heterogeneous delays.compute); cache_size"
    ),
    examples=(Example(8, 2, 1, {"speeds": [1, 1, 1, 1, 2, 2, 3, 4]}),),
)
