"""Closed-form and integrated order statistics: research-note check values, agreement
between the closed forms and the generic integrals, and Monte-Carlo cross-checks through
the delay samplers (unit-load values times the per-worker load)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from gcsim.analysis.order_stats import (
    expected_grouped_completion,
    expected_max_of_group_mins,
    expected_order_stat,
    expected_order_stat_pareto,
    expected_order_stat_shifted_exp,
    grouped_completion_variance,
    max_of_group_mins_variance,
    order_stat_moment_pareto,
    order_stat_variance,
    order_stat_variance_pareto,
    order_stat_variance_shifted_exp,
)
from gcsim.delays import ConstantDelay, ParetoDelay, ShiftedExponentialDelay, make_delay
from gcsim.errors import InvalidInputError


def H(n: int) -> float:
    return sum(1.0 / i for i in range(1, n + 1))


# ------------------------------------------------------------ research-note check values


@pytest.mark.parametrize(("n", "r", "value"), [(10, 7, 1.5478), (20, 15, 1.6572), (12, 12, 2.5516)])
def test_shifted_exp_check_values(n: int, r: int, value: float):
    assert round(expected_order_stat_shifted_exp(r, n, shift=1.0, rate=2.0), 4) == value
    dist = ShiftedExponentialDelay(1.0, 2.0).dist()
    assert round(expected_order_stat(dist, r, n), 4) == value


def test_lee_model_checks_n12():
    dist = stats.expon(loc=1.0, scale=1.0)
    # waiting for the fastest n - s = 10 of 12
    assert round(expected_order_stat_shifted_exp(10, 12, 1.0, 1.0), 4) == 2.6032
    assert round(expected_order_stat(dist, 10, 12), 4) == 2.6032
    # FRC, s = 2: 4 replica groups of 3
    assert round(expected_max_of_group_mins(dist, 3, 4), 4) == 1.6944
    # grouped MDS, d = 4, m = 2: 3 groups
    assert round(expected_grouped_completion(dist, [4, 4, 4], 2), 4) == 1.9400


@pytest.mark.parametrize(("n", "r", "value"), [(10, 8, 1.8171), (12, 9, 1.6906)])
def test_pareto_check_values(n: int, r: int, value: float):
    assert round(expected_order_stat_pareto(r, n, scale=1.0, alpha=2.5), 4) == value
    assert round(expected_order_stat(ParetoDelay(1.0, 2.5), r, n), 4) == value


# ------------------------------------------------------------ closed forms vs integrals


def test_frc_closed_form():
    # min of s+1 Exp(λ) is Exp((s+1)λ); the max of G of those has mean H_G/((s+1)λ)
    for a, lam, size, groups in [(1.0, 1.0, 3, 4), (0.5, 2.0, 2, 5), (0.0, 0.7, 4, 3)]:
        dist = stats.expon(loc=a, scale=1 / lam)
        expect = a + H(groups) / (size * lam)
        assert expected_max_of_group_mins(dist, size, groups) == pytest.approx(expect, rel=1e-9)
        var = sum(1 / i**2 for i in range(1, groups + 1)) / (size * lam) ** 2
        assert max_of_group_mins_variance(dist, size, groups) == pytest.approx(var, rel=1e-7)


@given(
    n=st.integers(1, 30),
    data=st.data(),
    shift=st.floats(0.0, 5.0),
    rate=st.floats(0.05, 20.0),
)
def test_shifted_exp_closed_form_matches_integral(n, data, shift, rate):
    r = data.draw(st.integers(1, n))
    dist = stats.expon(loc=shift, scale=1 / rate)
    mean = expected_order_stat_shifted_exp(r, n, shift, rate)
    var = order_stat_variance_shifted_exp(r, n, shift, rate)
    assert mean == pytest.approx(shift + (H(n) - H(n - r)) / rate, rel=1e-12)
    assert var == pytest.approx(sum(1 / i**2 for i in range(n - r + 1, n + 1)) / rate**2)
    assert expected_order_stat(dist, r, n) == pytest.approx(mean, rel=1e-8)
    assert order_stat_variance(dist, r, n) == pytest.approx(var, rel=1e-6)
    # one group of n needing r responses is the r-th order statistic
    assert expected_grouped_completion(dist, [n], r) == pytest.approx(mean, rel=1e-8)


@given(n=st.integers(1, 25), data=st.data(), alpha=st.floats(2.2, 6.0), scale=st.floats(0.1, 3))
def test_pareto_closed_form_matches_integral(n, data, alpha, scale):
    r = data.draw(st.integers(1, n))
    dist = stats.pareto(b=alpha, scale=scale)
    assert expected_order_stat(dist, r, n) == pytest.approx(
        expected_order_stat_pareto(r, n, scale, alpha), rel=1e-7
    )
    assert order_stat_variance(dist, r, n) == pytest.approx(
        order_stat_variance_pareto(r, n, scale, alpha), rel=1e-5
    )


def test_pareto_moments_reduce_to_the_parent_for_n1():
    d = stats.pareto(b=3.0, scale=2.0)
    assert order_stat_moment_pareto(1, 1, 2.0, 3.0) == pytest.approx(d.mean())
    assert order_stat_variance_pareto(1, 1, 2.0, 3.0) == pytest.approx(d.var())


def test_pareto_validity_check():
    with pytest.raises(InvalidInputError, match=r"n - r \+ 1 > k/alpha.*n - r \+ 1 = 1"):
        expected_order_stat_pareto(10, 10, 1.0, 0.8)
    assert expected_order_stat_pareto(9, 10, 1.0, 0.8) > 0  # 2 > 1/0.8
    with pytest.raises(InvalidInputError, match="moment 2"):
        order_stat_variance_pareto(10, 10, 1.0, 1.5)
    # the integral reports the infinite moment instead of a wrong number
    assert math.isinf(expected_order_stat(stats.pareto(0.8), 10, 10))
    assert math.isinf(order_stat_variance(stats.pareto(1.5), 10, 10))


def test_generic_order_stats_of_a_symmetric_law():
    # works for supports with negative values too (the formula splits at the median)
    d = stats.norm()
    assert expected_order_stat(d, 3, 5) == pytest.approx(0.0, abs=1e-10)
    assert expected_order_stat(d, 5, 5) == pytest.approx(1.162964473640, rel=1e-9)
    assert expected_order_stat(d, 1, 5) == pytest.approx(-1.162964473640, rel=1e-9)
    assert order_stat_variance(d, 1, 1) == pytest.approx(1.0, rel=1e-9)


def test_unequal_groups_and_per_group_m():
    d = stats.weibull_min(c=1.5)
    equal = expected_grouped_completion(d, [4, 4], 2)
    assert expected_grouped_completion(d, [4, 4], [2, 2]) == pytest.approx(equal)
    # a larger group finishes its m-th response sooner, so T decreases
    assert expected_grouped_completion(d, [5, 4], 2) < equal
    # T is the max over groups, at least every group's own order statistic
    assert expected_grouped_completion(d, [5, 4], 2) > expected_order_stat(d, 2, 4)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: expected_order_stat_shifted_exp(0, 5, 1, 1), "r must be >= 1"),
        (lambda: expected_order_stat_shifted_exp(6, 5, 1, 1), "r must be in 1..n; got r=6, n=5"),
        (lambda: expected_order_stat_shifted_exp(2, 5, 1, 0), "rate must be > 0; got rate=0.0"),
        (lambda: expected_order_stat_shifted_exp(2, 5, -1, 1), "shift must be >= 0"),
        (lambda: expected_order_stat_pareto(2, 5, 1, -1), "alpha must be > 0"),
        (lambda: expected_order_stat(stats.expon(), 2.5, 5), "r must be an integer"),
        (lambda: expected_grouped_completion(stats.expon(), [4, 1], 2), "group 1 has 1 workers"),
        (lambda: expected_grouped_completion(stats.expon(), [4, 4], [1]), "one entry per group"),
        (lambda: expected_grouped_completion(stats.expon(), 4, 2), "sequence of group sizes"),
        (lambda: expected_max_of_group_mins(stats.expon(), 0, 3), "group_size must be >= 1"),
        (lambda: expected_order_stat(ConstantDelay(1.0), 1, 2), "has no scipy distribution"),
        (lambda: expected_order_stat("expon", 1, 2), "frozen distribution"),
    ],
)
def test_bad_arguments(call, fragment):
    with pytest.raises(InvalidInputError) as err:
        call()
    assert fragment in str(err.value)


# ------------------------------------------------------------ Monte-Carlo cross-checks


def _mc_rounds(spec, n: int, load: float, rounds: int, seed: int) -> np.ndarray:
    """Per-round durations (rounds, n) through the samplers, with equal loads."""
    model = make_delay(spec)
    return model.sampler(n, np.random.default_rng(seed)).draw_rounds(rounds, np.full(n, load))


def _within(sample: np.ndarray, mean: float, var: float, k: float = 4.0) -> None:
    se = math.sqrt(var / sample.size)
    assert abs(sample.mean() - mean) < k * se, (sample.mean(), mean, se)
    # the sample variance too (loose: its own standard error is larger)
    assert sample.var() == pytest.approx(var, rel=0.1)


def test_mc_order_stat_with_load_scaling():
    # Lee model, n = 12, s = 2, load d = 3: T = d · X_(10:12)
    d, n, r = 3.0, 12, 10
    X = _mc_rounds({"model": "shifted-exponential", "shift": 1.0, "rate": 1.0}, n, d, 20000, 1)
    T = np.sort(X, axis=1)[:, r - 1]
    mean = d * expected_order_stat_shifted_exp(r, n, 1.0, 1.0)
    var = d**2 * order_stat_variance_shifted_exp(r, n, 1.0, 1.0)
    _within(T, mean, var)


def test_mc_generic_order_stat_lognormal():
    spec = {"model": "lognormal", "mu": 0.0, "sigma": 0.5}
    dist = make_delay(spec).dist()
    X = _mc_rounds(spec, 9, 1.0, 20000, 2)
    T = np.sort(X, axis=1)[:, 6]
    _within(T, expected_order_stat(dist, 7, 9), order_stat_variance(dist, 7, 9))


def test_mc_frc_and_grouped_mds():
    spec = {"model": "shifted-exponential", "shift": 1.0, "rate": 1.0}
    dist = make_delay(spec).dist()
    X = _mc_rounds(spec, 12, 1.0, 20000, 3)
    frc = X.reshape(-1, 4, 3).min(axis=2).max(axis=1)
    _within(frc, expected_max_of_group_mins(dist, 3, 4), max_of_group_mins_variance(dist, 3, 4))
    grouped = np.sort(X.reshape(-1, 3, 4), axis=2)[:, :, 1].max(axis=1)
    _within(
        grouped,
        expected_grouped_completion(dist, [4, 4, 4], 2),
        grouped_completion_variance(dist, [4, 4, 4], 2),
    )


def test_mc_unequal_groups_heavy_tail():
    # n = 14 in groups of 5, 5, 4, each needing m = 2 responses; Pareto alpha = 3.5
    spec = {"model": "pareto", "scale": 1.0, "alpha": 3.5}
    dist = make_delay(spec).dist()
    X = _mc_rounds(spec, 14, 2.0, 20000, 4)  # load 2 on every worker
    groups = [X[:, :5], X[:, 5:10], X[:, 10:]]
    T = np.max([np.sort(g, axis=1)[:, 1] for g in groups], axis=0)
    mean = 2.0 * expected_grouped_completion(dist, [5, 5, 4], 2)
    var = 4.0 * grouped_completion_variance(dist, [5, 5, 4], 2)
    _within(T, mean, var)


def test_mc_would_detect_a_wrong_value():
    # the 4-standard-error criterion is sharp enough to reject the wrong stopping rule
    spec = {"model": "shifted-exponential", "shift": 1.0, "rate": 1.0}
    X = _mc_rounds(spec, 12, 1.0, 20000, 5)
    T = np.sort(X, axis=1)[:, 9]
    wrong = expected_order_stat_shifted_exp(11, 12, 1.0, 1.0)
    se = math.sqrt(order_stat_variance_shifted_exp(10, 12, 1.0, 1.0) / T.size)
    assert abs(T.mean() - wrong) > 4 * se
