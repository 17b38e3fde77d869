"""Property tests over (n, s, m) and seeds drawn by hypothesis: for every feasible
configuration, a random straggler set of size s decodes to the exact sum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gcsim import InfeasibleParametersError, make_code
from gcsim.codes import GradientCode, scheme_info, schemes

EPS = np.finfo(np.float64).eps


def roundtrip(code, rng, l):
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    stragglers = rng.choice(code.n, code.s, replace=False)
    R = np.setdiff1d(np.arange(code.n), stragglers)
    assert code.is_decodable(R)
    ghat = code.decode(R, M[R], l)
    g = P.sum(axis=0)
    # relative to the magnitude scale of the sum (see test_contract.py)
    err = np.linalg.norm(ghat - g) / np.linalg.norm(np.abs(P).sum(axis=0))
    assert err <= 50 * code.n * EPS * max(1.0, code.decoder(R).cond), err
    assert M.shape[1] == code.message_length(l)


seeds = st.integers(0, 2**32 - 1)
lengths = st.integers(1, 30)


@given(
    n=st.integers(1, 60),
    s=st.integers(0, 8),
    m=st.integers(1, 6),
    seed=seeds,
    l=lengths,
    generator=st.sampled_from(["gaussian", "vandermonde", "chebyshev"]),
)
def test_grouped_mds_any_n(n, s, m, seed, l, generator):
    assume(s + m <= n)
    code = make_code("grouped", n=n, s=s, m=m, rng=seed, generator=generator)
    assert code.s >= s and code.m == m
    assert code.d == max(code.group_sizes)
    assert min(code.group_sizes) >= s + m
    roundtrip(code, np.random.default_rng(seed), l)


@given(n=st.integers(1, 30), s=st.integers(0, 10), m=st.integers(1, 4), seed=seeds, l=lengths)
def test_grouped_feasibility_is_exactly_what_build_accepts(n, s, m, seed, l):
    """Infeasible (n, s, m) raise a clear error from build, effective and feasible alike;
    feasible ones build with the effective (s, d) and round-trip at length l."""
    info = scheme_info("grouped")
    if s + m > n:
        with pytest.raises(InfeasibleParametersError) as built:
            make_code("grouped", n=n, s=s, m=m, rng=seed)
        msg = str(built.value)
        assert f"n={n}" in msg and f"s={s}" in msg and f"m={m}" in msg
        with pytest.raises(InfeasibleParametersError) as eff:
            info.effective(n, s, m)
        assert str(eff.value) == msg
        assert not info.feasible(n, s, m)
        return
    code = make_code("grouped", n=n, s=s, m=m, rng=seed)
    assert info.feasible(n, s, m)
    assert info.effective(n, s, m) == (code.s, code.d)
    assert code.s >= s and code.m == m
    roundtrip(code, np.random.default_rng(seed), l)


OPTIONS = {
    "grouped": [{}, {"generator": "repetition"}, {"generator": "parity"}, {"generator": "hamming"}],
    "ye-abbe": [{}, {"points": "chebyshev"}],
    "cyclic-mds": [{}, {"field": "real"}],
}


@given(
    data=st.data(),
    n=st.integers(1, 24),
    s=st.integers(0, 8),
    m=st.integers(1, 5),
    seed=seeds,
    l=lengths,
)
def test_effective_parameters_match_the_built_code_for_every_scheme(data, n, s, m, seed, l):
    """SchemeInfo.effective answers (without building) what build gives, error included."""
    info = data.draw(st.sampled_from(schemes()), label="scheme")
    opts = data.draw(st.sampled_from(OPTIONS.get(info.name, [{}])), label="options")
    try:
        code = info.build(n=n, s=s, m=m, rng=seed, **opts)
    except InfeasibleParametersError as exc:
        with pytest.raises(InfeasibleParametersError) as eff:
            info.effective(n, s, m, **opts)
        assert str(eff.value) == str(exc)
        assert not info.feasible(n, s, m, **opts)
        return
    # a scheme without a cheap answer builds the code at seed 0 (GradientCode's default
    # effective_parameters): its s never depends on the seed, a random load (bernoulli's
    # largest) may, so d is compared with that seed-0 build
    default = getattr(info.cls.effective_parameters, "__func__", None) is getattr(
        GradientCode.effective_parameters, "__func__", None
    )
    ref = info.build(n=n, s=s, m=m, rng=0, **opts) if default else code
    assert info.effective(n, s, m, **opts) == (ref.s, ref.d)
    assert code.s == ref.s
    assert info.feasible(n, s, m, **opts)
    assert code.exact == info.exact and (code.m == 1 or info.supports_m)
    if code.exact and n <= 14:  # above, Ye-Abbe's Vandermonde decode fails (by design)
        roundtrip(code, np.random.default_rng(seed), l)


@given(q=st.integers(1, 10), s=st.integers(0, 6), seed=seeds, l=lengths)
def test_frc(q, s, seed, l):
    roundtrip(make_code("frc", n=q * (s + 1), s=s), np.random.default_rng(seed), l)


@given(n=st.integers(1, 24), s=st.integers(0, 6), seed=seeds, l=lengths)
def test_crc(n, s, seed, l):
    assume(s < n)
    roundtrip(make_code("crc", n=n, s=s, rng=seed), np.random.default_rng(seed), l)


@given(n=st.integers(1, 40), s=st.integers(0, 8), seed=seeds, l=lengths)
def test_cyclic_mds(n, s, seed, l):
    assume(s < n)
    code = make_code("cyclic-mds", n=n, s=s)
    assert code.field == ("real" if (n - s) % 2 else "complex")
    assert code.d == s + 1
    roundtrip(code, np.random.default_rng(seed), l)


@given(
    n=st.integers(1, 14),
    s=st.integers(0, 5),
    m=st.integers(1, 5),
    seed=seeds,
    l=lengths,
    points=st.sampled_from(["paper", "chebyshev", "equispaced"]),
)
def test_ye_abbe(n, s, m, seed, l, points):
    assume(s + m <= n)
    code = make_code("ye-abbe", n=n, s=s, m=m, points=points)
    assert code.d == s + m
    roundtrip(code, np.random.default_rng(seed), l)


@given(n=st.integers(1, 30), s=st.integers(0, 10), seed=seeds, l=lengths)
def test_ignore_stragglers_is_rescaled_partial_sum(n, s, seed, l):
    assume(s < n)
    code = make_code("ignore-stragglers", n=n, s=s)
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((n, l))
    R = np.sort(rng.choice(n, n - s, replace=False))
    ghat = code.decode(R, code.encode(P)[R], l)
    np.testing.assert_allclose(ghat, n / (n - s) * P[R].sum(axis=0), rtol=1e-12, atol=1e-12)
    err = code.decoding_error(R, P)
    direct = np.linalg.norm(ghat - P.sum(0)) / np.linalg.norm(P.sum(0))
    np.testing.assert_allclose(err, direct, rtol=1e-9, atol=1e-12)
