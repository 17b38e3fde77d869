"""Block-design codes (Kadhe, Koyluoglu, Ramchandran, ISIT 2019) and adversarial stragglers.

Checked: the designs are symmetric BIBDs (block size r, every point on r blocks, any two
blocks meet in lambda points); the decode error of a responder set depends only on its
size and equals the closed form ``k - r^2 f / (r + lambda (f - 1))`` (optimal decoder) or
``k (k (r + lambda (f - 1)) / (r^2 f) - 1)`` (normalised), over every set for small
designs and random sets for larger ones; the constant decoder is the least-squares one;
so the adversary of the ``adversarial`` delay model gains nothing against them, while
it does find the worst sets of a code whose error does depend on the set.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gcsim
from gcsim import InfeasibleParametersError, InvalidInputError, make_code, make_delay
from gcsim.codes.bibd import (
    gf_tables,
    hadamard_design,
    paley_design,
    projective_plane,
    squared_error,
)
from gcsim.delays.adversarial import straggler_error
from gcsim.testing import check_code

seeds = st.integers(0, 2**32 - 1)
DESIGNS = [
    (7, {}),
    (13, {}),
    (31, {"design": "projective"}),
    (31, {"design": "paley"}),
    (11, {"design": "paley"}),
    (19, {"design": "paley", "complement": True}),
    (7, {"complement": True}),
    (57, {}),
    (15, {}),  # Hadamard (auto)
    (21, {}),  # PG(2, 4): a prime power
    (63, {"design": "hadamard"}),
    (7, {"design": "hadamard", "complement": True}),
]


def incidence_gram(code) -> np.ndarray:
    A = code.assignment.astype(int)
    return A @ A.T


@pytest.mark.parametrize(("n", "opts"), DESIGNS)
def test_the_design_is_a_symmetric_bibd(n, opts):
    code = make_code("bibd", n=n, s=1, **opts)
    r, lam = code.r, code.lam
    A = code.assignment.astype(int)
    assert np.all(A.sum(axis=1) == r) and np.all(A.sum(axis=0) == r)
    G = incidence_gram(code)
    off = G[~np.eye(n, dtype=bool)]
    assert np.all(G.diagonal() == r) and np.all(off == lam)
    assert lam * (n - 1) == r * (r - 1)  # the counting identity of a symmetric design


@pytest.mark.parametrize("q", [2, 3, 4, 5, 7, 8, 9, 11, 16])
def test_projective_planes_have_q_plus_1_points_per_line(q):
    blocks = projective_plane(q)
    assert len(blocks) == q * q + q + 1
    assert {len(b) for b in blocks} == {q + 1}
    for a, b in itertools.combinations(blocks[:12], 2):
        assert len(np.intersect1d(a, b)) == 1


@pytest.mark.parametrize("q", [7, 11, 19, 23, 43])
def test_paley_designs_meet_in_q_minus_3_over_4(q):
    blocks = paley_design(q)
    for a, b in itertools.combinations(blocks[:10], 2):
        assert len(np.intersect1d(a, b)) == (q - 3) // 4


@pytest.mark.parametrize("q", [2, 4, 8, 9, 16, 25, 27])
def test_gf_tables_form_a_field(q):
    add, mul = gf_tables(q)
    x = np.arange(q)
    assert np.all(add[0] == x) and np.all(mul[1] == x) and np.all(mul[0] == 0)
    assert np.all(add == add.T) and np.all(mul == mul.T)
    for a in range(1, q):  # a permutation: every non-zero element is invertible
        assert sorted(mul[a].tolist()) == list(range(q))
    for a in range(q):  # a permutation of the elements: additive inverses
        assert sorted(add[a].tolist()) == list(range(q))
    b, c = np.meshgrid(x, x, indexing="ij")
    for a in range(q):  # distributive and associative
        assert np.array_equal(mul[a][add[b, c]], add[mul[a][b], mul[a][c]])
        assert np.array_equal(mul[mul[a][b], c], mul[a][mul[b, c]])


@pytest.mark.parametrize("k", [3, 4, 5, 6, 7])
def test_hadamard_designs_meet_in_n_minus_3_over_4(k):
    n = 2**k - 1
    blocks = hadamard_design(n)
    assert len(blocks) == n and {len(b) for b in blocks} == {(n - 1) // 2}
    for a, b in itertools.combinations(blocks[:10], 2):
        assert len(np.intersect1d(a, b)) == (n - 3) // 4


def test_the_three_families_all_give_the_fano_plane_at_n_7():
    errs = {
        d: make_code("bibd", n=7, s=2, design=d).squared_error(5)
        for d in ("projective", "paley", "hadamard")
    }
    assert len({round(v, 12) for v in errs.values()}) == 1


def test_fano_plane_errors_match_the_published_values():
    """The squared errors of the Fano plane at 6, 5, 4 responders (derived by hand and
    checked exhaustively in the background notes): 1/4, 4/7, 1."""
    code = make_code("bibd", n=7, s=3)
    assert [code.squared_error(f) for f in (6, 5, 4)] == pytest.approx([0.25, 4 / 7, 1.0])


@pytest.mark.parametrize(
    ("n", "opts"), [(7, {}), (13, {}), (11, {"design": "paley"}), (15, {"design": "hadamard"})]
)
@pytest.mark.parametrize("decoder", ["optimal", "one-step"])
def test_error_depends_only_on_the_number_of_stragglers_exhaustive(n, opts, decoder):
    """Every responder set (n = 15: every set of up to 4 stragglers)."""
    code = make_code("bibd", n=n, s=n - 1, decoder=decoder, **opts)
    for f in range(1, n + 1) if n <= 13 else range(n - 4, n + 1):
        want = squared_error(n, code.r, code.lam, f, decoder)
        errs = [code.coefficient_error(R) for R in itertools.combinations(range(n), f)]
        np.testing.assert_allclose(np.square(errs) * n, want, rtol=1e-9, atol=1e-9)


@given(data=st.data(), seed=seeds)
def test_error_identity_on_random_sets_of_larger_designs(data, seed):
    n, opts = data.draw(st.sampled_from(DESIGNS), label="design")
    decoder = data.draw(st.sampled_from(["optimal", "one-step"]), label="decoder")
    code = make_code("bibd", n=n, s=n - 1, decoder=decoder, **opts)
    rng = np.random.default_rng(seed)
    f = int(rng.integers(1, n + 1))
    errs = [code.coefficient_error(np.sort(rng.choice(n, f, replace=False))) for _ in range(4)]
    rms = math.sqrt(code.squared_error(f) / n)
    np.testing.assert_allclose(errs, rms, rtol=1e-9, atol=1e-9)
    # the adversarial error of a set is the same number (the delay model's criterion)
    S = tuple(sorted(rng.choice(n, n - f, replace=False)))
    assert straggler_error(code, S) == pytest.approx(rms, abs=1e-9)


def test_optimal_decoder_is_the_least_squares_one():
    code = make_code("bibd", n=13, s=4)
    rng = np.random.default_rng(0)
    for _ in range(5):
        R = np.sort(rng.choice(13, 10, replace=False))
        ours = code.decoder(R).matrix
        generic = code.decoder(R, method="generic").matrix
        np.testing.assert_allclose(ours, generic, atol=1e-12)


def test_normalised_decoder_is_worse_and_the_optimal_error_falls_with_responders():
    opt = make_code("bibd", n=13, s=5)
    nor = make_code("bibd", n=13, s=5, decoder="one-step")
    errs = [opt.squared_error(f) for f in range(1, 14)]
    assert all(a > b for a, b in itertools.pairwise(errs)) and errs[-1] == pytest.approx(0)
    for f in range(1, 14):
        assert nor.squared_error(f) >= opt.squared_error(f) - 1e-12


def test_contract_suite_passes():
    for n, opts in [(7, {}), (11, {"design": "paley", "decoder": "one-step"})]:
        report = check_code(make_code("bibd", n=n, s=2, **opts), rng=1)
        assert report.exhaustive


def test_decode_rule_is_the_count_at_n_minus_s():
    code = make_code("bibd", n=13, s=3)
    assert code.decode_rule.kind == "count" and code.decode_rule.threshold == 10
    # as for every approximate code, any non-empty set gives an estimate
    assert code.is_decodable([4]) and not code.is_decodable([])
    assert not code.exact


@pytest.mark.parametrize(("n", "opts"), DESIGNS)
def test_one_step_closed_form_equals_the_approximate_codes_expected_error(n, opts):
    """The one-step error of a design is the same for every set, so it equals the mean
    over uniformly random sets that the approximate codes' formula gives."""
    code = make_code("bibd", n=n, s=1, decoder="one-step", **opts)
    for t in (1, 2, n // 2):
        assert code.expected_error(t) == pytest.approx(code.squared_error(n - t) / n)


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        (dict(n=12, s=1), "nearest feasible n: 11, 13"),
        (dict(n=14, s=1, design="hadamard"), "n = 2^k - 1"),
        (dict(n=13, s=1, design="paley"), "Paley design"),
        (dict(n=7, s=1, design="fano"), "design must be one of"),
        (dict(n=7, s=1, decoder="lsq"), "decoder must be one of"),
        (dict(n=7, s=1, complement="yes"), "complement must be true or false"),
        (dict(n=7, s=1, m=2), "m=1"),
        (dict(n=7, s=7), "s < n"),
    ],
)
def test_bad_input_is_one_clear_line(kw, fragment):
    with pytest.raises((InvalidInputError, InfeasibleParametersError)) as exc:
        make_code("bibd", **kw)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


# ---------------------------------------------------------------------------- adversary
def adversary(strategy="worst", stragglers=2, base=None, **kw):
    return make_delay(
        {
            "model": "adversarial",
            "base": base or {"model": "exponential", "rate": 1.0},
            "stragglers": stragglers,
            "strategy": strategy,
            "factor": 50.0,
            **kw,
        }
    )


def test_the_adversary_gains_nothing_against_a_block_design():
    code = make_code("bibd", n=13, s=2)
    sampler = adversary().sampler(13, 0, code=code)
    sets = sampler.worst_sets()
    assert len(sets) == math.comb(13, 2)  # every set ties
    assert sampler.worst_error == pytest.approx(math.sqrt(code.squared_error(11) / 13))


def test_the_adversary_finds_the_replica_groups_of_frc():
    """FRC with s = 1 (pairs): two stragglers in one pair leave its partitions uncovered
    (not decodable: infinitely bad); the adversary picks exactly the pairs."""
    code = make_code("frc", n=8, s=1)
    sampler = adversary().sampler(8, 0, code=code)
    assert sorted(sampler.worst_sets()) == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert math.isinf(sampler.worst_error)
    const = {"model": "constant", "value": 1.0}
    res = gcsim.simulate(code, delays=adversary(base=const), iterations=30, seed=3)
    rand = gcsim.simulate(code, delays=adversary("random", base=const), iterations=30, seed=3)
    # every adversarial round waits for a 50x slowed straggler of load 2; a random pair
    # of stragglers is a replica pair in 4 of the C(8, 2) = 28 cases only
    slow = 50.0 * code.d
    np.testing.assert_allclose(res.records["duration"], slow)
    hit = np.isclose(rand.records["duration"], slow)
    assert 0 < hit.sum() < len(hit) / 2


def test_worst_and_random_give_the_same_block_design_errors_in_simulation():
    code = make_code("bibd", n=13, s=2)
    out = {}
    for strategy in ("worst", "random"):
        res = gcsim.simulate(
            code, delays=adversary(strategy), iterations=20, seed=5, workload="random-vectors"
        )
        rec = res.records
        assert rec["decoded"].all() and (rec["n_responders"] == 11).all()
        out[strategy] = rec
    # the coefficient error of every decode is the closed form at 11 responders, whoever
    # straggled; the relative gradient error then only varies with the data
    for rec in out.values():
        for R in rec["responders"]:
            assert code.coefficient_error(R) == pytest.approx(
                math.sqrt(code.squared_error(11) / 13)
            )


def test_greedy_search_above_the_exhaustive_limit():
    code = make_code("bibd", n=57, s=4)  # C(57, 4) = 395010 sets: greedy
    sampler = adversary(stragglers=4).sampler(57, 1, code=code)
    (S,) = sampler.worst_sets()
    assert len(S) == 4
    assert sampler.worst_error == pytest.approx(math.sqrt(code.squared_error(53) / 57))


def test_fixed_and_random_strategies_and_the_chosen_sets():
    fixed = adversary("fixed", workers=[3, 1]).sampler(6, 0)
    d = fixed.draw(np.ones(6))
    assert list(fixed.chosen) == [(1, 3)] and d[1] >= 0 and d.shape == (6,)
    rnd = adversary("random").sampler(6, 0)
    for _ in range(5):
        rnd.draw(np.ones(6))
    assert all(len(S) == 2 and len(set(S)) == 2 for S in rnd.chosen)


def test_the_slowdown_multiplies_the_chosen_workers_durations():
    model = make_delay(
        {
            "model": "adversarial",
            "stragglers": 2,
            "strategy": "fixed",
            "workers": [0, 4],
            "factor": 7.0,
        }
    )
    x = model.sampler(5, 0).draw(np.array([1.0, 2.0, 1.0, 1.0, 3.0]))
    np.testing.assert_allclose(x, [7.0, 2.0, 1.0, 1.0, 21.0])


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"stragglers": -1}, "stragglers must be an integer >= 0"),
        ({"stragglers": 1, "strategy": "nasty"}, "strategy must be one of"),
        ({"stragglers": 2, "strategy": "fixed", "workers": [1]}, "2 distinct ids"),
        ({"stragglers": 1, "workers": [1]}, "only used with strategy='fixed'"),
        ({"stragglers": 1, "factor": 0.5}, "factor must be >= 1"),
        ({}, "missing required parameter(s) 'stragglers'"),
    ],
)
def test_bad_adversary_is_one_clear_line(spec, fragment):
    with pytest.raises(InvalidInputError) as exc:
        make_delay({"model": "adversarial", **spec})
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_worst_without_a_code_draws_the_same_order_statistics_as_random():
    """Without a code the adversary cannot rank sets: it slows a random set, so the
    sorted durations of a round (all the advisor's bounds need) are those of random."""
    worst = adversary().sampler(6, 0)
    rand = adversary("random").sampler(6, 0)
    np.testing.assert_array_equal(worst.draw_rounds(5, np.ones(6)), rand.draw_rounds(5, np.ones(6)))
    with pytest.raises(InvalidInputError, match="plays against a code"):
        worst.worst_sets()
    with pytest.raises(InvalidInputError, match="exceeds the n=3 workers"):
        adversary(stragglers=4).sampler(3, 0)


def test_summary_reports_worst_and_mean_error_over_rounds():
    code = make_code("bibd", n=7, s=1)
    res = gcsim.simulate(
        code, delays=adversary(stragglers=1), iterations=12, seed=2, workload="random-vectors"
    )
    summ, err = res.summary(), res.records["rel_error"]
    assert summ["worst_rel_error"] == pytest.approx(err.max())
    assert summ["mean_rel_error"] == pytest.approx(err.mean())
    assert 0 < summ["mean_rel_error"] <= summ["worst_rel_error"]
