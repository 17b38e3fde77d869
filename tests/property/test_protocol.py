"""One round protocol, three engines: the DES, the fast path and the live server (over the
in-memory transport) give the protocol's records on the same draws.

The reference is the protocol driven by the simplest possible adapter (``replay``): every
arrival of a round handed to it in time order. Hypothesis draws codes, n, s, m, policies,
rules, timeouts, failed workers and delays on a coarse grid (so that ties are common).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gcsim
from gcsim.delays.base import RoundSampler
from gcsim.live.memory import InMemoryTransport
from gcsim.live.server import serve
from gcsim.protocol import STATUSES, RoundProtocol
from gcsim.sim.des import DESServer
from gcsim.sim.engine import run
from gcsim.sim.fastpath import run_fast
from gcsim.sim.kernel import RoundKernels
from gcsim.sim.network import CostModel, Network
from gcsim.sim.result import ROUND_COLUMNS, WORKER_COLUMNS
from gcsim.spec import RunSpec

# (scheme, n, s, m, options): every decode-rule kind, including group checks
CODES = [
    ("uncoded", 5, 0, 1, {}),
    ("ignore-stragglers", 6, 2, 1, {}),
    ("frc", 6, 1, 1, {}),
    ("frc", 9, 2, 1, {}),
    ("crc", 6, 2, 1, {}),
    ("cyclic-mds", 7, 2, 1, {}),
    ("ye-abbe", 7, 2, 2, {}),
    ("grouped", 8, 2, 2, {}),
    ("grouped", 10, 2, 2, {}),  # unequal groups
    ("grouped", 8, 1, 3, {"generator": "parity"}),
    ("grouped", 7, 2, 4, {"generator": "hamming"}),  # non-MDS: a rank check per group
    ("grouped", 8, 2, 2, {"speeds": [1, 1, 1, 1, 3, 3, 3, 3]}),  # partitions from speeds
    ("hetero", 7, 2, 1, {"speeds": [1, 1, 2, 2, 3, 1, 4]}),  # unequal loads, general rule
    ("hetero-comm", 6, 1, 2, {"speeds": [1, 2, 1, 2, 1, 3]}),
    ("bibd", 7, 2, 1, {}),  # inexact, count rule
]


class ArraySampler(RoundSampler):
    """Replays given durations: row r at round r (ignores the loads)."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__(values.shape[1], 0, "per-worker")
        self.values = values
        self.r = 0

    def draw(self, loads: np.ndarray) -> np.ndarray:
        out = self.values[self.r].copy()
        self.r += 1
        return out

    def draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        return self.values[:rounds].copy()


def replay(code, C, X, *, rule, timeout):
    """The protocol alone, fed each round's arrivals in time order (ideal network)."""
    proto = RoundProtocol(code, rule=rule, round_timeout=timeout, record_workers=True)
    now = 0.0
    for r in range(C.shape[0]):
        given = proto.start_round(now, C[r], X[r])
        T = C[r] + X[r]
        for i in given:
            proto.worker_started(int(i), now, now + C[r, i])
        for i in np.argsort(T, kind="stable"):
            if i not in given:
                continue
            if T[i] > (timeout if timeout is not None else math.inf):
                break
            if proto.decided and T[i] > proto.decide_time - now:
                break
            proto.on_message(int(i), r, now + T[i])
        if not proto.decided:
            proto.on_timeout(now + timeout)
        proto.close()
        proto.finish(proto.decide_time, None)
        now = proto.decide_time
    return proto


def frame(records):
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records)
    return df[[c for c in ROUND_COLUMNS if c in df.columns]].reset_index(drop=True)


def assert_same_records(a, b, skip=("decode_wall",)):
    a, b = frame(a), frame(b)
    assert len(a) == len(b)
    for col in a.columns:
        if col in skip:
            continue
        if col == "responders":
            for r, (x, y) in enumerate(zip(a[col], b[col], strict=True)):
                assert np.array_equal(np.asarray(x), np.asarray(y)), (col, r, x, y)
            continue
        x = a[col].to_numpy(dtype=float)
        y = b[col].to_numpy(dtype=float)
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=col)


def assert_same_workers(a, b, *, arrived_only=False):
    a = pd.DataFrame(a, columns=list(WORKER_COLUMNS)) if not isinstance(a, pd.DataFrame) else a
    b = pd.DataFrame(b, columns=list(WORKER_COLUMNS)) if not isinstance(b, pd.DataFrame) else b
    assert len(a) == len(b)
    assert (a["status"].to_numpy() == b["status"].to_numpy()).all()
    assert set(a["status"]) <= set(STATUSES)
    keep = a["status"].isin(["responder", "late"]).to_numpy() if arrived_only else slice(None)
    for col in WORKER_COLUMNS:
        if col == "status":
            continue
        x = a[col].to_numpy(dtype=float)[keep]
        y = b[col].to_numpy(dtype=float)[keep]
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=col)


@st.composite
def draws(draw, n, rounds):
    """Delays on a grid of 0.25 (ties are common), some infinite (failed workers)."""
    grid = st.integers(min_value=0, max_value=12).map(lambda k: 0.25 * k)
    C = np.array(draw(st.lists(grid, min_size=rounds * n, max_size=rounds * n))).reshape(rounds, n)
    X = np.array(draw(st.lists(grid, min_size=rounds * n, max_size=rounds * n))).reshape(rounds, n)
    failed = draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True))
    C[:, failed] = np.inf
    return C, X


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CODES),
    rule=st.sampled_from(["decodable", "count"]),
    timeout=st.sampled_from([None, 1.0, 2.5]),
    data=st.data(),
)
def test_fast_path_and_des_give_the_protocols_records_on_the_same_draws(case, rule, timeout, data):
    name, n, s, m, opts = case
    code = gcsim.make_code(name, n=n, s=s, m=m, rng=0, **opts)
    rounds = 4
    C, X = data.draw(draws(n, rounds))
    ref = replay(code, C, X, rule=rule, timeout=timeout)
    # the fast path (timing only)
    kernels = RoundKernels(code, None, CostModel(), 16, np.random.default_rng(0))
    rule_obj = RoundProtocol(code, rule=rule).rule
    cols, wrows = run_fast(
        code, kernels, ArraySampler(C), ArraySampler(X), rule_obj, rounds, timeout, True, 0
    )
    fast = pd.DataFrame(cols)
    ref_df = frame(ref.records)
    for col in ("decoded", "decode_at", "duration", "start", "end", "n_responders", "early"):
        np.testing.assert_allclose(
            fast[col].to_numpy(dtype=float), ref_df[col].to_numpy(dtype=float), err_msg=col
        )
    assert_same_workers(pd.DataFrame(wrows, columns=list(WORKER_COLUMNS)), ref.worker_rows)
    # the DES, same draws, ideal network and zero costs
    proto = RoundProtocol(code, rule=rule, round_timeout=timeout, record_workers=True)
    kernels = RoundKernels(code, None, CostModel(), 16, np.random.default_rng(0))
    DESServer(proto, kernels, ArraySampler(C), ArraySampler(X), Network(), rounds).run()
    des = frame(proto.records)
    for col in ("decoded", "decode_at", "duration", "start", "end", "n_responders", "early"):
        np.testing.assert_allclose(
            des[col].to_numpy(dtype=float), ref_df[col].to_numpy(dtype=float), err_msg=col
        )
    for x, y in zip(des["responders"], ref_df["responders"], strict=True):
        assert np.array_equal(x, y)
    assert_same_workers(proto.worker_rows, ref.worker_rows)


LIVE_CODES = [c for c in CODES if c[0] in ("uncoded", "frc", "crc", "ye-abbe", "grouped")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(LIVE_CODES),
    policy=st.sampled_from(["cancel", "non-preemptive"]),
    rule=st.sampled_from(["decodable", "count"]),
    timeout=st.sampled_from([None, 0.5]),
    network=st.sampled_from(
        [
            Network(),
            Network(latency=1e-3, bandwidth=1e6, ingress=2e6, broadcast=5e6),
            Network(latency=1e-3, bandwidth=1e6, ingress=2e6, broadcast=5e6, sharing="fifo"),
        ]
    ),
    costs=st.sampled_from([CostModel(), CostModel(encode_rate=5e6, decode_rate=1e7)]),
    workload=st.sampled_from(
        [
            {"model": "random-vectors", "dimension": 24},
            {"model": "logistic", "samples": 120, "features": 10},
        ]
    ),
    failed=st.sampled_from([(), (1,)]),
    seed=st.integers(0, 2**16),
)
def test_live_server_in_memory_gives_the_simulators_records(
    case, policy, rule, timeout, network, costs, workload, failed, seed
):
    name, n, s, m, opts = case
    code = gcsim.make_code(name, n=n, s=s, m=m, rng=0, **opts)
    spec = RunSpec.create(
        code,
        delays={"model": "shifted-exponential", "shift": 0.01, "rate": 20.0},
        comm_delays={"model": "exponential", "rate": 50.0},
        iterations=6,
        seed=seed,
        workload=workload,
        policy=policy,
        decode_rule=rule,
        round_timeout=timeout,
        network=network,
        costs=costs,
        failed_workers=failed,
        engine="des",
        record_workers=True,
    )
    sim = run(spec)
    live = serve(spec, InMemoryTransport(spec))
    assert_same_records(sim.records, live.records)
    # the live server knows a worker's compute times only from a message it received
    assert_same_workers(sim.workers, live.worker_rows, arrived_only=True)
    if sim.final_model is not None:
        np.testing.assert_allclose(live.final_model, sim.final_model, rtol=1e-9, atol=1e-12)


def test_the_records_carry_every_status_and_stale_or_late_messages():
    """Non-preemptive with decode costs: late, unfinished and stale all occur."""
    code = gcsim.make_code("frc", n=6, s=1)
    spec = RunSpec.create(
        code,
        delays={"model": "exponential", "rate": 5.0},
        iterations=40,
        seed=3,
        workload={"model": "random-vectors", "dimension": 8},
        policy="non-preemptive",
        costs=CostModel(decode_rate=1e3),  # 1 ms-scale decodes: arrivals meanwhile are late
        failed_workers=(5,),
        engine="des",
        record_workers=True,
    )
    sim = run(spec)
    live = serve(spec, InMemoryTransport(spec))
    assert_same_records(sim.records, live.records)
    seen = set(sim.workers["status"])
    assert {"responder", "unfinished", "never"} <= seen
    assert sim.records["stale_discarded"].sum() > 0


@pytest.mark.parametrize("name", ["crc", "cyclic-mds"])
def test_general_rule_bisection_finds_the_first_decodable_prefix(name):
    """The fast path's bisection agrees with the tracker's arrival-by-arrival answer."""
    from gcsim.codes.tracker import DecodabilityTracker
    from gcsim.sim.fastpath import completion_times

    code = gcsim.make_code(name, n=9, s=3)
    rng = np.random.default_rng(0)
    T = rng.exponential(size=(30, code.n))
    T[::7, 2] = np.inf
    got = completion_times(code, T, "decodable")
    tracker = DecodabilityTracker(code, code.decode_rule)
    for r in range(T.shape[0]):
        tracker.reset()
        want = math.inf
        for i in np.argsort(T[r], kind="stable"):
            if not math.isfinite(T[r, i]):
                break
            if tracker.add(int(i)):
                want = T[r, i]
                break
        assert got[r] == want


INEXACT_CASES = [
    ("ignore-stragglers", 6, 2, 1, {}),
    ("frc-approx", 6, 2, 1, {"d": 2}),
    ("sgc", 6, 1, 1, {"d": 2}),
    ("bernoulli", 5, 1, 1, {"d": 2}),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(INEXACT_CASES),
    timeout=st.sampled_from([0.75, 1.0, 2.5]),
    data=st.data(),
)
def test_deadline_rule_fast_path_and_des_give_the_protocols_records(case, timeout, data):
    """The deadline rule (inexact codes) on tie-heavy draws with failed workers: a round
    ends at the timeout or its last finite arrival, ties at that instant included."""
    name, n, s, m, opts = case
    code = gcsim.make_code(name, n=n, s=s, m=m, rng=0, **opts)
    rounds = 4
    C, X = data.draw(draws(n, rounds))
    ref = replay(code, C, X, rule="deadline", timeout=timeout)
    ref_df = frame(ref.records)
    kernels = RoundKernels(code, None, CostModel(), 16, np.random.default_rng(0))
    rule_obj = RoundProtocol(code, rule="deadline", round_timeout=timeout).rule
    cols, wrows = run_fast(
        code, kernels, ArraySampler(C), ArraySampler(X), rule_obj, rounds, timeout, True, 0
    )
    fast = pd.DataFrame(cols)
    proto = RoundProtocol(code, rule="deadline", round_timeout=timeout, record_workers=True)
    kernels = RoundKernels(code, None, CostModel(), 16, np.random.default_rng(0))
    DESServer(proto, kernels, ArraySampler(C), ArraySampler(X), Network(), rounds).run()
    des = frame(proto.records)
    for got in (fast, des):
        for col in ("decoded", "decode_at", "duration", "start", "end", "n_responders", "early"):
            np.testing.assert_allclose(
                got[col].to_numpy(dtype=float), ref_df[col].to_numpy(dtype=float), err_msg=col
            )
    assert_same_workers(pd.DataFrame(wrows, columns=list(WORKER_COLUMNS)), ref.worker_rows)
