"""Replay of measured per-round, per-worker durations (a trace)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from gcsim._files import check_regular_file, decode_text
from gcsim.delays._validate import check_real, readonly, require
from gcsim.delays.base import DelayModel, RoundSampler
from gcsim.errors import InvalidInputError, excerpt
from gcsim.rng import SeedLike

ON_EXHAUSTED = ("wrap", "error")


def read_trace_csv(
    path: str | os.PathLike[str], delimiter: str = ",", header: bool | None = None
) -> np.ndarray:
    """Read a rounds × workers CSV of durations.

    Blank lines and lines starting with ``#`` are skipped. The first remaining row is a
    header when ``header`` is True, or, with ``header=None``, when any of its cells is not
    a number.

    Returns
    -------
    numpy.ndarray, shape (rounds, workers)
        The raw values (not yet checked for sign or finiteness).
    """
    if header is not None and not isinstance(header, (bool, np.bool_)):
        raise InvalidInputError(
            f"trace: header must be true or false (or left out: detected); got "
            f"header={excerpt(header)}"
        )
    p = Path(path)
    where = f"trace: data file {excerpt(str(p))}"
    want = "a CSV file of unit-load durations, one row per round and one column per worker"
    check_regular_file(p, where, want)
    text = decode_text(p.read_bytes(), where, want)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise InvalidInputError(
            f"trace: delimiter must be one character (',' ';' or a tab); got "
            f"delimiter={excerpt(delimiter)}"
        )
    rows: list[list[float]] = []
    width: int | None = None
    lines = [
        (lineno, row)
        for lineno, row in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        )
        if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")
    ]
    _check_delimiter(p, lines, delimiter)
    if header is None:
        header = bool(lines) and not all(_is_number(c) for c in lines[0][1])
    if header:
        lines = lines[1:]
    for lineno, row in lines:
        cells = [c.strip() for c in row]
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            raise InvalidInputError(
                f"trace: {p.name} line {lineno} (round {len(rows)}) has {len(cells)} "
                f"columns; expected {width} like the first data row"
            )
        vals = []
        for col, c in enumerate(cells):
            if not _is_number(c):
                raise InvalidInputError(
                    f"trace: {p.name} line {lineno} (round {len(rows)}, worker {col}): "
                    f"cannot read {excerpt(c)} as a number"
                )
            vals.append(float(c))
        rows.append(vals)
    if not rows:
        raise InvalidInputError(f"trace: {p.name} has no data rows")
    return np.array(rows, dtype=float)


_SEPARATORS = ((",", "commas"), (";", "semicolons"), ("\t", "tabs"), ("|", "'|'"))


def _check_delimiter(p: Path, lines: list[tuple[int, list[str]]], delimiter: str) -> None:
    """One cell per row that another separator would split: the wrong delimiter (else
    each row reads as one unparseable cell, or a header of numbers is mistaken)."""
    if not lines or any(len(row) > 1 for _, row in lines[:5]):
        return
    first = lines[0][1][0]
    for sep, name in _SEPARATORS:
        if sep != delimiter and sep in first:
            shown = "tab" if delimiter == "\t" else repr(delimiter)
            raise InvalidInputError(
                f"trace: {p.name}: the rows are separated by {name}, not by the delimiter "
                f"{shown}; set delimiter = {sep!r} in the trace model (line "
                f"{lines[0][0]}: {excerpt(first.strip())})"
            )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


class TraceDelay(DelayModel):
    """Replays a measured trace: round r of a run uses row r, worker i column i.

    Entries are taken as unit-load durations and multiplied by the load (per-worker
    scaling). A trace has one value per round and worker, so independent per-partition
    draws do not exist: a sampler in ``"per-partition"`` mode is refused.

    Parameters
    ----------
    data : str, path, or array_like of shape (rounds, workers)
        A CSV file (header row optional; ``#`` comments and blank lines skipped) or the
        values themselves (a numpy array, nested lists, a DataFrame). Entries must be
        finite and >= 0 (record unfinished workers as their real finish time, not -1).
        Required.
    on_exhausted : {"wrap", "error"}, default "wrap"
        After the last row: start again at row 0, or raise :class:`InvalidInputError`.
    recycle_workers : bool, default False
        When the trace has fewer columns than the run has workers, worker i uses column
        ``i mod columns``; otherwise that is an error. Extra columns are ignored.
    start : int or "random", default 0
        Row of round 0; ``"random"`` draws it uniformly from the sampler's generator
        (different replicates then replay different stretches).
    scale : float, default 1.0
        Factor applied to every entry (e.g. 1e-3 for a trace in milliseconds).
    delimiter : str, default ","
        CSV delimiter.
    header : bool, optional
        Whether the CSV's first row is a header; default: detected (a row with a cell
        that is not a number). Give ``True`` for a header of numbers (worker ids).

    Notes
    -----
    :meth:`sample` draws entries uniformly at random from the whole trace (its empirical
    marginal).
    """

    name = "trace"
    iid = False
    row_stable = False
    required = ("data",)

    def __init__(
        self,
        data: Any = None,
        on_exhausted: str = "wrap",
        recycle_workers: bool = False,
        start: int | str = 0,
        scale: float = 1.0,
        delimiter: str = ",",
        header: bool | None = None,
    ) -> None:
        data = require(self.name, "data", data)
        self.source: str | None = None
        if isinstance(data, (str, os.PathLike)):
            self.source = os.fspath(data)
            arr = read_trace_csv(data, delimiter, header)
        else:
            try:
                arr = np.asarray(data, dtype=float)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"{self.name}: data must be a CSV path or a numeric (rounds, workers) "
                    f"array; got {type(data).__name__}"
                ) from exc
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise InvalidInputError(
                f"{self.name}: data must be a non-empty 2-D array (rounds × workers); got "
                f"shape {arr.shape} (reshape a single round to (1, workers))"
            )
        bad = np.argwhere(~np.isfinite(arr) | (arr < 0))
        if bad.size:
            r, c = (int(v) for v in bad[0])
            where = f" in {Path(self.source).name}" if self.source else ""
            raise InvalidInputError(
                f"{self.name}: durations must be finite and >= 0; got {float(arr[r, c])!r} at "
                f"round (row) {r}, worker (column) {c}{where} ({len(bad)} bad entries in all)"
            )
        if on_exhausted not in ON_EXHAUSTED:
            raise InvalidInputError(
                f"{self.name}: on_exhausted must be one of {', '.join(ON_EXHAUSTED)}; "
                f"got on_exhausted={excerpt(on_exhausted)}"
            )
        if not isinstance(recycle_workers, (bool, np.bool_)):
            raise InvalidInputError(
                f"{self.name}: recycle_workers must be True or False; "
                f"got recycle_workers={excerpt(recycle_workers)}"
            )
        if start != "random" and (
            isinstance(start, (bool, np.bool_))
            or not isinstance(start, (int, np.integer))
            or not 0 <= start < arr.shape[0]
        ):
            raise InvalidInputError(
                f"{self.name}: start must be 'random' or a row index in 0..{arr.shape[0] - 1}; "
                f"got start={excerpt(start)}"
            )
        self.scale = check_real(self.name, "scale", scale, gt=0.0)
        self.on_exhausted = on_exhausted
        self.recycle_workers = bool(recycle_workers)
        self.start: int | str = start if start == "random" else int(start)
        self.delimiter = delimiter
        self.header = header
        self.data: np.ndarray = readonly(arr * self.scale)

    @property
    def rounds(self) -> int:
        """Number of rows (rounds) in the trace."""
        return int(self.data.shape[0])

    @property
    def workers(self) -> int:
        """Number of columns (workers) in the trace."""
        return int(self.data.shape[1])

    def sampler(self, n: int, rng: SeedLike, mode: str = "per-worker") -> RoundSampler:
        return TraceSampler(self, n, rng, mode)

    def _sample(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        flat = self.data.ravel()
        return flat[rng.integers(0, flat.size, size)]

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "data": self.source if self.source is not None else self.data / self.scale,
            "on_exhausted": self.on_exhausted,
            "recycle_workers": self.recycle_workers,
            "start": self.start,
            "scale": self.scale,
        }
        if self.source is not None and self.delimiter != ",":
            out["delimiter"] = self.delimiter
        if self.source is not None and self.header is not None:
            out["header"] = self.header
        return out

    def __repr__(self) -> str:
        src = repr(self.source) if self.source is not None else "<array>"
        return (
            f"TraceDelay(data={src}, shape={self.data.shape}, on_exhausted="
            f"{self.on_exhausted!r}, recycle_workers={self.recycle_workers}, "
            f"start={self.start!r}, scale={self.scale!r})"
        )


class TraceSampler(RoundSampler):
    """Position in the trace of one run (``position``: rounds drawn so far)."""

    def __init__(self, model: TraceDelay, n: int, rng: SeedLike, mode: str) -> None:
        super().__init__(n, rng, mode)
        if mode != "per-worker":
            raise InvalidInputError(
                f"trace: a trace holds one duration per round and worker, so it supports "
                f"only mode='per-worker' (durations scaled by the load); got mode={mode!r}"
            )
        if model.workers < self.n and not model.recycle_workers:
            raise InvalidInputError(
                f"trace: the trace has {model.workers} workers (columns) but the run has "
                f"n={self.n}; pass recycle_workers=True to reuse columns (worker i uses "
                f"column i mod {model.workers})"
            )
        self.model = model
        self.columns = np.arange(self.n) % model.workers
        self.first_row: int = (
            int(self.rng.integers(0, model.rounds))
            if isinstance(model.start, str)
            else int(model.start)
        )
        self.position = 0

    def _rows(self, rounds: int) -> np.ndarray:
        m = self.model
        idx = self.first_row + self.position + np.arange(rounds)
        if m.on_exhausted == "error" and idx[-1] >= m.rounds:
            raise InvalidInputError(
                f"trace: exhausted after {m.rounds - self.first_row} rounds (the trace has "
                f"{m.rounds} rows, starting at row {self.first_row}); round "
                f"{self.position + int(np.argmax(idx >= m.rounds))} has no row "
                f"(on_exhausted='error'; use 'wrap' to cycle)"
            )
        self.position += rounds
        out: np.ndarray = idx % m.rounds
        return out

    def _draw(self, loads: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.model.data[self._rows(1)[0], self.columns] * loads
        return out

    def _draw_rounds(self, rounds: int, loads: np.ndarray) -> np.ndarray:
        rows = self._rows(rounds)
        out: np.ndarray = self.model.data[np.ix_(rows, self.columns)] * loads[None, :]
        return out
