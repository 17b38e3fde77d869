"""Unit tests of the delay models, their samplers, the registry and input validation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from gcsim.delays import (
    BimodalDelay,
    ConstantDelay,
    DelayModel,
    ExponentialDelay,
    HeterogeneousDelay,
    LognormalDelay,
    ParetoDelay,
    PersistentDelay,
    RoundSampler,
    ScipyDelay,
    ShiftedExponentialDelay,
    TraceDelay,
    UniformDelay,
    WeibullDelay,
    list_delays,
    make_delay,
)
from gcsim.errors import InvalidInputError

TRACE = np.arange(1.0, 31.0).reshape(6, 5)  # 6 rounds x 5 workers, all distinct

#: one spec per registered model (and a few variants), used by the parametrised tests
SPECS: dict[str, Any] = {
    "empirical": {"model": "empirical", "quantiles": [1.0, 2.0, 4.0]},
    "constant": {"model": "constant", "value": 2.0},
    "exponential": {"model": "exponential", "rate": 2.0},
    "shifted-exponential": {"model": "shifted-exponential", "shift": 1.0, "rate": 2.0},
    "pareto": {"model": "pareto", "scale": 1.5, "alpha": 2.5},
    "weibull": {"model": "weibull", "shape": 0.7, "scale": 2.0},
    "lognormal": {"model": "lognormal", "mu": 0.3, "sigma": 0.6},
    "uniform": {"model": "uniform", "low": 0.5, "high": 2.0},
    "bimodal": {"model": "bimodal", "base": "exponential", "p": 0.2, "factor": 5.0},
    "scipy": {"model": "scipy", "dist": "gamma", "a": 2.0, "scale": 0.5},
    "heterogeneous": {
        "model": "heterogeneous",
        "base": {"model": "exponential", "rate": 1.0},
        "speeds": {"model": "uniform", "low": 0.5, "high": 2.0},
    },
    "heterogeneous-explicit": {
        "model": "heterogeneous",
        "base": "shifted-exponential",
        "speeds": [1.0, 2.0, 0.5, 1.0, 4.0],
    },
    "persistent": {
        "model": "persistent",
        "base": {"model": "exponential", "rate": 1.0},
        "p_slow": 0.1,
        "p_recover": 0.3,
        "factor": 4.0,
    },
    "persistent-of-heterogeneous": {
        "model": "persistent",
        "base": {"model": "heterogeneous", "base": "exponential", "speeds": [1, 2, 3, 4, 5]},
        "p_slow": 0.2,
        "p_recover": 0.2,
        "factor": 3.0,
    },
    "trace": {"model": "trace", "data": TRACE},
    "adversarial": {
        "model": "adversarial",
        "base": {"model": "exponential", "rate": 1.0},
        "stragglers": 2,
        "strategy": "random",
        "factor": 5.0,
    },
}

N = 5  # workers in the sampler tests (the explicit speeds and the trace have 5)


def test_every_registered_model_has_a_spec():
    names = {make_delay(s).name for s in SPECS.values()}
    assert names == set(list_delays())


# ------------------------------------------------------------------ distributions


DIST_MODELS = [
    ExponentialDelay(rate=2.0),
    ExponentialDelay(mean=0.25),
    ShiftedExponentialDelay(shift=1.0, rate=2.0),
    ParetoDelay(scale=1.5, alpha=2.5),
    WeibullDelay(shape=0.7, scale=2.0),
    LognormalDelay(mu=0.3, sigma=0.6),
    UniformDelay(low=0.5, high=2.0),
    ScipyDelay("gamma", a=2.0, scale=0.5),
    ScipyDelay("lognorm", (0.5,), loc=1.0),
]


@pytest.mark.parametrize("model", DIST_MODELS, ids=repr)
def test_samples_follow_dist(model: DelayModel):
    x = model.sample(np.random.default_rng(12345), 4000)
    assert x.shape == (4000,) and np.all(x >= 0)
    res = stats.kstest(x, model.dist().cdf)
    assert res.statistic < 0.03, res  # KS critical value at 4000 draws, alpha=0.01: 0.026


def test_dist_parametrisations_match_the_documented_laws():
    t = np.array([1.5, 2.0, 5.0, 30.0])
    np.testing.assert_allclose(ParetoDelay(1.5, 2.5).dist().sf(t), (1.5 / t) ** 2.5)
    np.testing.assert_allclose(
        ShiftedExponentialDelay(1.0, 2.0).dist().sf(t), np.exp(-2.0 * (t - 1.0))
    )
    np.testing.assert_allclose(WeibullDelay(0.7, 2.0).dist().sf(t), np.exp(-((t / 2.0) ** 0.7)))
    assert LognormalDelay(0.3, 0.6).dist().median() == pytest.approx(math.exp(0.3))
    assert ExponentialDelay(mean=0.25).rate == 4.0
    assert ExponentialDelay(mean=0.25).dist().mean() == pytest.approx(0.25)


def test_models_without_a_scipy_law_return_none():
    for spec in ("constant", "bimodal", "heterogeneous", "persistent", "trace"):
        assert make_delay(SPECS[spec]).dist() is None


def test_constant_and_ideal():
    assert np.all(ConstantDelay(2.0).sample(np.random.default_rng(0), (3, 4)) == 2.0)
    ideal = make_delay("ideal")
    assert isinstance(ideal, ConstantDelay) and ideal.value == 0.0
    s = ideal.sampler(4, np.random.default_rng(0))
    assert np.all(s.draw(np.array([1.0, 2.0, 3.0, 0.0])) == 0.0)


def test_bimodal_fraction_and_factor():
    model = BimodalDelay(p=0.2, factor=5.0)  # constant base 1: draws are 1 or 5
    x = model.sample(np.random.default_rng(3), 20000)
    assert set(np.unique(x)) == {1.0, 5.0}
    frac = np.mean(x == 5.0)
    assert abs(frac - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 20000)


def test_bimodal_mean_and_variance_with_random_base():
    model = make_delay(SPECS["bimodal"])  # Exp(1) times 5 w.p. 0.2
    x = model.sample(np.random.default_rng(4), 40000)
    mean = 0.8 * 1 + 0.2 * 5
    second = 0.8 * 2 + 0.2 * 2 * 25
    var = second - mean**2
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / x.size)
    assert abs(x.var() - var) / var < 0.1


# ------------------------------------------------------------------ load scaling


def test_per_worker_scaling_multiplies_one_draw_by_the_load():
    model = ShiftedExponentialDelay(1.0, 2.0)
    loads = np.array([1.0, 2.0, 3.0, 0.5, 0.0])
    a = model.sampler(N, np.random.default_rng(9)).draw(np.ones(N))
    b = model.sampler(N, np.random.default_rng(9)).draw(loads)
    np.testing.assert_allclose(b, a * loads)  # common random numbers across loads
    # both the shift and the mean grow with the load (Lee et al.)
    rounds = model.sampler(N, np.random.default_rng(1)).draw_rounds(20000, loads)
    np.testing.assert_allclose(rounds.min(axis=0), loads, rtol=1e-3)
    np.testing.assert_allclose(rounds.mean(axis=0), loads * 1.5, rtol=0.02)


@given(loads=st.lists(st.floats(0, 6, allow_nan=False), min_size=N, max_size=N))
def test_per_partition_counts_ceil_load_draws(loads: list[float]):
    s = ConstantDelay(1.5).sampler(N, np.random.default_rng(0), "per-partition")
    out = s.draw(np.array(loads))
    np.testing.assert_allclose(out, 1.5 * np.ceil(loads))


def test_per_partition_sums_independent_draws():
    rate, d = 2.0, 3
    loads = np.full(N, float(d))
    pp = ExponentialDelay(rate).sampler(N, np.random.default_rng(5), "per-partition")
    pw = ExponentialDelay(rate).sampler(N, np.random.default_rng(5), "per-worker")
    x, y = pp.draw_rounds(8000, loads).ravel(), pw.draw_rounds(8000, loads).ravel()
    # both have mean d/rate; the sum of d draws has variance d/rate², d·X has d²/rate²
    assert abs(x.mean() - d / rate) < 4 * math.sqrt(d / rate**2 / x.size)
    assert abs(y.mean() - d / rate) < 4 * math.sqrt(d**2 / rate**2 / y.size)
    assert x.var() == pytest.approx(d / rate**2, rel=0.05)
    assert y.var() == pytest.approx(d**2 / rate**2, rel=0.05)
    # a sum of 3 exponentials is Gamma(3)
    assert stats.kstest(x, stats.gamma(d, scale=1 / rate).cdf).statistic < 0.015


def test_loads_are_validated():
    s = ExponentialDelay().sampler(3, np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match=r"shape \(n,\) = \(3,\)"):
        s.draw(np.ones(4))
    with pytest.raises(InvalidInputError, match=r"loads\[1\]=-1"):
        s.draw(np.array([1.0, -1.0, 1.0]))
    with pytest.raises(InvalidInputError, match="rounds must be an integer >= 0"):
        s.draw_rounds(-1, np.ones(3))
    assert s.draw_rounds(0, np.ones(3)).shape == (0, 3)
    assert s.draw(2.0).shape == (3,)  # a scalar load applies to every worker
    with pytest.raises(InvalidInputError, match="load mode must be one of"):
        ExponentialDelay().sampler(3, np.random.default_rng(0), "per-round")
    with pytest.raises(InvalidInputError, match="n .* must be an integer >= 1"):
        ExponentialDelay().sampler(0, np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="size must be"):
        ExponentialDelay().sample(np.random.default_rng(0), (2, -1))


# ------------------------------------------------------------------ determinism

MODES = ["per-worker", "per-partition"]


def _cases() -> list[Any]:
    out = []
    for key in SPECS:
        for mode in MODES:
            if key == "trace" and mode == "per-partition":
                continue
            out.append(pytest.param(key, mode, id=f"{key}-{mode}"))
    return out


@pytest.mark.parametrize(("key", "mode"), _cases())
def test_same_seed_same_draws_and_draw_rounds_equals_repeated_draw(key: str, mode: str):
    model = make_delay(SPECS[key])
    loads = np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    a = model.sampler(N, np.random.default_rng(2024), mode)
    b = model.sampler(N, np.random.default_rng(2024), mode)
    c = model.sampler(N, np.random.default_rng(2025), mode)
    first = np.stack([a.draw(loads) for _ in range(7)])
    np.testing.assert_array_equal(first, b.draw_rounds(7, loads))
    # and they stay in step afterwards
    np.testing.assert_array_equal(
        a.draw_rounds(3, loads), np.stack([b.draw(loads) for _ in range(3)])
    )
    assert first.shape == (7, N) and np.all(first >= 0)
    if key not in ("constant", "trace"):
        assert not np.array_equal(first, c.draw_rounds(7, loads))


@pytest.mark.parametrize("key", list(SPECS))
def test_sample_is_deterministic_given_the_seed(key: str):
    model = make_delay(SPECS[key])
    x = model.sample(np.random.default_rng(7), (4, 3))
    y = model.sample(np.random.default_rng(7), (4, 3))
    assert x.shape == (4, 3) and np.all(x >= 0)
    np.testing.assert_array_equal(x, y)


@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 6))
def test_row_stable_models_vectorise_rounds(seed: int, rounds: int):
    for key in ("exponential", "pareto", "weibull", "lognormal", "shifted-exponential"):
        model = make_delay(SPECS[key])
        assert model.row_stable
        x = model.sample(np.random.default_rng(seed), (rounds, N))
        rng = np.random.default_rng(seed)
        y = np.stack([model.sample(rng, (N,)) for _ in range(rounds)])
        np.testing.assert_array_equal(x, y)


def test_spec_round_trips_through_make_delay():
    for key, spec in SPECS.items():
        model = make_delay(spec)
        again = make_delay(model.spec())
        assert type(again) is type(model), key
        x = model.sampler(N, np.random.default_rng(1)).draw_rounds(3, np.ones(N))
        y = again.sampler(N, np.random.default_rng(1)).draw_rounds(3, np.ones(N))
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ heterogeneous


def test_heterogeneous_explicit_speeds_divide_durations():
    model = HeterogeneousDelay(base=ConstantDelay(2.0), speeds=[1.0, 2.0, 4.0])
    s = model.sampler(3, np.random.default_rng(0))
    np.testing.assert_allclose(s.draw(np.array([1.0, 1.0, 2.0])), [2.0, 1.0, 1.0])
    assert not model.iid
    with pytest.raises(InvalidInputError, match="speeds has 3 entries but the run has n=4"):
        model.sampler(4, np.random.default_rng(0))


def test_heterogeneous_speeds_drawn_once_per_run():
    model = make_delay(
        {"model": "heterogeneous", "speeds": {"model": "uniform", "low": 0.5, "high": 2.0}}
    )
    s = model.sampler(50, np.random.default_rng(1))
    rounds = s.draw_rounds(10, np.ones(50))
    np.testing.assert_allclose(rounds, np.broadcast_to(1.0 / s.speeds, (10, 50)))
    assert np.all((s.speeds >= 0.5) & (s.speeds <= 2.0))
    other = model.sampler(50, np.random.default_rng(2))
    assert not np.array_equal(s.speeds, other.speeds)
    again = model.sampler(50, np.random.default_rng(1))
    np.testing.assert_array_equal(s.speeds, again.speeds)


def test_heterogeneous_mean_per_worker_with_random_base():
    model = HeterogeneousDelay(base=ExponentialDelay(1.0), speeds=[1.0, 4.0])
    x = model.sampler(2, np.random.default_rng(8)).draw_rounds(20000, np.ones(2))
    se = 1.0 / math.sqrt(20000)
    assert abs(x[:, 0].mean() - 1.0) < 4 * se
    assert abs(x[:, 1].mean() - 0.25) < 4 * se / 4


# ------------------------------------------------------------------ persistent


def _slow_states(p_slow: float, p_recover: float, n: int, rounds: int, seed: int) -> np.ndarray:
    model = PersistentDelay(p_slow=p_slow, p_recover=p_recover, factor=4.0)  # constant base 1
    x = model.sampler(n, np.random.default_rng(seed)).draw_rounds(rounds, np.ones(n))
    assert set(np.unique(x)) <= {1.0, 4.0}
    return x == 4.0


def test_persistent_stationary_fraction():
    slow = _slow_states(0.1, 0.3, 400, 300, 11)
    pi = 0.1 / 0.4
    # round 0 starts at stationarity, and the fraction stays there
    assert abs(slow[0].mean() - pi) < 4 * math.sqrt(pi * (1 - pi) / 400)
    assert abs(slow.mean() - pi) < 0.02


def test_persistent_autocorrelation_and_spell_length():
    slow = _slow_states(0.1, 0.3, 400, 300, 12).astype(float)
    x0, x1 = slow[:-1].ravel(), slow[1:].ravel()
    lag1 = np.corrcoef(x0, x1)[0, 1]
    assert lag1 == pytest.approx(1 - 0.1 - 0.3, abs=0.02)
    x2 = slow[2:].ravel()
    assert np.corrcoef(slow[:-2].ravel(), x2)[0, 1] == pytest.approx(0.6**2, abs=0.03)
    # P(slow at t+1 | slow at t) = 1 - p_recover
    assert x1[x0 == 1].mean() == pytest.approx(0.7, abs=0.02)
    # an i.i.d. (bimodal) model with the same marginal has no persistence
    iid = BimodalDelay(p=0.25, factor=4.0).sampler(400, np.random.default_rng(0))
    y = (iid.draw_rounds(300, np.ones(400)) == 4.0).astype(float)
    assert abs(np.corrcoef(y[:-1].ravel(), y[1:].ravel())[0, 1]) < 0.02


def test_persistent_initial_state_and_sampler_state():
    model = PersistentDelay(p_slow=0.0, p_recover=0.0, factor=2.0, initial=1.0)
    s = model.sampler(4, np.random.default_rng(0))
    assert s.slow.all()
    np.testing.assert_array_equal(s.draw_rounds(5, np.ones(4)), np.full((5, 4), 2.0))
    with pytest.raises(InvalidInputError, match="no unique stationary distribution"):
        PersistentDelay(p_slow=0.0, p_recover=0.0, factor=2.0)


def test_persistent_marginal_sample():
    model = PersistentDelay(p_slow=0.1, p_recover=0.3, factor=4.0)
    x = model.sample(np.random.default_rng(0), 20000)
    assert np.mean(x == 4.0) == pytest.approx(0.25, abs=0.015)


# ------------------------------------------------------------------ trace


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_trace_replays_rows_scaled_by_load(tmp_path: Path):
    p = _write(tmp_path / "t.csv", "w0,w1,w2\n1,2,3\n4,5,6\n")
    model = make_delay({"model": "trace", "data": str(p)})
    assert model.rounds == 2 and model.workers == 3
    s = model.sampler(3, np.random.default_rng(0))
    loads = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(s.draw(loads), [1.0, 4.0, 1.5])
    np.testing.assert_allclose(s.draw(loads), [4.0, 10.0, 3.0])
    np.testing.assert_allclose(s.draw(loads), [1.0, 4.0, 1.5])  # wraps around by default


def test_trace_without_header_and_comments(tmp_path: Path):
    p = _write(tmp_path / "t.csv", "# measured on ec2\n1.5,2.5\n\n3.5,4.5\n")
    model = TraceDelay(p)
    np.testing.assert_array_equal(model.data, [[1.5, 2.5], [3.5, 4.5]])
    numeric_header = _write(tmp_path / "h.csv", "0,1\n1.5,2.5\n")
    np.testing.assert_array_equal(TraceDelay(numeric_header, header=True).data, [[1.5, 2.5]])


def test_trace_exhaustion_error(tmp_path: Path):
    model = TraceDelay(TRACE, on_exhausted="error")
    s = model.sampler(N, np.random.default_rng(0))
    np.testing.assert_array_equal(s.draw_rounds(6, np.ones(N)), TRACE)
    with pytest.raises(InvalidInputError, match="exhausted after 6 rounds.*round 6 has no row"):
        s.draw(np.ones(N))
    wrap = TraceDelay(TRACE).sampler(N, np.random.default_rng(0))
    np.testing.assert_array_equal(wrap.draw_rounds(8, np.ones(N)), TRACE[np.arange(8) % 6])


def test_trace_workers_and_recycling():
    with pytest.raises(InvalidInputError, match="has 5 workers .* n=7.*recycle_workers=True"):
        TraceDelay(TRACE).sampler(7, np.random.default_rng(0))
    s = TraceDelay(TRACE, recycle_workers=True).sampler(7, np.random.default_rng(0))
    np.testing.assert_array_equal(s.draw(np.ones(7)), TRACE[0, [0, 1, 2, 3, 4, 0, 1]])
    fewer = TraceDelay(TRACE).sampler(3, np.random.default_rng(0))  # extra columns ignored
    np.testing.assert_array_equal(fewer.draw(np.ones(3)), TRACE[0, :3])


def test_trace_random_start_and_per_partition_refused():
    a = TraceDelay(TRACE, start="random").sampler(N, np.random.default_rng(3))
    b = TraceDelay(TRACE, start="random").sampler(N, np.random.default_rng(3))
    assert a.first_row == b.first_row
    np.testing.assert_array_equal(a.draw(np.ones(N)), TRACE[a.first_row])
    with pytest.raises(InvalidInputError, match="only mode='per-worker'"):
        TraceDelay(TRACE).sampler(N, np.random.default_rng(0), "per-partition")


def test_trace_bad_entries_name_row_and_column(tmp_path: Path):
    bad = TRACE.copy()
    bad[3, 2] = -1.0
    with pytest.raises(InvalidInputError, match=r"-1\.0 at round \(row\) 3, worker \(column\) 2"):
        TraceDelay(bad)
    bad[3, 2] = np.inf
    with pytest.raises(InvalidInputError, match="finite and >= 0"):
        TraceDelay(bad)
    p = _write(tmp_path / "t.csv", "a,b\n1,2\n3,x\n")
    with pytest.raises(InvalidInputError, match=r"line 3 \(round 1, worker 1\).*'x'"):
        TraceDelay(p)
    p = _write(tmp_path / "r.csv", "1,2\n3\n")
    with pytest.raises(InvalidInputError, match="line 2 .* has 1 columns; expected 2"):
        TraceDelay(p)
    p = _write(tmp_path / "n.csv", "1,2\n1,-1\n")
    with pytest.raises(InvalidInputError, match=r"round \(row\) 1, worker \(column\) 1 in n\.csv"):
        TraceDelay(p)
    with pytest.raises(InvalidInputError, match="does not exist"):
        TraceDelay(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="2-D"):
        TraceDelay([1.0, 2.0])


# ------------------------------------------------------------------ registry and errors


def test_registry_names_aliases_and_instances():
    assert list_delays()[:3] == ["constant", "exponential", "shifted-exponential"]
    assert "ideal" in list_delays(aliases=True)
    m = ExponentialDelay(3.0)
    assert make_delay(m) is m
    assert isinstance(make_delay("Shifted_Exponential"), ShiftedExponentialDelay)
    assert make_delay("pareto", alpha=3.0).alpha == 3.0
    assert make_delay({"model": "weibull", "shape": 2.0}, scale=3.0).scale == 3.0
    assert isinstance(make_delay({"model": "bimodal", "p": 0.1, "factor": 2}).base, ConstantDelay)


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        ({"model": "exponential", "rate": -1.0}, ["exponential", "rate must be > 0", "rate=-1.0"]),
        ({"model": "exponential", "rate": 1, "mean": 1}, ["rate or mean, not both"]),
        ({"model": "pareto", "alpha": 0}, ["pareto", "alpha must be > 0", "alpha=0.0"]),
        ({"model": "pareto", "alpha": "x"}, ["alpha must be a real number", "alpha='x'"]),
        ({"model": "shifted-exponential", "shift": -0.5}, ["shift must be >= 0", "shift=-0.5"]),
        ({"model": "weibull", "shape": float("nan")}, ["shape must be finite"]),
        ({"model": "lognormal", "sigma": 0.0}, ["sigma must be > 0", "sigma=0.0"]),
        ({"model": "uniform", "low": 2, "high": 1}, ["high must be > low", "low=2.0"]),
        ({"model": "constant", "value": -1}, ["value must be >= 0", "value=-1.0"]),
        ({"model": "bimodal", "p": 1.5, "factor": 2}, ["p must be in [0, 1]", "p=1.5"]),
        ({"model": "bimodal", "p": 0.1, "factor": 0.5}, ["factor must be >= 1", "factor=0.5"]),
        (
            {"model": "bimodal", "base": SPECS["persistent"], "p": 0.1, "factor": 2},
            ["base must be an i.i.d. model"],
        ),
        (
            {
                "model": "bimodal",
                "base": {"model": "exponential", "rate": -2},
                "p": 0.1,
                "factor": 2,
            },
            ["bimodal: in base", "rate must be > 0", "rate=-2.0"],
        ),
        (
            {"model": "persistent", "p_slow": -0.1, "p_recover": 0.5, "factor": 2},
            ["p_slow must be in [0, 1]", "p_slow=-0.1"],
        ),
        (
            {"model": "persistent", "p_slow": 0.1, "p_recover": 0.5, "factor": 0.9},
            ["factor must be >= 1", "factor=0.9"],
        ),
        (
            {"model": "heterogeneous", "speeds": [1, 0, 2]},
            ["speeds must be finite and > 0", "speeds[1]=0.0"],
        ),
        ({"model": "heterogeneous", "speeds": [[1, 2]]}, ["1-D array", "(1, 2)"]),
        (
            {"model": "trace", "data": TRACE, "on_exhausted": "stop"},
            ["on_exhausted must be", "'stop'"],
        ),
        ({"model": "trace", "data": TRACE, "start": 6}, ["row index in 0..5", "start=6"]),
        (
            {"model": "paretto", "alpha": 2},
            ["unknown delay model 'paretto'", "did you mean 'pareto'"],
        ),
        ({"model": "pareto", "alfa": 2}, ["unknown parameter(s) 'alfa'", "did you mean 'alpha'"]),
        ({"model": "pareto"}, ["pareto: missing required parameter(s) 'alpha'"]),
        ({"model": "persistent", "p_slow": 0.1}, ["missing required", "'p_recover', 'factor'"]),
        ({"model": "trace"}, ["trace: missing required parameter(s) 'data'"]),
        ({"rate": 1.0}, ["needs a 'model' key"]),
        ("shifted-exponentail", ["did you mean 'shifted-exponential'"]),
        (42, ["a delay spec must be"]),
        # scipy: names and parameters are checked against scipy.stats
        (
            {"model": "scipy", "dist": "gama", "a": 1},
            ["no continuous distribution 'gama'", "'gamma'"],
        ),
        ({"model": "scipy", "dist": "poisson", "mu": 1}, ["poisson is discrete"]),
        ({"model": "scipy", "dist": "gamma"}, ["gamma needs shape parameter(s) a"]),
        (
            {"model": "scipy", "dist": "gamma", "a": 2, "scal": 1},
            ["unknown parameter 'scal'", "did you mean 'scale'"],
        ),
        ({"model": "scipy", "dist": "gamma", "a": -2}, ["rejects the parameters", "a=-2.0"]),
        ({"model": "scipy", "dist": "gamma", "args": [2, 0, 1, 5]}, ["at most 3 positional"]),
        ({"model": "scipy", "dist": "gamma", "args": [2], "a": 2}, ["given both in args"]),
        (
            {"model": "scipy", "dist": "norm"},
            ["must be non-negative", "support [-inf, inf]", "unbounded below"],
        ),
        ({"model": "scipy", "dist": "gamma", "a": 2, "loc": -1}, ["support [-1, inf]", "loc >= 0"]),
    ],
)
def test_bad_input_messages(spec: Any, fragments: list[str]):
    with pytest.raises(InvalidInputError) as err:
        make_delay(spec)
    for frag in fragments:
        assert frag in str(err.value), (frag, str(err.value))


def test_direct_construction_validates_too():
    with pytest.raises(InvalidInputError, match="pareto: missing required parameter 'alpha'"):
        ParetoDelay(1.0)
    with pytest.raises(InvalidInputError, match="p_recover"):
        PersistentDelay(p_slow=0.1, factor=2.0)
    with pytest.raises(InvalidInputError, match="heterogeneous: the speed model must be i.i.d."):
        HeterogeneousDelay(speeds=SPECS["persistent"])
    with pytest.raises(InvalidInputError, match="cannot be applied to the model instance"):
        make_delay(ExponentialDelay(), rate=2.0)


def test_speed_model_with_zero_speeds_is_rejected_at_sampler_time():
    model = HeterogeneousDelay(speeds={"model": "constant", "value": 0.0})
    with pytest.raises(InvalidInputError, match="drew a speed that is not finite and > 0"):
        model.sampler(3, np.random.default_rng(0))


def test_scipy_model_passes_the_generator():
    model = ScipyDelay("gamma", (2.0,), scale=0.5)
    assert model.params() == {"dist": "gamma", "a": 2.0, "scale": 0.5}
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (global state must not move)
    x = model.sample(np.random.default_rng(0), 5)
    y = model.sample(np.random.default_rng(0), 5)
    np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    assert isinstance(model.sampler(3, np.random.default_rng(0)), RoundSampler)
    assert ScipyDelay(stats.expon).dist().mean() == 1.0
