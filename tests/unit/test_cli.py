"""The gcsim command line: listing, checking, the default report, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gcsim import list_codes
from gcsim.cli import main


def test_codes_lists_every_scheme(capsys):
    assert main(["codes"]) == 0
    out = capsys.readouterr().out
    for name in list_codes():
        assert name in out
    assert "constraints:" in out
    from gcsim.codes import schemes

    for info in schemes():  # what each scheme declares, wrapped at 100 columns
        assert info.summary in out
        assert info.options_help.split()[0] in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_check_prints_stability_figures(capsys):
    assert (
        main(["check", "grouped", "--n", "12", "--s", "2", "--m", "2", "-o", "generator=chebyshev"])
        == 0
    )
    out = capsys.readouterr().out
    assert "worst cond" in out and "worst rel. err f32" in out and "decode (µs)" in out
    row = next(line for line in out.splitlines() if line.startswith("| grouped"))
    assert "| 79 |" in row and "| yes |" in row  # 1 + 12 + 66 straggler sets, all decode


def test_check_reports_numerical_failure(capsys):
    assert (
        main(
            [
                "check",
                "ye-abbe",
                "--n",
                "40",
                "--s",
                "2",
                "--m",
                "2",
                "--max-exhaustive",
                "50",
                "--samples",
                "5",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "FAILED" in err and "relative error" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "frc", "--n", "10", "--s", "2"], "(s+1) to divide n"),
        (["check", "frcc", "--n", "10", "--s", "2"], "did you mean 'frc'"),
        (["check", "grouped", "--n", "10", "--s", "2", "-o", "generator"], "key=value"),
        (["check", "grouped", "--n", "12", "--s", "2", "-o", "gen=x"], "unknown option"),
    ],
)
def test_errors_are_one_line_with_exit_status_2(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gcsim: error:") and fragment in err
    assert "\n" not in err and "Traceback" not in err


def test_report_writes_markdown_and_json(tmp_path, capsys):
    out = tmp_path / "rep" / "report.md"
    assert main(["report", "--out", str(out), "--l", "16"]) == 0
    text = out.read_text()
    assert "| grouped (generator=gaussian) |" in text
    data = json.loads(out.with_suffix(".json").read_text())
    schemes = {row["case"]["scheme"] for row in data["rows"]}
    assert schemes == set(list_codes())
    assert all(row["result"]["all_decodable"] for row in data["rows"])


def test_console_entry_point_runs_as_module():
    proc = subprocess.run(
        [sys.executable, "-m", "gcsim.cli", "codes"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "grouped" in proc.stdout


def test_delays_lists_every_model(capsys):
    from gcsim import list_delays

    assert main(["delays"]) == 0
    out = capsys.readouterr().out
    for name in list_delays():
        assert f"  {name} " in out
    assert "alpha (required)" in out  # pareto's shape has no default
