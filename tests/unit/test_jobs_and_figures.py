"""--jobs is a process count; figures are written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from gcsim.cli import main
from gcsim.plots.save import _save

SCENARIO = """
[scenario]
name = "j"
rounds = 2
[cluster]
n = 4
[delays.compute]
model = "exponential"
rate = 1.0
[code]
s = 1
[[schemes]]
code = "frc"
"""


@pytest.mark.parametrize("jobs", ["0", "-2", "100000"])
def test_jobs_outside_1_to_1024_are_refused(tmp_path, capsys, jobs):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    assert main(["sweep", str(path), "--out", str(tmp_path / "r"), "-q", "--jobs", jobs]) == 2
    err = capsys.readouterr().err
    assert "--jobs must be a number of processes from 1 to 1024" in err
    assert not (tmp_path / "r").exists()


def test_a_failed_figure_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    fig = Figure()
    fig.subplots().plot([0, 1], [0, 1])
    out = tmp_path / "f.png"
    _save(fig, out, "png", 50)
    good = out.read_bytes()
    assert good.startswith(b"\x89PNG") and not list(tmp_path.glob(".*.tmp"))

    def broken(path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"\x89PNG trunc")  # a kill half-way
        raise KeyboardInterrupt

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(KeyboardInterrupt):
        _save(fig, out, "png", 50)
    assert out.read_bytes() == good  # never truncated
    assert not list(tmp_path.glob(".*.tmp"))
