"""Bad input gives a GcsimError naming what is wrong and what would be right."""

from __future__ import annotations

import numpy as np
import pytest

from gcsim import (
    DecodeResidualError,
    GcsimError,
    InfeasibleParametersError,
    InvalidInputError,
    NotDecodableError,
    UnknownSchemeError,
    list_codes,
    make_code,
)


def test_unknown_scheme_lists_known_ones():
    with pytest.raises(UnknownSchemeError) as exc:
        make_code("cyclic-mdss", n=6, s=1)
    msg = str(exc.value)
    assert "did you mean 'cyclic-mds'" in msg
    for name in list_codes():
        assert name in msg
    assert isinstance(exc.value, GcsimError)


@pytest.mark.parametrize(
    ("name", "kw", "fragments"),
    [
        ("frc", dict(n=10, s=2), ["(s+1) to divide n", "n=10", "s=2", "0, 1, 4, 9", "9, 12"]),
        ("uncoded", dict(n=5, s=1), ["s=0", "got s=1"]),
        ("crc", dict(n=5, s=5), ["s < n", "n=5", "s=5", "0..4"]),
        ("crc", dict(n=5, s=1, m=2), ["m=1", "got m=2", "ye-abbe"]),
        ("ye-abbe", dict(n=4, s=2, m=3), ["n >= d = s+m", "n=4", "s=2", "m=3"]),
        ("grouped", dict(n=4, s=3, m=2), ["n >= d = s+m", "n=4", "s=3", "0..2"]),
        ("grouped", dict(n=12, s=2, m=2, generator="repetition"), ["m=1", "got m=2"]),
        ("grouped", dict(n=12, s=2, m=2, generator="parity"), ["s=1", "got s=2"]),
        ("grouped", dict(n=12, s=2, m=4, generator="hamming"), ["d=7", "n=12", "7, 14"]),
        ("grouped", dict(n=14, s=1, m=4, generator="hamming"), ["exactly s=2", "got s=1"]),
        ("grouped", dict(n=14, s=2, m=3, generator="hamming"), ["m must be 4", "got m=3"]),
        ("cyclic-mds", dict(n=10, s=2, field="real"), ["n-s odd", "n=10", "s=2"]),
        ("frc", dict(n=0, s=0), ["n must be >= 1", "n=0"]),
        ("frc", dict(n=6, s=-1), ["s must be >= 0", "s=-1"]),
    ],
)
def test_infeasible_parameters_name_constraint_and_values(name, kw, fragments):
    with pytest.raises(InfeasibleParametersError) as exc:
        make_code(name, **kw)
    for f in fragments:
        assert f in str(exc.value), (f, str(exc.value))


def test_non_integer_parameters():
    with pytest.raises(InvalidInputError, match="n must be an integer; got 6.5"):
        make_code("frc", n=6.5, s=1)
    with pytest.raises(InvalidInputError, match="s must be an integer"):
        make_code("frc", n=6, s=True)


def test_unknown_options_suggest_close_match():
    with pytest.raises(InvalidInputError) as exc:
        make_code("grouped", n=12, s=2, m=2, generater="gaussian")
    assert "did you mean 'generator'" in str(exc.value)
    with pytest.raises(InvalidInputError, match="unknown generator 'gausian'.*'gaussian'"):
        make_code("grouped", n=12, s=2, m=2, generator="gausian")
    with pytest.raises(InvalidInputError, match="points must be"):
        make_code("ye-abbe", n=8, s=2, m=2, points="random")


def test_custom_generator_validation():
    with pytest.raises(InvalidInputError, match="shape"):
        make_code("grouped", n=6, s=1, m=2, generator=np.ones(3))
    with pytest.raises(InfeasibleParametersError, match="linearly independent"):
        make_code("grouped", n=6, s=1, m=2, generator=np.ones((2, 3)))
    with pytest.raises(InvalidInputError, match="finite"):
        make_code("grouped", n=6, s=1, m=2, generator=np.array([[1, 0, np.nan], [0, 1, 1.0]]))


@pytest.fixture
def code():
    return make_code("grouped", n=12, s=2, m=2, rng=0)


def test_wrong_partials_shape(code):
    with pytest.raises(InvalidInputError, match=r"\(k, l\) = \(12, l\).*\(11, 5\)"):
        code.encode(np.zeros((11, 5)))
    with pytest.raises(InvalidInputError, match="2-D"):
        code.encode_worker(0, np.zeros(5))
    with pytest.raises(InvalidInputError, match="12 rows .* or 4 rows"):
        code.encode_worker(0, np.zeros((3, 5)))
    with pytest.raises(InvalidInputError, match="float"):
        code.encode(np.zeros((12, 5), dtype=complex))


def test_worker_ids_out_of_range_duplicate_or_not_integer(code):
    M = code.encode(np.ones((12, 4)))
    with pytest.raises(InvalidInputError, match=r"0\.\.11.*\[12\]"):
        code.is_decodable([0, 1, 12])
    with pytest.raises(InvalidInputError, match=r"duplicate worker ids.*\[3\]"):
        code.decode([3, 3, 4, 5, 6, 7, 8, 9, 10, 11], M[:10], 4)
    with pytest.raises(InvalidInputError, match="integer"):
        code.is_decodable([0.5, 1])
    with pytest.raises(InvalidInputError, match="worker id must be in 0..11; got -1"):
        code.encode_worker(-1, np.ones((12, 4)))


def test_messages_shape_and_length(code):
    M = code.encode(np.ones((12, 5)))
    R = list(range(10))
    with pytest.raises(InvalidInputError, match=r"\(10, 3\); got \(9, 3\)"):
        code.decode(R, M[:9], 5)
    with pytest.raises(InvalidInputError, match="positive integer"):
        code.decode(R, M[:10], 0)


def test_not_decodable_says_which_group(code):
    # groups of 4: workers 0..3 lose three of four responders
    R = [3, *range(4, 12)]
    assert not code.is_decodable(R)
    with pytest.raises(NotDecodableError) as exc:
        code.decoder(R)
    assert "group 0 (workers 0..3) has 1 responder(s)" in str(exc.value)
    assert "needs rank m=2" in str(exc.value)


def test_frc_not_decodable_names_group():
    c = make_code("frc", n=6, s=1)
    with pytest.raises(
        NotDecodableError, match=r"group\(s\) with no responder: 1 \(workers 2..3\)"
    ):
        c.decoder([0, 1, 4, 5])


def test_ill_conditioned_decode_raises_instead_of_wrong_gradient():
    c = make_code("ye-abbe", n=40, s=2, m=2)  # paper points: Vandermonde cond ~1e42
    rng = np.random.default_rng(0)
    P = rng.standard_normal((40, 8))
    M = c.encode(P)
    R = np.arange(2, 40)
    with pytest.raises(DecodeResidualError, match="residual .* > tolerance"):
        c.decode(R, M[R], 8)
    bad = c.decode(R, M[R], 8, check=False)  # still available for measurement
    assert np.linalg.norm(bad - P.sum(0)) > 1e-3 * np.linalg.norm(P.sum(0))


def test_ye_abbe_overflowing_coefficients_are_refused_at_construction():
    with pytest.raises(InfeasibleParametersError, match="overflow float64 at n=240.*chebyshev"):
        make_code("ye-abbe", n=240, s=2, m=2, points="paper")
