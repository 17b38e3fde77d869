"""Command-line polish (issue "Hardening", item 11): the sweep's headline table,
``python -m gcsim``, progress of ``gcsim check`` / ``gcsim report``, whole sentences in
``gcsim delays``, the point ids of ``gcsim validate`` and the Makefile's install levels."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gcsim.analysis.headline import headline_table
from gcsim.analysis.stability import check_code, count_sets
from gcsim.cli import _Bar, main, summary_sentences
from gcsim.codes import make_code
from gcsim.scenarios import expand
from gcsim.scenarios.schema import load_scenario_text

REPO = Path(__file__).resolve().parents[2]


def _summary() -> pd.DataFrame:
    rows = []
    for s in (1, 2):
        for rep in (0, 1):
            rows += [
                ("uncoded", "uncoded", s, rep, "ok", 0.100, ""),
                ("ignore-stragglers", "ignore-stragglers", s, rep, "ok", 0.050, ""),
                ("frc", "frc", s, rep, "ok" if s == 1 else "infeasible", 0.080, ""),
                ("grouped-gaussian", "grouped", s, rep, "ok", 0.070 + 0.02 * s + 0.002 * rep, ""),
            ]
    rows.append(("crc", "crc", 1, 0, "failed", float("nan"), ""))
    rows.append(("crc", "crc", 2, 0, "ok", 0.060, "runs at s=3"))
    df = pd.DataFrame(
        rows,
        columns=["scheme", "code", "code.s", "replicate", "status", "mean_round_time", "adjusted"],
    )
    df.loc[df["status"] == "infeasible", "mean_round_time"] = float("nan")
    df["s_requested"] = df["code.s"]
    return df


def test_headline_table_names_the_fastest_exact_scheme_per_s():
    text = headline_table(_summary())
    lines = text.splitlines()
    assert lines[0].startswith("mean round time (ms) over 2 replicates")
    assert re.split(r"\s+", lines[1]) == ["scheme", "s=1", "s=2"]
    rows = {re.split(r"\s{2,}", ln)[0]: re.split(r"\s{2,}", ln)[1:] for ln in lines[3:]}
    assert rows["uncoded"] == ["100.0", "100.0"]
    assert rows["ignore-stragglers (inexact)"] == ["50.0", "50.0"]  # marked ...
    assert rows["grouped-gaussian"] == ["91.0", "111.0"]  # mean over the replicates
    assert rows["frc"] == ["80.0", "-"]  # infeasible at s=2
    assert rows["crc"] == ["failed", "60.0*"]  # *: runs at another s
    # ... and never the winner, though it is the fastest
    assert rows["fastest exact"] == ["frc", "crc"]
    assert any(ln.startswith("(inexact):") for ln in lines)
    assert any(ln.startswith("*: the code runs at another s") for ln in lines)
    assert any(ln.startswith("-: infeasible") for ln in lines)
    assert headline_table(_summary().iloc[0:0]) == ""


def test_headline_table_facets_every_other_swept_factor():
    a = _summary().assign(**{"cluster.n": 12})
    b = _summary().assign(**{"cluster.n": 24})
    b["mean_round_time"] = b["mean_round_time"] * 2
    both = pd.concat([a, b], ignore_index=True)
    text = headline_table(both, factors=["code.s", "cluster.n"])
    blocks = text.split("\n\n")
    assert [bl.splitlines()[0] for bl in blocks] == ["at cluster.n=12:", "at cluster.n=24:"]
    # each block is the table of its own points, not a mean pooled over n
    assert blocks[0].split("\n", 1)[1] == headline_table(a, factors=["code.s"])
    assert blocks[1].split("\n", 1)[1] == headline_table(b, factors=["code.s"])
    # a sweep of another factor only: that factor goes across
    one = both[both["code.s"] == 1]
    assert "cluster.n=12" in headline_table(one, factors=["code.s", "cluster.n"]).splitlines()[1]


def test_headline_table_without_a_sweep_uses_the_requested_s():
    df = _summary().drop(columns=["code.s"])
    df = df[df["s_requested"] == 1]
    assert "s=1" in headline_table(df).splitlines()[1]


SCENARIO = """
[scenario]
name = "tiny"
rounds = 5
[cluster]
n = 6
[delays.compute]
model = "exponential"
rate = 1.0
[workload]
model = "random-vectors"
dimension = 8
[code]
s = 1
[[schemes]]
code = "uncoded"
[[schemes]]
code = "ignore-stragglers"
[[schemes]]
code = "frc"
[sweep]
"code.s" = [1, 2]
"""


def test_sweep_ends_with_the_headline_and_validate_lists_point_ids(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    for p in expand(load_scenario_text(SCENARIO)):
        assert f"  {p.point}  " in out
    argv = ["sweep", str(path), "--out", str(tmp_path / "r"), "--quiet", "--no-plots", "-j", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    tail = out[out.index("mean round time (ms)") :].splitlines()
    assert tail[1].split() == ["scheme", "s=1", "s=2"]
    winners = next(line for line in tail if line.startswith("fastest exact"))
    assert winners.split()[2:] == ["frc", "frc"]  # ignore-stragglers is faster, inexact
    assert any(line.startswith("ignore-stragglers (inexact)") for line in tail)


def test_python_dash_m_gcsim():
    proc = subprocess.run(
        [sys.executable, "-m", "gcsim", "codes"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "grouped" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "gcsim", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith("usage: gcsim")


def test_check_reports_progress_of_every_set():
    code = make_code("crc", n=8, s=2, rng=0)
    calls: list[tuple[int, int]] = []
    res = check_code(code, progress=lambda done, total: calls.append((done, total)))
    total = count_sets(8, 2)
    assert total == res.sets_checked == 1 + 8 + 28
    assert calls == [(k, total) for k in range(1, total + 1)]
    assert count_sets(48, 3, max_exhaustive=100, samples=7) == 7


def test_progress_bar_only_on_a_terminal(monkeypatch, capsys):
    assert main(["check", "frc", "--n", "6", "--s", "1"]) == 0  # stderr is not a tty
    assert capsys.readouterr().err == ""
    fake = io.StringIO()
    monkeypatch.setattr(fake, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys, "stderr", fake)
    with _Bar("gcsim check frc", "set", delay=0.0) as bar:
        for k in range(1, 4):
            bar(k, 3)
        assert bar._bar is not None and bar._bar.n == 3 and bar._bar.total == 3
    assert "gcsim check frc:" in fake.getvalue()
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)


def test_report_reports_progress_per_code():
    from gcsim.report import ReportCase, run_report

    calls: list[tuple[int, int]] = []
    cases = [ReportCase("frc", 6, 1, 1, {}), ReportCase("uncoded", 4, 0, 1, {})]
    run_report(cases, l=4, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 2), (2, 2)]


def test_summary_sentences_keeps_whole_sentences():
    doc = (
        "Each worker is *good* or *slow*; a slow worker takes ``factor`` times longer.\n"
        "Between rounds a good worker turns slow with probability ``p_slow``, e.g. 0.1, and\n"
        "a slow one recovers with probability ``p_recover``, independently across workers.\n"
        "Round 0 starts from the stationary distribution (see :class:`~gcsim.delays.X`).\n\n"
        "Second paragraph, never shown."
    )
    assert summary_sentences(doc, 60) == (
        "Each worker is *good* or *slow*; a slow worker takes `factor` times longer."
    )
    whole = summary_sentences(doc, 200)  # fits in 3 lines of 200: the whole paragraph
    assert whole.endswith("(see X).") and "e.g. 0.1" in whole and "Second" not in whole
    assert summary_sentences("See :func:`gcsim.fit.fit_trace`.", 80) == "See gcsim.fit.fit_trace."


def test_delays_descriptions_end_with_whole_sentences(capsys):
    assert main(["delays"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    blocks = re.split(r"\n(?=  \S)", out.split("\n\n")[1])  # one block per model
    assert len(blocks) >= 10
    for block in blocks:
        desc = block.split("parameters:")[0].rstrip()
        assert desc.endswith((".", ")", "`")), block  # a description never stops mid-way


def _recipe(makefile: str, target: str) -> tuple[str, str]:
    """(prerequisites, recipe) of a Makefile rule."""
    m = re.search(rf"^{re.escape(target)}:(.*)\n((?:\t.*\n)*)", makefile, re.M)
    assert m, target
    return m.group(1), m.group(2)


def test_make_demo_installs_the_runtime_only():
    mk = (REPO / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+)\s*:?=\s*(.*)$", mk, re.M))

    def stamp_of(target: str) -> str:
        deps, _ = _recipe(mk, target)
        (stamp,) = re.findall(r"\$\((\w+_STAMP)\)", deps)
        return stamp

    demo, test = stamp_of("demo"), stamp_of("test")
    assert demo != test and variables[demo] != variables[test]  # a stamp each
    _, demo_recipe = _recipe(mk, f"$({demo})")
    _, test_recipe = _recipe(mk, f"$({test})")
    assert re.search(r"pip install --quiet -e \.\s*$", demo_recipe, re.M)  # no extras
    assert "[dev]" not in demo_recipe and '-e ".[dev]"' in test_recipe
    for target in ("report", "bench"):
        assert stamp_of(target) == demo
    # figures train on a data set shipped in scikit-learn: the runtime plus [data] only
    data = stamp_of("figures")
    data_deps, data_recipe = _recipe(mk, f"$({data})")
    assert f"$({demo})" in data_deps
    assert '-e ".[data]"' in data_recipe and "[dev]" not in data_recipe
    for target in ("test-fast", "lint"):
        assert stamp_of(target) == test


@pytest.mark.parametrize("target", ["demo", "test"])
def test_readme_setup_matches_the_makefile(target):
    readme = (REPO / "README.md").read_text()
    setup = readme[readme.index("## Set-up") : readme.index("## Using it from Python")]
    assert f"make {target}" in setup
    assert "gcsim[dev]" in setup and "runtime" in setup
