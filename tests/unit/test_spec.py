"""RunSpec: validated once, carries the real gradient dimension; regressions of the
bugs the untyped spec dicts caused."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gcsim
from gcsim.cli import main
from gcsim.errors import InvalidInputError
from gcsim.live.memory import InMemoryTransport
from gcsim.live.server import serve
from gcsim.scenarios import expand, load_results, load_scenario
from gcsim.spec import RunSpec

TIMING = """
[scenario]
name = "timing"
rounds = 5
[cluster]
n = 6
[delays.compute]
model = "exponential"
rate = 2.0
[workload]
model = "none"
dimension = 400000
[code]
s = 1
m = 2
[[schemes]]
code = "grouped"
"""


def test_a_timing_only_scenario_uses_its_dimension_for_message_sizes(tmp_path):
    """Regression: workload.dimension of a timing-only scenario was accepted and ignored
    (messages sized for 1000 values: 32 kB per round recorded instead of 3.2 MB)."""
    path = tmp_path / "t.toml"
    path.write_text(TIMING)
    out = tmp_path / "res"
    assert main(["sweep", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    rec = load_results(out).records
    q = math.ceil(400000 / 2)
    np.testing.assert_array_equal(rec["bytes_received"], rec["n_responders"] * q * 8)
    assert rec["bytes_received"].min() >= 2 * q * 8


def test_a_timing_only_workload_takes_only_a_dimension(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(TIMING.replace("dimension = 400000", "dimension = 400000\nsamples = 3"))
    with pytest.raises(gcsim.GcsimError, match="takes only 'dimension'"):
        expand(load_scenario(path))


def test_the_real_dimension_of_a_logistic_workload_without_features():
    """Regression: the live launcher guessed dimension = 1000 for a logistic workload
    without ``features`` (the real one is 100), so compare calibrated encode and decode
    rates with the wrong message length."""
    point = {
        "scheme": "grouped",
        "code": "grouped",
        "n": 6,
        "s": 1,
        "m": 2,
        "options": {},
        "seed": 1,
        "replicate": 0,
        "rounds": 3,
        "engine": "auto",
        "policy": "cancel",
        "decode_rule": "decodable",
        "load_mode": "per-worker",
        "round_timeout": None,
        "failed_workers": [],
        "network": {},
        "costs": {},
        "delays": {"compute": {"model": "exponential", "rate": 1.0}, "comm": None},
        "workload": {"model": "logistic", "samples": 60},
    }
    spec = RunSpec.from_point(point)
    assert spec.dimension == 100 and spec.message_length == 50
    run = serve(spec, InMemoryTransport(spec))  # the live server, messages of length 50
    assert all(r["decoded"] for r in run.records)
    assert RunSpec.from_point(spec.to_point()).dimension == 100


def test_runspec_round_trips_and_is_frozen():
    code = gcsim.make_code("frc", n=6, s=1)
    spec = RunSpec.create(code, delays="exponential", iterations=3, seed=2)
    with pytest.raises(AttributeError):
        spec.rounds = 5  # type: ignore[misc]
    with pytest.raises(InvalidInputError, match="built by hand"):
        spec.to_point()
    with pytest.raises(InvalidInputError, match="contradicts the workload"):
        RunSpec.create(
            code, delays="exponential", iterations=3, seed=2, workload="logistic", dimension=7
        )
    with pytest.raises(InvalidInputError, match="iterations must be a positive integer"):
        RunSpec.create(code, delays="exponential", iterations=0, seed=2)
