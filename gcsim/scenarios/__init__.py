"""Scenario files, sweeps and the results store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gcsim._files import exists_as_file
from gcsim.errors import excerpt
from gcsim.scenarios.expand import Point, expand
from gcsim.scenarios.runner import SweepOutcome, run_point, run_sweep
from gcsim.scenarios.schema import (
    SCHEMA,
    ScenarioError,
    apply_override,
    check_output_dir,
    load_scenario_file,
    valid_name,
    validate,
)
from gcsim.scenarios.store import SUMMARY_COLUMNS, Results, load_results

__all__ = [
    "SCHEMA",
    "SUMMARY_COLUMNS",
    "Point",
    "Results",
    "ScenarioError",
    "SweepOutcome",
    "expand",
    "load_results",
    "load_scenario",
    "output_folder",
    "run_point",
    "run_sweep",
]


def load_scenario(
    path: str | Path,
    sets: list[str] | tuple[str, ...] = (),
    *,
    notes: list[str] | None = None,
) -> tuple[dict[str, Any], str, list[Point]]:
    """Read, override (``key.path=value``), validate and expand a scenario file.

    Returns (resolved scenario, verbatim file text, points). Every problem raises
    :class:`ScenarioError` with the file name and the key path. An override of a swept
    key replaces that sweep by its single value; ``notes``, when given, receives one
    line per such override (the CLI prints them).
    """
    data, text = load_scenario_file(path)
    _resolve_trace_paths(data, Path(path).resolve().parent)
    for assignment in sets:
        try:
            note = apply_override(data, assignment)
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: {exc}") from None
        if note and notes is not None:
            notes.append(note)
    try:
        resolved = validate(data, default_name=Path(path).stem)
        points = expand(resolved)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    if sets:
        text = (
            text.rstrip("\n")
            + "\n\n# --set overrides applied on the command line:\n"
            + "".join(f"# {s}\n" for s in sets)
        )
    return resolved, text, points


def _resolve_trace_paths(data: Any, base: Path) -> None:
    """Make relative ``data = "file.csv"`` paths of trace models relative to the scenario
    file's folder (when the file exists there), wherever the command is run from."""
    if isinstance(data, dict):
        if data.get("model") == "trace" and isinstance(data.get("data"), str):
            p = Path(data["data"])
            if not p.is_absolute() and exists_as_file(base / p):
                data["data"] = str((base / p).resolve())
        for v in data.values():
            _resolve_trace_paths(v, base)
    elif isinstance(data, list):
        for v in data:
            _resolve_trace_paths(v, base)


def output_folder(resolved: dict[str, Any], override: str | None = None) -> Path:
    """Where a sweep writes: --out, else [output].dir, else results/<name>.

    Only ``--out`` (the command line) may name any folder; a folder chosen by the
    scenario file stays below the current directory, and ``results/<name>`` below
    ``results/`` (the name is a plain name: no '/', '..' or line breaks)."""
    if override:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in override):
            raise ScenarioError(
                f"--out {excerpt(override)}: the folder name holds control characters "
                "(a line break?); give a plain path"
            )
        return Path(override)
    if resolved["output"]["dir"]:
        check_output_dir(resolved["output"]["dir"])
        return Path(resolved["output"]["dir"])
    name = resolved["scenario"]["name"]
    if not valid_name(name):
        raise ScenarioError(
            f"scenario.name: {excerpt(name)} cannot name a folder below results/ (letters, "
            "digits, '-', '_', '.'; no '/', '..' or line breaks)"
        )
    return Path("results") / name
