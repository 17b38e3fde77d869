"""Scenario files: validation (including mutated files), expansion, sweeps that are
deterministic whatever --jobs is, and the kill-and-resume guarantee."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcsim.cli import main
from gcsim.scenarios import expand, load_results, load_scenario
from gcsim.scenarios.schema import load_scenario_text
from gcsim.scenarios.store import WALL_CLOCK_COLUMNS

REPO = Path(__file__).resolve().parents[2]

SMALL = """
[scenario]
name = "small"
seed = 7
rounds = 25
replicates = 2

[cluster]
n = 6

[delays.compute]
model = "shifted-exponential"
shift = 1.0
rate = 2.0

[workload]
model = "logistic"
samples = 120
features = 8

[code]
s = 1
m = 2

[[schemes]]
code = "frc"

[[schemes]]
code = "grouped"

[[schemes]]
code = "ye-abbe"

[sweep]
"code.s" = [1, 2]
"""


def write(tmp_path: Path, text: str, name: str = "sc.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_validate_reports_points_and_infeasible_ones(tmp_path, capsys):
    path = write(tmp_path, SMALL)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    # 2 values of s x 3 schemes x 2 replicates = 12 points; frc at s=1: 2 | 6 ok;
    # frc at s=2: 3 | 6 ok; all feasible
    assert "12 point(s): 12 to run, 0 infeasible" in out
    assert main(["validate", str(path), "--set", "cluster.n=7"]) == 0
    out = capsys.readouterr().out
    assert "infeasible: frc at code.s=1" in out and "(s+1) to divide n" in out


def test_sweep_expansion_product_zip_and_replicates():
    text = SMALL.replace(
        '"code.s" = [1, 2]',
        '"code.s" = [1, 2]\n"cluster.n" = [6, 12]\n'
        '[[sweep.zip]]\n"delays.compute.rate" = [1.0, 2.0, 4.0]\n'
        '"delays.compute.shift" = [0.5, 1.0, 2.0]',
    )
    resolved = load_scenario_text(text)
    pts = expand(resolved)
    assert len(pts) == 2 * 2 * 3 * 3 * 2  # s x n x zip x schemes x replicates
    combos = {(p.factors["delays.compute.rate"], p.factors["delays.compute.shift"]) for p in pts}
    assert combos == {(1.0, 0.5), (2.0, 1.0), (4.0, 2.0)}  # zipped, not crossed
    assert len({p.point for p in pts}) == len(pts)
    assert [p.index for p in pts] == list(range(len(pts)))
    # the same scenario expands to the same ids
    assert [p.point for p in expand(load_scenario_text(text))] == [p.point for p in pts]


def test_any_scalar_key_can_be_swept_and_scheme_keys_by_label():
    text = SMALL.replace(
        '"code.s" = [1, 2]',
        '"schemes.grouped.m" = [1, 3]\n'
        '"schemes.grouped.options.draws" = [1, 2]\n'
        '"cluster.network.latency" = [0.0, 0.1]\n"workload.features" = [4]',
    )
    pts = expand(load_scenario_text(text))
    g = [p for p in pts if p.scheme == "grouped"]
    assert {p.m for p in g} == {1, 3}
    assert {p.spec["options"].get("draws") for p in g} == {1, 2}
    assert {p.spec["network"]["latency"] for p in pts} == {0.0, 0.1}
    assert {p.m for p in pts if p.scheme == "frc"} == {1}


@pytest.mark.parametrize(
    ("mutation", "fragment"),
    [
        (("n = 6", 'n = "6"'), "cluster.n: expected an integer, got '6' (a string)"),
        (("n = 6", "n = 6\nworkers = 3"), "cluster.workers: unknown key"),
        (("[cluster]", "[clustre]"), "clustre: unknown key (did you mean 'cluster'?)"),
        (("rounds = 25", "round = 25"), "scenario.round: unknown key (did you mean 'rounds'?)"),
        (("rate = 2.0", "rate = -2.0"), "delays.compute"),
        (('code = "frc"', 'code = "frcc"'), "did you mean 'frc'"),
        (('"code.s" = [1, 2]', '"code.ss" = [1, 2]'), "sweep.code.ss: not a key"),
        (('"code.s" = [1, 2]', '"code.s" = []'), "sweep.code.s: a swept key takes a non-empty"),
        (('"code.s" = [1, 2]', '"code.s" = ["one"]'), "expected an integer"),
        (("seed = 7", "seed = -7"), "scenario.seed: must be >= 0, got -7"),
        (('[[schemes]]\ncode = "ye-abbe"', ""), None),
    ],
)
def test_invalid_files_give_one_line_errors(tmp_path, capsys, mutation, fragment):
    old, new = mutation
    assert old in SMALL
    path = write(tmp_path, SMALL.replace(old, new))
    rc = main(["validate", str(path)])
    err = capsys.readouterr().err.strip()
    if fragment is None:
        assert rc == 0
        return
    assert rc == 2, err
    assert err.startswith(f"gcsim: error: {path}:") and "\n" not in err, err
    assert fragment in err, err


def test_missing_sections_and_garbage(tmp_path, capsys):
    for text, fragment in [
        (SMALL.replace("[delays.compute]", "[delays.computer]"), "delays.computer: unknown"),
        ("[scenario]\nname='x'\n", "cluster: required section is missing"),
        ("\x00\xff\xfe garbage", "not valid TOML"),
        ("[cluster\nn = 3", "not valid TOML"),
    ]:
        path = write(tmp_path, text)
        assert main(["validate", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and "\n" not in err, err
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00\x81 not utf8")
    assert main(["validate", str(bad)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "nope.toml")]) == 2
    assert "no such scenario file" in capsys.readouterr().err


def test_set_overrides_are_type_checked(tmp_path, capsys):
    path = write(tmp_path, SMALL)
    assert main(["validate", str(path), "--set", "cluster.n=twelve"]) == 2
    assert "cluster.n: expected an integer, got 'twelve'" in capsys.readouterr().err
    assert main(["validate", str(path), "--set", "schemes.frc.s=1"]) == 0
    capsys.readouterr()
    assert main(["validate", str(path), "--set", "schemes.frx.s=1"]) == 2
    assert "no scheme labelled 'frx'" in capsys.readouterr().err
    resolved, _, _ = load_scenario(path, ["cluster.network.latency=1e-3", "delays.compute.rate=4"])
    assert resolved["cluster"]["network"]["latency"] == 1e-3
    assert resolved["delays"]["compute"]["rate"] == 4


# --------------------------------------------------------------------- mutation fuzzing
LEAVES = [
    ("scenario", "seed"),
    ("scenario", "rounds"),
    ("cluster", "n"),
    ("delays.compute", "rate"),
    ("workload", "samples"),
    ("code", "s"),
    ("scenario", "name"),
    ("cluster", "policy"),
]
WRONG = st.sampled_from(['"text"', "1.5", "-3", "true", "[1, 2]", "{ a = 1 }", "inf", "0"])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_scenarios_never_give_a_traceback(tmp_path_factory, data):
    kind = data.draw(
        st.sampled_from(["wrong-type", "unknown-key", "drop-section", "garbage", "truncate"])
    )
    text = SMALL
    if kind == "wrong-type":
        section, key = data.draw(st.sampled_from(LEAVES))
        lines = text.splitlines()
        out, current = [], None
        for line in lines:
            if line.startswith("["):
                current = line.strip("[]")
            if current == section and line.split("=")[0].strip() == key:
                line = f"{key} = {data.draw(WRONG)}"
            out.append(line)
        text = "\n".join(out)
    elif kind == "unknown-key":
        section = data.draw(
            st.sampled_from(["[scenario]", "[cluster]", "[code]", "[delays.compute]", "[workload]"])
        )
        key = data.draw(st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True))
        text = text.replace(section, f"{section}\n{key} = 1", 1)
    elif kind == "drop-section":
        section = data.draw(
            st.sampled_from(["[cluster]", "[delays.compute]", "[workload]", "[scenario]", "[code]"])
        )
        text = text.replace(section, "[dropped]", 1)
    elif kind == "garbage":
        text = data.draw(st.binary(min_size=1, max_size=200)).decode("latin-1")
    else:
        cut = data.draw(st.integers(0, len(text)))
        text = text[:cut]
    path = tmp_path_factory.mktemp("mut") / "m.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    proc_rc, err = _validate_in_process(path)
    assert proc_rc in (0, 2), err
    if proc_rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gcsim: error:"), err
        assert "Traceback" not in err and "internal error" not in err, err


def _validate_in_process(path: Path) -> tuple[int, str]:
    import contextlib
    import io

    buf_err, buf_out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(buf_err), contextlib.redirect_stdout(buf_out):
        rc = main(["validate", str(path)])
    return rc, buf_err.getvalue()


# --------------------------------------------------------------------- running sweeps
def _sweep(path: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(path), "--out", str(out), "--quiet", "--no-plots", *extra])


def _comparable(folder: Path) -> pd.DataFrame:
    df = load_results(folder).summary.drop(columns=list(WALL_CLOCK_COLUMNS))
    return df.sort_values("point").reset_index(drop=True)


@pytest.fixture(scope="module")
def small_sweeps(tmp_path_factory) -> dict[str, Path]:
    """SMALL swept once in-process (--jobs 1) and once by a process pool (--jobs 2): the
    expensive part, shared by the tests that compare against either."""
    tmp = tmp_path_factory.mktemp("small-sweeps")
    path = write(tmp, SMALL)
    folders = {"scenario": path, "j1": tmp / "j1", "j2": tmp / "j2"}
    assert _sweep(path, folders["j1"], "--jobs", "1") == 0
    assert _sweep(path, folders["j2"], "--jobs", "2") == 0
    return folders


@pytest.mark.slow
def test_same_seed_same_results_whatever_jobs(small_sweeps):
    j1, j2 = small_sweeps["j1"], small_sweeps["j2"]
    a, b = _comparable(j1), _comparable(j2)
    assert (a["status"] == "ok").all() and len(a) == 12
    pd.testing.assert_frame_equal(a, b)
    ra = load_results(j1).records.drop(columns=["decode_wall"])
    rb = load_results(j2).records.drop(columns=["decode_wall"])
    key = ["point", "round"]
    pd.testing.assert_frame_equal(
        ra.sort_values(key).reset_index(drop=True), rb.sort_values(key).reset_index(drop=True)
    )
    # summary.csv is the tidy table with one column per factor
    summary = pd.read_csv(j1 / "summary.csv")
    assert "code.s" in summary.columns and len(summary) == 12


@pytest.mark.slow
def test_rerun_skips_finished_points_and_refuses_a_different_scenario(
    tmp_path, capsys, small_sweeps
):
    path = write(tmp_path, SMALL)
    out = tmp_path / "res"
    shutil.copytree(small_sweeps["j1"], out)  # a finished sweep of this scenario
    capsys.readouterr()
    assert _sweep(path, out, "--jobs", "1") == 0
    assert "ran 0, already done 12" in capsys.readouterr().out
    assert _sweep(path, out, "--set", "scenario.rounds=5") == 2
    assert "different scenario" in capsys.readouterr().err
    assert _sweep(path, out, "--set", "scenario.rounds=5", "--restart", "--jobs", "1") == 0
    assert list(tmp_path.glob("res.old-*")), "the old results must be kept, not deleted"


def test_trace_with_too_few_workers_is_rejected_before_running(tmp_path, capsys):
    trace = tmp_path / "t.csv"
    trace.write_text("1,1,1\n1,1,1\n")
    text = SMALL.replace(
        'model = "shifted-exponential"\nshift = 1.0\nrate = 2.0',
        f'model = "trace"\ndata = "{trace}"',
    )
    assert _sweep(write(tmp_path, text), tmp_path / "res") == 2
    assert "3 workers" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


@pytest.mark.slow
def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    # a 2-round trace that refuses to wrap, started at a random row, fails within its
    # first 2 rounds of a 25-round run, per point (validation cannot know the start row)
    trace = tmp_path / "t.csv"
    trace.write_text("1,1,1,1,1,1\n1,1,1,1,1,2\n")
    text = SMALL.replace(
        'model = "shifted-exponential"\nshift = 1.0\nrate = 2.0',
        f'model = "trace"\ndata = "{trace}"\non_exhausted = "error"\nstart = "random"',
    )
    path = write(tmp_path, text)
    rc = _sweep(path, tmp_path / "res", "--jobs", "2")
    captured = capsys.readouterr()
    assert rc == 1, captured.err
    res = load_results(tmp_path / "res")
    assert len(res.summary) == 12 and (res.summary["status"] == "failed").all()
    assert res.summary["error"].str.contains("trace").all()
    assert "FAILED" in captured.err
    assert (tmp_path / "res" / "summary.csv").exists()


@pytest.mark.slow
def test_kill_minus_9_and_resume_gives_the_uninterrupted_results(tmp_path):
    # the killed sweep runs its points in a process pool; the reference and the resume run
    # in-process (the same results whatever --jobs: test_same_seed_same_results...)
    text = SMALL.replace("rounds = 25", "rounds = 150").replace(
        "[scenario]", '[scenario]\nengine = "des"'
    )
    path = write(tmp_path, text)
    ref = tmp_path / "ref"
    assert _sweep(path, ref, "--jobs", "1") == 0
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "gcsim.cli",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--quiet",
        "--no-plots",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    points = out / "points"
    while time.time() < deadline:
        done = (
            [p for p in points.glob("*") if not p.name.startswith(".")] if points.exists() else []
        )
        if len(done) >= 2:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = [p for p in points.glob("*") if not p.name.startswith(".")]
    assert 2 <= len(done_before) < 12, "the sweep must be killed part-way"
    assert not (out / "summary.csv").exists()
    assert _sweep(path, out, "--jobs", "1") == 0
    pd.testing.assert_frame_equal(_comparable(ref), _comparable(out))
    assert not list(points.glob(".tmp-*"))


def test_run_one_point(tmp_path, capsys):
    path = write(tmp_path, SMALL)
    assert main(["run", str(path), "--point", "3", "--records", str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr().out
    assert "mean_round_time" in out and "scheme grouped" in out
    rec = pd.read_csv(tmp_path / "r.csv")
    assert len(rec) == 25 and np.isfinite(rec["loss"]).all()
    assert main(["run", str(path), "--point", "99"]) == 2


def test_load_results_rejects_non_results(tmp_path):
    from gcsim import GcsimError

    with pytest.raises(GcsimError, match="not a gcsim results folder"):
        load_results(tmp_path)


def _mpiexec() -> str:
    import shutil

    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    assert found, "mpiexec not found: install gcsim[live] (mpi4py + mpich)"
    return found


@pytest.mark.slow
def test_mpi_executor_gives_the_local_results(tmp_path, small_sweeps):
    path = write(tmp_path, SMALL)
    out = tmp_path / "mpi"
    cmd = [
        _mpiexec(),
        "-n",
        "3",
        sys.executable,
        "-m",
        "mpi4py.futures",
        "-m",
        "gcsim.cli",
        "sweep",
        str(path),
        "--executor",
        "mpi",
        "--out",
        str(out),
        "--quiet",
        "--no-plots",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ran 12" in proc.stdout
    pd.testing.assert_frame_equal(_comparable(small_sweeps["j2"]), _comparable(out))


def test_set_reaches_quoted_sweep_keys_and_schemes_by_code_name(tmp_path):
    path = write(tmp_path, SMALL)
    _, _, pts = load_scenario(path, ['sweep."code.s"=[2]', "schemes.grouped.options.draws=3"])
    assert {p.factors["code.s"] for p in pts} == {2} and len(pts) == 6
    assert {p.spec["options"].get("draws") for p in pts if p.code == "grouped"} == {3}


def test_relative_trace_path_is_relative_to_the_scenario_file(tmp_path, monkeypatch):
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "t.csv").write_text("1,1,1,1,1,1\n2,1,1,1,1,1\n")
    text = SMALL.replace(
        'model = "shifted-exponential"\nshift = 1.0\nrate = 2.0',
        'model = "trace"\ndata = "traces/t.csv"',
    )
    path = write(tmp_path, text)
    monkeypatch.chdir(REPO)  # anywhere but the scenario's folder
    resolved, _, pts = load_scenario(path)
    assert resolved["delays"]["compute"]["data"] == str((tmp_path / "traces/t.csv").resolve())
    assert len(pts) == 12
