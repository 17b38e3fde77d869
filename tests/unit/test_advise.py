"""gcsim.advise: the arrival laws, the closed forms against independent references, the
methods against each other, constraints, and one-line errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import gcsim
from gcsim.advise.dists import HypoExponential, UnitOrderStats, arrival_distribution, classify
from gcsim.advise.evaluate import closed_form, fast_path, replay
from gcsim.advise.figure import pareto_front
from gcsim.advise.model import Cluster
from gcsim.advise.result import to_toml
from gcsim.analysis import order_stats as os_
from gcsim.delays import make_delay
from gcsim.errors import GcsimError

YE_ABBE_COMPUTE = {"model": "shifted-exponential", "shift": 1.6, "rate": 0.8}
YE_ABBE_COMM = {"model": "shifted-exponential", "shift": 6.0, "rate": 0.1}


# ----------------------------------------------------------------------- arrival laws


@pytest.mark.parametrize("r1,r2", [(0.2, 0.1), (0.4, 0.4), (0.4, 0.4 * (1 + 1e-14)), (5.0, 0.05)])
def test_hypoexponential_matches_its_definition(r1, r2):
    law = HypoExponential(r1, r2, shift=3.0)
    rng = np.random.default_rng(0)
    x = 3.0 + rng.exponential(1 / r1, 200_000) + rng.exponential(1 / r2, 200_000)
    t = np.quantile(x, [0.05, 0.3, 0.6, 0.9, 0.99])
    assert np.allclose(law.cdf(t), [0.05, 0.3, 0.6, 0.9, 0.99], atol=4e-3)
    assert law.mean() == pytest.approx(x.mean(), rel=5e-3)
    p = np.array([1e-6, 0.1, 0.5, 0.95, 1 - 1e-9])
    assert np.allclose(law.cdf(law.ppf(p)), p, rtol=1e-9, atol=1e-12)
    assert law.support() == (3.0, math.inf)
    if r1 == r2:  # the Erlang-2 limit
        assert np.allclose(law.sf(t), stats.gamma(2, loc=3.0, scale=1 / r1).sf(t), rtol=1e-12)


def test_arrival_law_families():
    sexp = classify(make_delay(YE_ABBE_COMPUTE))
    const = classify(make_delay({"model": "constant", "value": 2.0}))
    pareto = classify(make_delay({"model": "pareto", "scale": 1.0, "alpha": 3.0}))
    het = classify(make_delay({"model": "heterogeneous", "base": "exponential", "speeds": [1, 2]}))
    assert (sexp.kind, sexp.shift, sexp.rate) == ("exp", pytest.approx(1.6), pytest.approx(0.8))
    assert const.kind == "const" and pareto.kind == "pareto" and het.kind == "other"
    law = arrival_distribution(pareto, const, 3.0, 0.5, 0.25)  # 3 P + 0.5·2 + 0.25
    assert law is not None and law.support()[0] == pytest.approx(3.0 + 1.25)
    assert law.mean() == pytest.approx(3.0 * 1.5 + 1.25)
    assert arrival_distribution(const, const, 2.0, 0.5, 0.0).mean() == pytest.approx(5.0)
    assert arrival_distribution(pareto, sexp, 1.0, 1.0, 0.0) is None  # no closed form
    assert arrival_distribution(het, const, 1.0, 1.0, 0.0) is None


def test_unit_order_statistics_closed_forms_and_monte_carlo():
    rng = np.random.default_rng(1)
    n = 20
    exp = UnitOrderStats(make_delay(YE_ABBE_COMPUTE), n, rng=rng)
    ref = [os_.expected_order_stat_shifted_exp(r, n, 1.6, 0.8) for r in (1, 10, 20)]
    assert np.allclose(exp.mean[[0, 9, 19]], ref) and exp.exact and exp.low == 1.6
    par = UnitOrderStats(make_delay({"model": "pareto", "alpha": 3.0}), n, rng=rng)
    assert par.mean[9] == pytest.approx(os_.expected_order_stat_pareto(10, n, 1.0, 3.0))
    # a model without a closed form: Monte Carlo, less three standard errors (errs low)
    logn = UnitOrderStats(make_delay({"model": "lognormal", "sigma": 0.5}), n, rng=rng)
    exact = os_.expected_order_stat(stats.lognorm(0.5), 10, n)
    assert not logn.exact and exact * 0.97 < logn.mean[9] <= exact * 1.01


# ---------------------------------------------------------------------- closed forms


def _mc_round_time(code, cluster, rounds=200_000, seed=5):
    """Reference: the decode instant by brute force over independent draws."""
    from gcsim.sim.fastpath import completion_times

    rng = np.random.default_rng(seed)
    loads = code.loads.astype(float)
    f = code.message_length(cluster.dimension) / cluster.dimension
    C = cluster.compute.sample(rng, (rounds, code.n)) * loads
    X = cluster.comm.sample(rng, (rounds, code.n)) * f
    t = completion_times(code, C + X, "decodable")
    return float(t.mean()), float(t.std() / math.sqrt(rounds)), float(np.percentile(t, 95))


@pytest.mark.parametrize(
    "name,s,m",
    [("grouped", 2, 2), ("grouped", 3, 2), ("frc", 2, 1), ("uncoded", 0, 1), ("ye-abbe", 2, 2)],
)
def test_closed_form_matches_brute_force_on_the_ye_abbe_model(name, s, m):
    cluster = Cluster.create(12, delays=YE_ABBE_COMPUTE, comm_delays=YE_ABBE_COMM)
    code = gcsim.make_code(name, n=12, s=s, m=m)
    est = closed_form(code, cluster, "decodable")
    assert est is not None and est.method == "closed-form" and est.mean_se == 0
    mean, se, p95 = _mc_round_time(code, cluster)
    assert abs(est.mean - mean) < 4 * se + 1e-9
    assert est.p95 == pytest.approx(p95, rel=5e-3)


def test_closed_form_is_the_order_statistics_formula():
    # compute only: the grouped time is d times the group integral of unit draws
    cluster = Cluster.create(12, delays={"model": "shifted-exponential", "shift": 0.1, "rate": 1})
    dist = stats.expon(loc=0.1)
    for s, m in ((2, 2), (1, 1)):
        code = gcsim.make_code("grouped", n=12, s=s, m=m)
        d = s + m
        ref = d * os_.expected_grouped_completion(dist, [d] * (12 // d), m)
        assert closed_form(code, cluster, "decodable").mean == pytest.approx(ref, rel=1e-9)
    frc = gcsim.make_code("frc", n=12, s=3)
    ref = 4 * os_.expected_max_of_group_mins(dist, 4, 3)
    assert closed_form(frc, cluster, "decodable").mean == pytest.approx(ref, rel=1e-9)
    # the count rule: (n - s)-th order statistic (Rényi's closed form) times the load
    cyc = gcsim.make_code("cyclic-mds", n=12, s=2)
    ref = 3 * os_.expected_order_stat_shifted_exp(10, 12, 0.1, 1.0)
    assert closed_form(cyc, cluster, "count").mean == pytest.approx(ref, rel=1e-9)
    # a rule decided numerically at every arrival has no closed form
    assert closed_form(cyc, cluster, "decodable") is None


def test_unequal_groups_use_one_law_per_group():
    cluster = Cluster.create(13, delays=YE_ABBE_COMPUTE, comm_delays=YE_ABBE_COMM)
    code = gcsim.make_code("grouped", n=13, s=2, m=2)  # groups of 5, 4, 4: loads differ
    assert sorted(set(code.loads.tolist())) == [4, 5]
    est = closed_form(code, cluster, "decodable")
    mean, se, _ = _mc_round_time(code, cluster)
    assert abs(est.mean - mean) < 4 * se


def test_network_and_costs_in_the_closed_form_and_the_replay():
    net = gcsim.Network(latency=0.01, bandwidth=1e6, broadcast=1e7)
    costs = gcsim.CostModel(encode_rate=1e7, update_rate=1e8)
    cluster = Cluster.create(
        12, delays=YE_ABBE_COMPUTE, comm_delays=YE_ABBE_COMM, network=net, costs=costs
    )
    code = gcsim.make_code("grouped", n=12, s=2, m=2)
    est = closed_form(code, cluster, "decodable")
    rep = replay(code, cluster, "decodable", 4000, 3)
    assert rep.complete and abs(est.mean - rep.mean) < 4 * rep.mean_se
    res = gcsim.simulate(
        code,
        delays=YE_ABBE_COMPUTE,
        comm_delays=YE_ABBE_COMM,
        network=net,
        costs=costs,
        iterations=300,
        seed=3,
        engine="des",
        dimension=1000,
    )
    # the replay is the DES's round times on the same draws (unlimited ingress, cancel)
    assert np.allclose(
        replay(code, cluster, "decodable", 300, 3).mean, res.summary()["mean_round_time"], rtol=1e-9
    )


def test_replay_is_the_fast_path_and_the_des_without_iid():
    cluster = Cluster.create(12, delays=YE_ABBE_COMPUTE, comm_delays=YE_ABBE_COMM)
    code = gcsim.make_code("cyclic-mds", n=12, s=2)
    assert replay(code, cluster, "decodable", 300, 7).mean == pytest.approx(
        fast_path(code, cluster, "decodable", 300, 7).mean, rel=1e-12
    )
    het = {"model": "heterogeneous", "base": YE_ABBE_COMPUTE, "speeds": [1.0] * 10 + [0.5] * 2}
    cluster = Cluster.create(12, delays=het, comm_delays=YE_ABBE_COMM)
    code = gcsim.make_code("grouped", n=12, s=2, m=2)
    res = gcsim.simulate(
        code, delays=het, comm_delays=YE_ABBE_COMM, iterations=200, seed=4, dimension=1000
    )
    assert res.engine == "des"
    assert replay(code, cluster, "decodable", 200, 4).mean == pytest.approx(
        res.summary()["mean_round_time"], rel=1e-12
    )


# ----------------------------------------------------------------------- the advisor


@pytest.fixture(scope="module")
def compute_heavy():
    """Compute only, a long exponential tail: fractional repetition wins."""
    return gcsim.advise(12, delays={"model": "shifted-exponential", "shift": 0.1, "rate": 1.0})


def test_compute_heavy_cluster_picks_fractional_repetition(compute_heavy):
    a = compute_heavy
    best = a.best
    # independently: FRC's closed form for every feasible s, the best of them
    dist = stats.expon(loc=0.1)
    frc = {
        s: (s + 1) * os_.expected_max_of_group_mins(dist, s + 1, 12 // (s + 1))
        for s in (1, 2, 3, 5, 11)
    }
    s_best = min(frc, key=frc.get)
    assert (best.scheme, best.s, best.m) == ("frc", s_best, 1)
    assert best.value == pytest.approx(frc[s_best], rel=0.02)
    uncoded = a.table().set_index("scheme").loc["uncoded", "value"]
    assert uncoded == pytest.approx(0.1 + float(np.sum(1 / np.arange(1, 13))), rel=1e-6)


def test_nearly_deterministic_compute_picks_uncoded():
    a = gcsim.advise(
        12,
        delays={"model": "shifted-exponential", "shift": 1.0, "rate": 10.0},
        confirm=0,
        policies=["cancel"],
    )
    assert a.best.scheme == "uncoded"
    assert a.best.value == pytest.approx(1 + float(np.sum(1 / np.arange(1, 13))) / 10, rel=1e-6)


def test_constraints_are_honoured(compute_heavy):
    kw = dict(
        delays={"model": "shifted-exponential", "shift": 0.1, "rate": 1.0},
        confirm=0,
        policies=["cancel"],
        rules=["decodable"],
        top=2,
        window=1.2,
    )
    a = gcsim.advise(12, min_stragglers=2, max_load=4, **kw)
    tab = a.table()
    assert (tab["s"] >= 2).all() and (tab["d"] <= 4).all()
    assert all(r.s >= 2 and r.d <= 4 for r in a.rows)
    # exact only (the default) never ranks ignore-stragglers; allowing inexact codes does
    assert "ignore-stragglers" not in set(compute_heavy.table()["scheme"])
    b = gcsim.advise(12, exact_only=False, schemes=["ignore-stragglers", "frc"], **kw)
    assert "ignore-stragglers" in set(b.table()["scheme"])
    assert any("ranked by time only" in x for x in b.notes)
    c = gcsim.advise(12, exact_only=False, max_error=0.5, schemes=["ignore-stragglers"], **kw)
    assert (c.table()["rel_error"] <= 0.5).all()
    # bytes per round: all n messages
    d = gcsim.advise(
        12, max_bytes=12 * 500 * 8, schemes=["grouped"], **kw
    )  # messages of at most l/2
    assert (d.table()["m"] >= 2).all() and (d.table()["bytes_per_round"] <= 48_000).all()


def test_a_max_cond_excludes_ye_abbe_at_large_n():
    kw = dict(
        delays=YE_ABBE_COMPUTE,
        comm_delays=YE_ABBE_COMM,
        schemes=["ye-abbe", "grouped"],
        confirm=0,
        policies=["cancel"],
        rules=["decodable"],
        top=2,
        window=1.5,
    )
    free = gcsim.advise(18, **kw)
    assert "ye-abbe" in set(free.table()["scheme"])  # at n = 18 it still decodes
    assert free.table().set_index("scheme").loc["ye-abbe", "worst_cond"] > 1e4
    capped = gcsim.advise(18, max_cond=1e4, **kw)
    assert "ye-abbe" not in set(capped.table()["scheme"])
    assert (capped.table()["worst_cond"] <= 1e4).all()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n=0, delays="exponential"), "n must be"),
        (dict(n=12), "delays .* is required"),
        (dict(n=12, delays="expnential"), "unknown delay model"),
        (dict(n=12, delays="exponential", objective="fastest"), "objective must be"),
        (dict(n=12, delays="exponential", objective="loss"), "needs target_loss"),
        (dict(n=12, delays="exponential", max_cond=-1), "max_cond must be > 0"),
        (dict(n=12, delays="exponential", schemes=["groupd"]), "unknown gradient code"),
        (dict(n=12, delays="exponential", policies=["wait"]), "policies must be"),
        (
            dict(n=12, delays="exponential", dtype="float32", network={"bytes_per_value": 8}),
            "make them agree",
        ),
        (dict(n=12, delays="exponential", min_stragglers=20), "no scheme|no configuration"),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, match):
    with pytest.raises(GcsimError, match=match) as info:
        gcsim.advise(**kwargs)
    assert "\n" not in str(info.value)


def test_cli_bad_input_is_one_line(capsys):
    from gcsim.cli import main

    assert main(["advise", "--n", "12"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gcsim: error:") and "delays" in err and "\n" not in err
    assert main(["advise", "--n", "12", "--delays", "{bad json"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_pareto_front_and_toml_values():
    front = pareto_front(np.array([1, 2, 3, 4, np.nan]), np.array([5, 3, 4, 1, 0]))
    assert front.tolist() == [True, True, False, True, False]
    assert to_toml({"a": math.inf, "b": [1, 2.5], "c": 'x"y', "d": True}) == (
        '{ a = inf, b = [1, 2.5], c = "x\\"y", d = true }'
    )


def test_gcsim_advise_is_the_function_and_the_package():
    import gcsim.advise as pkg

    assert callable(gcsim.advise) and callable(pkg)
    from gcsim.advise import Advice

    assert Advice.__module__ == "gcsim.advise.result"


def test_p95_and_loss_objectives():
    kw = dict(confirm=0, policies=["cancel"], rules=["decodable"], top=2, window=1.2)
    kw["schemes"] = ["frc", "uncoded"]
    delays = {"model": "shifted-exponential", "shift": 0.1, "rate": 1.0}
    p95 = gcsim.advise(12, delays=delays, objective="p95", **kw)
    best = p95.best
    cluster = Cluster.create(12, delays=delays)
    assert best.value == pytest.approx(closed_form(best.code, cluster, "decodable").p95)
    workload = {"model": "logistic", "samples": 240, "features": 20}
    loss = gcsim.advise(
        12, delays=delays, workload=workload, objective="loss", target_loss=0.5, **kw
    )
    best = loss.best
    assert best.rounds_to_target and best.rounds_to_target > 1
    # time to the target = rounds to reach it × the mean round time (said in the notes)
    assert best.value == pytest.approx(best.rounds_to_target * best.estimate.mean)
    assert any("rounds to reach it" in x for x in loss.notes)
