"""Representative configurations of every registered scheme for the contract suite."""

from __future__ import annotations

from typing import Any

import numpy as np

# (scheme, n, s, m, options): every registry name appears; grouped with every generator,
# unequal groups, and configurations small enough for exhaustive straggler enumeration
# plus a few large enough to be sampled.
CASES: list[tuple[str, int, int, int, dict[str, Any]]] = [
    ("uncoded", 7, 0, 1, {}),
    ("ignore-stragglers", 9, 3, 1, {}),
    ("frc", 12, 2, 1, {}),
    ("frc", 9, 0, 1, {}),
    ("crc", 11, 3, 1, {}),
    ("crc", 6, 5, 1, {}),
    ("cyclic-mds", 10, 3, 1, {}),  # n-s odd: real code
    ("cyclic-mds", 10, 2, 1, {}),  # n-s even: complex code, packed
    ("cyclic-mds", 30, 4, 1, {}),  # sampled
    ("cyclic-mds", 80, 3, 1, {}),  # n > 64: the general rule without early checks, sampled
    ("crc", 66, 1, 1, {}),  # n > 64: the general rule without early checks
    ("ye-abbe", 8, 2, 2, {}),
    ("ye-abbe", 9, 1, 3, {"points": "chebyshev"}),
    ("ye-abbe", 6, 0, 3, {}),
    ("ye-abbe", 7, 3, 1, {"points": "equispaced"}),
    ("grouped", 12, 2, 2, {}),
    ("grouped", 14, 2, 2, {}),  # d = 4 does not divide 14: groups of 5, 5, 4
    ("grouped", 60, 3, 2, {"draws": 3}),  # sampled
    ("grouped", 12, 2, 2, {"generator": "vandermonde"}),
    ("grouped", 15, 3, 2, {"generator": "chebyshev"}),
    ("grouped", 10, 2, 1, {"generator": "repetition"}),
    ("grouped", 12, 1, 3, {"generator": "parity"}),
    ("grouped", 14, 2, 4, {"generator": "hamming"}),
    # heterogeneous: partitions per group from the workers' speeds (unequal groups too)
    ("grouped", 12, 2, 2, {"speeds": [1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4]}),
    ("grouped", 14, 2, 2, {"generator": "chebyshev", "speeds": [1] * 5 + [3] * 5 + [2] * 4}),
    (
        "grouped",
        10,
        1,
        2,
        {"generator": np.array([[1.0, 0.0, 1.0, 2.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0]])},
    ),
    # approximate (inexact) codes: one-step and optimal decoders, exhaustive and sampled
    ("frc-approx", 12, 4, 1, {"d": 2}),
    ("frc-approx", 14, 3, 1, {"d": 4, "decoder": "optimal"}),  # unequal groups
    ("bernoulli", 11, 3, 1, {}),
    ("bernoulli", 40, 6, 1, {"d": 3, "decoder": "optimal"}),  # sampled
    ("expander", 12, 3, 1, {}),
    ("expander", 16, 4, 1, {"graph": "margulis", "decoder": "optimal"}),
    ("expander", 70, 5, 1, {"d": 5}),  # sampled
    ("sgc", 10, 2, 1, {}),
    ("sgc", 12, 4, 1, {"d": 3, "p": 0.1, "decoder": "optimal"}),
    ("hetero", 8, 2, 1, {"speeds": [1, 1, 1, 1, 2, 2, 3, 4]}),
    ("hetero", 10, 1, 1, {}),  # equal speeds: every load s + 1
    ("hetero", 40, 3, 1, {"speeds": [1.0 + (i % 5) for i in range(40)]}),  # sampled
    ("hetero-comm", 8, 2, 2, {"speeds": [1, 1, 1, 1, 2, 2, 3, 4]}),
    ("hetero-comm", 9, 1, 3, {"speeds": [3, 1, 1, 2, 1, 1, 4, 1, 1]}),
    (
        "hetero-comm",
        6,
        1,
        2,
        {"placement": [[0, 1, 2], [1, 2, 3], [2, 3, 4, 5], [3, 4, 5], [4, 5, 0], [5, 0, 1]]},
    ),
    ("bibd", 7, 1, 1, {}),  # the Fano plane
    ("bibd", 13, 2, 1, {"design": "projective"}),
    ("bibd", 11, 3, 1, {"design": "paley", "decoder": "one-step"}),
    ("bibd", 7, 2, 1, {"complement": True}),
    ("bibd", 57, 4, 1, {}),  # PG(2, 7), sampled
]


def case_id(case: tuple[str, int, int, int, dict[str, Any]]) -> str:
    name, n, s, m, opts = case
    extra = ",".join(f"{k}={v if isinstance(v, (str, int)) else 'custom'}" for k, v in opts.items())
    return f"{name}-n{n}-s{s}-m{m}" + (f"-{extra}" if extra else "")
