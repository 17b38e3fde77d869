"""Unit tests of specific constructions, the decoder cache and decode information."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gcsim import make_code
from gcsim.codes import generators as gens
from gcsim.codes.grouped import group_sizes


def test_hamming_real_minimum_distance_is_three():
    assert gens.real_tolerance(gens.HAMMING_7_4) == 2
    assert not gens.is_mds(gens.HAMMING_7_4)


def test_real_tolerance_of_known_codes():
    rng = np.random.default_rng(0)
    assert gens.real_tolerance(gens.gaussian(3, 7, rng)) == 4  # MDS: d - m
    assert gens.real_tolerance(gens.vandermonde(3, 7)) == 4
    assert gens.real_tolerance(gens.chebyshev(4, 9)) == 5
    assert gens.real_tolerance(gens.parity(5)) == 1
    assert gens.real_tolerance(gens.repetition(4)) == 3
    # a zero column and two parallel columns: d_min over the reals is 2
    G = np.array([[1.0, 0.0, 1.0, 2.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0]])
    assert gens.real_tolerance(G) == 1


def test_real_tolerance_matches_brute_force_definition():
    rng = np.random.default_rng(7)
    for _ in range(30):
        m, d = rng.integers(1, 4), rng.integers(4, 7)
        if m > d:
            continue
        G = rng.integers(-1, 2, size=(m, d)).astype(float)
        if np.linalg.matrix_rank(G) < m:
            continue
        # brute force: t = largest t with every (d-t)-subset of columns of rank m
        t = max(
            t
            for t in range(d - m + 1)
            if all(
                np.linalg.matrix_rank(G[:, list(S)]) == m
                for S in itertools.combinations(range(d), d - t)
            )
        )
        assert gens.real_tolerance(G) == t


def test_unequal_groups_report_their_tolerance():
    c = make_code("grouped", n=14, s=2, m=2)
    assert c.group_sizes == (5, 5, 4)
    assert c.group_tolerance == (3, 3, 2)
    assert c.s == 2 and c.d == 5
    assert sum(group_sizes(14, 4)) == 14
    # a set with 3 stragglers in a 5-group and 2 in the 4-group still decodes
    R = [3, 4, *range(5, 10), 12, 13]
    assert c.is_decodable(R)
    assert not c.is_decodable([4, *range(5, 10), 12, 13])


def test_grouped_decodes_with_fewer_than_n_minus_s_responders():
    c = make_code("grouped", n=12, s=2, m=2)
    R = [0, 1, 4, 5, 8, 9]  # m responders in each of the three groups
    assert len(R) < c.n - c.s
    assert c.is_decodable(R)
    P = np.random.default_rng(0).standard_normal((12, 6))
    np.testing.assert_allclose(c.decode(R, c.encode(P)[R], 6), P.sum(0), atol=1e-12)


def test_decoder_cache_is_bounded_and_reused():
    c = make_code("grouped", n=12, s=2, m=2, cache_size=2)
    a = c.decoder(range(2, 12))
    assert c.decoder(range(2, 12)) is a
    c.decoder(range(0, 10))
    c.decoder([0, 1, 2, 3, 4, 5, 8, 9, 10, 11])
    assert c.decoder(range(2, 12)) is not a  # evicted (LRU, size 2), rebuilt
    c.clear_cache()
    assert c.decoder(range(2, 12)) is not a


def test_decoder_information():
    c = make_code("grouped", n=12, s=2, m=2, select="first")
    dec = c.decoder(range(12))
    assert dec.matrix.shape == (2, 12)
    assert len(dec.rows) == 6  # m = 2 responders used in each of 3 groups
    assert dec.cond >= 1 and dec.l1_amplification > 0
    assert dec.residual < 1e-12
    assert not dec.matrix.flags.writeable
    all_ = make_code("grouped", n=12, s=2, m=2, select="all").decoder(range(12))
    assert len(all_.rows) == 12
    P = np.random.default_rng(0).standard_normal((12, 4))
    _, info = c.decode(range(12), c.encode(P), 4, return_info=True)
    assert info.used_responders == (0, 1, 4, 5, 8, 9)


def test_frc_decoder_is_a_plain_selection():
    c = make_code("frc", n=9, s=2)
    dec = c.decoder([1, 2, 3, 6, 7])
    np.testing.assert_array_equal(dec.matrix, [[1, 0, 1, 1, 0]])  # workers 1, 3, 6
    assert dec.cond == 1.0


def test_cyclic_mds_rows_are_cyclic_shifts():
    for n, s in [(9, 2), (10, 2)]:
        c = make_code("cyclic-mds", n=n, s=s)
        B = c.B
        for i in range(n):
            np.testing.assert_allclose(B[i], np.roll(B[0], i))
        assert c.message_length(7) == (7 if c.field == "real" else 8)


def test_ye_abbe_points():
    c = make_code("ye-abbe", n=7, s=2, m=2, points="paper")
    np.testing.assert_allclose(sorted(c.points), [-2, -1.5, -1, 0, 1, 1.5, 2])
    custom = make_code("ye-abbe", n=5, s=1, m=2, points=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert custom.params["points"] == "custom"


def test_codes_are_reproducible_from_the_seed():
    a = make_code("crc", n=10, s=3, rng=5).B
    b = make_code("crc", n=10, s=3, rng=5).B
    c = make_code("crc", n=10, s=3, rng=6).B
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g1 = make_code("grouped", n=12, s=2, m=2, rng=1, draws=4).generator()
    g2 = make_code("grouped", n=12, s=2, m=2, rng=1, draws=4).generator()
    np.testing.assert_array_equal(g1, g2)


def test_best_of_draws_improves_worst_condition():
    one = make_code("grouped", n=8, s=4, m=4, rng=3, draws=1).generator()
    best = make_code("grouped", n=8, s=4, m=4, rng=3, draws=30).generator()
    assert gens.worst_condition(best) <= gens.worst_condition(one)


def test_ignore_stragglers_reports_error_instead_of_raising():
    c = make_code("ignore-stragglers", n=6, s=2)
    P = np.random.default_rng(0).standard_normal((6, 5))
    R = [0, 1, 2, 3]
    _, info = c.decode(R, c.encode(P)[R], 5, return_info=True)
    assert not info.exact
    assert info.decoder.residual == pytest.approx(1.0)  # missing partitions weigh 0, not 1
    assert c.decoding_error(R, P) > 0.01


@pytest.mark.slow
def test_large_grouped_code_does_not_build_dense_matrices():
    import tracemalloc

    tracemalloc.start()
    c = make_code("grouped", n=20_000, s=2, m=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100 * 2**20, f"construction peaked at {peak / 2**20:.0f} MiB"
    assert c.loads.max() == c.d == 4


def test_complex_packing_is_interleaved_and_roundtrips():
    c = make_code("cyclic-mds", n=6, s=2)  # n - s even: complex code
    assert c.field == "complex"
    P = np.arange(6 * 5, dtype=float).reshape(6, 5)
    M = c.encode(P)
    assert M.shape == (6, 6)
    R = [0, 1, 2, 3]
    np.testing.assert_allclose(c.decode(R, M[R], 5), P.sum(0), rtol=1e-12)
