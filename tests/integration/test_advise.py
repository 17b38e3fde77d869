"""gcsim advise end to end: the communication-heavy Ye–Abbe cluster (a grouped code with
d = 4, m = 2 wins, as its closed forms say), the recommendation's scenario file, the
figure, the CLI and a scenario file as input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import gcsim
from gcsim.advise.dists import HypoExponential
from gcsim.analysis.order_stats import expected_grouped_completion, expected_order_stat
from gcsim.cli import main
from gcsim.codes.grouped import group_sizes
from gcsim.scenarios import load_scenario, run_point

ROOT = Path(__file__).resolve().parents[2]
#: Ye–Abbe's simulation model: compute 1.6 + Exp(0.8) per partition, communication
#: 6 + Exp(0.1) per full message; a worker of load d with messages l/m answers after
#: d·C + X/m
COMPUTE = {"model": "shifted-exponential", "shift": 1.6, "rate": 0.8}
COMM = {"model": "shifted-exponential", "shift": 6.0, "rate": 0.1}
N = 12


def _law(d: int, m: int) -> HypoExponential:
    f = math.ceil(1000 / m) / 1000
    return HypoExponential(0.8 / d, 0.1 / f, 1.6 * d + 6.0 * f)


def _closed_forms() -> dict[tuple[str, int, int], float]:
    """Every exact configuration whose decode instant is an order statistic, by the
    closed forms alone (no advisor code): grouped MDS on equal groups (FRC is its
    m = 1 case) and the count rule n - s (uncoded, ye-abbe, cyclic codes)."""
    out: dict[tuple[str, int, int], float] = {}
    for m in range(1, N + 1):
        for s in range(0, N - m + 1):
            d = s + m
            sizes = group_sizes(N, d)  # a worker's load is its group's size
            if len(set(sizes)) == 1:
                key = ("grouped", sizes[0] - m, m)  # the effective s
                out[key] = expected_grouped_completion(_law(sizes[0], m), sizes, m)
            out[("count", s, m)] = expected_order_stat(_law(d, m), N - s, N)
    return out


@pytest.fixture(scope="module")
def ye_abbe():
    return gcsim.advise(N, delays=COMPUTE, comm_delays=COMM)


def test_the_closed_forms_say_grouped_with_d4_m2(ye_abbe):
    cf = _closed_forms()
    best = min(cf, key=cf.get)
    assert best == ("grouped", 2, 2)  # d = 4, m = 2: what the advisor must find
    a = ye_abbe
    win = a.best
    assert (win.scheme, win.s, win.m, win.d) == ("grouped", 2, 2, 4)
    assert win.method == "closed-form" and win.layout == "3×4"
    assert win.value == pytest.approx(cf[best], rel=0.02)
    # the runners-up are predicted within 2% of their closed forms too
    for r in a.ranked[:5]:
        if r.scheme in ("grouped", "frc") and r.policy == "cancel" and r.rule == "decodable":
            key = ("grouped", r.s, r.m)
            if key in cf:
                assert r.value == pytest.approx(cf[key], rel=0.02), key
    # the DES confirms the winner on other draws
    assert win.confirm is not None
    assert abs(win.confirm.mean - win.value) < 4 * win.confirm.mean_se


def test_the_table_and_why(ye_abbe):
    tab = ye_abbe.table()
    assert list(tab.columns[:12]) == [
        "rank",
        "scheme",
        "s",
        "m",
        "d",
        "generator",
        "layout",
        "rule",
        "policy",
        "value",
        "uncertainty",
        "method",
    ]
    assert {"bytes_per_round", "worst_cond"} <= set(tab.columns)
    assert tab.iloc[0]["bytes_per_round"] == N * 500 * 8  # messages of l/2, float64
    schemes = set(tab["scheme"])
    assert {"grouped", "frc", "uncoded"} <= schemes  # the best of each scheme too
    assert tab["value"].is_monotonic_increasing
    why = ye_abbe.why()
    assert "wins" in why["text"] and "communication" in why["text"]
    shares = ye_abbe.why_table().set_index("part")
    w = shares["winner"]
    assert w["compute"] + w["communication"] + w["network"] + w["decode"] == pytest.approx(
        w["total"], rel=1e-9
    )
    assert abs(w["total"] - ye_abbe.best.value) < 0.03 * ye_abbe.best.value
    md = ye_abbe.to_markdown()
    assert "## Ranked configurations" in md and "closed-form" in md


def test_the_recommendation_is_a_scenario_that_confirms_it(ye_abbe, tmp_path):
    path = ye_abbe.write_scenario(tmp_path / "rec.toml", rounds=300)
    resolved, _, points = load_scenario(path)
    assert resolved["cluster"]["n"] == N and len(points) >= 2
    first = points[0]
    assert (first.scheme, first.spec["code"], first.spec["s"], first.spec["m"]) == (
        "grouped-vandermonde-s2-m2",
        "grouped",
        2,
        2,
    )
    summary, _ = run_point(first.spec)  # the simulator on the recommended code
    assert summary["d"] == 4
    assert summary["mean_round_time"] == pytest.approx(ye_abbe.best.value, rel=0.05)


def test_the_pareto_figure_is_written_atomically(ye_abbe, tmp_path):
    data = ye_abbe.pareto_data()
    assert {"front_d", "front_bytes_per_round", "front_worst_cond", "winner"} <= set(data)
    assert data["winner"].sum() == 1 and data.loc[data["winner"], "front_d"].all()
    out = tmp_path / "pareto.png"
    ye_abbe.plot(out)
    assert out.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pareto.png"]  # no temp files


def test_cli_writes_everything_and_the_scenario_validates(tmp_path, capsys):
    out = tmp_path / "adv"
    rc = main(
        [
            "advise",
            "--n",
            "12",
            "--delays",
            "shifted-exponential:shift=1.6,rate=0.8",
            "--comm-delays",
            '{"model": "shifted-exponential", "shift": 6, "rate": 0.1}',
            "--confirm",
            "0",
            "--policies",
            "cancel",
            "--rounds",
            "200",
            "--no-figure",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "grouped" in text and "why:" in text
    names = {p.name for p in out.iterdir()}
    assert names == {"advice.md", "advice.json", "rows.csv", "recommendation.toml"}
    assert main(["validate", str(out / "recommendation.toml")]) == 0


def test_a_scenario_file_gives_the_cluster():
    a = gcsim.advise(
        scenario=ROOT / "scenarios" / "quickstart.toml",
        confirm=1,
        policies=["cancel"],
        rules=["decodable"],
        schemes=["grouped", "frc"],
        top=2,
        window=1.2,
    )
    assert a.cluster.n == 12 and a.cluster.dimension == 2000  # the workload's length
    assert math.isfinite(a.cluster.network.ingress)
    best = a.best
    # a finite ingress: the replay leaves contention out, the DES confirms the winner
    assert best.method == "DES" and best.confirm is not None
    assert np.isfinite(best.value)
