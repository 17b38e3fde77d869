"""The live tests need mpi4py and an MPI launcher (``pip install 'gcsim[live]'``, which
the ``test`` extra brings); without them every test here is skipped with that reason,
never failed, and never skipped when they are installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gcsim.errors import GcsimError

REASON = "the live backend needs mpi4py and an MPI launcher (pip install 'gcsim[live]')"


def missing_mpi() -> str | None:
    """Why the live backend cannot run here (the skip reason), or None when it can."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return f"{REASON}: mpi4py is not installed"
    from gcsim.live import find_launcher

    try:
        find_launcher(os.environ.get("GCSIM_MPIEXEC") or "mpiexec")
    except GcsimError as exc:
        return f"{REASON}: {exc}"
    return None


@pytest.fixture(scope="session")
def _mpi_missing() -> str | None:
    return missing_mpi()


@pytest.fixture(autouse=True)
def _needs_mpi(_mpi_missing: str | None) -> None:
    if _mpi_missing:
        pytest.skip(_mpi_missing)


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in tests/live/ is a ``live`` test, whatever module it is in."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.live)
