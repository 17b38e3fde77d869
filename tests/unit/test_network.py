"""The network models against closed forms: max–min fair flows (``sharing = "fair"``) and
the store-and-forward FIFO ingress (``sharing = "fifo"``).

The worker side (:class:`gcsim.sim.des.WorkerPool`) is driven directly on a SimPy clock:
a worker given compute time ``c`` and communication delay ``x`` at t = 0 puts its message
on the wire at ``c + x``; its first byte reaches the server ``latency`` later; under
``fair`` it then shares the ingress with the other uploads in progress. Sizes are chosen
so that every finish time is exact in binary floating point.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import gcsim
from gcsim.scenarios import load_scenario
from gcsim.scenarios.schema import ScenarioError
from gcsim.sim.des import WorkerPool
from gcsim.sim.network import Network

INF = math.inf


def finish_times(
    network: Network,
    starts: list[float],
    q: int,
    *,
    uplinks: list[float] | None = None,
    cancel: dict[float, list[int]] | None = None,
    comm: list[float] | None = None,
) -> dict[int, float]:
    """Worker i computes for starts[i] (and waits comm[i]) from t = 0 (its model arrived
    then: the broadcast's own latency is left out), then uploads q
    values; returns the instant each message reached the server. ``cancel`` maps an
    instant to the workers cancelled then."""
    env = simpy.Environment()
    got: dict[int, float] = {}

    def deliver(i: int, r: int, token: object) -> None:
        got[i] = env.now

    pool = WorkerPool(env, len(starts), network, 1, q, deliver, uplinks=uplinks)
    for i, c in enumerate(starts):  # dispatched one broadcast earlier: work begins at 0
        pool.assign(i, 0, -pool.bcast, c, comm[i] if comm else 0.0)
    for t, workers in (cancel or {}).items():
        env.timeout(t).callbacks.append(lambda _e, w=workers: pool.cancel(np.array(w)))
    env.run()
    return got


def fair(**kw: float) -> Network:
    return Network(bytes_per_value=2, sharing="fair", **kw)


def fifo(**kw: float) -> Network:
    return Network(bytes_per_value=2, sharing="fifo", **kw)


# ---------------------------------------------------------------- closed forms, fair
@pytest.mark.parametrize("k", [1, 2, 5, 16])
@pytest.mark.parametrize("latency", [0.0, 0.25])
def test_k_equal_simultaneous_flows_all_finish_at_k_size_over_ingress(k, latency):
    # size 20 B (q = 10 values of 2 B), ingress 80 B/s, infinite uplinks
    got = finish_times(fair(latency=latency, ingress=80.0), [0.0] * k, 10)
    assert got == {i: pytest.approx(latency + k * 20 / 80.0, rel=1e-12) for i in range(k)}


@pytest.mark.parametrize(("uplink", "ingress"), [(50.0, 200.0), (200.0, 50.0), (100.0, 100.0)])
def test_a_single_flow_goes_at_min_of_uplink_and_ingress(uplink, ingress):
    got = finish_times(fair(latency=0.5, bandwidth=uplink, ingress=ingress), [1.0], 20)
    assert got[0] == pytest.approx(1.0 + 0.5 + 40 / min(uplink, ingress), rel=1e-12)


def test_flows_share_equally_only_while_the_share_is_below_the_uplink():
    # 4 flows of 40 B, uplinks 15 B/s, ingress 100 B/s: the share (25) exceeds the
    # uplink, so each goes at 15 B/s: the ingress is not the bottleneck
    got = finish_times(fair(bandwidth=15.0, ingress=100.0), [0.0] * 4, 20)
    assert all(t == pytest.approx(40 / 15.0) for t in got.values())


def test_three_flows_with_different_uplinks_get_max_min_shares():
    """Uplinks 20, 50 and inf B/s, ingress 100 B/s, 60 B each; flows 0 and 1 start at 0,
    flow 2 at 0.5.

    * [0, 0.5): shares 50/50; flow 0 is capped at 20, flow 1 takes min(80, 50) = 50.
      At 0.5: served 10 and 25.
    * [0.5, 1.375): three flows; fair share 33.3 > 20, so flow 0 keeps 20 and the other
      two split 80: 40 each. Flow 1 has 35 left: done at 0.5 + 35/40 = 1.375; by then
      flow 0 has 27.5, flow 2 has 35.
    * [1.375, 1.6875): flow 0 at 20, flow 2 takes the rest, 80: its 25 left take 0.3125.
      Flow 0 has 33.75.
    * then flow 0 alone at its uplink, 20: 26.25 left, 1.3125 s: done at 3.0.
    """
    got = finish_times(fair(ingress=100.0), [0.0, 0.0, 0.5], 30, uplinks=[20.0, 50.0, INF])
    assert got == {0: pytest.approx(3.0), 1: pytest.approx(1.375), 2: pytest.approx(1.6875)}
    assert list(got) == [1, 2, 0]  # delivery order


def test_a_cancelled_flow_frees_its_share_at_once():
    """Three 30 B flows through a 90 B/s ingress, 30 B/s each. Cancelling flow 0 at 0.5
    (15 B served each) gives the other two 45 B/s: their 15 B left take 1/3 s."""
    net = fair(ingress=90.0)
    assert finish_times(net, [0.0] * 3, 15) == {i: pytest.approx(1.0) for i in range(3)}
    got = finish_times(net, [0.0] * 3, 15, cancel={0.5: [0]})
    assert got == {1: pytest.approx(0.5 + 1 / 3), 2: pytest.approx(0.5 + 1 / 3)}


def test_cancelling_a_capped_flow_speeds_up_only_the_ingress_bound_ones():
    """Uplinks 10, inf, inf; ingress 50; 40 B each, all at 0: rates 10, 20, 20. At 1.0
    (served 10, 20, 20) flow 1 is cancelled: flow 0 stays at 10, flow 2 gets 40 and its
    20 B left take 0.5 s. Flow 0 has 15 B at 1.5; alone, still at its uplink's 10 B/s,
    its 25 B left take 2.5 s: done at 4.0."""
    got = finish_times(
        fair(ingress=50.0), [0.0] * 3, 20, uplinks=[10.0, INF, INF], cancel={1.0: [1]}
    )
    assert got == {0: pytest.approx(4.0), 2: pytest.approx(1.5)}


def test_a_flow_cancelled_before_it_reaches_the_ingress_never_takes_a_share():
    # flow 1 is on the wire (latency 1) when cancelled at 0.5: flow 0 goes alone
    got = finish_times(fair(latency=1.0, ingress=40.0), [0.0, 0.0], 20, cancel={0.5: [1]})
    assert got == {0: pytest.approx(1.0 + 40 / 40.0)}


def test_the_communication_delay_comes_before_the_transfer():
    # worker 0 waits x = 1 before sending; worker 1 starts at once and goes alone
    # until 1.0 (40 of 80 B at 40 B/s), then both at 20 B/s: worker 1 done at 3.0,
    # worker 0 has 40 of 80 B left, alone again at 40 B/s: done at 4.0
    got = finish_times(fair(ingress=40.0), [0.0, 0.0], 40, comm=[1.0, 0.0])
    assert got == {1: pytest.approx(3.0), 0: pytest.approx(4.0)}


# ---------------------------------------------------------------- FIFO: unchanged
def test_fifo_serializes_twice_uplink_then_one_message_at_a_time():
    # latency 0.01, uplink 100 B/s, ingress 50 B/s, 10 B: link 0.11, then 0.2 each
    got = finish_times(fifo(latency=0.01, bandwidth=100.0, ingress=50.0), [0.0] * 3, 5)
    assert got == {0: pytest.approx(0.31), 1: pytest.approx(0.51), 2: pytest.approx(0.71)}
    # cancelling the message being served starts the next one at once
    got = finish_times(
        fifo(latency=0.01, bandwidth=100.0, ingress=50.0), [0.0] * 3, 5, cancel={0.2: [0]}
    )
    assert got == {1: pytest.approx(0.4), 2: pytest.approx(0.6)}


def test_fifo_with_per_worker_uplinks_uses_each_link():
    got = finish_times(fifo(bandwidth=1.0, ingress=100.0), [0.0, 0.0], 5, uplinks=[10.0, 5.0])
    assert got == {0: pytest.approx(1.0 + 0.1), 1: pytest.approx(2.0 + 0.1)}


@pytest.mark.parametrize("sharing", ["fair", "fifo"])
def test_without_a_finite_ingress_both_models_are_the_uplink_alone(sharing):
    net = Network(latency=0.25, bandwidth=40.0, bytes_per_value=2, sharing=sharing)
    got = finish_times(net, [0.0, 0.0, 1.0], 10, comm=[0.5, 0.0, 0.0])
    assert got == {0: 0.5 + 0.25 + 0.5, 1: 0.25 + 0.5, 2: 1.0 + 0.25 + 0.5}


# ---------------------------------------------------------------- against a reference
def maxmin(ingress: float, caps: list[float]) -> list[float]:
    """Progressive filling, the textbook way: raise every rate together; a flow stops
    at its cap; the rest share what is left."""
    rates = [0.0] * len(caps)
    left, k = ingress, len(caps)
    for pos, i in enumerate(sorted(range(len(caps)), key=caps.__getitem__)):
        rates[i] = min(caps[i], left / (k - pos))
        left -= rates[i]
    return rates


def fluid_reference(
    arrive: list[float], caps: list[float], ingress: float, size: float, cancel: list[float]
) -> dict[int, float]:
    """A fluid simulation that recomputes every rate at every event (O(k) per event):
    flow i enters the ingress at arrive[i] and is cancelled at cancel[i] (inf: never)."""
    n = len(arrive)
    rem = [size] * n
    state = [0] * n  # 0 waiting, 1 active, 2 done, 3 cancelled
    done: dict[int, float] = {}
    t = 0.0
    while True:
        active = [i for i in range(n) if state[i] == 1]
        rates = maxmin(ingress, [caps[i] for i in active])
        cands = [arrive[i] for i in range(n) if state[i] == 0]
        cands += [cancel[i] for i in range(n) if state[i] in (0, 1) and cancel[i] < INF]
        cands += [t + rem[i] / r for i, r in zip(active, rates, strict=True)]
        if not cands:
            return done
        nxt = min(cands)
        for i, r in zip(active, rates, strict=True):
            rem[i] -= r * (nxt - t)
        t = nxt
        for i in active:
            if rem[i] <= 1e-9 * size:
                state[i], done[i] = 2, t
        for i in range(n):
            if state[i] in (0, 1) and cancel[i] <= t:
                state[i] = 3
            if state[i] == 0 and arrive[i] <= t:
                state[i] = 1


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 7),
    ingress=st.sampled_from([30.0, 64.0, 100.0]),
    classes=st.sampled_from([[INF], [25.0], [10.0, 25.0, INF], [7.0, 40.0]]),
)
def test_fair_sharing_matches_a_fluid_reference(data, n, ingress, classes):
    grid = st.integers(0, 8).map(lambda k: 0.25 * k)
    starts = data.draw(st.lists(grid, min_size=n, max_size=n))
    caps = data.draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n))
    # cancel instants off the grid, so that none coincides with a start or an end
    cancel = data.draw(
        st.lists(
            st.one_of(st.just(INF), st.integers(0, 12).map(lambda k: 0.25 * k + 0.1234567)),
            min_size=n,
            max_size=n,
        )
    )
    q = 10  # 20 B
    when: dict[float, list[int]] = {}
    for i, t in enumerate(cancel):
        if t < INF:
            when.setdefault(t, []).append(i)
    got = finish_times(fair(latency=0.125, ingress=ingress), starts, q, uplinks=caps, cancel=when)
    want = fluid_reference([s + 0.125 for s in starts], caps, ingress, 20.0, cancel)
    assert set(got) == set(want)
    for i, t in want.items():
        assert got[i] == pytest.approx(t, rel=1e-9), (i, got, want)


# ---------------------------------------------------------------- through gcsim.simulate
def sim(code, network, **kw):
    return gcsim.simulate(
        code,
        delays={"model": "constant", "value": 0.0},
        iterations=3,
        seed=0,
        network=network,
        dimension=1000,
        engine="des",
        **kw,
    )


def test_simulate_all_messages_at_once_fair_vs_fifo():
    """4 workers, 8000 B messages at once; latency 1 ms (broadcast and upload), uplinks
    and ingress 10 MB/s. Fair: the four flows share the ingress (2.5 MB/s each) and all
    end after 4 x 0.8 ms. FIFO: 0.8 ms on the uplink, then 0.8 ms each at the ingress."""
    code = gcsim.make_code("uncoded", n=4, s=0)
    base = {"latency": 1e-3, "bandwidth": 1e7, "ingress": 1e7}
    fair_t = sim(code, Network(**base, sharing="fair")).durations
    fifo_t = sim(code, Network(**base, sharing="fifo")).durations
    np.testing.assert_allclose(fair_t, 1e-3 + 1e-3 + 4 * 0.8e-3, rtol=1e-12)
    np.testing.assert_allclose(fifo_t, 1e-3 + 1e-3 + 0.8e-3 + 4 * 0.8e-3, rtol=1e-12)


def test_simulate_equal_fair_flows_end_together_so_a_quorum_waits_for_all():
    # ignore-stragglers needs n - s = 4 of 6: FIFO delivers one by one (the 4th at
    # 4 x 0.8 ms after the uplink), fair flows all end together at 6 x 0.8 ms
    code = gcsim.make_code("ignore-stragglers", n=6, s=2)
    base = {"latency": 1e-3, "bandwidth": 1e7, "ingress": 1e7}
    np.testing.assert_allclose(sim(code, Network(**base)).durations, 2e-3 + 6 * 0.8e-3, rtol=1e-12)
    np.testing.assert_allclose(
        sim(code, Network(**base, sharing="fifo")).durations,
        2e-3 + 0.8e-3 + 4 * 0.8e-3,
        rtol=1e-12,
    )


def test_simulate_with_infinite_ingress_gives_the_same_records_in_both_models():
    code = gcsim.make_code("grouped", n=8, s=2, m=2, rng=0)
    kw = dict(
        delays={"model": "shifted-exponential", "shift": 1e-3, "rate": 500.0},
        comm_delays={"model": "exponential", "rate": 300.0},
        iterations=30,
        seed=4,
        dimension=500,
        engine="des",
        record_workers=True,
    )
    a = gcsim.simulate(code, network=Network(latency=1e-4, bandwidth=1e6), **kw)
    b = gcsim.simulate(code, network=Network(latency=1e-4, bandwidth=1e6, sharing="fifo"), **kw)
    np.testing.assert_array_equal(a.durations, b.durations)
    assert a.workers.equals(b.workers)


def test_simulate_fair_at_n_1000_is_cheap():
    """Every message of a round shares the ingress at once (incast of 1000): an event
    costs O(log n), so 5 rounds take well under a second here (bound with margin)."""
    code = gcsim.make_code("ignore-stragglers", n=1000, s=10)
    net = Network(latency=5e-4, bandwidth=1.25e8, ingress=1.25e9)
    t0 = time.perf_counter()
    res = gcsim.simulate(
        code,
        delays={"model": "shifted-exponential", "shift": 1e-3, "rate": 1e3},
        iterations=5,
        seed=0,
        network=net,
        dimension=10_000,
        engine="des",
    )
    assert time.perf_counter() - t0 < 10.0
    # 1000 messages of 80 kB through 1.25 GB/s need at least 990 x 64 us
    assert (res.durations > 990 * 8e4 / 1.25e9).all()


# ---------------------------------------------------------------- selection
def test_sharing_is_validated_with_a_clear_error():
    with pytest.raises(
        gcsim.InvalidInputError, match=r"network.sharing must be one of 'fair', 'fifo'"
    ):
        Network(sharing="maxmin")
    assert Network().sharing == "fair"


def test_scenario_key_cluster_network_sharing(tmp_path):
    text = """
[scenario]
name = "net"
rounds = 2
[cluster]
n = 4
[cluster.network]
ingress = 1e6
sharing = "{sharing}"
[delays.compute]
model = "constant"
value = 0.001
[[schemes]]
code = "uncoded"
"""
    p = tmp_path / "s.toml"
    p.write_text(text.format(sharing="fifo"))
    resolved, _, points = load_scenario(p)
    assert resolved["cluster"]["network"]["sharing"] == "fifo"
    assert points[0].spec["network"]["sharing"] == "fifo"
    p.write_text(text.format(sharing="fare"))
    with pytest.raises(ScenarioError, match="did you mean 'fair'"):
        load_scenario(p)
