"""Hardening: bad scenarios, values and files end in one clear line (never a traceback,
an "internal error" or a flood); outputs stay where they were asked to go."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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
