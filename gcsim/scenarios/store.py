"""The results folder of a sweep: layout, atomic writes, loading.

::

    FOLDER/
      scenario.toml        the scenario file as given (verbatim copy)
      resolved.json        the resolved scenario (defaults and --set overrides applied)
      manifest.json        versions, seed, the expanded points (id, parameters, status)
      points/ID/           one folder per finished point, created atomically
        point.json         its parameters, status (ok / failed), seeds, timings, error
        summary.json       the per-point summary (SUMMARY_COLUMNS)
        records.csv        per-round records (ROUND_COLUMNS + decode_wall), or .parquet
      summary.csv          tidy table, one row per point (written when the sweep ends)
      figures/             plots (PNG and PDF)

A point folder is written under a temporary name and renamed into place, so a sweep
killed at any moment (even ``kill -9``) leaves only complete points behind, and a restart
runs exactly the missing ones.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gcsim._files import atomic_replace, share
from gcsim.errors import InvalidInputError

__all__ = [
    "SUMMARY_COLUMNS",
    "Results",
    "atomic_write_text",
    "load_results",
    "point_done",
    "write_point",
]

#: Columns of the tidy summary table (one row per point), with their meaning.
SUMMARY_COLUMNS: dict[str, str] = {
    "point": "point id (folder name under points/)",
    "index": "position of the point in the expansion order",
    "scheme": "scheme label (as in the scenario's [[schemes]] table)",
    "code": "registry name of the code",
    "n": "workers",
    "s": "stragglers tolerated in the worst case: the code's effective s (may exceed s_requested)",
    "s_requested": "s asked for",
    "m": "communication reduction (message length ceil(l/m))",
    "d": "computation load: partitions per worker (largest), the code's effective d",
    "d_requested": "the scheme's load at the requested s (empty when not known)",
    "adjusted": "why the code runs at another s or d than requested (empty when it does not)",
    "tuned": "with [tune]: the configuration the advisor picked for the scheme, and its "
    "estimate (empty when not tuned)",
    "replicate": "replicate index",
    "dtype": "message precision (float64 or float32)",
    "status": "ok, failed (error during the run, or no usable round time: no round decoded, "
    "or round times overflowing float64) or infeasible (code constraint)",
    "error": "one-line error message when status is not ok",
    "rounds": "rounds simulated",
    "failed_rounds": "rounds that never became decodable (or timed out)",
    "mean_round_time": "mean round time over decoded rounds (s, simulated)",
    "median_round_time": "median round time (s)",
    "p95_round_time": "95th percentile round time (s)",
    "p99_round_time": "99th percentile round time (s)",
    "sem_round_time": "standard error of the mean round time (s)",
    "total_time": "simulated wall-clock time of the whole run (s)",
    "mean_bytes_received": "bytes received per round (mean)",
    "message_fraction": "message length / gradient length (about 1/m)",
    "mean_decode_time": "decode time charged by the cost model per round (s)",
    "mean_decode_wall": "measured wall time of the real decode kernel per round (s)",
    "worst_cond": "worst condition number of the decoders used",
    "worst_rel_error": "worst relative error of the decoded gradient",
    "mean_rel_error": "mean relative error of the decoded gradient over the decoded rounds",
    "early_fraction": "fraction of rounds decoded with fewer than n - s responders",
    "final_loss": "training loss after the last round (NaN without a model)",
    "rounds_to_target": "with [accuracy]: rounds until the loss first reached target_loss "
    "(NaN: never)",
    "time_to_target": "with [accuracy]: simulated time (s) until the loss first reached "
    "target_loss (NaN: never)",
    "wall_s": "wall time this point took to simulate (s)",
}

#: Columns that measure this machine's wall clock: excluded from determinism checks.
WALL_CLOCK_COLUMNS = ("mean_decode_wall", "wall_s")


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see either the old or the complete new content; its
    mode follows the umask, like any file written directly."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_replace(path, write)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=_json_default, allow_nan=True)


def point_done(folder: Path, point_id: str) -> bool:
    """A point is done when its folder exists (it is created by an atomic rename)."""
    return (folder / "points" / point_id / "point.json").is_file()


def write_point(
    folder: Path,
    point_id: str,
    info: dict[str, Any],
    summary: dict[str, Any],
    records: pd.DataFrame | None,
    fmt: str = "csv",
) -> Path:
    """Write a point's files into a temporary folder, then rename it into place."""
    points = folder / "points"
    points.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{point_id}-", dir=points))
    try:
        share(tmp, folder=True)
        (tmp / "summary.json").write_text(dumps(summary), encoding="utf-8")
        if records is not None:
            if fmt == "parquet":
                records.to_parquet(tmp / "records.parquet", index=False)
            else:
                records.to_csv(tmp / "records.csv", index=False)
        (tmp / "point.json").write_text(dumps(info), encoding="utf-8")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        final = points / point_id
        if final.exists():  # a concurrent or earlier writer finished first: keep theirs
            shutil.rmtree(tmp)
            return final
        os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class Results:
    """A loaded results folder.

    Attributes
    ----------
    summary : DataFrame
        One row per point (columns :data:`SUMMARY_COLUMNS` plus one column per swept key).
    records : DataFrame
        Per-round records of every finished point, with ``point`` and ``scheme`` columns.
    manifest : dict
        Versions, seed and the expanded points.
    resolved : dict
        The resolved scenario.
    folder : Path
    """

    summary: pd.DataFrame
    records: pd.DataFrame
    manifest: dict[str, Any]
    resolved: dict[str, Any]
    folder: Path
    factors: list[str] = field(default_factory=list)


def _read_records(pdir: Path) -> pd.DataFrame | None:
    if (pdir / "records.parquet").is_file():
        return pd.read_parquet(pdir / "records.parquet")
    if (pdir / "records.csv").is_file():
        return pd.read_csv(pdir / "records.csv")
    return None


def load_results(folder: str | os.PathLike[str], *, records: bool = True) -> Results:
    """Load a sweep's results folder into pandas DataFrames.

    Works on a finished sweep and on a partial one (only finished points are loaded).
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InvalidInputError(
            f"{folder} is not a gcsim results folder (no manifest.json); "
            "run `gcsim sweep SCENARIO` first"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"{manifest_path}: not a gcsim manifest (invalid JSON: {exc})"
        ) from None
    resolved_path = folder / "resolved.json"
    resolved = (
        json.loads(resolved_path.read_text(encoding="utf-8")) if resolved_path.is_file() else {}
    )
    rows = []
    recs = []
    factors: list[str] = list(manifest.get("factors", []))
    for p in manifest.get("points", []):
        pid = p["point"]
        pdir = folder / "points" / pid
        row: dict[str, Any] = {
            k: p.get(k)
            for k in (
                "point",
                "index",
                "scheme",
                "code",
                "n",
                "s_requested",
                "s",
                "m",
                "d_requested",
                "d",
                "adjusted",
                "tuned",
                "replicate",
                "dtype",
            )
        }
        row.update({f: p.get("factors", {}).get(f) for f in factors})
        if p.get("status") == "infeasible":
            row.update(status="infeasible", error=p.get("error", ""))
        elif (pdir / "point.json").is_file():
            info = json.loads((pdir / "point.json").read_text(encoding="utf-8"))
            summ = json.loads((pdir / "summary.json").read_text(encoding="utf-8"))
            row.update(summ)
            row["status"] = info.get("status", "ok")
            row["error"] = info.get("error", "")
            if records:
                rec = _read_records(pdir)
                if rec is not None:
                    rec.insert(0, "point", pid)
                    rec.insert(1, "scheme", p["scheme"])
                    for f in factors:
                        rec[f] = p.get("factors", {}).get(f)
                    rec["replicate"] = p.get("replicate")
                    rec["n"] = p.get("n")
                    recs.append(rec)
        else:
            row.update(status="missing", error="not run yet")
        rows.append(row)
    cols = list(SUMMARY_COLUMNS) + [f for f in factors if f not in SUMMARY_COLUMNS]
    summary = pd.DataFrame(rows)
    for c in cols:
        if c not in summary.columns:
            summary[c] = np.nan
    summary = summary[cols]
    records_df = pd.concat(recs, ignore_index=True) if recs else pd.DataFrame()
    return Results(
        summary=summary,
        records=records_df,
        manifest=manifest,
        resolved=resolved,
        folder=folder,
        factors=factors,
    )
