"""Time to accuracy: the softmax workload, time to target and the loss bands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcsim.analysis.accuracy import loss_bands, target_summary, time_to_target
from gcsim.errors import InvalidInputError
from gcsim.workload import make_workload
from gcsim.workload.softmax import load_dataset


def _numeric_gradient(wl, W: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = np.empty_like(W)
    for i in range(W.size):
        d = np.zeros_like(W)
        d[i] = eps
        wl.set_model(W + d)
        a = wl.loss()
        wl.set_model(W - d)
        b = wl.loss()
        out[i] = (a - b) / (2 * eps)
    wl.set_model(W)
    return out


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(1, 7),
    classes=st.integers(2, 4),
    features=st.integers(1, 5),
    reg=st.sampled_from([0.0, 1e-3, 0.1]),
    seed=st.integers(0, 2**31),
)
def test_softmax_partials_sum_to_the_gradient_of_the_loss(k, classes, features, reg, seed):
    wl = make_workload(
        {
            "model": "softmax",
            "dataset": "synthetic",
            "samples": 40,
            "features": features,
            "classes": classes,
            "reg": reg,
        }
    )
    wl.setup(k, np.random.default_rng(seed))
    assert wl.dimension == (features + 1) * classes
    W = 0.3 * np.random.default_rng(seed + 1).standard_normal(wl.dimension)
    wl.set_model(W)
    parts = wl.partials()
    assert parts.shape == (k, wl.dimension)
    np.testing.assert_allclose(parts.sum(axis=0), _numeric_gradient(wl, W), atol=1e-6)
    # a worker computes the same partial from its payload (the live backend's path)
    for j in range(k):
        np.testing.assert_allclose(wl.partial(wl.payload(j), W), parts[j], atol=1e-12)


def test_softmax_on_digits_trains_and_is_seeded():
    pytest.importorskip("sklearn")
    X, y = load_dataset("digits")
    assert X.shape == (1797, 64) and set(np.unique(y)) == set(range(10))
    runs = []
    for _ in range(2):
        wl = make_workload({"model": "softmax", "dataset": "digits", "lr": 1.0})
        wl.setup(12, np.random.default_rng(3))
        start = wl.loss()
        for _ in range(30):
            wl.update(wl.partials().sum(axis=0))
        runs.append(wl.model.copy())
        assert wl.loss() < 0.5 * start and wl.accuracy() > 0.9
    np.testing.assert_array_equal(runs[0], runs[1])
    other = make_workload({"model": "softmax", "dataset": "digits", "samples": 100})
    other.setup(4, np.random.default_rng(4))
    assert other._N == 100  # a random subset of the rows


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"dataset": "synthetic", "classes": 1}, "classes must be >= 2"),
        ({"lr": -1.0}, "lr must be"),
        ({"samples": -3}, "samples must be"),
        ({"dataset": "synthetic", "samples": 3}, "fewer than the k = 12"),
    ],
)
def test_softmax_bad_parameters_are_one_line(params, words):
    with pytest.raises(InvalidInputError, match=words) as err:
        wl = make_workload({"model": "softmax", **params})
        wl.check(12)
    assert "\n" not in str(err.value)


def test_missing_scikit_learn_is_a_clear_error(monkeypatch):
    import builtins

    load_dataset.cache_clear()
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(InvalidInputError, match=r"pip install 'gcsim\[data\]'"):
        load_dataset("wine")
    load_dataset.cache_clear()


def _records(losses, ends):
    return pd.DataFrame({"round": range(len(losses)), "end": ends, "loss": losses})


def test_time_to_target_is_the_end_of_the_first_round_at_or_below_it():
    rec = _records([1.0, math.nan, 0.5, 0.2, 0.3, 0.1], [1.0, 2.0, 3.5, 4.0, 6.0, 7.0])
    assert time_to_target(rec, 0.2) == {"rounds_to_target": 4.0, "time_to_target": 4.0}
    assert time_to_target(rec, 0.5) == {"rounds_to_target": 3.0, "time_to_target": 3.5}
    never = time_to_target(rec, 0.05)
    assert math.isnan(never["time_to_target"]) and math.isnan(never["rounds_to_target"])
    assert time_to_target(rec, None) == {} and time_to_target(rec, 0.0) == {}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.01, 5.0), min_size=2, max_size=30),
    st.floats(0.0, 1.0),
)
def test_time_to_target_matches_a_direct_scan(losses, frac):
    ends = np.cumsum(np.linspace(0.5, 1.5, len(losses)))
    target = min(losses) + frac * (max(losses) - min(losses))
    got = time_to_target(_records(losses, ends), target)
    first = next(i for i, v in enumerate(losses) if v <= target)
    assert got == {"rounds_to_target": first + 1.0, "time_to_target": float(ends[first])}


def test_loss_bands_average_step_functions_with_a_t_interval():
    t1, v1 = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    t2, v2 = np.array([1.5, 2.5, 3.5]), np.array([5.0, 4.0, 3.0])
    band = loss_bands([(t1, v1), (t2, v2)], points=5)
    # the grid covers where both runs have a value: 1.5 .. 3.0
    np.testing.assert_allclose(band["time"], np.linspace(1.5, 3.0, 5))
    at = {1.5: (3.0, 5.0), 1.875: (3.0, 5.0), 2.25: (2.0, 5.0), 2.625: (2.0, 4.0), 3.0: (1.0, 4.0)}
    for i, t in enumerate(band["time"]):
        a, b = at[round(float(t), 3)]
        assert band["mean"][i] == pytest.approx((a + b) / 2)
        half = 12.706204736 * abs(a - b) / math.sqrt(2) / math.sqrt(2)
        assert band["hi"][i] - band["mean"][i] == pytest.approx(half, rel=1e-6)
    one = loss_bands([(t1, v1)], points=3)
    np.testing.assert_array_equal(one["lo"], one["mean"])
    assert loss_bands([], points=3)["k"] == 0


def test_target_summary_counts_the_replicates_that_reached_it():
    summ = pd.DataFrame(
        {
            "scheme": ["a", "a", "a", "b", "b"],
            "status": ["ok"] * 5,
            "time_to_target": [1.0, 2.0, math.nan, math.nan, math.nan],
        }
    )
    out = target_summary(summ).set_index("scheme")
    assert out.loc["a", "reached"] == 2 and out.loc["a", "replicates"] == 3
    assert out.loc["a", "mean"] == pytest.approx(1.5)
    assert out.loc["a", "hi"] - 1.5 == pytest.approx(12.706204736 * 0.5)
    assert out.loc["b", "reached"] == 0 and math.isnan(out.loc["b", "mean"])
