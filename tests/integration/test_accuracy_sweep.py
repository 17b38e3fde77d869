"""[accuracy]: a sweep reports the time to a target loss and draws time_to_accuracy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gcsim.scenarios import load_results, load_scenario, run_sweep
from gcsim.scenarios.schema import ScenarioError

TEXT = """
[scenario]
name = "acc"
seed = 11
rounds = 60
replicates = 3
[cluster]
n = 6
[delays.compute]
model = "exponential"
rate = 100.0
[delays.comm]
model = "constant"
value = 0.001
[workload]
{workload}
[accuracy]
target_loss = {target}
[code]
s = 1
[[schemes]]
code = "frc"
[[schemes]]
code = "ignore-stragglers"
[output]
plot_formats = ["png"]
"""


SOFTMAX = (
    'model = "softmax"\ndataset = "synthetic"\nsamples = 300\nfeatures = 6\nclasses = 3\nlr = 1.0'
)
LOGISTIC = 'model = "logistic"\nsamples = 240\nfeatures = 30\nlr = 4.0'


def _sweep(tmp_path: Path, target: float, workload: str = SOFTMAX) -> object:
    path = tmp_path / "acc.toml"
    path.write_text(TEXT.format(target=target, workload=workload), encoding="utf-8")
    resolved, text, _ = load_scenario(path)
    out = tmp_path / "out"
    run_sweep(resolved, text, folder=out, jobs=1, progress=False)
    return load_results(out)


@pytest.mark.slow
@pytest.mark.parametrize(("workload", "target"), [(SOFTMAX, 0.86), (LOGISTIC, 0.6)])
def test_time_to_target_is_in_the_summary_and_the_figure(
    tmp_path: Path, workload: str, target: float
) -> None:
    res = _sweep(tmp_path, target, workload)
    summ = res.summary
    assert (summ["status"] == "ok").all()
    for row in summ.itertuples():
        rec = res.records[res.records["point"] == row.point]
        loss = rec["loss"].to_numpy(float)
        first = int(np.flatnonzero(loss <= target)[0])
        assert row.rounds_to_target == first + 1
        assert row.time_to_target == pytest.approx(float(rec["end"].iloc[first]))
    readme = (res.folder / "figures" / "README.md").read_text(encoding="utf-8")
    assert "| time_to_accuracy |" in readme and "bands over 3 replicate(s)" in readme
    assert (res.folder / "figures" / "time_to_accuracy.png").is_file()


@pytest.mark.slow
def test_an_unreached_target_is_nan_not_a_number(tmp_path: Path) -> None:
    res = _sweep(tmp_path, 1e-6)
    assert res.summary["time_to_target"].map(math.isnan).all()
    assert (res.summary["status"] == "ok").all()  # the run itself is fine


def test_bad_accuracy_tables_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "acc.toml"
    for bad, words in (("0", "accuracy.target_loss"), ("-1.0", "accuracy.target_loss")):
        path.write_text(TEXT.format(target=bad, workload=SOFTMAX), encoding="utf-8")
        with pytest.raises(ScenarioError, match=words) as err:
            load_scenario(path)
        assert "\n" not in str(err.value)
    path.write_text(
        TEXT.format(target=0.5, workload='model = "none"\ndimension = 10'), encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match="trains no model") as err:
        load_scenario(path)
    assert "\n" not in str(err.value)
    text = TEXT.format(target=0.5, workload=SOFTMAX)
    path.write_text(text.replace("[accuracy]", "[accuracy]\nloss = 1"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="accuracy.loss: unknown key"):
        load_scenario(path)


@pytest.mark.slow
def test_other_swept_factors_are_not_pooled_into_the_bands(tmp_path: Path) -> None:
    path = tmp_path / "acc.toml"
    text = TEXT.format(target=0.86, workload=SOFTMAX)
    text = text.replace("replicates = 3", "replicates = 2").replace("rounds = 60", "rounds = 20")
    path.write_text(text + '\n[sweep]\n"delays.compute.rate" = [100.0, 200.0]\n')
    resolved, text, _ = load_scenario(path)
    run_sweep(resolved, text, folder=tmp_path / "out", jobs=1, progress=False)
    readme = (tmp_path / "out" / "figures" / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("| time_to_accuracy |"))
    # two replicates at one rate, not four pooled over both rates
    assert "bands over 2 replicate(s)" in line and "the first of 2 combinations" in line
