"""Heterogeneous exact codes: ``hetero`` (Wang et al.: loads proportional to speed) and
``hetero-comm`` (Jahani-Nezhad & Maddah-Ali: any placement, messages l / (r - s)).

What the papers state and is checked here: every partition is replicated s + m times on
distinct workers, loads follow the speeds, EVERY set of n - s responders recovers the
exact sum (all of them for small n, a sample for large n), and the communication
identity: with r the least replication, m = r - s is feasible (messages ceil(l/(r-s)))
and m = r - s + 1 is not.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gcsim
from gcsim import InfeasibleParametersError, InvalidInputError, make_code
from gcsim.codes._hetero import cyclic_placement, loads_from_speeds, trig_parity
from gcsim.testing import check_code, decode_tolerance, relative_error

seeds = st.integers(0, 2**32 - 1)
speed_lists = st.lists(st.floats(0.1, 10.0), min_size=2, max_size=12)


def exact_everywhere(code, rng, *, sample: int | None = None) -> int:
    """Decode from every (n - s)-set (or ``sample`` random ones); return how many."""
    l = 7
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    n, s = code.n, code.s
    if sample is None:
        sets = list(itertools.combinations(range(n), n - s))
    else:
        sets = [tuple(sorted(rng.choice(n, n - s, replace=False))) for _ in range(sample)]
    for R in sets:
        assert code.is_decodable(R), R
        g = code.decode(R, M[list(R)], l)
        assert relative_error(g, P) <= decode_tolerance(code, code.decoder(R).cond), R
    return len(sets)


# ---------------------------------------------------------------------------- loads
@given(speeds=speed_lists, s=st.integers(0, 4))
def test_loads_are_proportional_to_speed_within_one_partition(speeds, s):
    n = len(speeds)
    s = min(s, n - 1)
    c = np.asarray(speeds)
    total = (s + 1) * n
    d = loads_from_speeds(c, total, n)
    assert d.sum() == total and d.min() >= 1 and d.max() <= n
    share = total * c / c.sum()
    free = (share >= 1) & (share <= n)
    if free.all():  # no cap binds: every load within one of its share
        assert np.all(np.abs(d - share) < 1 + 1e-9)
    # a faster worker never gets fewer partitions than a slower one
    slower = c[:, None] < c[None, :]
    assert not np.any(slower & (d[:, None] > d[None, :]))


@given(speeds=speed_lists, s=st.integers(0, 4))
def test_cyclic_placement_puts_every_copy_on_a_distinct_worker(speeds, s):
    n = len(speeds)
    s = min(s, n - 1)
    d = loads_from_speeds(np.asarray(speeds), (s + 1) * n, n)
    sup = cyclic_placement(d, n)
    held = np.zeros(n, dtype=int)
    for i, x in enumerate(sup):
        assert len(np.unique(x)) == len(x) == d[i]  # distinct partitions per worker
        held[x] += 1
    assert np.all(held == s + 1)


def test_equal_speeds_give_every_worker_s_plus_1():
    code = make_code("hetero", n=10, s=2)
    assert list(code.loads) == [3] * 10 and code.d == 3


def test_faster_workers_compute_more():
    speeds = [1, 1, 1, 1, 2, 2, 3, 4]
    code = make_code("hetero", n=8, s=2, speeds=speeds)
    assert code.loads.sum() == 3 * 8
    assert list(code.replication) == [3] * 8
    assert code.loads[7] > code.loads[4] > code.loads[0]


def test_trig_parity_columns_are_independent():
    for n, s in [(12, 3), (13, 4), (9, 1), (10, 2)]:
        H = trig_parity(n, s)
        for S in itertools.combinations(range(n), s):
            assert np.linalg.matrix_rank(H[:, list(S)]) == s


# ---------------------------------------------------------------------------- decoding
@pytest.mark.parametrize(
    ("n", "s", "speeds"),
    [(8, 2, [1, 1, 1, 1, 2, 2, 3, 4]), (9, 3, [5, 1, 1, 1, 1, 1, 1, 1, 2]), (7, 1, None)],
)
def test_hetero_every_n_minus_s_set_decodes_exactly(n, s, speeds):
    opts = {} if speeds is None else {"speeds": speeds}
    code = make_code("hetero", n=n, s=s, rng=3, **opts)
    assert exact_everywhere(code, np.random.default_rng(0)) == math.comb(n, s)


def test_hetero_large_n_sampled_sets_decode_exactly():
    speeds = [1.0 + (i % 7) for i in range(60)]
    code = make_code("hetero", n=60, s=4, speeds=speeds, rng=1)
    assert exact_everywhere(code, np.random.default_rng(1), sample=60) == 60
    # the trigonometric parity keeps the worst sampled decode well conditioned
    assert max(code.decoder(np.arange(4, 60)).cond, 1.0) < 1e6


@given(speeds=st.lists(st.floats(0.2, 5.0), min_size=3, max_size=9), seed=seeds, data=st.data())
def test_hetero_property_random_speeds_and_stragglers(speeds, seed, data):
    n = len(speeds)
    s = data.draw(st.integers(0, n - 1), label="s")
    code = make_code("hetero", n=n, s=s, speeds=speeds, rng=seed)
    assert code.loads.sum() == (s + 1) * n
    exact_everywhere(code, np.random.default_rng(seed), sample=5)


def test_contract_suite_passes():
    for name, kw in [
        ("hetero", dict(n=7, s=2, speeds=[3, 1, 1, 2, 1, 1, 1])),
        ("hetero-comm", dict(n=7, s=1, m=3, speeds=[3, 1, 1, 2, 1, 1, 1])),
    ]:
        report = check_code(make_code(name, rng=2, **kw), rng=4)
        assert report.exhaustive and report.straggler_sets > 0


def test_tracker_sees_decodable_sets_of_dependent_rows():
    """Equal speeds at s = 1 give replica pairs (two workers with proportional rows); the
    tracker's span filter must still see a set of one worker per pair decode."""
    code = make_code("hetero", n=10, s=1)
    tracker = code.tracker()
    order = [4, 6, 2, 7, 3, 5]
    got = [tracker.add(w) for w in order]
    want = [code.is_decodable(order[: t + 1]) for t in range(len(order))]
    assert got == want and want[-1]


# ---------------------------------------------------------------------------- 1/(r - s)
def random_placement(rng: np.random.Generator, n: int, k: int, rmin: int) -> list[list[int]]:
    """Each partition on between rmin and n random distinct workers."""
    rows: list[set[int]] = [set() for _ in range(n)]
    for j in range(k):
        r = int(rng.integers(rmin, n + 1))
        for i in rng.choice(n, r, replace=False):
            rows[int(i)].add(j)
    for i in range(n):  # no worker left empty
        if not rows[i]:
            rows[i].add(int(rng.integers(k)))
    return [sorted(x) for x in rows]


@given(seed=seeds, data=st.data())
def test_communication_cost_is_one_over_r_minus_s(seed, data):
    """Jahani-Nezhad & Maddah-Ali: normalised communication 1/(r - s), r the least
    replication: m = r - s decodes exactly with messages ceil(l / (r - s)); one more is
    refused."""
    rng = np.random.default_rng(seed)
    n = data.draw(st.integers(3, 8), label="n")
    k = data.draw(st.integers(2, 8), label="k")
    rmin = data.draw(st.integers(2, n), label="rmin")
    placement = random_placement(rng, n, k, rmin)
    r = min(sum(j in row for row in placement) for j in range(k))
    s = data.draw(st.integers(0, r - 1), label="s")
    code = make_code("hetero-comm", n=n, s=s, m=r - s, placement=placement, rng=seed)
    assert code.min_replication == r and code.m == r - s
    for l in (1, 7, 30):
        assert code.message_length(l) == math.ceil(l / (r - s))
    exact_everywhere(code, rng, sample=6)
    with pytest.raises(InfeasibleParametersError, match=rf"r={r}.*m <= r - s = {r - s}"):
        make_code("hetero-comm", n=n, s=s, m=r - s + 1, placement=placement)


def test_speeds_placement_replicates_s_plus_m_and_decodes_every_set():
    code = make_code("hetero-comm", n=8, s=2, m=2, speeds=[1, 1, 1, 1, 2, 2, 3, 4], rng=5)
    assert code.min_replication == 4 and code.m == code.min_replication - code.s
    assert exact_everywhere(code, np.random.default_rng(2)) == math.comb(8, 2)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("name", "kw", "fragment"),
    [
        ("hetero", dict(n=4, s=1, speeds=[1, 2, 3]), "one entry per worker (n=4)"),
        ("hetero", dict(n=3, s=1, speeds=[1, -2, 3]), "speeds[1]=-2.0"),
        ("hetero", dict(n=3, s=1, speeds="cluster"), "resolved by a scenario"),
        ("hetero", dict(n=3, s=1, m=2), "m=1"),
        ("hetero-comm", dict(n=4, s=1, m=4), "s + m <= n"),
        ("hetero-comm", dict(n=3, s=0, placement=[[0], [1]]), "n=3 workers"),
        ("hetero-comm", dict(n=2, s=0, placement=[[0], [2]]), "nobody holds [1]"),
        ("hetero-comm", dict(n=2, s=0, placement=[[0, 0], [1]]), "placement[0]"),
        ("hetero-comm", dict(n=2, s=0, placement=[[0], [1]], speeds=[1, 1]), "not both"),
        ("hetero", dict(n=3, s=1, sped=[1, 1, 1]), "did you mean 'speeds'"),
    ],
)
def test_bad_input_is_one_clear_line(name, kw, fragment):
    with pytest.raises((InvalidInputError, InfeasibleParametersError)) as exc:
        make_code(name, **kw)
    msg = str(exc.value)
    assert fragment in msg and "\n" not in msg


# ---------------------------------------------------------------------------- simulator
def test_simulator_charges_each_worker_its_own_load():
    """With constant unit delays divided by the speeds, worker i computes for
    loads_i / speed_i, and a round ends at the (n - s)-th of those times."""
    speeds = [1, 1, 1, 1, 1, 1, 4, 4]
    delays = {
        "model": "heterogeneous",
        "base": {"model": "constant", "value": 1.0},
        "speeds": speeds,
    }
    rows = {}
    for name in ("hetero", "crc"):
        code = make_code(name, n=8, s=1, **({"speeds": speeds} if name == "hetero" else {}))
        res = gcsim.simulate(code, delays=delays, iterations=3, seed=0, record_workers=True)
        w = res.workers
        assert w is not None
        per = w[w["round"] == 0].sort_values("worker")["injected_compute"].to_numpy()
        np.testing.assert_allclose(per, code.loads / np.asarray(speeds, dtype=float))
        want = np.sort(per)[code.n - code.s - 1]
        np.testing.assert_allclose(res.records["duration"], want)
        rows[name] = want
    assert rows["hetero"] < rows["crc"]  # the fast workers carry the load


# ---------------------------------------------------------------------------- scenarios, advisor
HET_TOML = """
[scenario]
name = "het"
rounds = 5
[cluster]
n = 6
[delays.compute]
model = "{model}"
{extra}
[workload]
model = "none"
[code]
s = 1
[[schemes]]
code = "hetero"
options = {{ speeds = "cluster" }}
"""


def test_scenario_speeds_cluster_takes_the_compute_models_speeds(tmp_path):
    from gcsim.scenarios import load_scenario

    path = tmp_path / "het.toml"
    speeds = [1.0, 1.0, 2.0, 2.0, 4.0, 0.5]
    path.write_text(
        HET_TOML.format(model="heterogeneous", extra=f"speeds = {speeds}"), encoding="utf-8"
    )
    _, _, points = load_scenario(path)
    assert points and all(p.spec["options"]["speeds"] == speeds for p in points)
    code = make_code("hetero", n=6, s=1, speeds=speeds)
    assert points[0].d == code.d and points[0].status == "pending"


def test_scenario_speeds_cluster_without_speeds_is_one_clear_line(tmp_path):
    from gcsim.scenarios import ScenarioError, load_scenario

    path = tmp_path / "het.toml"
    path.write_text(HET_TOML.format(model="exponential", extra=""), encoding="utf-8")
    with pytest.raises(ScenarioError, match="must be a heterogeneous model") as exc:
        load_scenario(path)
    assert "\n" not in str(exc.value)


def test_advisor_searches_heterogeneous_codes_only_on_a_heterogeneous_cluster():
    speeds = [1, 1, 1, 1, 1, 1, 3, 3]
    base = {"model": "shifted-exponential", "shift": 1.0, "rate": 2.0}
    het = {"model": "heterogeneous", "base": base, "speeds": speeds}
    kw = dict(schemes=["hetero", "frc"], rounds=100, confirm=0, min_stragglers=1, max_stragglers=1)
    advice = gcsim.advise(8, delays=het, **kw)
    table = advice.table()
    assert "hetero" in set(table["scheme"])
    best = table.iloc[0]
    assert best["scheme"] == "hetero"  # the fast workers carry the load
    plain = gcsim.advise(8, delays=base, **kw)
    assert "hetero" not in set(plain.table()["scheme"])
    assert any("hetero not searched" in note for note in plain.notes)


# ---------------------------------------------------------------------------- grouped + speeds
@given(
    n=st.integers(4, 16),
    s=st.integers(0, 3),
    m=st.integers(1, 3),
    seed=seeds,
    data=st.data(),
)
def test_grouped_partitions_follow_the_groups_mean_speed(n, s, m, seed, data):
    if s + m > n:
        return
    speeds = data.draw(st.lists(st.floats(0.2, 5.0), min_size=n, max_size=n), label="speeds")
    code = make_code("grouped", n=n, s=s, m=m, speeds=speeds, rng=seed)
    plain = make_code("grouped", n=n, s=s, m=m, rng=seed)
    parts = np.asarray(code.group_partitions)
    assert parts.sum() == code.k == n and parts.min() >= 1
    assert code.group_sizes == plain.group_sizes and code.s == plain.s  # same tolerance
    starts = np.concatenate([[0], np.cumsum(code.group_sizes)[:-1]])
    mean = np.array(
        [np.mean(speeds[a : a + b]) for a, b in zip(starts, code.group_sizes, strict=True)]
    )
    slower = mean[:, None] < mean[None, :]
    assert not np.any(slower & (parts[:, None] > parts[None, :]))  # faster, never fewer
    for g, (a, b) in enumerate(zip(starts, code.group_sizes, strict=True)):
        assert all(code.loads[a : a + b] == parts[g])
    exact_everywhere(code, np.random.default_rng(seed), sample=5)


def test_grouped_with_speeds_is_faster_on_a_heterogeneous_cluster():
    speeds = [1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4]
    base = {"model": "shifted-exponential", "shift": 1.0, "rate": 2.0}
    delays = {"model": "heterogeneous", "base": base, "speeds": speeds}
    times = {}
    for label, opts in (("plain", {}), ("speeds", {"speeds": speeds})):
        code = make_code("grouped", n=12, s=2, m=2, **opts)
        res = gcsim.simulate(code, delays=delays, iterations=200, seed=1)
        times[label] = res.records["duration"].mean()
    assert times["speeds"] < 0.75 * times["plain"]


def test_grouped_speeds_need_an_mds_family():
    with pytest.raises(InvalidInputError, match="needs an MDS family") as exc:
        make_code("grouped", n=12, s=1, m=2, generator="parity", speeds=[1] * 12)
    assert "\n" not in str(exc.value)


def test_cli_check_takes_a_list_option(capsys):
    from gcsim.cli import main

    assert main(["check", "hetero", "--n", "8", "--s", "2", "-o", "speeds=[1,1,1,1,2,2,3,4]"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| hetero"))
    want = make_code("hetero", n=8, s=2, speeds=[1, 1, 1, 1, 2, 2, 3, 4]).d
    assert f"| {want} | yes | {1 + 8 + 28} | yes |" in row  # all sets of <= 2 stragglers


@pytest.mark.parametrize(
    "speeds",
    [[1, 1, 1e308, 3], [1e-320, 1, 2, 2], [5e-324] * 4, [1e308] * 4, [1, 1e-300, 1e300, 1]],
)
def test_extreme_speeds_still_give_valid_loads(speeds):
    d = loads_from_speeds(np.asarray(speeds, dtype=float), 2 * len(speeds), len(speeds))
    assert d.sum() == 2 * len(speeds) and d.min() >= 1 and d.max() <= len(speeds)
    code = make_code("hetero", n=4, s=1, speeds=speeds)
    assert list(code.loads) == list(d)


def test_explicit_speeds_are_found_inside_wrapping_models():
    from gcsim import make_delay
    from gcsim.delays.heterogeneous import explicit_speeds

    het = {"model": "heterogeneous", "base": "exponential", "speeds": [1, 2, 4]}
    wrapped = {"model": "persistent", "base": het, "p_slow": 0.1, "p_recover": 0.5, "factor": 3}
    twice = {"model": "heterogeneous", "base": het, "speeds": [2, 1, 1]}
    np.testing.assert_array_equal(explicit_speeds(make_delay(het), 3), [1, 2, 4])
    np.testing.assert_array_equal(explicit_speeds(make_delay(wrapped), 3), [1, 2, 4])
    np.testing.assert_array_equal(explicit_speeds(make_delay(twice), 3), [2, 2, 4])
    assert explicit_speeds(make_delay(het), 4) is None  # another n
    assert explicit_speeds(make_delay("exponential"), 3) is None
    drawn = {"model": "heterogeneous", "speeds": {"model": "uniform", "low": 0.5, "high": 2}}
    assert explicit_speeds(make_delay(drawn), 3) is None


def test_work_is_the_share_of_the_data_in_units_of_one_nth():
    code = make_code("hetero-comm", n=3, s=0, placement=[[0, 1, 2, 3, 4, 5], [0, 1], [2]])
    assert code.k == 6 and list(code.loads) == [6, 2, 1]
    np.testing.assert_allclose(code.work, [3.0, 1.0, 0.5])  # all the data is 3 units
    same = make_code("hetero", n=5, s=1, speeds=[1, 2, 3, 4, 5])
    np.testing.assert_array_equal(same.work, same.loads)


@given(seed=seeds, data=st.data())
def test_structured_decoder_is_f_g_r_inverse_transpose_with_its_condition(seed, data):
    """The s x s solve gives F G_R^{-T} and cond(G_R) exactly (checked against the
    N x N solve and numpy's condition number)."""
    n = data.draw(st.integers(3, 30), label="n")
    s = data.draw(st.integers(1, min(4, n - 1)), label="s")
    code = make_code("hetero", n=n, s=s, rng=seed)
    rng = np.random.default_rng(seed)
    R = np.sort(rng.choice(n, n - s, replace=False))
    dec = code.decoder(R)
    GR = code._G[:, R]
    want = np.linalg.solve(GR, code._F.T).T
    np.testing.assert_allclose(dec.matrix, want, rtol=1e-8, atol=1e-10 * np.abs(want).max())
    assert dec.cond == pytest.approx(np.linalg.cond(GR), rel=1e-8)
