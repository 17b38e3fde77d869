"""The shipped scenarios (scenarios/*.toml): every file validates, and a reduced version
of each (3 rounds, one replicate, a smaller sweep) runs end to end through the CLI into a
temporary folder with every scheme it names. Also keeps docs/scenarios.md in step with
the schema and the delay-model registry, and the synthetic trace reproducible."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gcsim import list_delays
from gcsim.cli import main
from gcsim.scenarios import load_scenario
from gcsim.scenarios.schema import schema_markdown

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))
IDS = [p.stem for p in SCENARIOS]

#: Extra --set overrides per scenario for the reduced run (on top of rounds=3,
#: replicates=1): the sweep is replaced by a smaller one (an inline table, since a swept
#: key contains dots and cannot be addressed one at a time), a large data set by a
#: smaller one.
REDUCED: dict[str, list[str]] = {
    "quickstart": ['sweep={"code.s" = [2]}'],
    "paper-comparison": ['sweep={"code.s" = [2]}'],
    "stability": ['sweep={"cluster.n" = [6, 30], "workload.dtype" = ["float64", "float32"]}'],
    "tradeoff": ['sweep={"code.s" = [2]}'],
    "heavy-tail": ['sweep={"code.s" = [2]}'],
    "trace-replay": ['sweep={"code.s" = [2]}'],
    "persistent": [],  # the sweep is the policy comparison itself: 2 values
    "live-natural": ["workload.samples=6000"],  # a 120 000 x 250 data set per point
}
COMMON = ["--set", "scenario.rounds=3", "--set", "scenario.replicates=1"]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    # relative paths in scenarios (the trace file) are resolved against the working dir
    monkeypatch.chdir(REPO)


def test_the_shipped_scenarios_are_there():
    names = set(IDS)
    for expected in (
        "quickstart",
        "paper-comparison",
        "stability",
        "tradeoff",
        "heavy-tail",
        "persistent",
        "trace-replay",
    ):
        assert expected in names, f"scenarios/{expected}.toml is missing"
    assert (REPO / "scenarios" / "traces" / "ec2-like.csv").is_file()


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_scenario_validates(path, capsys):
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid;" in out


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_scenario_says_what_it_shows(path):
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("#") and len(first) > 20, f"{path.name}: start with what it shows"


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_reduced_scenario_runs(path, tmp_path):
    extra = [a for s in REDUCED.get(path.stem, []) for a in ("--set", s)]
    sets = [a for a in COMMON + extra if a != "--set"]
    resolved, _, points = load_scenario(path, sets)
    labels = {s["label"] for s in resolved["schemes"]}
    runnable = [p for p in points if p.status != "infeasible"]
    assert runnable and len(points) <= 40, f"{path.name}: reduce the sweep in REDUCED"

    out = tmp_path / path.stem
    rc = main(
        [
            "sweep",
            str(path),
            "--out",
            str(out),
            "--jobs",
            "1",
            "--quiet",
            "--no-plots",
            *COMMON,
            *extra,
        ]
    )
    assert rc == 0
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["scheme"]) == labels
    assert not (summary["status"] == "failed").any(), summary.loc[
        summary["status"] == "failed", ["point", "error"]
    ].to_string()
    ok = summary[summary["status"] == "ok"]
    assert len(ok) == len(runnable)
    assert (ok["rounds"] == 3).all()
    assert np.isfinite(ok["mean_round_time"]).all() and (ok["mean_round_time"] > 0).all()
    assert (out / "manifest.json").is_file() and (out / "resolved.json").is_file()


def test_stability_scenario_sweeps_dtype_and_n():
    resolved, _, points = load_scenario(REPO / "scenarios" / "stability.toml")
    assert {p.dtype for p in points} == {"float64", "float32"}
    ns = {p.n for p in points}
    assert min(ns) <= 6 and max(ns) >= 120
    assert resolved["workload"]["model"] == "random-vectors"


def test_persistent_scenario_compares_the_policies():
    resolved, _, points = load_scenario(REPO / "scenarios" / "persistent.toml")
    assert resolved["delays"]["compute"]["model"] == "persistent"
    assert {p.spec["policy"] for p in points} == {"cancel", "non-preemptive"}


def test_paper_comparison_has_every_scheme_and_a_finite_network():
    resolved, _, points = load_scenario(REPO / "scenarios" / "paper-comparison.toml")
    codes = {s["code"] for s in resolved["schemes"]}
    assert codes == {
        "uncoded",
        "ignore-stragglers",
        "frc",
        "crc",
        "cyclic-mds",
        "ye-abbe",
        "grouped",
    }
    grouped = next(s for s in resolved["schemes"] if s["code"] == "grouped")
    assert grouped["options"].get("draws", 1) > 1
    assert np.isfinite(resolved["cluster"]["network"]["ingress"])
    assert all(p.m > 1 for p in points if p.code in ("grouped", "ye-abbe"))


def test_docs_schema_tables_match_the_schema():
    doc = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- BEGIN SCHEMA[^>]*-->\n(.*?)<!-- END SCHEMA -->", doc, re.S)
    assert m, "docs/scenarios.md lost its schema markers"
    assert m.group(1).strip() == schema_markdown().strip(), (
        'docs/scenarios.md is out of date: paste the output of python3 -c "from '
        'gcsim.scenarios.schema import schema_markdown; print(schema_markdown())" between '
        "the BEGIN/END SCHEMA markers"
    )


def test_docs_list_every_delay_model():
    doc = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
    missing = [name for name in list_delays() if f"| `{name}` |" not in doc]
    assert not missing, f"docs/scenarios.md: delay models not documented: {missing}"


def test_synthetic_trace_is_reproducible(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_trace", REPO / "scenarios" / "traces" / "make_trace.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shipped = np.loadtxt(
        REPO / "scenarios" / "traces" / "ec2-like.csv", delimiter=",", comments="#", skiprows=3
    )
    assert shipped.shape == (50, 12)
    np.testing.assert_allclose(shipped, mod.make_trace(), atol=5e-7)
    assert (shipped > 0).all()
