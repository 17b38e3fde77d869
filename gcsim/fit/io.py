"""Reading measured traces for :func:`gcsim.fit.fit_trace`.

Three inputs are understood (see docs/fit.md):

* a **tidy table** (CSV or Parquet), one row per task: columns ``round, worker, load,
  compute_time``, optionally ``comm_time`` and ``bytes``;
* a **live point folder** of ``gcsim live`` (``results/X/points/ID/`` with
  ``workers.csv`` and ``spec.json``);
* a **wide** round x worker table of times per unit load with header ``w0..w{n-1}``
  (the live backend's ``compute_trace.csv`` / ``comm_trace.csv``).

Every problem is one :class:`~gcsim.errors.InvalidInputError` line naming the file, what
is wrong and what would be right.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REQUIRED_COLUMNS", "Trace", "read_live_point", "read_trace", "trace_from_frame"]

#: Columns a tidy trace must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("round", "worker", "load", "compute_time")
#: Optional columns of a tidy trace.
OPTIONAL_COLUMNS: tuple[str, ...] = ("comm_time", "bytes")
#: At least this many measured tasks are needed for a fit.
MIN_TASKS = 10

_WIDE = re.compile(r"^w\d+$")
_NA_TEXT = frozenset({"", "nan", "na", "n/a", "null", "none", "<na>"})
_FORMAT_HINT = (
    "expected a CSV with header round,worker,load,compute_time (optional comm_time, bytes), "
    "one row per task"
)


@dataclass(frozen=True)
class Trace:
    """Measured task times, one entry per (round, worker).

    Attributes
    ----------
    round, worker : numpy.ndarray of int
        Round and worker id of each task.
    load : numpy.ndarray of float
        Load d of each task (partitions computed), > 0.
    compute : numpy.ndarray of float
        Compute time of each task (s), > 0.
    comm : numpy.ndarray of float or None
        Communication time of each task's message (s), >= 0.
    comm_load : numpy.ndarray of float or None
        Each message's size as a fraction of a full-length message (1 when unknown);
        the communication time per full-length message is ``comm / comm_load``.
    source : str
        Where the trace came from (for reports).
    kind : str
        ``"table"``, ``"live-point"`` or ``"wide"``.
    notes : tuple of str
        What the reader did that the user should know (rows filled or left out).
    """

    round: np.ndarray
    worker: np.ndarray
    load: np.ndarray
    compute: np.ndarray
    comm: np.ndarray | None = None
    comm_load: np.ndarray | None = None
    source: str = "<trace>"
    kind: str = "table"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tasks(self) -> int:
        """Number of measured tasks."""
        return int(self.compute.size)

    @property
    def workers(self) -> np.ndarray:
        """Sorted distinct worker ids."""
        return np.unique(self.worker)

    @property
    def rounds(self) -> np.ndarray:
        """Sorted distinct rounds."""
        return np.unique(self.round)


def _fail(where: str, msg: str) -> InvalidInputError:
    return InvalidInputError(f"{where}: {msg}")


def _check_path(p: Path) -> os.stat_result:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise _fail(str(p), "no such file or folder") from None
    except OSError as exc:
        raise _fail(str(p), f"cannot be read ({exc.strerror or exc})") from None
    mode = st.st_mode
    for test, what in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            raise _fail(
                str(p),
                f"is {what}, not a regular file; give a CSV or Parquet trace file or a "
                f"live point folder (copy a stream to a file first)",
            )
    return st


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a trace: a tidy CSV/Parquet table, a wide ``compute_trace.csv``-style table,
    or a live point folder (see the module docstring).

    Raises
    ------
    InvalidInputError
        One line naming the file, the problem and what is expected.
    """
    p = Path(path)
    st = _check_path(p)
    if stat.S_ISDIR(st.st_mode):
        if (p / "workers.csv").exists():
            return read_live_point(p)
        points = sorted(q for q in (p / "points").glob("*") if (q / "workers.csv").is_file())
        if points:
            raise _fail(
                str(p),
                f"is a live results folder with {len(points)} point(s); give one point "
                f"folder, e.g. {points[0]}",
            )
        raise _fail(
            str(p),
            "is a folder, not a trace file; give a CSV or Parquet file (" + _FORMAT_HINT + ")"
            " or a live point folder (results/X/points/ID/ holding workers.csv and spec.json)",
        )
    if not stat.S_ISREG(st.st_mode):  # pragma: no cover - every other kind is caught above
        raise _fail(str(p), "is not a regular file")
    data = p.read_bytes()
    if data[:4] == b"PAR1" or p.suffix.lower() in (".parquet", ".pq"):
        return trace_from_frame(_read_parquet(p), source=str(p))
    return _read_csv(p, data)


def _read_parquet(p: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(p)
    except ImportError:
        raise _fail(
            str(p), "reading Parquet needs pyarrow: pip install 'gcsim[parquet]' (or give a CSV)"
        ) from None
    except Exception as exc:  # pyarrow raises its own types for a damaged file
        raise _fail(
            str(p), f"cannot be read as Parquet ({type(exc).__name__}: {exc}); give a CSV"
        ) from None


def _decode(p: Path, data: bytes) -> str:
    where = str(p)
    if not data.strip():
        raise _fail(where, "is empty; " + _FORMAT_HINT)
    for bom, enc in (
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
    ):
        if data.startswith(bom):
            raise _fail(
                where,
                f"is {enc} text (it starts with the byte-order mark {bom.hex(' ').upper()}); "
                "save it as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)",
            )
    if data[:4] == b"PK\x03\x04":
        raise _fail(where, "is a zip archive (an Excel .xlsx?), not CSV text; export it as CSV")
    # a UTF-8 byte-order mark (Excel's 'CSV UTF-8') is harmless: utf-8-sig drops it
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(
            where,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as a UTF-8 CSV, or give a Parquet file with a .parquet suffix",
        ) from None
    if "\x00" in text:
        raise _fail(where, "contains NUL bytes: a binary file, not CSV text")
    return text


def _header_line(text: str) -> str:
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return s
    return ""


def _read_csv(p: Path, data: bytes) -> Trace:
    import pandas as pd

    where = str(p)
    text = _decode(p, data)
    header = _header_line(text)
    if not header:
        raise _fail(where, "has only comments and blank lines; " + _FORMAT_HINT)
    if "," not in header:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if sep in header:
                raise _fail(
                    where,
                    f"the header {header[:60]!r} is separated by {name}; gcsim reads "
                    "comma-separated files: convert it, e.g. pandas.read_csv(path, "
                    f"sep={sep!r}).to_csv(out, index=False)",
                )
        if header.strip() not in REQUIRED_COLUMNS and not _WIDE.match(header.strip()):
            raise _fail(
                where,
                f"the first line {header[:60]!r} is not a comma-separated header; " + _FORMAT_HINT,
            )
    try:
        df = pd.read_csv(
            io.StringIO(text),
            comment="#",
            skip_blank_lines=True,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise _fail(
            where, f"is not a well-formed CSV ({msg}); every row needs one cell per column"
        ) from None
    except pd.errors.EmptyDataError:
        raise _fail(where, "has no header row; " + _FORMAT_HINT) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns) and all(_WIDE.match(c) for c in df.columns):
        return _wide(df, where)
    return trace_from_frame(df, source=where)


def _numeric(df: pd.DataFrame, col: str, where: str) -> np.ndarray:
    """A column as floats; text that is not a number is an error naming the row."""
    import pandas as pd

    raw = df[col]
    vals = pd.to_numeric(raw, errors="coerce")
    if not pd.api.types.is_numeric_dtype(raw):
        text = raw.astype(str).str.strip()
        junk = vals.isna() & ~text.str.lower().isin(_NA_TEXT) & raw.notna()
        if junk.any():
            i = int(np.flatnonzero(junk.to_numpy())[0])
            raise _fail(
                where,
                f"column {col!r}, data row {i + 1}: cannot read {text.iloc[i]!r} as a number "
                f"({int(junk.sum())} such cell(s)); use plain numbers with '.' as the "
                "decimal point",
            )
    return np.asarray(vals, dtype=float)


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    first = int(idx[0]) + 1
    more = f" (and {idx.size - 1} more row(s))" if idx.size > 1 else ""
    return f"data row {first}{more}"


def trace_from_frame(df: pd.DataFrame, *, source: str = "<DataFrame>") -> Trace:
    """A :class:`Trace` from a tidy DataFrame (columns :data:`REQUIRED_COLUMNS`,
    optionally ``comm_time`` and ``bytes``); checks every value."""
    where = source
    cols = [str(c).strip() for c in df.columns]
    df = df.set_axis(cols, axis=1)
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        hint = (
            " (add load = 1 if the times are already per unit load)" if missing == ["load"] else ""
        )
        shown = ", ".join(cols[:12]) + (", ..." if len(cols) > 12 else "")
        raise _fail(
            where,
            f"missing column(s) {', '.join(map(repr, missing))}{hint}; a trace needs columns "
            f"{', '.join(REQUIRED_COLUMNS)} (optional {', '.join(OPTIONAL_COLUMNS)}); "
            f"found: {shown or 'no columns'}",
        )
    if len(df) == 0:
        raise _fail(where, "has a header but no data rows; " + _FORMAT_HINT)
    vals = {c: _numeric(df, c, where) for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in cols}
    for c, v in vals.items():
        nan = np.isnan(v)
        if nan.any():
            what = (
                "every task needs a measured time: drop the rows of tasks that never "
                "finished, or measure them to completion"
                if c in ("compute_time", "comm_time")
                else "every row needs one"
            )
            raise _fail(where, f"column {c!r} has no value (empty or NaN) in {_rows(nan)}; {what}")
        inf = np.isinf(v)
        if inf.any():
            raise _fail(where, f"column {c!r} is infinite in {_rows(inf)}; give finite values")
    for c in ("round", "worker"):
        v = vals[c]
        bad = (v < 0) | (v != np.floor(v))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail(
                where,
                f"column {c!r} must hold integers >= 0; {_rows(bad)} has {v[i]!r}",
            )
    checks: tuple[tuple[str, str, Any], ...] = (
        ("load", "> 0 (partitions computed)", lambda v: v <= 0),
        ("compute_time", "> 0 seconds", lambda v: v <= 0),
        ("comm_time", ">= 0 seconds", lambda v: v < 0),
        ("bytes", "> 0", lambda v: v <= 0),
    )
    for c, rule, is_bad in checks:
        if c in vals:
            bad = is_bad(vals[c])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise _fail(
                    where,
                    f"column {c!r} must be {rule}; {_rows(bad)} has {vals[c][i]!r}",
                )
    rnd = vals["round"].astype(np.int64)
    wrk = vals["worker"].astype(np.int64)
    key = rnd * (int(wrk.max()) + 1) + wrk
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    if np.any(counts > 1):
        j = int(np.flatnonzero(counts > 1)[0])
        i = int(first[j])
        raise _fail(
            where,
            f"round {rnd[i]}, worker {wrk[i]} appears {counts[j]} times (first in data row "
            f"{i + 1}); one row per task: number the rounds of several runs consecutively",
        )
    if rnd.size < MIN_TASKS:
        raise _fail(where, f"has {rnd.size} task(s); a fit needs at least {MIN_TASKS}")
    comm = vals.get("comm_time")
    comm_load = None
    notes: list[str] = []
    if comm is not None:
        comm_load = np.ones_like(comm)
        if "bytes" in vals:
            full = float(vals["bytes"].max())
            comm_load = vals["bytes"] / full
            if np.any(comm_load < 1):
                notes.append(
                    f"communication times are scaled to the largest message ({full:g} bytes), "
                    "taken as a full-length message"
                )
    return Trace(
        round=rnd,
        worker=wrk,
        load=vals["load"],
        compute=vals["compute_time"],
        comm=comm,
        comm_load=comm_load,
        source=source,
        kind="table",
        notes=tuple(notes),
    )


def _wide(df: pd.DataFrame, where: str) -> Trace:
    cols = list(df.columns)
    vals = np.column_stack([_numeric(df, c, where) for c in cols]) if len(df) else None
    if vals is None or vals.size == 0:
        raise _fail(where, "has a header but no data rows (one row per round)")
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise _fail(
            where,
            f"round (data row) {r + 1}, column {cols[c]!r}: {vals[r, c]!r} is not a duration "
            f">= 0 ({int(bad.sum())} bad cell(s)); give every cell a measured time",
        )
    workers = np.array([int(c[1:]) for c in cols])
    rr, cc = np.nonzero(vals > 0)
    notes = []
    zeros = int((vals == 0).sum())
    if zeros:
        notes.append(
            f"{zeros} cell(s) are 0 (the live export writes 0 for a worker given no work); left out"
        )
    if rr.size < MIN_TASKS:
        raise _fail(where, f"has {rr.size} positive time(s); a fit needs at least {MIN_TASKS}")
    return Trace(
        round=rr.astype(np.int64),
        worker=workers[cc].astype(np.int64),
        load=np.ones(rr.size),
        compute=vals[rr, cc],
        source=where,
        kind="wide",
        notes=(
            "a wide table holds times per unit load (header w0..w{n-1}); the load "
            "scaling cannot be tested from it",
            *notes,
        ),
    )


LIVE_COLUMNS: tuple[str, ...] = (
    "round",
    "worker",
    "compute_start",
    "compute_end",
    "injected_compute",
    "injected_comm",
    "arrival",
    "status",
)


def read_live_point(folder: str | os.PathLike[str]) -> Trace:
    """The tasks of one live point (``workers.csv`` + ``spec.json`` of ``gcsim live``).

    Compute time = ``compute_end - compute_start`` (it includes the encode, as the live
    export ``compute_trace.csv`` does); communication time = ``arrival - compute_end``
    per full-length message (divided by the message fraction ``message_length /
    dimension``). A task that did not finish (cancelled, unfinished) gets its injected
    delay plus the median measured base time, as ``compute_trace.csv`` does; workers
    given no work (status ``never``) are left out.
    """
    import pandas as pd

    from gcsim.spec import RunSpec

    p = Path(folder)
    where = str(p)
    wpath, spath = p / "workers.csv", p / "spec.json"
    for f in (wpath, spath):
        if not f.is_file():
            raise _fail(
                where,
                f"a live point folder needs {f.name} (written by gcsim live); it is missing",
            )
    try:
        spec_json = json.loads(spath.read_text(encoding="utf-8"))
        spec = RunSpec.from_point(spec_json)
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(
            str(spath), f"is not a point spec that RunSpec.from_point reads ({exc})"
        ) from None
    data = wpath.read_bytes()
    text = _decode(wpath, data)
    try:
        w = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(str(wpath), f"is not a well-formed CSV ({exc})") from None
    missing = [c for c in LIVE_COLUMNS if c not in w.columns]
    if missing:
        raise _fail(
            str(wpath),
            f"missing column(s) {', '.join(map(repr, missing))}; a live workers.csv has "
            f"{', '.join(LIVE_COLUMNS)}, ...",
        )
    w = w[w["status"].astype(str) != "never"]
    if w.empty:
        raise _fail(str(wpath), "has no task that was given work")
    loads = np.asarray(spec.code.loads, dtype=float)
    wid = w["worker"].to_numpy(dtype=np.int64)
    if wid.min() < 0 or wid.max() >= loads.size:
        raise _fail(str(wpath), f"worker ids must be 0..{loads.size - 1} (n from spec.json)")
    d = loads[wid]
    num = {c: pd.to_numeric(w[c], errors="coerce").to_numpy(dtype=float) for c in LIVE_COLUMNS[:7]}
    comp = num["compute_end"] - num["compute_start"]
    done = np.isfinite(comp) & (comp > 0)
    if not done.any():
        raise _fail(str(wpath), "has no finished task (compute_end - compute_start)")
    inj_c = np.nan_to_num(num["injected_compute"], nan=0.0, posinf=0.0)
    base_c = float(np.median((comp[done] - inj_c[done]) / d[done]))
    compute = np.where(done, comp, inj_c + max(base_c, 0.0) * d)
    notes = []
    if (~done).any():
        notes.append(
            f"{int((~done).sum())} of {done.size} task(s) did not finish (cancelled); their "
            "compute time is the injected delay plus the median base time, as in "
            "compute_trace.csv"
        )
    frac = spec.message_length / spec.dimension
    xc = num["arrival"] - num["compute_end"]
    xdone = np.isfinite(xc) & (xc >= 0)
    inj_x = np.nan_to_num(num["injected_comm"], nan=0.0, posinf=0.0)
    comm = None
    if xdone.any():
        base_x = float(np.median(xc[xdone] - inj_x[xdone]))
        comm = np.where(xdone, xc, inj_x + max(base_x, 0.0))
    keep = compute > 0
    if int(keep.sum()) < MIN_TASKS:
        raise _fail(str(wpath), f"has {int(keep.sum())} task(s); a fit needs {MIN_TASKS}")
    notes.append(
        "compute time = compute_end - compute_start (includes the encode: simulate with "
        "no encode cost); communication time = arrival - compute_end (includes the upload "
        "latency) per full-length message"
    )
    return Trace(
        round=w["round"].to_numpy(dtype=np.int64)[keep],
        worker=wid[keep],
        load=d[keep],
        compute=compute[keep],
        comm=None if comm is None else comm[keep],
        comm_load=None if comm is None else np.full(int(keep.sum()), frac),
        source=where,
        kind="live-point",
        notes=tuple(notes),
    )


def describe_trace(t: Trace) -> str:
    """One line: tasks, workers, rounds, loads."""
    loads = np.unique(t.load)
    lo = ", ".join(f"{v:g}" for v in loads[:6]) + (", ..." if loads.size > 6 else "")
    return (
        f"{t.tasks} tasks, {t.workers.size} workers, {t.rounds.size} rounds, "
        f"load{'s' if loads.size > 1 else ''} {lo}"
        + ("" if t.comm is None else ", with communication times")
    )


def _finite(x: float) -> bool:
    return math.isfinite(x)
