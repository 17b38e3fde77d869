"""The approximate codes' mean errors, exactly: averages over *every* straggler set of a
size (no Monte Carlo noise) against the closed forms the codes state, over random
parameters and construction seeds (hypothesis).

Statements checked (``r = n - t`` responders, ``e(R)`` the coefficient error):

* one-step ``n / |R|`` on a code with ``B^T 1 = 1`` (bernoulli, expander): the average of
  ``B_R^T a`` over all sets of size r is exactly 1 (unbiased), and the average of
  ``e(R)^2`` is ``t n / (r (n - 1)) (||B||_F^2 - k / n) / k`` (``expected_error``);
* frc-approx: the averages of ``e(R)^2`` are ``expected_error`` (one-step, rescaled) and
  ``expected_optimal_error`` (least squares);
* sgc with exactly t stragglers: the average of ``e(R)^2`` is ``expected_error_fixed``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gcsim import make_code


def _all_sets(n: int, t: int) -> list[tuple[int, ...]]:
    return [tuple(sorted(set(range(n)) - set(c))) for c in itertools.combinations(range(n), t)]


@given(
    name=st.sampled_from(["bernoulli", "expander"]),
    n=st.integers(3, 10),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_one_step_is_unbiased_and_its_mean_error_is_exact(name, n, seed, data):
    t = data.draw(st.integers(0, n - 1), label="stragglers")
    d = data.draw(st.integers(1, n - 1), label="d")
    if name == "expander" and (n * d) % 2:
        d = d + 1 if d + 1 <= n - 1 else d - 1
    code = make_code(name, n=n, s=t, d=d, rng=seed)
    B = np.asarray(code.B)
    sets = _all_sets(n, t)
    r = n - t
    mean_weights = np.mean([(n / r) * B[list(R)].sum(axis=0) for R in sets], axis=0)
    np.testing.assert_allclose(mean_weights, 1.0, atol=1e-12)
    mean_sq = float(np.mean([code.coefficient_error(R) ** 2 for R in sets]))
    assert math.isclose(mean_sq, code.expected_error(t), rel_tol=1e-9, abs_tol=1e-12)


@given(
    n=st.integers(2, 11),
    d=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_frc_approx_mean_errors_are_exact(n, d, seed, data):
    d = min(d, n)
    t = data.draw(st.integers(0, n - 1), label="stragglers")
    one = make_code("frc-approx", n=n, s=t, d=d)
    opt = make_code("frc-approx", n=n, s=t, d=d, decoder="optimal")
    sets = _all_sets(n, t)
    got_one = float(np.mean([one.coefficient_error(R) ** 2 for R in sets]))
    got_opt = float(np.mean([opt.coefficient_error(R) ** 2 for R in sets]))
    assert math.isclose(got_one, one.expected_error(t), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(got_opt, opt.expected_optimal_error(t), rel_tol=1e-9, abs_tol=1e-12)
    assert got_opt <= got_one + 1e-12


@given(
    n=st.integers(2, 10),
    seed=st.integers(0, 10_000),
    p=st.floats(0.0, 0.8),
    data=st.data(),
)
def test_sgc_fixed_count_mean_error_is_exact(n, seed, p, data):
    t = data.draw(st.integers(0, n - 1), label="stragglers")
    d = data.draw(st.integers(1, n), label="d")
    code = make_code("sgc", n=n, s=t, d=d, p=p, rng=seed)
    assert (code.loads == d).all() and (code.assignment.sum(axis=0) == d).all()
    sets = _all_sets(n, t)
    got = float(np.mean([code.coefficient_error(R) ** 2 for R in sets]))
    assert math.isclose(got, code.expected_error_fixed(t), rel_tol=1e-9, abs_tol=1e-12)
