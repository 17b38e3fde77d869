"""Approximate gradient codes: exact recovery where the constructions promise it, the
error in expectation (Monte Carlo against the stated formula), worst-case bounds, and
the optimal (least-squares) decoder against the one-step decoder.

Notation: ``R`` the responder set, ``r = |R|``, ``t = n - r`` stragglers, ``a`` the
decoder, the coefficient error ``e(R) = ||B_R^T a - 1|| / sqrt(k)``
(``code.coefficient_error(R)``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcsim import make_code
from gcsim.errors import InfeasibleParametersError, InvalidInputError

APPROX = ("bernoulli", "frc-approx", "expander", "sgc")


def _mc_check(samples: np.ndarray, expected: float, what: str) -> None:
    """The sample mean is within 4 standard errors (plus 1e-12) of ``expected``."""
    mean = float(samples.mean())
    se = float(samples.std(ddof=1)) / math.sqrt(len(samples))
    assert abs(mean - expected) <= 4 * se + 1e-12, (what, mean, expected, se)


def _random_set(gen: np.random.Generator, n: int, t: int) -> tuple[int, ...]:
    return tuple(
        sorted(int(x) for x in np.setdiff1d(np.arange(n), gen.choice(n, t, replace=False)))
    )


# ---------------------------------------------------------------------------- exact cases
@pytest.mark.parametrize("name", APPROX)
@given(n=st.integers(4, 20), seed=st.integers(0, 10_000), optimal=st.booleans())
def test_every_responder_is_exact_when_s_is_zero(name, n, seed, optimal):
    """Every construction's columns sum to 1 (sgc: with p = 0), so with all n responders
    the one-step decoder (n/|R| = 1 weights, or the plain sum) and least squares are
    exact: coefficient error 0 and the decoded sum equals the true one."""
    opts = {"decoder": "optimal" if optimal else "one-step"}
    if name == "expander" and n % 2:
        opts["d"] = 2
    code = make_code(name, n=n, s=0, rng=seed, **opts)
    assert np.allclose(code.column_sums(), 1.0)
    R = tuple(range(n))
    assert code.coefficient_error(R) < 1e-12
    P = np.random.default_rng(seed).standard_normal((n, 5))
    g = code.decode(R, code.encode(P), 5)
    np.testing.assert_allclose(g, P.sum(axis=0), atol=1e-10)


@given(
    n=st.integers(2, 24),
    d=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    optimal=st.booleans(),
)
def test_frc_approx_is_exact_when_every_group_responds(n, d, seed, optimal):
    """Approximate FRC (Charles et al.): when each replica group has a responder the
    estimate is the exact sum, for both decoders, whatever the number of stragglers."""
    d = min(d, n)
    code = make_code("frc-approx", n=n, s=n - 1, d=d, decoder="optimal" if optimal else "one-step")
    gen = np.random.default_rng(seed)
    sizes = code.group_sizes
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # one random responder per group, plus random extras
    R = {int(st_ + gen.integers(size)) for st_, size in zip(starts, sizes, strict=True)}
    R |= {int(x) for x in gen.choice(n, int(gen.integers(0, n)), replace=False)}
    R = tuple(sorted(R))
    assert code.coefficient_error(R) < 1e-12
    P = gen.standard_normal((n, 4))
    g = code.decode(R, code.encode(P)[list(R)], 4)
    np.testing.assert_allclose(g, P.sum(axis=0), atol=1e-10)


def test_frc_approx_error_when_groups_are_lost():
    """With c of the k partitions covered the one-step estimate (rescaled by k / c) has
    squared coefficient error k (k - c) / c, and least squares (no rescaling) k - c."""
    n, d = 12, 3
    one = make_code("frc-approx", n=n, s=6, d=d)
    opt = make_code("frc-approx", n=n, s=6, d=d, decoder="optimal")
    for t in range(0, 10):
        for stragglers in itertools.islice(itertools.combinations(range(n), t), 60):
            R = tuple(sorted(set(range(n)) - set(stragglers)))
            groups = {i // d for i in R}
            c = d * len(groups)
            assert one.coefficient_error(R) ** 2 * n == pytest.approx(n * (n - c) / c, abs=1e-9)
            assert opt.coefficient_error(R) ** 2 * n == pytest.approx(n - c, abs=1e-9)


# ---------------------------------------------------------------------------- expectations
@pytest.mark.parametrize(("name", "opts"), [("bernoulli", {"d": 3}), ("expander", {"d": 4})])
@pytest.mark.parametrize("t", [1, 3, 6])
def test_one_step_mean_squared_error_matches_the_formula(name, opts, t):
    """One-step decoder a = (n/r) 1_R, uniformly random straggler set of size t, columns
    summing to 1 (Bernoulli code normalised, expander B = A/d):

        E ||B_R^T a - 1||^2 / k = t n / (r (n - 1)) (||B||_F^2 - k/n) / k

    (exact, derived from the covariance of sampling without replacement). Checked by
    Monte Carlo over code seeds and straggler sets; for the expander ||B||_F^2 = n / d,
    so the mean is t n (n/d - 1) / (r (n - 1) n), the 1/d-fold improvement over
    ignoring stragglers (B = I) that Raviv et al. and Charles et al. report."""
    n = 20
    gen = np.random.default_rng(7)
    errs, want = [], []
    for seed in range(40):
        code = make_code(name, n=n, s=t, rng=seed, **opts)
        want.append(code.expected_error(t))
        for _ in range(50):
            errs.append(code.coefficient_error(_random_set(gen, n, t)) ** 2)
    if name == "expander":
        r, d = n - t, opts["d"]
        assert want[0] == pytest.approx(t * n * (n / d - 1) / (r * (n - 1)) / n)
    _mc_check(np.asarray(errs), float(np.mean(want)), f"{name} t={t}")


@pytest.mark.parametrize("t", [2, 5, 8])
def test_frc_approx_expected_errors(t):
    """Approximate FRC, groups of d, uniformly random straggler set of size t:
    optimal decoder: E e^2 = sum_g size_g C(n - size_g, t - size_g) / C(n, t) / k (a group
    is lost when all its workers straggle); one-step: E e^2 = E[(k - c) / c] over the
    covered count c (computed exactly from its distribution). Monte Carlo, and the two
    ways of computing the optimal mean agree."""
    n, d = 15, 3
    one = make_code("frc-approx", n=n, s=t, d=d)
    opt = make_code("frc-approx", n=n, s=t, d=d, decoder="optimal")
    dist = one.covered_distribution(t)
    assert sum(dist.values()) == math.comb(n, t)
    via_dist = sum(w * (n - c) / n for c, w in dist.items()) / math.comb(n, t)
    assert opt.expected_optimal_error(t) == pytest.approx(via_dist, rel=1e-12, abs=1e-15)
    gen = np.random.default_rng(t)
    sets = [_random_set(gen, n, t) for _ in range(3000)]
    _mc_check(np.array([one.coefficient_error(R) ** 2 for R in sets]), one.expected_error(t), "one")
    _mc_check(
        np.array([opt.coefficient_error(R) ** 2 for R in sets]),
        opt.expected_optimal_error(t),
        "opt",
    )


@pytest.mark.parametrize(("d", "p"), [(2, 0.1), (3, 0.25), (5, 0.4)])
def test_sgc_is_unbiased_with_the_stated_variance(d, p):
    """Stochastic gradient coding (Bitar et al.): every worker straggles independently
    with probability p; the plain sum of the responders' messages (scaled by
    1/(d(1-p))) is unbiased, E[B_R^T 1] = 1, with E ||B_R^T 1 - 1||^2 / k = p / (d (1 - p)).
    Monte Carlo over code seeds and straggler draws."""
    n = 24
    gen = np.random.default_rng(d)
    errs, weights = [], []
    for seed in range(30):
        code = make_code("sgc", n=n, s=0, d=d, p=p, rng=seed)
        B = np.asarray(code.B)
        for _ in range(60):
            alive = gen.random(n) >= p
            if not alive.any():
                continue
            R = tuple(np.flatnonzero(alive).tolist())
            errs.append(code.coefficient_error(R) ** 2)
            weights.append(B[list(R)].sum(axis=0).mean())
    assert code.expected_error() == pytest.approx(p / (d * (1 - p)))
    _mc_check(np.asarray(errs), p / (d * (1 - p)), "variance")
    _mc_check(np.asarray(weights), 1.0, "unbiased")


def test_sgc_fixed_count_formula():
    """With exactly t stragglers (uniform), partition j keeps a hypergeometric number of
    its d holders: E e^2 = Var(X) c^2 + (E[X] c - 1)^2, c = 1/(d(1-p)). Monte Carlo."""
    n, t, d = 20, 4, 3
    code = make_code("sgc", n=n, s=t, d=d, rng=3)
    gen = np.random.default_rng(0)
    errs = [code.coefficient_error(_random_set(gen, n, t)) ** 2 for _ in range(4000)]
    _mc_check(np.asarray(errs), code.expected_error_fixed(t), "fixed count")


# ---------------------------------------------------------------------------- worst case
@pytest.mark.parametrize(("n", "d", "seed"), [(12, 3, 0), (12, 4, 1), (14, 5, 2)])
def test_expander_worst_case_bound_on_every_straggler_set(n, d, seed):
    """Raviv et al. (as derived in the code's docstring): for every straggler set of size
    t the one-step error is at most (lambda/d) sqrt(t / (n - t)); checked on every set."""
    code = make_code("expander", n=n, s=3, d=d, rng=seed)
    A = np.asarray(code.B) * d
    assert np.allclose(A, A.T) and np.allclose(A.sum(axis=1), d)
    assert set(np.unique(A)) <= {0.0, 1.0} and not np.any(np.diag(A))  # simple graph
    for t in range(0, 5):
        bound = code.error_bound(t)
        worst = max(
            code.coefficient_error(tuple(sorted(set(range(n)) - set(c))))
            for c in itertools.combinations(range(n), t)
        )
        assert worst <= bound + 1e-12, (t, worst, bound)


def test_margulis_graph_is_an_expander():
    """The Margulis–Gabber–Galil graph is 8-regular (with multiplicities) and symmetric,
    with second eigenvalue at most 5 sqrt(2) < 8."""
    for q in (3, 4, 5, 7):
        code = make_code("expander", n=q * q, s=1, graph="margulis")
        A = np.asarray(code.B) * 8
        assert np.allclose(A, A.T) and np.allclose(A.sum(axis=0), 8)
        assert code.second_eigenvalue <= 5 * math.sqrt(2) + 1e-9


def test_random_regular_graphs_expand():
    """Random d-regular graphs (d >= 3) are near-Ramanujan: the second eigenvalue stays
    below d, and on average below 2 sqrt(d - 1) + 1 at n = 40 (Friedman's theorem holds
    as n grows; the slack covers small n)."""
    for d in (3, 4, 6):
        lams = [make_code("expander", n=40, s=1, d=d, rng=s).second_eigenvalue for s in range(10)]
        assert max(lams) < d
        assert float(np.mean(lams)) < 2 * math.sqrt(d - 1) + 1


# ---------------------------------------------------------------------------- decoders
@given(
    name=st.sampled_from(APPROX),
    n=st.integers(3, 18),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_optimal_decoding_is_never_worse_than_one_step(name, n, seed, data):
    """Glasgow and Wootters: the least-squares decoder minimises ||B_R^T a - 1||, so for
    every code and every responder set its error is at most the one-step decoder's."""
    opts = {"d": 2} if name == "expander" else {}
    s = data.draw(st.integers(0, n - 1), label="s")
    one = make_code(name, n=n, s=s, rng=seed, **opts)
    opt = make_code(name, n=n, s=s, rng=seed, decoder="optimal", **opts)
    np.testing.assert_array_equal(one.B, opt.B)
    R = data.draw(st.sets(st.integers(0, n - 1), min_size=1), label="responders")
    e1, e2 = one.coefficient_error(R), opt.coefficient_error(R)
    assert e2 <= e1 + 1e-9, (e1, e2)
    # the decoded estimate's error is what the coefficients say (no hidden rescaling)
    P = np.random.default_rng(seed).standard_normal((n, 3))
    g = P.sum(axis=0)
    Rs = sorted(R)
    for code in (one, opt):
        ghat = code.decode(Rs, code.encode(P)[Rs], 3)
        err = np.linalg.norm(ghat - g) / max(np.linalg.norm(g), 1e-300)
        assert err == pytest.approx(code.decoding_error(Rs, P), rel=1e-8, abs=1e-12)


def test_optimal_decoder_reports_least_squares():
    code = make_code("bernoulli", n=10, s=3, decoder="optimal")
    dec = code.decoder(range(7))
    assert "least squares" in dec.method
    assert "one-step" in make_code("bernoulli", n=10, s=3).decoder(range(7)).method


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("name", "opts", "exc", "match"),
    [
        ("bernoulli", {"decoder": "best"}, InvalidInputError, "decoder must be one of"),
        ("bernoulli", {"d": 0}, InfeasibleParametersError, "d must be >= 1"),
        ("bernoulli", {"d": 13}, InfeasibleParametersError, "at most n=12"),
        ("bernoulli", {"d": 2.5}, InvalidInputError, "d must be an integer"),
        ("frc-approx", {"speed": 1}, InvalidInputError, "unknown option"),
        ("expander", {"d": 3, "graph": "random"}, None, None),
        ("expander", {"d": 12}, InfeasibleParametersError, "d <= n-1"),
        ("expander", {"graph": "margulis"}, InfeasibleParametersError, "perfect square"),
        ("expander", {"graph": "ramanujan"}, InvalidInputError, "graph must be one of"),
        ("sgc", {"p": 1.0}, InvalidInputError, r"p \(the probability"),
        ("sgc", {"p": float("nan")}, InvalidInputError, "must be a number in"),
        ("sgc", {"p": True}, InvalidInputError, "must be a number in"),
    ],
)
def test_bad_options_are_one_clear_line(name, opts, exc, match):
    if exc is None:
        make_code(name, n=12, s=2, **opts)
        return
    with pytest.raises(exc, match=match) as info:
        make_code(name, n=12, s=2, **opts)
    assert "\n" not in str(info.value)


def test_odd_n_expander_default_degree_is_feasible():
    code = make_code("expander", n=7, s=2)  # s + 1 = 3 is odd with n odd: d = 4
    assert code.degree == 4 and code.d == 4
    with pytest.raises(InfeasibleParametersError, match="nearest feasible d: 2, 4"):
        make_code("expander", n=7, s=2, d=3)


def test_bernoulli_covers_every_partition_and_worker():
    """The repairs: every partition is held by someone and every worker holds something,
    even when d/n is tiny; the loads' mean is close to d for moderate d."""
    for seed in range(20):
        code = make_code("bernoulli", n=30, s=0, d=1, rng=seed)
        A = code.assignment
        assert A.any(axis=0).all() and A.any(axis=1).all()
    loads = [make_code("bernoulli", n=60, s=4, d=5, rng=s).loads.mean() for s in range(20)]
    assert abs(float(np.mean(loads)) - 5) < 0.5


def test_effective_parameters_match_the_built_code():
    from gcsim.codes import scheme_info

    for name, opts in [
        ("frc-approx", {"d": 4}),
        ("expander", {"d": 4}),
        ("expander", {"graph": "margulis"}),
        ("sgc", {"d": 3}),
        ("bernoulli", {}),
    ]:
        n = 16
        code = make_code(name, n=n, s=2, rng=0, **opts)
        assert scheme_info(name).effective(n, 2, 1, **opts) == (code.s, code.d), name
