"""Seed streams.

gcsim never touches a global random state.  Every consumer of randomness gets its own
:class:`numpy.random.Generator` spawned from one :class:`numpy.random.SeedSequence` by a
*named* stream, so that adding a consumer never shifts the draws of another, and two
schemes run with the same seed face the same straggler draws (common random numbers).
"""

from __future__ import annotations

import numpy as np

from gcsim.errors import InvalidInputError

__all__ = ["STREAMS", "as_generator", "stream"]

#: Fixed identifiers of the named streams.  Never renumber: results depend on them.
#: (1, 3, 4 and 6 belonged to streams no longer used; they are not reused.)
STREAMS: dict[str, int] = {
    "code": 0,  # random code constructions
    "data": 2,  # the workload's data
    "check": 5,  # validation draws (never results)
    "compute": 7,  # compute delays
    "comm": 8,  # communication delays
}

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def stream(seed: int, name: str, replicate: int = 0) -> np.random.Generator:
    """Return the generator of the named stream for ``seed`` and ``replicate``.

    Parameters
    ----------
    seed : int
        The run's root seed (non-negative).
    name : str
        One of :data:`STREAMS`.
    replicate : int
        Replicate index; each replicate has independent streams.
    """
    if name not in STREAMS:
        raise InvalidInputError(
            f"unknown seed stream {name!r}; known streams: {', '.join(sorted(STREAMS))}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer; got {seed!r}")
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(replicate), STREAMS[name]))
    return np.random.Generator(np.random.PCG64(ss))


def as_generator(rng: SeedLike, *, default_seed: int = 0) -> np.random.Generator:
    """Normalise ``rng`` (Generator, seed, SeedSequence or None) to a Generator.

    ``None`` gives a generator seeded with ``default_seed`` so that results stay
    reproducible; pass an explicit generator for fresh randomness.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(default_seed)
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise InvalidInputError(
            f"rng must be a numpy Generator, a SeedSequence or a non-negative int seed; got {rng!r}"
        )
    return np.random.default_rng(int(rng))
