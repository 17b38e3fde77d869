"""No silent parameter changes, and paired tables.

* A code that runs at another s or d than requested says so: ``gcsim check``,
  ``gcsim validate`` (one line per scheme and sweep combination, and the point ids),
  the expanded points, ``summary.csv`` (``s_requested``/``s``, ``d_requested``/``d``)
  and the round-time figure (drawn at the s the code runs at, labelled).
* ``--set`` of a swept key replaces that sweep by the single value, and says so.
* ``gcsim table``: paired differences against a reference scheme, by round, with
  t-intervals; markdown, LaTeX and CSV that parse.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gcsim.analysis.effective import effective_params
from gcsim.analysis.tables import TABLE_COLUMNS, paired_table
from gcsim.cli import main
from gcsim.scenarios import load_results, load_scenario

REPO = Path(__file__).resolve().parents[2]

BASE = """
[scenario]
name = "eff"
seed = 11
rounds = {rounds}
replicates = 2

[cluster]
n = 12

[delays.compute]
{compute}

[workload]
model = "none"
dimension = 64

[code]
s = 1
m = 2

[[schemes]]
code = "uncoded"

[[schemes]]
code = "frc"

[[schemes]]
code = "grouped"

[sweep]
"code.s" = [1, 3]
"""

CONSTANT = 'model = "constant"\nvalue = 0.01'
RANDOM = 'model = "shifted-exponential"\nshift = 0.01\nrate = 200.0'


def write(tmp_path: Path, text: str, name: str = "sc.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def sweep(tmp_path: Path, compute: str, rounds: int = 30, *sets: str) -> Path:
    path = write(tmp_path, BASE.format(rounds=rounds, compute=compute))
    out = tmp_path / "out"
    args = ["sweep", str(path), "--out", str(out), "-j", "1", "-q", "--no-plots"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def constant_results(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("constant"), CONSTANT, 20)


@pytest.fixture(scope="module")
def random_results(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("random"), RANDOM, 40)


# ---------------------------------------------------------------------- effective (s, d)
def test_effective_params_says_what_grouped_runs_at():
    eff = effective_params("grouped", 12, 3, 2)
    assert (eff.s_requested, eff.s, eff.d_requested, eff.d) == (3, 4, 5, 6)
    assert eff.changed and eff.exact_at == (10, 15)
    line = eff.describe()
    assert line.startswith("grouped at n=12, s=3, m=2 runs at s=4, d=6: d=5 does not divide")
    # the load grows with n although s is met: also said
    assert (
        effective_params("grouped", 11, 3, 2)
        .describe()
        .startswith("grouped at n=11, s=3, m=2 runs at s=3, d=6")
    )
    for args in [("frc", 12, 2, 1), ("grouped", 12, 2, 2), ("ye-abbe", 12, 3, 2)]:
        eff = effective_params(*args)
        assert not eff.changed and eff.describe() == "" and eff.d_requested == eff.d


def test_check_says_when_the_code_runs_at_other_parameters(capsys):
    assert main(["check", "grouped", "--n", "12", "--s", "3", "--m", "2"]) == 0
    out = capsys.readouterr().out
    notes = [ln for ln in out.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1
    assert "grouped at n=12, s=3, m=2 runs at s=4, d=6: d=5 does not divide n=12" in notes[0]
    assert main(["check", "frc", "--n", "12", "--s", "2"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_validate_lists_adjusted_points_and_every_point_id(capsys):
    path = REPO / "scenarios" / "quickstart.toml"
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "42 to run, 0 infeasible; 2 run at another s or d than requested" in first
    other = [ln for ln in out.splitlines() if "other parameters:" in ln]
    assert len(other) == 1  # the two replicates share one line
    assert "grouped-gaussian at code.s=3: grouped at n=12, s=3, m=2 runs at s=4, d=6" in other[0]
    assert other[0].endswith("points 0040, 0041")
    _, _, points = load_scenario(path)
    for p in points:
        assert p.point in out
    assert re.search(r"0040-grouped-gaussian-r0-\w+ +code\.s=3;  n=12 s=4 \[3\] m=2 d=6 \[5\]", out)


def test_points_carry_requested_and_effective_parameters():
    _, _, points = load_scenario(REPO / "scenarios" / "quickstart.toml")
    for p in points:
        assert p.s is not None and p.d is not None and p.d_requested is not None
        row = p.as_dict()
        assert {"s_requested", "s", "d_requested", "d", "adjusted"} <= set(row)
        if p.code == "grouped" and p.s_requested == 3:
            assert (p.s, p.d, p.d_requested) == (4, 6, 5) and "runs at s=4" in p.adjusted
        else:
            assert p.s == p.s_requested and p.d == p.d_requested and p.adjusted == ""


def test_summary_records_requested_and_effective_s_and_d(constant_results):
    summary = pd.read_csv(constant_results / "summary.csv")
    for col in ("s_requested", "s", "d_requested", "d", "adjusted"):
        assert col in summary.columns
    g3 = summary[(summary["scheme"] == "grouped") & (summary["code.s"] == 3)]
    assert len(g3) == 2
    assert (g3["s_requested"] == 3).all() and (g3["s"] == 4).all()
    assert (g3["d_requested"] == 5).all() and (g3["d"] == 6).all()
    assert g3["adjusted"].str.contains("runs at s=4, d=6").all()
    rest = summary.drop(g3.index)
    assert (rest["s"] == rest["s_requested"]).all() and (rest["d"] == rest["d_requested"]).all()
    assert rest["adjusted"].isna().all()


def test_round_time_figure_places_points_at_the_effective_s(constant_results):
    pytest.importorskip("matplotlib")
    from gcsim import plots

    data = plots.round_time_vs_s_data(load_results(constant_results, records=False))
    grouped = data[data["scheme"] == "grouped"].set_index("s")
    assert sorted(grouped.index) == [1, 4]
    assert grouped.loc[4, "s_requested"] == "3" and grouped.loc[1, "s_requested"] == "1"
    ax = plots.plot_round_time_vs_s(data)
    texts = [t.get_text() for t in ax.texts]
    assert "asked s=3" in texts


# ---------------------------------------------------------------------- --set of a swept key
def test_set_of_a_swept_key_replaces_the_sweep_and_says_so(tmp_path, capsys):
    path = write(tmp_path, BASE.format(rounds=5, compute=CONSTANT))
    assert main(["validate", str(path), "--set", "code.s=3"]) == 0
    cap = capsys.readouterr()
    assert "6 point(s)" in cap.out  # 1 value x 3 schemes x 2 replicates
    assert "gcsim: note: --set code.s=3: the scenario sweeps code.s over [1, 3]" in cap.err
    assert "single value 3" in cap.err
    notes: list[str] = []
    resolved, text, points = load_scenario(path, ["code.s=3"], notes=notes)
    assert resolved["sweep"]["factors"] == {"code.s": [3]}
    assert {p.factors["code.s"] for p in points} == {3}
    assert {p.s_requested for p in points if p.code != "uncoded"} == {3}
    assert len(notes) == 1 and "# code.s=3" in text
    # README's own example line: both overrides take effect
    resolved, _, points = load_scenario(path, ["cluster.n=24", "code.s=3"])
    assert {(p.n, p.s_requested) for p in points if p.code == "frc"} == {(24, 3)}
    # a later explicit sweep wins, in command-line order
    resolved, _, _ = load_scenario(path, ["code.s=3", 'sweep."code.s"=[1, 2]'])
    assert resolved["sweep"]["factors"] == {"code.s": [1, 2]}


def test_set_of_a_swept_key_with_an_array_is_refused(tmp_path, capsys):
    path = write(tmp_path, BASE.format(rounds=5, compute=CONSTANT))
    assert main(["validate", str(path), "--set", "code.s=[1, 2]"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the scenario sweeps code.s" in err
    assert 'sweep."code.s"=[...]' in err


def test_set_of_a_scheme_key_swept_by_label(tmp_path):
    text = BASE.format(rounds=5, compute=CONSTANT).replace(
        '"code.s" = [1, 3]', '"schemes.frc.s" = [1, 2]'
    )
    path = write(tmp_path, text)
    notes: list[str] = []
    resolved, _, points = load_scenario(path, ["schemes.frc.s=2"], notes=notes)
    assert resolved["sweep"]["factors"] == {"schemes.frc.s": [2]}
    assert {p.s_requested for p in points if p.code == "frc"} == {2}
    assert notes and "schemes.frc.s" in notes[0]


def test_set_of_a_zipped_key_fixes_it_on_every_row(tmp_path):
    text = BASE.format(rounds=5, compute=RANDOM).replace(
        '"code.s" = [1, 3]',
        '"code.s" = [1]\n\n[[sweep.zip]]\n"delays.compute.shift" = [0.01, 0.02, 0.04]\n'
        '"delays.compute.rate" = [100.0, 50.0, 25.0]\n\n'
        '[[sweep.zip]]\n"workload.dimension" = [8, 16]',
    )
    path = write(tmp_path, text)
    notes: list[str] = []
    resolved, _, points = load_scenario(
        path, ["delays.compute.shift=0.03", "workload.dimension=32"], notes=notes
    )
    z0, z1 = resolved["sweep"]["zip"]
    assert z0 == {"delays.compute.shift": [0.03] * 3, "delays.compute.rate": [100.0, 50.0, 25.0]}
    assert z1 == {"workload.dimension": [32]}  # a zip of one key collapses to one row
    assert {p.spec["delays"]["compute"]["shift"] for p in points} == {0.03}
    assert {p.spec["workload"]["dimension"] for p in points} == {32}
    assert len(points) == 3 * 3 * 2
    assert len(notes) == 2 and "delays.compute.rate still vary" in notes[0]


# ---------------------------------------------------------------------- gcsim table
def test_table_of_a_known_constant_difference(constant_results):
    res = load_results(constant_results)
    table = paired_table(res, vs="uncoded", by=["s"])
    d = table.data
    assert list(d.columns) == ["code.s", *TABLE_COLUMNS]
    frc = d[d["scheme"] == "frc"].set_index("code.s")
    # constant delays, per-worker load: frc at s takes (s + 1) x 10 ms, uncoded 10 ms
    for s in (1, 3):
        assert frc.loc[s, "diff"] == pytest.approx(0.01 * s)
        assert frc.loc[s, "ci_low"] == pytest.approx(0.01 * s)
        assert frc.loc[s, "ci_high"] == pytest.approx(0.01 * s)
        assert frc.loc[s, "rel_diff"] == pytest.approx(s)
        assert frc.loc[s, "pairs"] == 2 * 20
    grouped = d[d["scheme"] == "grouped"].set_index("code.s")
    assert grouped.loc[3, "s"] == "4" and grouped.loc[3, "s_requested"] == "3"
    assert grouped.loc[3, "diff"] == pytest.approx(0.05)  # d = 6
    ref = d[d["reference"]]
    assert list(ref["code.s"]) == [1, 3] and ref["diff"].isna().all()
    assert "paired by round" in table.notes[0]


def test_table_matches_a_direct_paired_computation(random_results):
    res = load_results(random_results)
    table = paired_table(res, vs="frc", by=["code.s"])
    rec = res.records
    keys = ["code.s", "replicate", "round"]
    a = rec[rec["scheme"] == "grouped"][[*keys, "duration"]]
    b = rec[rec["scheme"] == "frc"][[*keys, "duration"]]
    pairs = a.merge(b, on=keys, suffixes=("", "_ref"))
    for s, g in pairs.groupby("code.s"):
        diff = (g["duration"] - g["duration_ref"]).to_numpy()
        k = len(diff)
        half = stats.t.ppf(0.975, k - 1) * diff.std(ddof=1) / math.sqrt(k)
        row = table.data[(table.data["scheme"] == "grouped") & (table.data["code.s"] == s)]
        assert len(row) == 1
        row = row.iloc[0]
        assert row["pairs"] == k == 2 * 40
        assert row["diff"] == pytest.approx(diff.mean(), rel=1e-12)
        assert row["ci_low"] == pytest.approx(diff.mean() - half, rel=1e-9)
        assert row["ci_high"] == pytest.approx(diff.mean() + half, rel=1e-9)
        assert row["value"] == pytest.approx(g["duration"].mean())
        assert row["rel_diff"] == pytest.approx(diff.mean() / g["duration_ref"].mean())
    # the paired interval is narrower than an unpaired one would be (common random numbers)
    one = pairs[pairs["code.s"] == 1]
    paired_sd = (one["duration"] - one["duration_ref"]).std()
    unpaired_sd = math.sqrt(one["duration"].var() + one["duration_ref"].var())
    assert paired_sd < unpaired_sd


def test_table_quantiles_use_a_paired_bootstrap(random_results):
    res = load_results(random_results)
    table = paired_table(res, vs="frc", by=["s"], stat="p95", resamples=500)
    row = table.data[(table.data["scheme"] == "uncoded") & (table.data["code.s"] == 1)].iloc[0]
    rec = res.records
    x = rec[(rec["scheme"] == "uncoded") & (rec["code.s"] == 1)]["duration"].to_numpy()
    y = rec[(rec["scheme"] == "frc") & (rec["code.s"] == 1)]["duration"].to_numpy()
    assert row["diff"] == pytest.approx(np.percentile(x, 95) - np.percentile(y, 95))
    assert row["ci_low"] <= row["diff"] <= row["ci_high"]
    assert "bootstrap" in table.notes[0]
    again = paired_table(res, vs="frc", by=["s"], stat="p95", resamples=500)
    pd.testing.assert_frame_equal(table.data, again.data)  # seeded: reproducible


def test_table_pools_what_by_does_not_name(random_results):
    res = load_results(random_results)
    table = paired_table(res, vs="frc")
    assert set(table.data["scheme"]) == {"uncoded", "frc", "grouped"}
    assert (table.data.loc[~table.data["reference"], "pairs"] == 2 * 2 * 40).all()
    assert any("pooled in each row: code.s, 2 replicates" in n for n in table.notes)


def _md_rows(text: str) -> list[list[str]]:
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in rows]


def test_table_formats_parse(constant_results):
    table = paired_table(load_results(constant_results), vs="uncoded", by=["s"])
    n = len(table.data)
    # markdown: a header, a separator and one row per table row, all as wide
    rows = _md_rows(table.to_markdown())
    assert len(rows) == n + 2 and len({len(r) for r in rows}) == 1
    assert rows[0][:2] == ["s", "scheme"] and all(set(c) <= set("-:") for c in rows[1])
    frc3 = next(r for r in rows[2:] if r[0] == "3" and r[1] == "frc")
    assert frc3[rows[0].index("Δ vs uncoded (ms)")] == "+30.00"
    assert "4*" in [r[2] for r in rows[2:] if r[1] == "grouped"]
    assert "paired by round" in table.to_markdown()
    # LaTeX: one tabular, header + rows with the same number of cells, escaped text
    tex = table.to_latex()
    body = tex[tex.index("\\begin{tabular}") : tex.index("\\end{tabular}")]
    lines = [ln for ln in body.splitlines() if ln.endswith("\\\\")]
    assert len(lines) == n + 1
    assert {ln.count(" & ") for ln in lines} == {len(rows[0]) - 1}
    assert "\\toprule" in body and "\\bottomrule" in tex and "$\\Delta$" in lines[0]
    assert all(ln.startswith("%") for ln in tex[: tex.index("\\begin")].splitlines())
    assert "95\\% CI" in lines[0] and "%" not in lines[0].replace("\\%", "")
    # CSV: pandas reads back the data
    back = pd.read_csv(io.StringIO(table.to_csv()))
    assert list(back.columns) == list(table.data.columns)
    np.testing.assert_allclose(back["diff"], table.data["diff"].astype(float))


def test_table_command(constant_results, tmp_path, capsys):
    folder = str(constant_results)
    assert main(["table", folder, "--vs", "uncoded", "--by", "s", "--format", "csv"]) == 0
    cap = capsys.readouterr()
    df = pd.read_csv(io.StringIO(cap.out))
    assert len(df) == 6 and "paired by round" in cap.err
    assert main(["table", folder, "--vs", "frc", "--format", "md", "--by", "code.s"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| s | scheme |") and "frc (reference)" in out
    target = tmp_path / "t.tex"
    assert main(["table", folder, "--vs", "frc", "--format", "latex", "--out", str(target)]) == 0
    assert "\\begin{tabular}" in target.read_text(encoding="utf-8")
    for argv, fragment in [
        (["--vs", "frcc"], "no such scheme (did you mean 'frc'?)"),
        (["--vs", "frc", "--by", "cluster.policy"], "not a swept key"),
        (["--vs", "frc", "--level", "1.5"], "level must be in (0, 1)"),
    ]:
        assert main(["table", folder, *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("gcsim: error:") and fragment in err and err.count("\n") == 1
    assert main(["table", str(tmp_path), "--vs", "frc"]) == 2
    assert "not a gcsim results folder" in capsys.readouterr().err
