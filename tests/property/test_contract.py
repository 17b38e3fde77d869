"""Contract suite run over every registered scheme (see tests/cases.py).

Decode accuracy tolerance, justified: a backward-stable decode of messages that carry
encode rounding of relative size ~eps has error <= c * eps * cond(decoder) * scale,
with c growing with the number of terms summed and ``scale = || sum_j |g_j| ||`` (the
error of any floating-point sum is relative to the sum of magnitudes, not to the sum
itself, which may cancel). We allow c = 50 n: generous for the summation growth, yet
4-10 orders of magnitude below what a wrong decoder produces.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcsim import NotDecodableError, list_codes, make_code
from gcsim.codes import GroupedCode
from tests.cases import CASES, case_id

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
EXHAUSTIVE_LIMIT = 20_000


def build(case, seed=0):
    name, n, s, m, opts = case
    return make_code(name, n=n, s=s, m=m, rng=seed, **opts)


def tolerance(code, cond, eps=EPS64):
    return 50 * code.n * eps * max(1.0, cond)


def rel_error(ghat, P):
    """||g_hat - g|| relative to the magnitude scale || sum_j |g_j| ||."""
    return np.linalg.norm(ghat - P.sum(axis=0)) / np.linalg.norm(np.abs(P).sum(axis=0))


def test_every_registered_scheme_has_a_case():
    assert {c[0] for c in CASES} == set(list_codes())


def straggler_sets(n, s):
    total = sum(math.comb(n, t) for t in range(s + 1))
    assert total <= EXHAUSTIVE_LIMIT
    for t in range(s + 1):
        yield from itertools.combinations(range(n), t)


def check_decode(code, stragglers, P, M, l):
    R = np.setdiff1d(np.arange(code.n), np.asarray(stragglers, dtype=int))
    assert code.is_decodable(R), f"{code!r}: stragglers {stragglers} should be tolerated"
    ghat = code.decode(R, M[R], l)
    assert ghat.shape == (l,)
    err = rel_error(ghat, P)
    if code.exact:
        dec = code.decoder(R)
        assert err <= tolerance(code, dec.cond), (stragglers, err, dec.cond)
        assert dec.residual <= code.residual_tol
    return err


def _n_sets(case):
    return sum(math.comb(case[1], t) for t in range(case[2] + 1))


SMALL = [c for c in CASES if _n_sets(c) <= EXHAUSTIVE_LIMIT]
LARGE = [c for c in CASES if _n_sets(c) > EXHAUSTIVE_LIMIT]


@pytest.mark.parametrize("case", SMALL, ids=case_id)
def test_decode_exact_for_every_straggler_set(case):
    code = build(case)
    rng = np.random.default_rng(1)
    l = 13  # not a multiple of m: exercises the padding
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    assert M.shape == (code.n, code.message_length(l))
    for stragglers in straggler_sets(code.n, code.s):
        check_decode(code, stragglers, P, M, l)


@pytest.mark.parametrize("case", LARGE, ids=case_id)
@given(data=st.data())
def test_decode_sampled_large(case, data):
    code = build(case)
    stragglers = data.draw(
        st.lists(st.integers(0, code.n - 1), max_size=code.s, unique=True), label="stragglers"
    )
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    l = data.draw(st.integers(1, 40), label="l")
    P = rng.standard_normal((code.k, l))
    check_decode(code, stragglers, P, code.encode(P), l)


def test_large_cases_exist():
    assert LARGE, "the contract suite must also exercise sampled (large) configurations"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_encode_reads_only_held_partitions(case):
    code = build(case)
    rng = np.random.default_rng(2)
    l = 9
    P = rng.standard_normal((code.k, l))
    clean = code.encode(P)
    for i in range(code.n):
        poisoned = P.copy()
        poisoned[~code.assignment[i]] = np.nan
        row = code.encode_worker(i, poisoned)
        assert np.all(np.isfinite(row)), f"worker {i} read a partition it does not hold"
        np.testing.assert_allclose(row, clean[i], rtol=1e-12, atol=1e-12)
        full = code.encode(poisoned)
        assert np.all(np.isfinite(full[i]))
        own = code.encode_worker(i, P[code.support(i)])
        np.testing.assert_allclose(own, clean[i], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_assignment_matches_coefficients(case):
    code = build(case)
    B = code.B
    assert B.shape == (code.n, code.k * code.m)
    support = np.abs(B).reshape(code.n, code.k, code.m).sum(axis=2) > 0
    # B is zero outside the assignment, and the assignment has load d
    assert not np.any(support & ~code.assignment)
    assert code.assignment.sum(axis=1).max() == code.d
    assert not code.assignment.flags.writeable
    for i in range(code.n):
        assert list(code.support(i)) == list(np.flatnonzero(code.assignment[i]))


@pytest.mark.parametrize("case", CASES, ids=case_id)
@given(data=st.data())
def test_is_decodable_monotone_and_agrees_with_decode(case, data):
    code = build(case)
    R = sorted(data.draw(st.sets(st.integers(0, code.n - 1)), label="responders"))
    extra = data.draw(st.integers(0, code.n - 1), label="extra")
    decodable = code.is_decodable(R)
    if decodable:
        assert code.is_decodable(sorted({*R, extra})), "is_decodable must be monotone"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    l = 7
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    if decodable:
        ghat = code.decode(R, M[R], l)
        if code.exact:
            dec = code.decoder(R)
            err = rel_error(ghat, P)
            assert err <= tolerance(code, dec.cond)
    else:
        with pytest.raises(NotDecodableError):
            code.decode(R, M[R], l)
    if len(R) >= code.n - code.s and code.exact:
        assert decodable, "any n - s responders must decode"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_messages(case):
    code = build(case)
    rng = np.random.default_rng(3)
    l = 21
    P = rng.standard_normal((code.k, l))
    M32 = code.encode(P.astype(np.float32))
    assert M32.dtype == np.float32
    R = np.arange(code.s, code.n)
    g32 = code.decode(R, M32[R], l)
    assert g32.dtype == np.float32
    if code.exact:
        err = rel_error(g32, P)
        assert err <= tolerance(code, code.decoder(R).cond, EPS32)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_responder_order_does_not_matter(case):
    code = build(case)
    rng = np.random.default_rng(4)
    l = 5
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    R = np.arange(code.s, code.n)
    perm = rng.permutation(R)
    np.testing.assert_allclose(
        code.decode(perm, M[perm], l), code.decode(R, M[R], l), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_generic_decoder_agrees_with_structured(case):
    code = build(case)
    rng = np.random.default_rng(5)
    l = 6
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    R = np.sort(rng.choice(code.n, code.n - code.s, replace=False))
    a = code.decode(R, M[R], l)
    b = code.decode(R, M[R], l, method="generic", check=code.exact)
    if code.exact:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert code.decoder(R, method="generic").method.startswith("generic")


def d_of_mds(case):
    _, _, s, m, _ = case
    return s + m


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c[0] == "ye-abbe"
        or (
            c[0] == "grouped"
            and str(c[4].get("generator", "gaussian")) in ("gaussian", "vandermonde", "chebyshev")
            and c[1] % (c[2] + c[3]) == 0
        )
    ],
    ids=case_id,
)
def test_optimal_load_d_equals_s_plus_m(case):
    code = build(case)
    assert code.d == code.s + code.m == d_of_mds(case)


def test_grouped_repetition_equals_frc():
    for n, s in [(12, 2), (9, 0), (10, 4), (8, 1)]:
        frc = make_code("frc", n=n, s=s)
        rep = make_code("grouped", n=n, s=s, m=1, generator="repetition")
        assert isinstance(rep, GroupedCode)
        np.testing.assert_array_equal(frc.assignment, rep.assignment)
        rng = np.random.default_rng(n * 10 + s)
        l = 17
        P = rng.standard_normal((n, l))
        np.testing.assert_array_equal(frc.encode(P), rep.encode(P))
        M = frc.encode(P)
        for stragglers in itertools.combinations(range(n), s):
            R = np.setdiff1d(np.arange(n), stragglers)
            np.testing.assert_array_equal(frc.decode(R, M[R], l), rep.decode(R, M[R], l))
            np.testing.assert_array_equal(frc.decoder(R).matrix, rep.decoder(R).matrix)


@pytest.mark.parametrize("case", CASES, ids=case_id)
@given(data=st.data())
def test_tracker_agrees_with_is_decodable_on_every_prefix(case, data):
    code = build(case)
    order = data.draw(st.permutations(range(code.n)), label="arrival order")
    tracker = code.tracker()
    for t, worker in enumerate(order):
        now = tracker.add(worker)
        if code.n <= 64:
            assert now == code.is_decodable(order[: t + 1]), (order[: t + 1], now)
    tracker.reset()
    assert not tracker.decodable and tracker.responders == []
