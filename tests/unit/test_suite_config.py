"""The test suite's own configuration: the live tests say why they are skipped on a
machine without MPI, and the markers used for selection are registered."""

from __future__ import annotations

import sys

from tests.live.conftest import missing_mpi

HINT = "pip install 'gcsim[live]'"


def test_without_mpi4py_the_live_tests_are_skipped_with_the_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    reason = missing_mpi()
    assert reason and HINT in reason and "mpi4py" in reason


def test_without_an_mpi_launcher_the_live_tests_are_skipped_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("GCSIM_MPIEXEC", str(tmp_path / "no-such-mpiexec"))
    reason = missing_mpi()
    assert reason and HINT in reason


def test_slow_and_live_markers_are_registered(pytestconfig):
    names = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    assert {"slow", "live"} <= names
    assert "--strict-markers" in pytestconfig.getini("addopts")
