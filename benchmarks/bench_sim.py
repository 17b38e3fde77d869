"""Simulator benchmarks: DES event rate vs a bare SimPy model, fast-path speed-up, scale.

Run: ``python benchmarks/bench_sim.py [--quick]``; writes ``benchmarks/results/bench_sim.json``
and ``bench_sim.md``.

* DES rounds/s and events/s at n in {10, 100, 1000} in random-vectors mode (l = 100,
  grouped Gaussian code, shifted-exponential delays) against a bare SimPy model of the
  same protocol (n worker processes per round, a timeout then a Store put each; the
  server takes n - s arrivals from the Store) measured in the same run. SimPy events are
  counted as heap pops of the environment (``Environment.step`` calls). gcsim's DES needs
  about one SimPy event per worker and round where the bare model needs five, so its
  SimPy-event rate is lower while its round rate is higher; both are reported, and the
  protocol-event rate (2n + 1 protocol events per round in both models) equals the
  round-rate ratio.
* Fast path rounds/s and its speed-up over the DES on the same configuration, timing
  only (no kernels) and random-vectors.
* Scale: a 1000-worker, 1000-round DES with real kernels at l = 10^4 (wall time and peak
  RSS, measured in a child process); the fast path at n = 100 000 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gcsim  # noqa: E402
from gcsim.sim import simulate  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
DELAYS = {"model": "shifted-exponential", "shift": 1.0, "rate": 1.0}


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts processed events."""

    events = 0

    def step(self) -> None:
        CountingEnvironment.events += 1
        super().step()


def bare_simpy(n: int, s: int, rounds: int, seed: int = 0) -> tuple[float, int]:
    """The bare protocol: returns (wall seconds, events)."""
    rng = np.random.default_rng(seed)
    CountingEnvironment.events = 0
    env = CountingEnvironment()
    store = simpy.Store(env)

    def worker(i: int, r: int, d: float):  # type: ignore[no-untyped-def]
        yield env.timeout(d)
        yield store.put((r, i))

    def server():  # type: ignore[no-untyped-def]
        for r in range(rounds):
            D = 1.0 + rng.exponential(size=n)
            for i in range(n):
                env.process(worker(i, r, float(D[i])))
            got = 0
            while got < n - s:
                rr, _ = yield store.get()
                if rr == r:
                    got += 1

    env.process(server())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0, CountingEnvironment.events


def lean_simpy(n: int, s: int, rounds: int, seed: int = 0) -> tuple[float, int]:
    """The lean SimPy model of the same count rule: one timeout with a callback per
    worker and round, the server waiting on one event. Returns (wall seconds, events)."""
    rng = np.random.default_rng(seed)
    CountingEnvironment.events = 0
    env = CountingEnvironment()
    need = n - s
    state: dict = {"round": -1, "got": 0, "done": None}

    def arrive(r: int, _event: object) -> None:
        if r == state["round"]:
            state["got"] += 1
            if state["got"] == need:
                state["done"].succeed()

    def server():  # type: ignore[no-untyped-def]
        for r in range(rounds):
            D = 1.0 + rng.exponential(size=n)
            state.update(round=r, got=0, done=env.event())
            cb = partial(arrive, r)
            for d in D.tolist():
                env.timeout(d).callbacks.append(cb)
            yield state["done"]

    env.process(server())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0, CountingEnvironment.events


def numpy_floor(n: int, s: int, rounds: int, seed: int = 0) -> float:
    """A plain numpy implementation of the same order statistics: each round's
    (n - s)-th smallest of shifted-exponential arrivals. Returns wall seconds."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    T = 1.0 + rng.exponential(size=(rounds, n))
    np.partition(T, n - s - 1, axis=1)[:, n - s - 1].copy()
    return time.perf_counter() - t0


def fast_count(n: int, s: int, rounds: int) -> tuple[float, float]:
    """gcsim's fast path, timing only, count rule n - s: (wall seconds, tracemalloc peak
    in bytes)."""
    import tracemalloc

    code = gcsim.make_code("uncoded" if s == 0 else "ignore-stragglers", n=n, s=s)
    t0 = time.perf_counter()
    simulate(code, delays=DELAYS, iterations=rounds, seed=1, engine="fast")
    wall = time.perf_counter() - t0
    tracemalloc.start()
    simulate(code, delays=DELAYS, iterations=rounds, seed=1, engine="fast")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return wall, float(peak)


def des_run(n: int, s: int, m: int, rounds: int, workload, engine: str, rule: str = "decodable"):  # type: ignore[no-untyped-def]
    code = gcsim.make_code("grouped", n=n, s=s, m=m, rng=0)
    orig = simpy.Environment
    simpy.Environment = CountingEnvironment  # type: ignore[misc]
    CountingEnvironment.events = 0
    try:
        t0 = time.perf_counter()
        res = simulate(
            code,
            delays=DELAYS,
            iterations=rounds,
            seed=1,
            workload=workload,
            engine=engine,
            decode_rule=rule,
        )
        wall = time.perf_counter() - t0
    finally:
        simpy.Environment = orig  # type: ignore[misc]
    return wall, CountingEnvironment.events, res


def scale_child(n: int, rounds: int, l: int) -> None:
    code = gcsim.make_code("grouped", n=n, s=2, m=2, rng=0)
    t0 = time.perf_counter()
    res = simulate(
        code,
        delays=DELAYS,
        iterations=rounds,
        seed=1,
        engine="des",
        workload={"model": "random-vectors", "dimension": l},
    )
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "wall_s": wall,
                "peak_rss_bytes": peak,
                "mean_round_time": res.summary()["mean_round_time"],
                "worst_rel_error": res.summary()["worst_rel_error"],
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scale-child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scale_child:
        scale_child(*args.scale_child)
        return
    quick = args.quick
    rows = []
    for n in (10, 100, 1000):
        rounds = {10: 5000, 100: 1000, 1000: 200}[n] // (10 if quick else 1)
        s, m = 2, 2
        bare_wall, bare_ev = bare_simpy(n, s, rounds)
        lean_wall, lean_ev = lean_simpy(n, s, rounds)
        wl = {"model": "random-vectors", "dimension": 100}
        # the DES under the lean model's own rule (count n - s), timing only and vectors
        cnt_t_wall, _, _ = des_run(n, s, m, rounds, None, "des", "count")
        cnt_v_wall, _, _ = des_run(n, s, m, rounds, wl, "des", "count")
        des_wall, des_ev, _ = des_run(n, s, m, rounds, wl, "des")
        fast_wall, _, _ = des_run(n, s, m, rounds, wl, "fast")
        des_t_wall, des_t_ev, _ = des_run(n, s, m, rounds, None, "des")
        fast_t_wall, _, _ = des_run(n, s, m, rounds, None, "fast")
        rows.append(
            {
                "n": n,
                "rounds": rounds,
                "lean_rounds_per_s": rounds / lean_wall,
                "lean_events_per_round": lean_ev / rounds,
                "des_count_timing_rounds_per_s": rounds / cnt_t_wall,
                "des_count_vectors_rounds_per_s": rounds / cnt_v_wall,
                "des_vs_lean_timing": lean_wall / cnt_t_wall,
                "des_vs_lean_vectors": lean_wall / cnt_v_wall,
                "bare_rounds_per_s": rounds / bare_wall,
                "bare_events_per_s": bare_ev / bare_wall,
                "bare_events_per_round": bare_ev / rounds,
                "des_rounds_per_s": rounds / des_wall,
                "des_events_per_s": des_ev / des_wall,
                "des_events_per_round": des_ev / rounds,
                # protocol events: n dispatches + n arrivals + 1 decode per round, the same
                # count for both models whatever number of SimPy events implements them
                "protocol_event_rate_ratio": (rounds / des_wall) / (rounds / bare_wall),
                "des_timing_rounds_per_s": rounds / des_t_wall,
                "des_timing_events_per_s": des_t_ev / des_t_wall,
                "event_rate_ratio": (des_ev / des_wall) / (bare_ev / bare_wall),
                "round_rate_ratio": (rounds / des_wall) / (rounds / bare_wall),
                "fast_rounds_per_s": rounds / fast_wall,
                "fast_speedup_random_vectors": des_wall / fast_wall,
                "fast_timing_rounds_per_s": rounds / fast_t_wall,
                "fast_speedup_timing": des_t_wall / fast_t_wall,
            }
        )
        print(rows[-1], flush=True)
    # fast path against a plain numpy implementation of the same order statistics
    floor_rows = []
    for n in (100, 1000, 10_000, 100_000):
        rounds = max(10, (2_000_000 if quick else 10_000_000) // n)
        f_wall = min(numpy_floor(n, 2, rounds) for _ in range(3))
        g_wall, peak = min(fast_count(n, 2, rounds) for _ in range(3))
        floor_rows.append(
            {
                "n": n,
                "rounds": rounds,
                "numpy_s": f_wall,
                "fast_s": g_wall,
                "fast_vs_numpy": f_wall / g_wall,
                "peak_over_matrix": peak / (rounds * n * 8),
            }
        )
        print(floor_rows[-1], flush=True)
    # scale: DES 1000 x 1000 at l = 1e4 in a child (peak RSS of that run alone)
    n_s, r_s = (1000, 100) if quick else (1000, 1000)
    out = subprocess.run(
        [sys.executable, __file__, "--scale-child", str(n_s), str(r_s), "10000"],
        capture_output=True,
        text=True,
        check=True,
    )
    scale = json.loads(out.stdout.strip().splitlines()[-1])
    scale.update(n=n_s, rounds=r_s, l=10_000)
    # fast path at n = 100 000
    big_n = 100_000
    code = gcsim.make_code("grouped", n=big_n, s=2, m=2, rng=0)
    t0 = time.perf_counter()
    res = simulate(code, delays=DELAYS, iterations=100, seed=1, engine="fast")
    fast_big = {
        "n": big_n,
        "rounds": 100,
        "wall_s": time.perf_counter() - t0,
        "mean_round_time": res.summary()["mean_round_time"],
    }
    data = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "simpy": simpy.__version__,
            "cpus": os.cpu_count(),
        },
        "quick": quick,
        "rates": rows,
        "scale_des": scale,
        "fast_big": fast_big,
        "fast_vs_numpy": floor_rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_sim.json").write_text(json.dumps(data, indent=2))
    md = [
        "# Simulator benchmarks",
        "",
        "grouped Gaussian code (s=2, m=2), shifted-exponential delays; random-vectors mode "
        "l=100 unless noted. Ratios are measured in the same run.",
        "",
        "| n | rounds | bare SimPy rounds/s | bare SimPy events/round | bare events/s "
        "| DES rounds/s | DES SimPy events/round | DES events/s | DES/bare SimPy-event rate "
        "| DES/bare round (= protocol-event) rate | DES rounds/s, timing only "
        "| fast rounds/s | fast speed-up (random-vectors) | fast speed-up (timing only) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {r['n']} | {r['rounds']} | {r['bare_rounds_per_s']:.1f} | "
            f"{r['bare_events_per_round']:.0f} | {r['bare_events_per_s']:.0f} | "
            f"{r['des_rounds_per_s']:.1f} | {r['des_events_per_round']:.0f} | "
            f"{r['des_events_per_s']:.0f} | {r['event_rate_ratio']:.2f} | "
            f"{r['round_rate_ratio']:.2f} | {r['des_timing_rounds_per_s']:.0f} | "
            f"{r['fast_rounds_per_s']:.0f} | "
            f"{r['fast_speedup_random_vectors']:.0f}x | {r['fast_speedup_timing']:.0f}x |"
        )
    md += [
        "",
        "Against a **lean SimPy model** of the same count rule (one timeout with a callback "
        "per worker and round, the server waiting on one event; ``lean_simpy``), the DES "
        "run with ``decode_rule='count'`` (the same rule):",
        "",
        "| n | rounds | lean SimPy rounds/s | DES rounds/s, timing only | ratio "
        "| DES rounds/s, random vectors | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {r['n']} | {r['rounds']} | {r['lean_rounds_per_s']:.0f} | "
            f"{r['des_count_timing_rounds_per_s']:.0f} | {r['des_vs_lean_timing']:.2f} | "
            f"{r['des_count_vectors_rounds_per_s']:.0f} | {r['des_vs_lean_vectors']:.2f} |"
        )
    md += [
        "",
        "Fast path (timing only, count rule) against a plain numpy implementation of the "
        "same order statistics (draw rounds x n shifted exponentials, take each row's "
        "(n - s)-th smallest; ``numpy_floor``), best of 3; peak memory (tracemalloc) over "
        "one rounds x n float64 matrix:",
        "",
        "| n | rounds | numpy (s) | fast path (s) | fast / numpy speed | peak / matrix |",
        "|---|---|---|---|---|---|",
    ]
    for r in floor_rows:
        md.append(
            f"| {r['n']} | {r['rounds']} | {r['numpy_s']:.3f} | {r['fast_s']:.3f} | "
            f"{r['fast_vs_numpy']:.2f} | {r['peak_over_matrix']:.2f} |"
        )
    md += [
        "",
        f"Scale: DES n={scale['n']}, {scale['rounds']} rounds, real kernels at "
        f"l={scale['l']}: {scale['wall_s']:.1f} s wall, peak RSS "
        f"{scale['peak_rss_bytes'] / 2**20:.0f} MiB.",
        f"Fast path n={fast_big['n']}, {fast_big['rounds']} rounds (timing only): "
        f"{fast_big['wall_s']:.2f} s.",
        "",
    ]
    (OUT / "bench_sim.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
