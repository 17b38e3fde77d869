"""The any-linear-code framework (Kadhe, Koyluoglu, Ramchandran 2020, as reconstructed in
``docs/codes.md``): fractional-repetition groups plus a short linear code inside each.

The n workers are split into groups of (about) d workers; group g holds d_g consecutive
partitions and every worker of the group holds all of them. Worker p of group g computes
the group sum S_g, splits it into m blocks and sends the p-th symbol of the codeword
``(S_g^(1), ..., S_g^(m)) @ Gen_g``. A group decodes as soon as its responders' columns of
``Gen_g`` have rank m, so a [d, m, d_min] code gives computation load d, communication
l/m and tolerance d_min - 1; an MDS code meets the Ye-Abbe bound d = s + m while the
decoder only ever inverts m x m matrices, independent of n.

When d does not divide n the groups get unequal sizes (n // (n // d) or one more), each
with its own [d_g, m] code of the chosen family: the worst-case tolerance is then
``min_g tolerance_g`` (>= the requested s) and the load is ``max_g d_g``.

Heterogeneous workers (option ``speeds``, MDS families): the number of partitions of a
group need not be its number of workers. The k = n partitions are shared out among the
groups in proportion to the mean speed of their workers (integers >= 1, largest
remainders), so that a group of fast workers, which answers sooner, takes more of the
data; a group's tolerance and decoding are unchanged (they depend only on its workers
and its code). Groups are consecutive worker ids: number the workers so that workers
of similar speed are neighbours, or a fast worker waits in a slow group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gcsim.codes import generators as gens
from gcsim.codes._hetero import check_speeds, loads_from_speeds
from gcsim.codes._validate import (
    MAX_DRAWS,
    check_basic,
    check_int,
    check_options,
    fmt_values,
    nearest,
)
from gcsim.codes.base import GradientCode
from gcsim.codes.info import Example, SchemeInfo, slot_style
from gcsim.codes.tracker import DecodeRule
from gcsim.errors import InfeasibleParametersError, InvalidInputError, did_you_mean, excerpt

FAMILIES = ("gaussian", "vandermonde", "chebyshev", "repetition", "parity", "hamming")
#: Families that are MDS by construction (groups of any size >= s + m).
MDS_FAMILIES = ("gaussian", "vandermonde", "chebyshev", "repetition")


def group_sizes(n: int, d: int) -> list[int]:
    """Split n workers into n // d groups of sizes n // G or n // G + 1 (all >= d)."""
    G = n // d
    base, extra = divmod(n, G)
    return [base + 1] * extra + [base] * (G - extra)


class GroupedCode(GradientCode):
    """Gradient code from any real linear code (see module docstring).

    Parameters
    ----------
    n : int
        Number of workers (= partitions).
    sizes : list of int
        Group sizes, summing to n.
    generators : dict
        Group size -> generator matrix (m x size) shared by all groups of that size.
    select : {"first", "all"}
        ``first``: decode each group from the first responders (by id) whose columns are
        independent (exactly m of them: one m x m inverse per group, the fastest);
        ``all``: least squares on every responder of the group (pseudo-inverse).
    partitions : list of int, optional
        Partitions held by each group (default: its number of workers); k is their sum.
    """

    name = "grouped"
    summary = "any [d, m, d_min] linear code -> load d, comm l/m, tolerance d_min-1"
    constraints = (
        "m >= 1, n >= d; MDS families (gaussian, vandermonde, chebyshev) give "
        "d = s+m; repetition: m = 1; parity: s = 1; hamming: s = 2, m = 4; "
        "fixed generators need d | n"
    )

    def __init__(
        self,
        n: int,
        sizes: list[int],
        generators: dict[int, np.ndarray],
        *,
        select: str = "first",
        known_mds: bool = False,
        partitions: list[int] | None = None,
        cache_size: int = 1024,
        params: dict[str, Any] | None = None,
    ) -> None:
        if select not in ("first", "all"):
            raise InvalidInputError(
                f"grouped: select must be 'first' or 'all'; got {excerpt(select)}"
            )
        m = next(iter(generators.values())).shape[0]
        self._gens = {size: np.array(g, dtype=float) for size, g in generators.items()}
        for g in self._gens.values():
            g.flags.writeable = False
        self._sizes = np.asarray(sizes, dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self._sizes)[:-1]]).astype(np.int64)
        psizes = self._sizes if partitions is None else np.asarray(partitions, dtype=np.int64)
        if psizes.shape != self._sizes.shape or np.any(psizes < 1):
            raise AssertionError("internal: one partition count >= 1 per group")
        self._psizes = psizes
        self._pstarts = np.concatenate([[0], np.cumsum(psizes)[:-1]]).astype(np.int64)
        # families that are MDS by construction skip the subset check (C(d, m) can be huge)
        self._tol = {
            size: (size - m if known_mds else gens.real_tolerance(g))
            for size, g in self._gens.items()
        }
        self._mds = {size: self._tol[size] == size - m for size in self._gens}
        self._select = select
        n_groups = len(sizes)
        self._group_of = np.repeat(np.arange(n_groups), self._sizes)
        s = min(self._tol[int(sz)] for sz in self._sizes)
        supports, coefs = [], []
        for gi in range(n_groups):
            size, pstart, psize = int(self._sizes[gi]), int(self._pstarts[gi]), int(psizes[gi])
            part = np.arange(pstart, pstart + psize)
            Gen = self._gens[size]
            for p in range(size):
                supports.append(part)
                coefs.append(np.tile(Gen[:, p], (psize, 1)))
        super().__init__(
            n=n,
            k=int(psizes.sum()),
            s=s,
            m=m,
            supports=supports,
            coefficients=coefs,
            exact=True,
            cache_size=cache_size,
            params=params,
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, *, n: int, s: int, m: int = 1, rng: Any = None, **options: Any) -> GroupedCode:
        n, s, m, generator, draws, select, speeds = cls._validate(n, s, m, options)
        params: dict[str, Any] = {
            "generator": generator if isinstance(generator, str) else "custom",
            "requested_s": s,
        }
        if isinstance(generator, str) and generator in MDS_FAMILIES:
            sizes = cls._family_sizes(n, s, m, generator)
            from gcsim.rng import as_generator  # numpy.random: only when building

            gen_rng = as_generator(rng)
            generators = {
                size: cls._family(generator, m, size, gen_rng, draws) for size in sorted(set(sizes))
            }
            params["draws"] = draws
            parts = None
            if speeds is not None:
                parts = cls._partitions_from_speeds(n, sizes, speeds)
                params["speeds"] = [float(c) for c in speeds]
            return cls(
                n,
                sizes,
                generators,
                select=select,
                known_mds=True,
                partitions=parts,
                params=params,
                **options,
            )
        Gen = cls._fixed_generator(generator, s, m)
        cls._check_fixed(n, s, m, Gen, params["generator"])
        d = Gen.shape[1]
        return cls(n, [d] * (n // d), {d: Gen}, select=select, params=params, **options)

    @classmethod
    def effective_parameters(cls, *, n: int, s: int, m: int = 1, **options: Any) -> tuple[int, int]:
        """``(min_g d_g - m, max_g d_g)`` for the MDS families (no random draws: the
        group sizes follow from n and d = s + m); a fixed generator's real tolerance
        and length otherwise."""
        n, s, m, generator, _, _, speeds = cls._validate(n, s, m, options)
        if isinstance(generator, str) and generator in MDS_FAMILIES:
            sizes = cls._family_sizes(n, s, m, generator)
            if speeds is not None:
                return min(sizes) - m, max(cls._partitions_from_speeds(n, sizes, speeds))
            return min(sizes) - m, max(sizes)
        Gen = cls._fixed_generator(generator, s, m)
        label = generator if isinstance(generator, str) else "custom"
        return cls._check_fixed(n, s, m, Gen, label), Gen.shape[1]

    @classmethod
    def _validate(
        cls, n: Any, s: Any, m: Any, options: dict[str, Any]
    ) -> tuple[int, int, int, Any, int, str, np.ndarray | None]:
        """Check (n, s, m) and the options' values; pops generator, draws, select and
        speeds."""
        n, s, m = check_basic(cls.name, n, s, m)
        check_options(cls.name, options, ["cache_size", "generator", "draws", "select", "speeds"])
        generator = options.pop("generator", "gaussian")
        draws = check_int(
            "draws", options.pop("draws", 1), minimum=1, maximum=MAX_DRAWS, scheme=cls.name
        )
        select = options.pop("select", "first")
        if select not in ("first", "all"):
            raise InvalidInputError(
                f"grouped: select must be 'first' or 'all'; got {excerpt(select)}"
            )
        if isinstance(generator, str) and generator not in FAMILIES:
            raise InvalidInputError(
                f"grouped: unknown generator {excerpt(generator)}"
                f"{did_you_mean(generator, FAMILIES)}; "
                f"known: {', '.join(FAMILIES)}, or an (m x d) array"
            )
        raw = options.pop("speeds", None)
        speeds = None
        if raw is not None:
            if not (isinstance(generator, str) and generator in MDS_FAMILIES):
                raise InvalidInputError(
                    "grouped: speeds (partitions per group from worker speeds) needs an "
                    f"MDS family generator ({', '.join(MDS_FAMILIES)}); got generator="
                    f"{excerpt(generator if isinstance(generator, str) else 'custom')}"
                )
            speeds = check_speeds(cls.name, raw, n)
        return n, s, m, generator, draws, select, speeds

    @staticmethod
    def _partitions_from_speeds(n: int, sizes: list[int], speeds: np.ndarray) -> list[int]:
        """The n partitions shared out among the groups in proportion to the mean speed
        of their (consecutive) workers: integers >= 1, largest remainders."""
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        mean = np.array([speeds[a : a + b].mean() for a, b in zip(starts, sizes, strict=True)])
        return [int(x) for x in loads_from_speeds(mean, n, n)]

    @classmethod
    def _family_sizes(cls, n: int, s: int, m: int, generator: str) -> list[int]:
        """Group sizes of an MDS family (each group at least d = s + m workers)."""
        if generator == "repetition" and m != 1:
            raise InfeasibleParametersError(
                f"grouped: the repetition code has dimension 1, so it needs m=1; "
                f"got m={m} (use an MDS generator such as 'gaussian' for m > 1)"
            )
        d = s + m
        if n < d:
            raise InfeasibleParametersError(
                f"grouped needs n >= d = s+m; got n={n}, s={s}, m={m} "
                f"(feasible s at this n and m: 0..{n - m})"
                if n >= m
                else f"grouped needs n >= d = s+m; got n={n}, s={s}, m={m} (m must be <= n)"
            )
        return group_sizes(n, d)

    @staticmethod
    def _fixed_generator(generator: Any, s: int, m: int) -> np.ndarray:
        """The generator matrix of ``parity``, ``hamming`` or a custom array."""
        if isinstance(generator, str):
            if generator == "parity":
                if s != 1:
                    raise InfeasibleParametersError(
                        f"grouped: the single-parity-check code tolerates exactly s=1; got s={s}"
                    )
                return gens.parity(m)
            return gens.HAMMING_7_4
        try:
            Gen = np.asarray(generator, dtype=float)
        except (TypeError, ValueError, OverflowError):  # e.g. [{a = 1}], ragged rows
            raise InvalidInputError(
                "grouped: a custom generator must be a finite 2-D array of numbers of shape "
                f"(m, d) with m <= d, or a name ({', '.join(FAMILIES)}); got "
                f"{excerpt(generator)}"
            ) from None
        if (
            Gen.ndim != 2
            or Gen.shape[0] < 1
            or Gen.shape[1] < Gen.shape[0]
            or not np.all(np.isfinite(Gen))
        ):
            raise InvalidInputError(
                "grouped: a custom generator must be a finite 2-D array of shape (m, d) "
                f"with m <= d; got shape {Gen.shape}"
            )
        return Gen

    @staticmethod
    def _check_fixed(n: int, s: int, m: int, Gen: np.ndarray, label: str) -> int:
        """Check (n, s, m) against a fixed generator; returns its real tolerance."""
        gm, d = Gen.shape
        tol = gens.real_tolerance(Gen)
        if gm != m:
            raise InfeasibleParametersError(
                f"grouped: the {label} generator has dimension {gm}, so m must be {gm}; got m={m}"
            )
        if s != tol:
            raise InfeasibleParametersError(
                f"grouped: the {label} generator ({gm}x{d}) has real minimum distance "
                f"{tol + 1}, so it tolerates exactly s={tol} stragglers per group; got s={s}"
            )
        if n % d:
            raise InfeasibleParametersError(
                f"grouped with a fixed generator of length d={d} needs d to divide n; "
                f"got n={n} (nearest feasible n: "
                f"{fmt_values(nearest([d * q for q in range(1, n // d + 3)], n))})"
            )
        return tol

    @staticmethod
    def _family(name: str, m: int, size: int, rng: np.random.Generator, draws: int) -> np.ndarray:
        if name == "repetition":
            return gens.repetition(size)
        if name == "vandermonde":
            return gens.vandermonde(m, size)
        if name == "chebyshev":
            return gens.chebyshev(m, size)
        best, best_c = None, np.inf
        for _ in range(draws):
            g = gens.gaussian(m, size, rng)
            if draws == 1:
                return g
            c = gens.worst_condition(g, rng=rng)
            if c < best_c:
                best, best_c = g, c
        assert best is not None
        return best

    # ------------------------------------------------------------------ properties
    @property
    def group_sizes(self) -> tuple[int, ...]:
        """Number of workers (= partitions) in each group."""
        return tuple(int(x) for x in self._sizes)

    @property
    def group_partitions(self) -> tuple[int, ...]:
        """Number of partitions each group holds (its workers' load)."""
        return tuple(int(x) for x in self._psizes)

    @property
    def group_tolerance(self) -> tuple[int, ...]:
        """Stragglers each group tolerates (its code's real d_min - 1)."""
        return tuple(self._tol[int(x)] for x in self._sizes)

    def generator(self, size: int | None = None) -> np.ndarray:
        """The generator matrix used by groups of ``size`` workers (default: the first)."""
        return self._gens[int(self._sizes[0]) if size is None else int(size)]

    def group_of(self, i: int) -> int:
        """Group index of worker ``i``."""
        return int(self._group_of[self._check_worker(i)])

    # ------------------------------------------------------------------ kernels
    def _group_sums(self, blocks: np.ndarray) -> np.ndarray:
        """(k, m, q) -> (G, m, q) group sums."""
        if np.all(self._psizes == self._psizes[0]):
            G, size = len(self._psizes), int(self._psizes[0])
            return blocks.reshape(G, size, *blocks.shape[1:]).sum(axis=1)
        return np.stack(
            [
                blocks[st : st + sz].sum(axis=0)
                for st, sz in zip(self._pstarts, self._psizes, strict=True)
            ]
        )

    def _encode(self, blocks: np.ndarray) -> np.ndarray:
        S = self._group_sums(blocks)  # (G, m, q)
        q = blocks.shape[2]
        out = np.empty((self.n, q), dtype=blocks.dtype)
        for size, Gen in self._gens.items():
            idx = np.flatnonzero(self._sizes == size)
            Gt = Gen.T.astype(blocks.dtype)  # (size, m)
            msgs = Gt @ S[idx]  # (len(idx), size, q)
            rows = (self._starts[idx][:, None] + np.arange(size)[None, :]).ravel()
            out[rows] = msgs.reshape(-1, q)
        return out

    def _encode_worker(self, i: int, own_blocks: np.ndarray) -> np.ndarray:
        g = int(self._group_of[i])
        size = int(self._sizes[g])
        p = i - int(self._starts[g])
        S = own_blocks.sum(axis=0)  # (m, q)
        return self._gens[size][:, p].astype(own_blocks.dtype) @ S

    # ------------------------------------------------------------------ decoding
    def _group_members(self, R: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(R, dtype=np.int64)
        return arr, self._group_of[arr]

    def _decode_rule(self) -> DecodeRule:
        need = np.full(len(self._sizes), self.m)
        mds = all(self._mds.values())
        return DecodeRule.groups(self._group_of, need, self.n - self.s, group_check=not mds)

    def _group_decodable(self, g: int, members: list[int]) -> bool:
        local = np.asarray(members) - self._starts[g]
        return self._group_rank(local, int(self._sizes[g])) == self.m

    def _is_decodable(self, R: tuple[int, ...]) -> bool:
        if not R:
            return False
        arr, grp = self._group_members(R)
        counts = np.bincount(grp, minlength=len(self._sizes))
        if np.any(counts < self.m):
            return False
        if all(self._mds.values()):
            return True
        return all(
            self._group_rank(arr[grp == g] - self._starts[g], int(self._sizes[g])) == self.m
            for g in range(len(self._sizes))
        )

    def _group_rank(self, local: np.ndarray, size: int) -> int:
        return int(np.linalg.matrix_rank(self._gens[size][:, local]))

    def _not_decodable_reason(self, R: tuple[int, ...]) -> str:
        arr, grp = self._group_members(R)
        bad = []
        for g in range(len(self._sizes)):
            local = arr[grp == g] - self._starts[g]
            size = int(self._sizes[g])
            rank = self._group_rank(local, size) if len(local) else 0
            if rank < self.m:
                st = int(self._starts[g])
                bad.append(
                    f"group {g} (workers {st}..{st + size - 1}) has {len(local)} "
                    f"responder(s) of rank {rank}; needs rank m={self.m}"
                )
        more = f" and {len(bad) - 3} more group(s)" if len(bad) > 3 else ""
        return "grouped: " + "; ".join(bad[:3]) + more

    def _select_first(self, local: np.ndarray, Gen: np.ndarray, mds: bool) -> np.ndarray:
        """Positions (into ``local``) of the first m columns that are independent."""
        m = self.m
        if mds:
            return np.arange(m)
        chosen: list[int] = []
        for t in range(len(local)):
            trial = [*chosen, t]
            if np.linalg.matrix_rank(Gen[:, local[trial]]) == len(trial):
                chosen = trial
                if len(chosen) == m:
                    break
        return np.asarray(chosen)

    def _structured_decoder(self, R: tuple[int, ...]) -> tuple[np.ndarray, float, str]:
        arr, grp = self._group_members(R)
        m = self.m
        A = np.zeros((m, len(R)))
        worst = 1.0
        first = np.searchsorted(grp, np.arange(len(self._sizes)))
        counts = np.bincount(grp, minlength=len(self._sizes))
        for size, Gen in self._gens.items():
            gidx = np.flatnonzero(self._sizes == size)
            if self._select == "first" and self._mds[size]:
                # vectorised over groups: first m responders of each group
                pos = first[gidx][:, None] + np.arange(m)[None, :]  # (Gs, m) into R
                local = arr[pos] - self._starts[gidx][:, None]
                M = Gen[:, local].transpose(1, 0, 2)  # (Gs, m(u), m(p)): Gen[u, S_g[p]]
                Ainv = np.linalg.inv(M.transpose(0, 2, 1))  # (Gs, m, m): A_g = M^-T
                worst = max(worst, float(np.max(np.linalg.cond(M))))
                for u in range(m):
                    A[u, pos] = Ainv[:, u, :]
                continue
            for g in gidx:
                pos = first[g] + np.arange(counts[g])
                local = arr[pos] - self._starts[g]
                if self._select == "first":
                    pick = self._select_first(local, Gen, self._mds[size])
                    pos, local = pos[pick], local[pick]
                    Mg = Gen[:, local]
                    Ag = np.linalg.inv(Mg.T)
                else:
                    Mg = Gen[:, local]
                    Ag = np.linalg.pinv(Mg.T)
                worst = max(worst, float(np.linalg.cond(Mg)))
                A[:, pos] = Ag
        how = (
            "structured: one m x m inverse per group"
            if self._select == "first"
            else "structured: least squares per group"
        )
        return A, worst, how


INFO = SchemeInfo(
    cls=GroupedCode,
    display_name="Grouped linear code (Kadhe et al.)",
    supports_m=True,
    exact=True,
    **slot_style(6),
    options_help=(
        "generator=gaussian (default; draws=K keeps the best of K) | vandermonde | "
        "chebyshev | repetition | parity | hamming | a custom (m x d) matrix from Python; "
        "select='first' (default) | 'all'; speeds=[one per worker] (MDS families: "
        "partitions per group from its workers' mean speed); cache_size"
    ),
    examples=(
        Example(12, 2, 2, {"generator": "gaussian"}),
        Example(12, 2, 2, {"generator": "vandermonde"}),
        Example(12, 2, 2, {"generator": "chebyshev"}),
        Example(12, 2, 1, {"generator": "repetition"}),
        Example(12, 1, 2, {"generator": "parity"}),
        Example(14, 2, 4, {"generator": "hamming"}),
        Example(14, 2, 2, {"generator": "gaussian"}),
        Example(12, 2, 2, {"generator": "gaussian", "speeds": [1] * 4 + [2] * 4 + [4] * 4}),
    ),
)
