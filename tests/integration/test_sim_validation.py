"""Validation of the simulator: the proof that it is right.

* Against closed-form order statistics (research brief §9.2-9.3), ideal network, zero
  costs, cancel policy, the DES engine: the simulated mean round time must lie within 4
  standard errors of the exact value. 4 000 rounds per case keep each case well under a
  second while making the test sharp: the standard error is ~1.5% of the mean or less,
  so a wrong stopping rule (e.g. waiting for n - s instead of group-wise) or a wrong
  load scaling is off by 10-100 standard errors.
* DES and fast path fed the same draws give the same round times (to float rounding);
  with independent seeds they agree statistically.
* Non-preemptive semantics on a deterministic trace.
* Training: an exact code reproduces the uncoded model; ignore-stragglers does not.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import gcsim
from gcsim.analysis import order_stats as osx
from gcsim.sim import CostModel, Network, simulate

ROUNDS = 4000
SHIFT, RATE = 1.0, 1.0
SEXP = {"model": "shifted-exponential", "shift": SHIFT, "rate": RATE}
UNIT = stats.expon(loc=SHIFT, scale=1 / RATE)


def run(code, delays=SEXP, rounds=ROUNDS, seed=11, **kw):
    kw.setdefault("engine", "des")
    return simulate(code, delays=delays, iterations=rounds, seed=seed, **kw)


def assert_within_4se(durations, exact, what):
    mean = durations.mean()
    se = durations.std(ddof=1) / np.sqrt(len(durations))
    assert abs(mean - exact) <= 4 * se, (
        f"{what}: simulated {mean:.5f} vs exact {exact:.5f} (se {se:.5f})"
    )


@pytest.mark.parametrize(("n", "s"), [(12, 0), (6, 0), (20, 0)])
def test_uncoded_is_the_maximum(n, s):
    code = gcsim.make_code("uncoded", n=n, s=s)
    exact = osx.expected_order_stat_shifted_exp(n, n, SHIFT, RATE)
    assert_within_4se(run(code).durations, exact, "uncoded")


@pytest.mark.parametrize(("n", "s"), [(12, 2), (20, 5), (8, 1)])
def test_ignore_stragglers_is_the_n_minus_s_order_statistic(n, s):
    code = gcsim.make_code("ignore-stragglers", n=n, s=s)
    exact = osx.expected_order_stat_shifted_exp(n - s, n, SHIFT, RATE)
    assert_within_4se(run(code).durations, exact, "ignore-stragglers")


@pytest.mark.parametrize(
    ("scheme", "n", "s", "m"),
    [("crc", 12, 2, 1), ("ye-abbe", 12, 2, 2), ("cyclic-mds", 10, 3, 1), ("grouped", 12, 2, 2)],
)
def test_count_rule_is_the_n_minus_s_order_statistic_times_load(scheme, n, s, m):
    code = gcsim.make_code(scheme, n=n, s=s, m=m)
    exact = code.d * osx.expected_order_stat_shifted_exp(n - s, n, SHIFT, RATE)
    assert_within_4se(run(code, decode_rule="count").durations, exact, scheme)


@pytest.mark.parametrize(("n", "s"), [(12, 2), (12, 1), (20, 3)])
def test_frc_is_the_max_over_groups_of_the_min(n, s):
    code = gcsim.make_code("frc", n=n, s=s)
    exact = code.d * osx.expected_max_of_group_mins(UNIT, s + 1, n // (s + 1))
    durations = run(code).durations
    assert_within_4se(durations, exact, "frc")
    # and it is really group-wise: clearly faster than waiting for n - s
    count = code.d * osx.expected_order_stat_shifted_exp(n - s, n, SHIFT, RATE)
    assert durations.mean() < count


@pytest.mark.parametrize(("n", "s", "m"), [(12, 2, 2), (12, 1, 3), (16, 3, 1), (20, 2, 3)])
def test_grouped_mds_is_the_per_group_integral(n, s, m):
    code = gcsim.make_code("grouped", n=n, s=s, m=m, rng=0)
    assert len(set(code.group_sizes)) == 1
    exact = code.d * osx.expected_grouped_completion(UNIT, list(code.group_sizes), m)
    assert_within_4se(run(code).durations, exact, "grouped")


def test_research_brief_check_values():
    # brief §9.2: a = 1, lambda = 1, n = 12: FRC s=2 -> 1.6944, grouped d=4, m=2 -> 1.9400
    assert osx.expected_max_of_group_mins(UNIT, 3, 4) == pytest.approx(1.6944, abs=1e-4)
    assert osx.expected_grouped_completion(UNIT, [4, 4, 4], 2) == pytest.approx(1.94, abs=1e-4)


@pytest.mark.parametrize(("n", "s", "alpha"), [(10, 2, 2.5), (12, 3, 3.0)])
def test_pareto_order_statistics(n, s, alpha):
    code = gcsim.make_code("ignore-stragglers", n=n, s=s)
    delays = {"model": "pareto", "scale": 1.0, "alpha": alpha}
    exact = osx.expected_order_stat_pareto(n - s, n, 1.0, alpha)
    assert_within_4se(run(code, delays=delays).durations, exact, "pareto")


@pytest.mark.parametrize(
    ("scheme", "n", "s", "m", "opts"),
    [
        ("grouped", 14, 2, 2, {}),
        ("frc", 12, 3, 1, {}),
        ("grouped", 14, 2, 4, {"generator": "hamming"}),
        ("cyclic-mds", 8, 2, 1, {}),
        ("uncoded", 7, 0, 1, {}),
        ("ye-abbe", 9, 2, 2, {}),
    ],
)
@pytest.mark.parametrize("rule", ["decodable", "count"])
def test_des_and_fast_path_same_draws_same_times(scheme, n, s, m, opts, rule):
    code = gcsim.make_code(scheme, n=n, s=s, m=m, rng=0, **opts)
    comm = {"model": "exponential", "rate": 4.0}
    a = simulate(
        code, delays=SEXP, comm_delays=comm, iterations=300, seed=5, engine="des", decode_rule=rule
    )
    b = simulate(
        code, delays=SEXP, comm_delays=comm, iterations=300, seed=5, engine="fast", decode_rule=rule
    )
    assert a.engine == "des" and b.engine == "fast"
    np.testing.assert_allclose(a.durations, b.durations, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(a.records["n_responders"], b.records["n_responders"])
    np.testing.assert_array_equal(a.records["early"], b.records["early"])


def test_des_and_fast_path_agree_statistically_with_independent_seeds():
    code = gcsim.make_code("grouped", n=14, s=2, m=2, rng=0)
    a = run(code, seed=1).durations
    b = run(code, seed=2, engine="fast").durations
    assert stats.ks_2samp(a, b).pvalue > 1e-3
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert abs(a.mean() - b.mean()) <= 4 * se


def test_auto_engine_picks_fast_only_when_exact():
    code = gcsim.make_code("frc", n=6, s=1)
    assert run(code, rounds=5, engine="auto").engine == "fast"
    assert run(code, rounds=5, engine="auto", policy="non-preemptive").engine == "des"
    assert run(code, rounds=5, engine="auto", network=Network(latency=0.01)).engine == "des"
    assert run(code, rounds=5, engine="auto", costs=CostModel(decode_rate=1e9)).engine == "des"
    with pytest.raises(gcsim.InvalidInputError, match="fast path does not apply.*non-preemptive"):
        run(code, rounds=5, engine="fast", policy="non-preemptive")


def trace_delays(rows):
    return {"model": "trace", "data": np.asarray(rows, dtype=float)}


def test_non_preemptive_backlog_delays_the_next_round_by_a_computable_amount():
    # n = 3, decode at n - s = 2 responders, unit loads (ignore-stragglers: d = 1)
    code = gcsim.make_code("ignore-stragglers", n=3, s=1)
    rows = [
        [1, 1, 10],  # round 0: worker 2 straggles until t = 10
        [1, 5, 1],  # round 1: worker 1 is slow; worker 2 is free only if cancelled
        [1, 1, 1],
    ]
    cancel = simulate(
        code, delays=trace_delays(rows), iterations=3, seed=0, engine="des", policy="cancel"
    )
    np.testing.assert_allclose(cancel.durations, [1, 1, 1])
    npre = simulate(
        code, delays=trace_delays(rows), iterations=3, seed=0, engine="des", policy="non-preemptive"
    )
    # round 1 starts at t=1; worker 2 is busy with round 0 until t=10, so the second
    # responder is worker 1 at t = 1 + 5 = 6: duration 5 instead of 1.
    # round 2 starts at t=6: workers 0, 1 answer at t=7; worker 2 still busy.
    np.testing.assert_allclose(npre.durations, [1, 5, 1])
    np.testing.assert_allclose(npre.records["end"], [1, 6, 7])
    assert list(npre.records["stale_discarded"]) == [0, 0, 0]
    assert [list(r) for r in npre.records["responders"]] == [[0, 1], [0, 1], [0, 1]]


def test_non_preemptive_stale_messages_are_discarded_by_round_tag():
    code = gcsim.make_code("ignore-stragglers", n=3, s=1)
    rows = [[1, 1, 3], [5, 5, 1], [1, 1, 1]]
    res = simulate(
        code,
        delays=trace_delays(rows),
        iterations=3,
        seed=0,
        engine="des",
        policy="non-preemptive",
        record_workers=True,
    )
    # round 0 ends at 1; worker 2 finishes round 0 at t=3 (stale, discarded in round 1),
    # then does round 1 from t=3 to t=4; workers 0, 1 finish round 1 at t=6: round 1 ends
    # when the 2nd of its messages arrives: worker 2 at t=4 and worker 0 at t=6.
    np.testing.assert_allclose(res.records["end"], [1, 6, 7])
    assert list(res.records["stale_discarded"]) == [0, 1, 0]
    w = res.workers
    row = w[(w["round"] == 1) & (w["worker"] == 2)].iloc[0]
    assert row["compute_start"] == 3 and row["arrival"] == 4 and row["status"] == "responder"


def test_permanent_failures_beyond_tolerance_fail_rounds_without_hanging():
    code = gcsim.make_code("frc", n=6, s=1)
    ok = run(code, rounds=20, failed_workers=[0, 2, 5])  # one per group: tolerated
    assert ok.records["decoded"].all()
    bad = run(code, rounds=20, failed_workers=[0, 1])  # group 0 lost entirely
    assert not bad.records["decoded"].any()
    assert bad.summary()["failed_rounds"] == 20
    fast = run(code, rounds=20, failed_workers=[0, 1], engine="fast")
    np.testing.assert_allclose(fast.durations, bad.durations, rtol=1e-9)
    timed = run(code, rounds=5, failed_workers=[0, 1], round_timeout=0.5)
    np.testing.assert_allclose(timed.durations, 0.5)


def test_same_seed_same_results_and_common_random_numbers():
    a = gcsim.make_code("grouped", n=12, s=2, m=2, rng=0)
    r1 = run(a, rounds=50, workload="logistic")
    r2 = run(a, rounds=50, workload="logistic")
    cols = ["duration", "rel_error", "loss", "cond"]
    np.testing.assert_array_equal(r1.records[cols].to_numpy(), r2.records[cols].to_numpy())
    # two schemes with the same seed face the same per-worker unit draws
    u = run(gcsim.make_code("uncoded", n=12, s=0), rounds=50, record_workers=True)
    g = run(a, rounds=50, record_workers=True)
    np.testing.assert_allclose(g.workers["injected_compute"], 4 * u.workers["injected_compute"])


def test_exact_code_trains_the_uncoded_model_and_ignore_stragglers_does_not():
    wl = {"model": "logistic", "samples": 600, "features": 30}
    rounds = 40
    base = run(gcsim.make_code("uncoded", n=12, s=0), rounds=rounds, workload=wl)
    for scheme, s, m in [("grouped", 2, 2), ("frc", 2, 1), ("cyclic-mds", 3, 1)]:
        coded = run(gcsim.make_code(scheme, n=12, s=s, m=m), rounds=rounds, workload=wl)
        worst = coded.records["rel_error"].max()
        assert worst < 1e-12
        np.testing.assert_allclose(coded.final_model, base.final_model, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(coded.records["loss"], base.records["loss"], rtol=1e-9)
    ign = run(gcsim.make_code("ignore-stragglers", n=12, s=2), rounds=rounds, workload=wl)
    assert ign.records["rel_error"].min() > 1e-3
    assert np.abs(ign.final_model - base.final_model).max() > 1e-3
    assert base.records["loss"].iloc[-1] < base.records["loss"].iloc[0]


def test_communication_and_ingress_show_the_value_of_m():
    # a slow shared ingress: halving the message (m = 2) shortens the upload phase
    net = Network(latency=0.001, bandwidth=1e7, ingress=2e6)
    times = {}
    for m in (1, 2, 4):
        code = gcsim.make_code("grouped", n=12, s=1, m=m, rng=0)
        res = simulate(
            code,
            delays={"model": "constant", "value": 0.0},
            iterations=3,
            seed=0,
            network=net,
            dimension=10_000,
        )
        times[m] = res.durations.mean()
    assert times[1] > times[2] > times[4]


@pytest.mark.parametrize("scheme", ["frc", "grouped", "cyclic-mds", "uncoded"])
def test_same_instant_arrivals_are_all_responders_in_both_engines(scheme):
    code = gcsim.make_code(scheme, n=12, s=0 if scheme == "uncoded" else 2, m=1, rng=0)
    for delays in (
        {"model": "constant", "value": 1.0},
        {"model": "bimodal", "p": 0.2, "factor": 3.0},
    ):
        a = simulate(code, delays=delays, iterations=100, seed=3, engine="des")
        b = simulate(code, delays=delays, iterations=100, seed=3, engine="fast")
        np.testing.assert_allclose(a.durations, b.durations, rtol=1e-9)
        np.testing.assert_array_equal(a.records["n_responders"], b.records["n_responders"])
