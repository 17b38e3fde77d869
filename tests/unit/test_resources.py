"""Absurd sizes are refused before anything large is allocated, with one clear line."""

from __future__ import annotations

import time

import pytest

import gcsim
from gcsim.cli import main
from gcsim.resources import ResourceError, estimate_run, memory_limit

SCENARIO = """
[scenario]
name = "big"
rounds = 10
[cluster]
n = 6
[delays.compute]
model = "exponential"
rate = 1.0
[workload]
model = "logistic"
samples = 120
features = 8
[code]
s = 1
[[schemes]]
code = "frc"
"""


TIMING = SCENARIO.replace('model = "logistic"\nsamples = 120\nfeatures = 8', 'model = "none"')
VECTORS = SCENARIO.replace(
    'model = "logistic"\nsamples = 120\nfeatures = 8', 'model = "random-vectors"'
)


def _run(tmp_path, capsys, *args, text=SCENARIO):
    path = tmp_path / "s.toml"
    path.write_text(text)
    t0 = time.perf_counter()
    rc = main(["validate", str(path), *args])
    err = capsys.readouterr().err
    return rc, err, time.perf_counter() - t0


@pytest.mark.parametrize(
    ("setting", "needle", "text"),
    [
        ("scenario.replicates=1000000", "expands to 1,000,000 points", SCENARIO),
        ("cluster.n=1000000000", "estimated peak memory", TIMING),
        ("scenario.rounds=1000000000", "estimated peak memory", SCENARIO),
        ("workload.samples=1000000000", "estimated peak memory", SCENARIO),
        ("workload.dimension=1000000000000", "estimated peak memory", VECTORS),
    ],
)
def test_absurd_sizes_are_refused_at_validation_in_one_line(
    tmp_path, capsys, setting, needle, text
):
    rc, err, wall = _run(tmp_path, capsys, "--set", setting, text=text)
    assert rc == 2, err
    assert needle in err and "limit" in err
    assert len(err.strip().splitlines()) == 1, err
    assert wall < 10  # answered from the estimate, not after allocating


def test_a_huge_code_is_refused_before_it_is_built():
    t0 = time.perf_counter()
    with pytest.raises(ResourceError, match="exceeds the limit"):
        gcsim.make_code("frc", n=1_000_000_000, s=1)
    assert time.perf_counter() - t0 < 5


def test_simulate_refuses_a_run_that_cannot_fit():
    code = gcsim.make_code("frc", n=6, s=1)
    with pytest.raises(ResourceError, match="estimated peak memory"):
        gcsim.simulate(code, delays="exponential", iterations=10**12, seed=0)


def test_the_memory_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("GCSIM_MEMORY_LIMIT", "1MiB")
    assert memory_limit() == 2**20
    est = estimate_run(n=100, d=2, m=1, rounds=100_000, dimension=10, fast=True, workload=None)
    with pytest.raises(ResourceError, match="GCSIM_MEMORY_LIMIT"):
        est.check("a run")
    monkeypatch.setenv("GCSIM_MEMORY_LIMIT", "lots")
    with pytest.raises(gcsim.GcsimError, match="must be a size"):
        memory_limit()


def test_a_long_run_is_warned_about(monkeypatch, capsys):
    monkeypatch.setenv("GCSIM_WARN_SECONDS", "0.001")
    est = estimate_run(n=100, d=2, m=1, rounds=1000, dimension=10, fast=False, workload=None)
    est.check("a run")
    assert "warning: a run: estimated run time" in capsys.readouterr().err
