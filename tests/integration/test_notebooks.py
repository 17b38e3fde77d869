"""Every notebook in notebooks/ executes without error (nbclient, kernel python3) and
produces the outputs it promises; the stored notebooks carry no outputs and are exactly
what notebooks/make_notebooks.py writes."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 120  # s per cell

#: What each notebook must print (its final check cell) and variables it must define.
EXPECTED: dict[str, tuple[str, list[str]]] = {
    "01-quickstart": ("QUICKSTART OK", ["sim_table", "results", "files"]),
    "02-bring-your-own-code": ("BYOC OK", ["mine", "decodability", "stab", "timing"]),
    "03-stability": ("STABILITY OK", ["stab", "err", "conds"]),
}


def _stream_text(nb) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def _client(path: Path, workdir: Path):
    nb = nbformat.read(path, as_version=4)
    # a last cell that reports which of the expected variables exist
    names = EXPECTED.get(path.stem, ("", []))[1]
    probe = f"print('DEFINED:', sorted(n for n in {names!r} if n in globals()))"
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    return nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},  # the kernel's working directory
    )


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    env["MPLBACKEND"] = "Agg"
    env["TMPDIR"] = str(workdir)  # the notebooks' temporary folders land in tmp_path
    return env


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, tuple[object, Path]]:
    """Every notebook executed once, all at the same time (each in its own kernel and
    temporary folder): stem -> (the executed notebook or the exception it raised, its
    folder). Each notebook's own test reports its result."""
    workdirs = {p.stem: tmp_path_factory.mktemp(p.stem) for p in NOTEBOOKS}
    clients = {p.stem: _client(p, workdirs[p.stem]) for p in NOTEBOOKS}

    async def run_all() -> list[object]:
        return await asyncio.gather(
            *(c.async_execute(env=_env(workdirs[stem])) for stem, c in clients.items()),
            return_exceptions=True,
        )

    results = asyncio.run(run_all())
    return {stem: (r, workdirs[stem]) for stem, r in zip(clients, results, strict=True)}


def test_there_are_three_notebooks():
    stems = {p.stem for p in NOTEBOOKS}
    assert set(EXPECTED) <= stems, f"missing notebooks: {set(EXPECTED) - stems}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{path.name}: clear the outputs (python3 notebooks/make_notebooks.py)"
            )


def test_notebooks_match_their_generator():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", REPO / "notebooks" / "make_notebooks.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, cells in mod.NOTEBOOKS.items():
        stored = nbformat.read(REPO / "notebooks" / name, as_version=4)
        built = mod.build(cells)
        assert [c.source for c in stored.cells] == [c.source for c in built.cells], (
            f"notebooks/{name} differs from make_notebooks.py: rerun "
            "python3 notebooks/make_notebooks.py"
        )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, executed):
    nb, tmp_path = executed[path.stem]
    if isinstance(nb, BaseException):
        raise nb  # CellExecutionError names the failing cell
    text = _stream_text(nb)
    marker, names = EXPECTED.get(path.stem, ("", []))
    if marker:
        assert marker in text, f"{path.name}: final check line {marker!r} not printed"
    defined = next(line for line in text.splitlines() if line.startswith("DEFINED:"))
    for name in names:
        assert repr(name) in defined, f"{path.name}: variable {name!r} not defined"
    # nothing was written into the repository: every file went to the temporary folder
    assert not list((REPO / "notebooks").glob("*.png"))
    assert any(tmp_path.rglob("*.png")), f"{path.name}: no figure written to its temp folder"
