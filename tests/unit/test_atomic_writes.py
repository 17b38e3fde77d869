"""Files gcsim writes through a temporary file (figures, fit reports, advice, live
points): their mode follows the umask like a file written directly, and two writers of
the same file never share a temporary file."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from gcsim import _files
from gcsim.advise.result import atomic_replace as advise_atomic_replace
from gcsim.fit.report import _save as fit_save
from gcsim.plots.save import _save as plots_save
from gcsim.scenarios.store import atomic_write_text


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _figure() -> Figure:
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def _no_temp_left(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_every_writer_gives_0644_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    fit_save(_figure(), tmp_path / "cdf.png")
    advise_atomic_replace(tmp_path / "advice.md", lambda tmp: Path(tmp).write_text("x"))
    plots_save(_figure(), tmp_path / "round_time_cdf.png", "png", 50)
    plots_save(_figure(), tmp_path / "round_time_cdf.pdf", "pdf", 50)
    atomic_write_text(tmp_path / "summary.csv", "a,b\n")
    names = ["cdf.png", "advice.md", "round_time_cdf.png", "round_time_cdf.pdf", "summary.csv"]
    for name in names:
        assert _mode(tmp_path / name) == 0o644, name
        assert (tmp_path / name).stat().st_size > 0, name
    _no_temp_left(tmp_path)


def test_the_mode_follows_the_umask_not_a_fixed_value(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        _files.atomic_replace(tmp_path / "f.txt", lambda tmp: Path(tmp).write_text("x"))
        d = tmp_path / "d"
        d.mkdir(mode=0o700)
        _files.share(d, folder=True)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "f.txt") == 0o640
    assert _mode(d) == 0o750


def test_a_failed_write_leaves_neither_temp_file_nor_target(tmp_path: Path) -> None:
    def write(tmp: str) -> None:
        Path(tmp).write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _files.atomic_replace(tmp_path / "fig.png", write)
    assert list(tmp_path.iterdir()) == []


def test_two_writers_of_one_figure_use_different_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second writer finishing while the first is still writing: with a fixed temp
    name the second renamed the first one's file away and the first failed."""
    path = tmp_path / "tradeoff_d_vs_m.png"
    outer, inner = _figure(), _figure()
    real = Figure.savefig
    temps: list[str] = []

    def savefig(self: Figure, fname: Any, *args: Any, **kw: Any) -> None:
        temps.append(str(fname))
        real(self, fname, *args, **kw)
        if self is outer:  # the other process finishes the same figure meanwhile
            plots_save(inner, path, "png", 50)

    monkeypatch.setattr(Figure, "savefig", savefig)
    plots_save(outer, path, "png", 50)
    assert len(temps) == 2 and temps[0] != temps[1]
    assert all(
        Path(t).parent == tmp_path and Path(t).name.startswith(f".{path.name}.") for t in temps
    )
    assert path.read_bytes().startswith(b"\x89PNG")
    _no_temp_left(tmp_path)


def test_concurrent_writers_of_one_figure_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "round_time_vs_s.png"
    errors: list[BaseException] = []

    def draw() -> None:
        try:
            for _ in range(3):
                plots_save(_figure(), path, "png", 40)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert path.read_bytes().startswith(b"\x89PNG")
    _no_temp_left(tmp_path)
