"""Bad simulator input gives a clear error naming the parameter."""

from __future__ import annotations

import math

import pytest

import gcsim
from gcsim.sim import CostModel, Network, simulate

CODE = gcsim.make_code("frc", n=6, s=1)
SEXP = {"model": "shifted-exponential", "shift": 1.0, "rate": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"latency": -1.0}, "network.latency must be >= 0; got -1.0"),
        ({"bandwidth": 0}, "network.bandwidth must be > 0; got 0"),
        ({"ingress": -5e6}, "network.ingress must be > 0"),
        ({"broadcast": "fast"}, "network.broadcast must be a number"),
        ({"bytes_per_value": 3}, "bytes_per_value must be 2, 4, 8 or 16; got 3"),
    ],
)
def test_network_parameters(kwargs, fragment):
    with pytest.raises(gcsim.InvalidInputError) as exc:
        Network(**kwargs)
    assert fragment in str(exc.value)


def test_cost_parameters():
    with pytest.raises(gcsim.InvalidInputError, match="costs.decode_rate must be > 0; got -1"):
        CostModel(decode_rate=-1)
    assert CostModel().zero and not CostModel(update_rate=1e9).zero
    assert math.isinf(CostModel().encode_rate)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"delays": {"model": "paretto", "alpha": 2}}, "did you mean 'pareto'"),
        ({"delays": {"model": "pareto", "alpha": -2}}, "alpha"),
        ({"delays": {"model": "exponential", "rate": 0}}, "rate"),
        ({"delays": SEXP, "iterations": 0}, "iterations must be a positive integer; got 0"),
        ({"delays": SEXP, "policy": "preempt"}, "policy must be one of cancel, non-preemptive"),
        ({"delays": SEXP, "decode_rule": "fast"}, "decode_rule must be one of decodable, count"),
        ({"delays": SEXP, "engine": "gpu"}, "engine must be one of auto, des, fast"),
        ({"delays": SEXP, "workload": "mnist"}, "unknown workload 'mnist'"),
        ({"delays": SEXP, "workload": {"model": "logistic", "lr": -1}}, "lr must be"),
        ({"delays": SEXP, "failed_workers": [7]}, "failed_workers must be in 0..5; got [7]"),
        ({"delays": SEXP, "round_timeout": 0}, "round_timeout must be > 0"),
        ({"delays": SEXP, "load_mode": "per-task"}, "load_mode must be one of"),
    ],
)
def test_simulate_arguments(kwargs, fragment):
    kwargs.setdefault("iterations", 3)
    with pytest.raises(gcsim.InvalidInputError) as exc:
        simulate(CODE, seed=0, **kwargs)
    assert fragment in str(exc.value), str(exc.value)


def test_not_a_code():
    with pytest.raises(gcsim.InvalidInputError, match="code must be a GradientCode"):
        simulate("frc", delays=SEXP, iterations=3, seed=0)


def test_records_have_the_documented_columns():
    from gcsim.sim import ROUND_COLUMNS, WORKER_COLUMNS

    res = simulate(
        CODE,
        delays=SEXP,
        iterations=4,
        seed=0,
        workload="random-vectors",
        record_workers=True,
        engine="des",
    )
    assert list(res.records.columns) == list(ROUND_COLUMNS)
    assert list(res.workers.columns) == list(WORKER_COLUMNS)
    assert len(res.workers) == 4 * CODE.n
    summary = res.summary()
    assert summary["rounds"] == 4 and summary["failed_rounds"] == 0
    assert summary["worst_rel_error"] < 1e-12
