"""Hardening: bad scenarios, values and files end in one clear line (never a traceback,
an "internal error" or a flood); outputs stay where they were asked to go."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gcsim.cli import main
from gcsim.errors import GcsimError, excerpt
from gcsim.scenarios import output_folder
from gcsim.scenarios.schema import ScenarioError, load_scenario_text

BASE = """
[scenario]
name = "hard"
rounds = 5

[cluster]
n = 6

[delays.compute]
model = "exponential"
rate = 1.0

[workload]
model = "random-vectors"
dimension = 16

[[schemes]]
code = "grouped"
s = 1
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "sc.toml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gcsim: error: "), err[:2000]
    assert "internal error" not in err and "Traceback" not in err, err[:2000]
    return lines[0]


# ------------------------------------------------------------- item 5: one clear line
def test_excerpt_caps_long_values_and_escapes_line_breaks():
    assert excerpt("x" * 100_000).count("x") <= 60
    assert len(excerpt(list(range(100_000)))) < 80
    assert "\n" not in excerpt("a\nb") and excerpt("a\nb") == "'a\\nb'"
    assert excerpt(10**5000) == "<an integer of about 5001 digits>"
    assert excerpt(2.5) == "2.5" and excerpt("rate") == "'rate'"


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (('model = "random-vectors"', f'model = "{"é" * 5000}"'), "workload.model"),
        (("rate = 1.0", f'rate = "{"x" * 100_000}"'), "rate must be a real number"),
        (('code = "grouped"', f'code = "{"y" * 100_000}"'), "default label"),
        (("n = 6", f"n = [{', '.join(['7'] * 30_000)}]"), "cluster.n: expected an integer"),
        (("dimension = 16", f"dimension = [{', '.join(['9'] * 30_000)}]"), "dimension must"),
        (("s = 1", 's = 1\noptions = { draws = "' + "z" * 100_000 + '" }'), "draws must be"),
        (("[cluster]", "[cluster]\n" + "q" * 100_000 + " = 1"), "a key of 100000 characters"),
    ],
)
def test_long_values_are_echoed_as_short_excerpts(tmp_path, capsys, edit, fragment):
    path = _write(tmp_path, BASE.replace(*edit))
    rc, _, err = _cli(capsys, "validate", str(path))
    line = _one_error_line(err)
    assert rc == 2 and fragment in line, line[:500]
    assert len(line) < 400 + len(str(path)), len(line)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("\n[x]\ny = " + "[" * 3000 + "1" + "]" * 3000 + "\n", "nested too deeply"),
        (
            "\n[delays.comm]\nmodel = 'constant'\nvalue = " + "[" * 40 + "1" + "]" * 40,
            "nested more than 24 levels",
        ),
        ("\n[x]\ny = " + "9" * 5000 + "\n", "TOML integers are 64-bit"),
    ],
)
def test_deep_nesting_and_huge_integer_literals_are_one_line(tmp_path, capsys, extra, fragment):
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, BASE + extra)))
    assert rc == 2 and fragment in _one_error_line(err)


@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), str(10**30)])
def test_integers_outside_64_bits_are_refused(tmp_path, capsys, value):
    rc, _, err = _cli(
        capsys, "validate", str(_write(tmp_path, BASE.replace("n = 6", f"n = {value}")))
    )
    assert rc == 2 and "cluster.n: integer" in _one_error_line(err)
    assert "outside the 64-bit range" in err
    rc, _, err = _cli(
        capsys, "run", str(_write(tmp_path, BASE)), "--set", f"workload.dimension={value}"
    )
    assert rc == 2 and "64-bit" in _one_error_line(err)


def test_set_values_nested_too_deeply_are_one_line(tmp_path, capsys):
    path = _write(tmp_path, BASE)
    rc, _, err = _cli(
        capsys, "validate", str(path), "--set", "cluster.n=" + "[" * 3000 + "]" * 3000
    )
    assert rc == 2 and "nested too deeply" in _one_error_line(err)


@pytest.mark.parametrize(
    "generator",
    ["{ a = 1 }", "[{ a = 1 }]", "[[1, 2], [3]]", "[[1, 'x']]", "5", "[['a']]"],
)
def test_a_non_string_generator_is_one_clear_line(tmp_path, capsys, generator):
    text = BASE.replace("s = 1", f"s = 1\noptions = {{ generator = {generator} }}")
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, text)))
    line = _one_error_line(err)
    assert rc == 2 and "custom generator must be a finite 2-D array" in line, line


def test_draws_is_capped_instead_of_hanging_validation(tmp_path, capsys):
    for code, option in (("grouped", "draws"), ("crc", "draws"), ("crc", "probe")):
        text = BASE.replace('code = "grouped"', f'code = "{code}"').replace(
            "s = 1", f"s = 1\noptions = {{ {option} = 1000000000000 }}"
        )
        t0 = time.perf_counter()
        rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, text)))
        assert time.perf_counter() - t0 < 5
        assert rc == 2 and f"{option} must be <=" in _one_error_line(err)


def test_memory_refusal_names_the_point_once(tmp_path, capsys):
    rc, _, err = _cli(
        capsys, "run", str(_write(tmp_path, BASE)), "--set", "workload.dimension=1e12"
    )
    assert rc == 2 and "positive integer" in _one_error_line(err)
    rc, _, err = _cli(
        capsys, "run", str(_write(tmp_path, BASE)), "--set", "workload.dimension=1000000000000"
    )
    line = _one_error_line(err)
    assert "estimated peak memory" in line and line.count("schemes (grouped)") == 1, line


def test_a_long_sweep_expands_in_linear_time(tmp_path, capsys, monkeypatch):
    """Every combination used to deep-copy the whole scenario, sweep included: quadratic
    in the sweep's length (4000 values took 18 s, now 4 s)."""
    import copy
    import importlib

    expand_module = importlib.import_module("gcsim.scenarios.expand")

    copied: list[Any] = []
    deepcopy = copy.deepcopy

    def spy(obj: Any, *args: Any) -> Any:
        copied.append(obj)
        return deepcopy(obj, *args)

    monkeypatch.setattr(expand_module.copy, "deepcopy", spy)
    values = ", ".join(str(v) for v in range(4000))
    text = BASE.replace('code = "grouped"', 'code = "uncoded"').replace("s = 1\n", "")
    text += f'\n[sweep]\n"scenario.seed" = [{values}]\n'
    t0 = time.perf_counter()
    rc, out, _ = _cli(capsys, "validate", str(_write(tmp_path, text)))
    assert rc == 0 and "4000 point(s)" in out
    assert copied and not any(isinstance(c, dict) and "sweep" in c for c in copied)
    assert time.perf_counter() - t0 < 30


def test_a_utf8_bom_is_accepted_and_other_encodings_are_named(tmp_path, capsys):
    rc, _, _ = _cli(capsys, "validate", str(_write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())))
    assert rc == 0
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, BASE.encode("utf-16"))))
    assert rc == 2 and "UTF-16" in _one_error_line(err)
    rc, _, err = _cli(capsys, "validate", str(tmp_path))
    assert rc == 2 and "a folder, not a scenario file" in _one_error_line(err)


@pytest.mark.parametrize(
    ("sets", "fragment"),
    [
        (
            [
                "cluster.n=2147483648",
                "delays.compute={model='persistent', p_slow=0.1, p_recover=0.5, factor=2.0}",
            ],
            "estimated peak memory",
        ),
        (["workload={model='logistic', features=9223372036854775807}"], "estimated peak"),
        (["workload={model='random-vectors', scale='x'}"], "scale must be a finite number"),
        (["schemes.grouped.code='crc'", "cluster.n=100000"], "crc's dense n x n matrix"),
        (["schemes.grouped.code='ye-abbe'", "cluster.n=5000"], "no point can run"),
    ],
)
def test_huge_sizes_are_refused_fast_and_in_one_line(tmp_path, capsys, sets, fragment):
    """n = 2^31 used to allocate per-worker sampler state for 35 s before an error;
    features = 2^63 - 1 raised numpy's "array is too big" (an internal error); crc at
    n = 10^5 allocated a dense n x n matrix; ye-abbe at n = 5000 computed for minutes
    before finding that its coefficients overflow."""
    args = [a for kv in sets for a in ("--set", kv)]
    t0 = time.perf_counter()
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, BASE)), *args)
    assert time.perf_counter() - t0 < 5
    assert rc == 2 and fragment in err.strip().splitlines()[-1], err
    assert "internal error" not in err and "Traceback" not in err


# ------------------------------------------------------------- item 8: confined outputs
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("scenario.name", "../escape"),
        ("scenario.name", "/tmp/abs"),
        ("scenario.name", "ok\n"),
        ("scenario.name", ".."),
        ("scenario.name", "a/b"),
        ("schemes.grouped.label", "frc\n"),
        ("schemes.grouped.label", "../x"),
        ("output.dir", "../outside"),
        ("output.dir", "/tmp/outside"),
        ("output.dir", "a/../../b"),
        ("output.dir", "."),
        ("output.dir", "new\nline"),
    ],
)
def test_names_and_folders_from_the_file_cannot_leave_the_results_folder(
    tmp_path, capsys, key, value
):
    path = _write(tmp_path, BASE)
    rc, _, err = _cli(capsys, "validate", str(path), "--set", f"{key}={_quoted(value)}")
    line = _one_error_line(err)
    assert rc == 2 and key.split(".")[-1] in line, line
    assert "\n" not in line


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace("\n", "\\n") + '"'


def test_a_label_ending_in_a_newline_is_refused_by_the_schema():
    with pytest.raises(ScenarioError, match="schemes\\[0\\].label"):
        load_scenario_text(BASE.replace('code = "grouped"', 'code = "grouped"\nlabel = "g\\n"'))


def test_the_default_name_is_made_a_plain_folder_name(tmp_path):
    text = BASE.replace('name = "hard"\n', "")
    for file_name, expected in (
        ("my run.toml", "my-run"),
        ("..toml", "scenario"),
        ("v1.2.toml", "v1.2"),
    ):
        resolved = load_scenario_text(text, default_name=Path(file_name).stem)
        assert resolved["scenario"]["name"] == expected
        assert output_folder(resolved) == Path("results") / expected


def test_output_folder_refuses_a_resolved_scenario_built_by_hand():
    resolved = load_scenario_text(BASE)
    resolved["scenario"]["name"] = "../../etc"
    with pytest.raises(ScenarioError, match="cannot name a folder below results/"):
        output_folder(resolved)
    resolved["scenario"]["name"] = "ok"
    resolved["output"]["dir"] = "/abs"
    with pytest.raises(ScenarioError, match="absolute path"):
        output_folder(resolved)
    assert output_folder(resolved, "/anywhere/I/like") == Path("/anywhere/I/like")
    with pytest.raises(ScenarioError, match="control characters"):
        output_folder(resolved, "bad\nname")


# ------------------------------------------------------------- item 9: trace files
def _trace_model(path: Path, **extra: Any) -> Any:
    from gcsim.delays import make_delay

    return make_delay({"model": "trace", "data": str(path), **extra})


def test_a_trace_with_a_utf8_bom_keeps_its_first_row(tmp_path):
    """The BOM made the first cell '\\ufeff0.5', not a number: the first data row was
    silently taken for a header and dropped."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf0.5,0.25\n1.0,2.0\n")
    model = _trace_model(path)
    assert model.rounds == 2 and model.data[0].tolist() == [0.5, 0.25]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.mkdir(), "is a folder, not a file"),
        (lambda p: __import__("os").mkfifo(p), "is a FIFO (named pipe), not a regular file"),
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes("0.1,0.2\n".encode("utf-16")), "is UTF-16 text"),
        (lambda p: p.write_bytes(b"0.1,\xff0.2\n"), "is not UTF-8 text"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_text("w0;w1\n0.1;0.2\n"), "separated by semicolons"),
        (lambda p: p.write_text("0.1\t0.2\n0.3\t0.4\n"), "separated by tabs"),
    ],
)
def test_bad_trace_files_are_named_clearly(tmp_path, capsys, make, fragment):
    path = tmp_path / "trace.csv"
    make(path)
    text = BASE.replace('model = "exponential"\nrate = 1.0', f'model = "trace"\ndata = "{path}"')
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, text)))
    line = _one_error_line(err)
    assert rc == 2 and fragment in line, line


def test_the_delimiter_hint_is_right(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("w0;w1\n0.1;0.2\n")
    with pytest.raises(GcsimError, match="set delimiter = ';'"):
        _trace_model(path)
    assert _trace_model(path, delimiter=";").data.tolist() == [[0.1, 0.2]]
    with pytest.raises(GcsimError, match="delimiter must be one character"):
        _trace_model(path, delimiter=";;")


# ------------------------------------------------------------- item 6: nothing succeeded
def _sweep(capsys, path: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return _cli(capsys, "sweep", str(path), "--out", str(out), "-q", "-j", "1", *extra)


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Each test sees the once-per-process warnings afresh."""
    import importlib

    module = importlib.import_module("gcsim.scenarios.expand")
    monkeypatch.setattr(module, "_WARNED", set(), raising=False)


@pytest.mark.parametrize(
    ("sets", "fragment"),
    [
        (["cluster.failed_workers=[0, 1, 2, 3, 4, 5]"], "failed_workers lists 6 of the n = 6"),
        (["delays.compute={model='lognormal', mu=1000.0}"], "no worker ever responded"),
        (["cluster.round_timeout=1e-9", "delays.compute.rate=1e-3"], "round_timeout = 1e-09 s"),
    ],
)
def test_a_point_whose_every_round_fails_is_failed_not_ok(
    tmp_path, capsys, fresh_warnings, sets, fragment
):
    """It was status ok with NaN times, and gcsim sweep / run exited 0."""
    import pandas as pd

    path = _write(tmp_path, BASE)
    args = [a for kv in sets for a in ("--set", kv)]
    rc, _, err = _sweep(capsys, path, tmp_path / "out", "--no-plots", *args)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert rc == 1 and (summary["status"] == "failed").all()
    assert "no round decoded: all 5 rounds failed" in summary["error"][0]
    assert fragment in summary["error"][0]
    rc, out, err = _cli(capsys, "run", str(path), *args)
    assert rc == 1 and "failed_rounds        5" in out
    errors = [line for line in err.splitlines() if line.startswith("gcsim: error:")]
    assert len(errors) == 1 and "failed: no round decoded" in errors[0]
    assert "Traceback" not in err


def test_round_times_that_overflow_fail_the_point_and_the_figures_survive(
    tmp_path, capsys, fresh_warnings
):
    """Every draw near 1e307: the means overflow to inf (status was ok, exit 0), and
    drawing the figures crashed (matplotlib cannot place ticks on such a range)."""
    import pandas as pd

    text = BASE.replace('model = "exponential"\nrate = 1.0', 'model = "lognormal"\nmu = 706.0')
    text = text.replace("rounds = 5", "rounds = 40") + '\n[sweep]\n"code.s" = [1, 2]\n'
    rc, _, err = _sweep(capsys, _write(tmp_path, text), tmp_path / "out")
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert rc == 1, err
    assert (summary["status"] == "failed").all()
    assert summary["error"].str.contains("round times overflow float64").all()
    assert "Traceback" not in err and "RuntimeWarning" not in err, err
    readme = (tmp_path / "out" / "figures" / "README.md").read_text()
    assert "round_time_cdf" in readme


def test_an_infinite_mean_model_is_warned_about_once(tmp_path, capsys, fresh_warnings):
    text = BASE.replace('model = "exponential"\nrate = 1.0', 'model = "pareto"\nalpha = 0.5')
    text += '\n[sweep]\n"code.s" = [1, 2]\n"cluster.n" = [6, 8]\n'
    rc, _, err = _sweep(capsys, _write(tmp_path, text), tmp_path / "out", "--no-plots")
    warnings = [line for line in err.splitlines() if line.startswith("gcsim: warning:")]
    assert len(warnings) == 1, err
    assert "pareto with alpha = 0.5 <= 1 has an infinite mean" in warnings[0]
    assert "median_round_time" in warnings[0]
    for nested in (
        "{model='bimodal', base={model='pareto', alpha=1.0}, p=0.1, factor=2.0}",
        "{model='lognormal', mu=1000.0}",
        "{model='weibull', shape=0.001}",
        "{model='scipy', dist='halfcauchy'}",
    ):
        sc = str(tmp_path / "sc.toml")
        rc, _, err = _cli(capsys, "validate", sc, "--set", f"delays.comm={nested}")
        assert "gcsim: warning: delays.comm:" in err, (nested, err)
        if "mu=1000" in nested:  # overflowing draws: no talk of converging means
            assert "never respond" in err and "do not converge" not in err
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, BASE)))
    assert rc == 0 and "warning" not in err


@pytest.mark.parametrize(
    ("spec", "infinite"),
    [
        ({"model": "pareto", "alpha": 0.5}, True),
        ({"model": "pareto", "alpha": 1.0}, True),
        ({"model": "pareto", "alpha": 1.5}, False),
        ({"model": "lognormal", "mu": 709.0, "sigma": 2.0}, True),
        ({"model": "lognormal", "mu": 1.0, "sigma": 2.0}, False),
        ({"model": "weibull", "shape": 0.004}, True),
        ({"model": "weibull", "shape": 0.5}, False),
    ],
)
def test_the_closed_forms_agree_with_scipy(spec, infinite):
    import math

    from gcsim.delays import make_delay
    from gcsim.scenarios.expand import infinite_mean

    model = make_delay(spec)
    with np.errstate(all="ignore"):
        scipy_mean = float(model.dist().mean())
    assert (not math.isfinite(scipy_mean)) == infinite
    assert bool(infinite_mean(model)) == infinite


# ------------------------------------------------------------- item 9: modes, --restart
def test_results_follow_the_umask(tmp_path, capsys):
    """tempfile made summary.csv and friends 0600 and point folders 0700."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        rc, _, _ = _sweep(capsys, _write(tmp_path, BASE), tmp_path / "out", "--no-plots")
    finally:
        os.umask(old)
    assert rc == 0
    out = tmp_path / "out"
    for f in ("summary.csv", "manifest.json", "resolved.json", "scenario.toml"):
        assert stat.S_IMODE((out / f).stat().st_mode) == 0o644, f
    (point,) = (out / "points").iterdir()
    assert stat.S_IMODE(point.stat().st_mode) == 0o755
    assert stat.S_IMODE((point / "point.json").stat().st_mode) == 0o644


def test_restart_refuses_to_move_the_current_directory_aside(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, BASE)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert _sweep(capsys, path, Path("."), "--no-plots")[0] == 0
    for out in (".", str(work), ".."):
        if out == "..":  # an ancestor of the current directory holding results
            assert _sweep(capsys, path, tmp_path, "--no-plots")[0] == 0
        rc, _, err = _sweep(capsys, path, Path(out), "--no-plots", "--restart", "--set", "code.s=2")
        line = _one_error_line(err)
        assert rc == 2 and "--restart would move" in line and "current directory" in line
    assert work.is_dir() and Path.cwd() == work


def test_figures_leave_out_non_finite_values_and_say_so(tmp_path):
    """Values near the float64 limit crashed the figures (matplotlib's tick locator:
    'arange: cannot compute length', a 117-line traceback); they are left out, with a
    note in the README and under the figure."""
    import pandas as pd

    from gcsim.plots import plot_results, round_time_cdf_data, round_time_vs_s_data

    rows = []
    for scheme, code in (("frc", "frc"), ("crc", "crc")):
        for s in (1, 2):
            rows.append(
                dict(point=f"{scheme}-{s}", scheme=scheme, code=code, n=6, s=s, s_requested=s,
                     m=1, d=s + 1, replicate=0, status="ok", error="",
                     mean_round_time=1.7e308 if scheme == "crc" else 1.0 + s,
                     sem_round_time=np.inf if scheme == "crc" else 0.1)
            )  # fmt: skip
    summary = pd.DataFrame(rows)
    records = pd.DataFrame(
        [
            dict(point=r["point"], scheme=r["scheme"], round=i, decoded=True, end=float(i),
                 duration=1.7e308 if r["scheme"] == "crc" else 1.0 + i / 10, loss=np.nan)
            for r in rows
            for i in range(10)
        ]
    )  # fmt: skip

    class Res:
        pass

    res = Res()
    res.summary, res.records = summary, records
    data = round_time_vs_s_data(res)
    assert set(data["scheme"]) == {"frc"}
    assert "2 non-finite mean round time(s) left out" in data.attrs["left_out"][0]
    assert "10 non-finite round time(s)" in round_time_cdf_data(res).attrs["left_out"][0]
    paths = plot_results(res, tmp_path, formats=("png",))
    assert {p.name for p in paths} >= {"round_time_vs_s.png", "round_time_cdf.png"}
    readme = (tmp_path / "README.md").read_text()
    assert "2 non-finite mean round time(s) left out" in readme
    assert "10 non-finite round time(s) left out" in readme


def test_a_run_that_raises_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    """`gcsim run` printed the raw traceback of any error during the run."""
    import gcsim.scenarios

    def boom(spec: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(gcsim.scenarios, "run_point", boom)
    rc, _, err = _cli(capsys, "run", str(_write(tmp_path, BASE)))
    line = _one_error_line(err)
    assert rc == 1 and "failed during its run: RuntimeError: 'boom\\nsecond line'" in line

    def oom(spec: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(gcsim.scenarios, "run_point", oom)
    rc, _, err = _cli(capsys, "run", str(_write(tmp_path, BASE)))
    assert rc == 2 and "ran out of memory" in _one_error_line(err)


def test_any_error_message_is_printed_as_one_bounded_line(tmp_path, capsys, monkeypatch):
    import gcsim.scenarios

    def flood(*args: Any, **kwargs: Any) -> Any:
        raise ScenarioError("start " + "x" * 10_000 + "\nend")

    monkeypatch.setattr(gcsim.scenarios, "load_scenario", flood)
    rc, _, err = _cli(capsys, "validate", str(_write(tmp_path, BASE)))
    line = _one_error_line(err)
    assert rc == 2 and len(line) < 2100 and line.endswith("\\nend")
    assert "characters left out" in line


def test_the_default_fit_folder_is_a_plain_name(tmp_path, capsys, monkeypatch):
    """gcsim fit named its default folder after the trace's file name verbatim: '..csv'
    wrote the report into results/fit itself, a name with a line break made a folder
    with one."""
    import pandas as pd

    rng = np.random.default_rng(3)
    rows = [
        dict(round=r, worker=w, load=1, compute_time=float(rng.lognormal(-3, 0.3)))
        for r in range(20)
        for w in range(4)
    ]
    monkeypatch.chdir(tmp_path)
    for name, folder in (("..csv", "trace"), ("my trace\n.csv", "my-trace")):
        pd.DataFrame(rows).to_csv(tmp_path / name, index=False)
        rc, _, err = _cli(capsys, "fit", str(tmp_path / name))
        assert rc == 0, err
        assert (tmp_path / "results" / "fit" / folder / "report.md").is_file()
    assert not (tmp_path / "results" / "fit" / "report.md").exists()


def test_each_code_is_built_once_per_expansion(tmp_path, monkeypatch):
    """A sweep over a factor that does not change the code (dtype, delays, policy) built
    every code again at every value (grouped with draws = 5 at m = 28: seconds each)."""
    import importlib

    from gcsim.scenarios import load_scenario

    module = importlib.import_module("gcsim.scenarios.expand")
    calls: list[tuple[Any, ...]] = []
    make_code = module.make_code

    def counting(name: str, **kwargs: Any) -> Any:
        calls.append((name, kwargs["n"]))
        return make_code(name, **kwargs)

    monkeypatch.setattr(module, "make_code", counting)
    text = BASE + '\n[sweep]\n"workload.dtype" = ["float64", "float32"]\n"cluster.n" = [6, 8]\n'
    _, _, points = load_scenario(_write(tmp_path, text))
    assert len(points) == 4 and sorted(calls) == [("grouped", 6), ("grouped", 8)]
