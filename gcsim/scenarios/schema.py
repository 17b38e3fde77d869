"""Scenario files: the schema, loading (tomllib), validation and ``--set`` overrides.

Every key, its type, default and meaning is listed in ``docs/scenarios.md``; the tables
below are the single source of truth (the doc is generated from them by
``python -m gcsim.scenarios.schema``). Errors name the key path and, for unknown keys, a
close match.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from gcsim.errors import GcsimError, excerpt, one_line

__all__ = [
    "SCHEMA",
    "Field",
    "ScenarioError",
    "apply_override",
    "load_scenario_text",
    "parse_scalar",
    "validate",
]


class ScenarioError(GcsimError, ValueError):
    """A scenario file is invalid: the message names the file, the key path and the fix."""


REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One key of the schema."""

    kind: str  # int, float, number, bool, str, choice, list-int, list-str, table
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive_min: bool = False
    finite: bool = False
    maximum: float | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _type_name(v: Any) -> str:
    """The value and its type for a message, the value as a short excerpt."""
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if isinstance(v, int):
        return f"{excerpt(v)} (an integer)"
    if isinstance(v, float):
        return f"{v} (a float)"
    if isinstance(v, str):
        return f"{excerpt(v)} (a string)"
    if isinstance(v, list):
        return f"an array {excerpt(v)}" if v else "an empty array"
    if isinstance(v, dict):
        return "a table"
    return type(v).__name__


def check_value(path: str, f: Field, v: Any) -> Any:
    """Type- and range-check one value; return it normalised (ints accepted as floats)."""
    k = f.kind
    if k == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise ScenarioError(f"{path}: expected an integer, got {_type_name(v)}")
    elif k in ("float", "number"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ScenarioError(f"{path}: expected a number, got {_type_name(v)}")
        if isinstance(v, float) and math.isnan(v):
            raise ScenarioError(f"{path}: expected a number, got nan")
        v = float(v)
    elif k == "bool":
        if not isinstance(v, bool):
            raise ScenarioError(f"{path}: expected true or false, got {_type_name(v)}")
    elif k == "str":
        if not isinstance(v, str):
            raise ScenarioError(f"{path}: expected a string, got {_type_name(v)}")
    elif k == "choice":
        if not isinstance(v, str) or v not in f.choices:
            close = difflib.get_close_matches(str(v)[:200], f.choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScenarioError(
                f"{path}: expected one of {', '.join(repr(c) for c in f.choices)}, got "
                f"{_type_name(v)}{hint}"
            )
    elif k in ("list-int", "list-str"):
        elem = int if k == "list-int" else str
        if not isinstance(v, list) or not all(
            isinstance(x, elem) and not isinstance(x, bool) for x in v
        ):
            what = "integers" if elem is int else "strings"
            raise ScenarioError(f"{path}: expected an array of {what}, got {_type_name(v)}")
        if k == "list-str" and f.choices:
            bad = [x for x in v if x not in f.choices]
            if bad:
                raise ScenarioError(
                    f"{path}: unknown value(s) {excerpt(bad)}; expected any of "
                    f"{', '.join(f.choices)}"
                )
    elif k == "table":
        if not isinstance(v, dict):
            raise ScenarioError(f"{path}: expected a table, got {_type_name(v)}")
    if f.minimum is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
        if v < f.minimum or (f.exclusive_min and v == f.minimum):
            op = ">" if f.exclusive_min else ">="
            raise ScenarioError(f"{path}: must be {op} {f.minimum:g}, got {excerpt(v)}")
    if f.maximum is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
        if v > f.maximum:
            raise ScenarioError(f"{path}: must be <= {f.maximum:g}, got {excerpt(v)}")
    if k == "list-str" and f.choices and not v:
        raise ScenarioError(f"{path}: expected at least one of {', '.join(f.choices)}")
    if k in ("float", "number") and f.finite and math.isinf(v):
        raise ScenarioError(f"{path}: must be finite, got {v}")
    if k == "list-int" and f.minimum is not None:
        bad = [x for x in v if x < f.minimum]
        if bad:
            raise ScenarioError(f"{path}: values must be >= {f.minimum:g}, got {excerpt(bad)}")
    return v


INF = math.inf

#: section path -> key -> Field. Free-form tables (model parameters) are validated by
#: the model factories (make_delay, make_workload, make_code) with the key path added.
SCHEMA: dict[str, dict[str, Field]] = {
    "scenario": {
        "name": Field(
            "str",
            "",
            "name of the scenario and of its default results folder: letters, digits, "
            "'-', '_', '.' (default: the file name)",
        ),
        "description": Field("str", "", "free text"),
        "seed": Field("int", 0, "root seed: every random stream derives from it", minimum=0),
        "rounds": Field("int", 100, "rounds (iterations) simulated per point", minimum=1),
        "replicates": Field("int", 1, "independent replicates per point (own streams)", minimum=1),
        "engine": Field(
            "choice",
            "auto",
            "auto: fast path when exact, else the SimPy DES",
            choices=("auto", "des", "fast"),
        ),
    },
    "cluster": {
        "n": Field("int", REQUIRED, "number of workers (= data partitions)", minimum=1),
        "policy": Field(
            "choice",
            "cancel",
            "stragglers at round end: cancelled, or they finish their stale work and start late",
            choices=("cancel", "non-preemptive"),
        ),
        "decode_rule": Field(
            "choice",
            "decodable",
            "decode as soon as the responders are decodable, or at a fixed count n - s; "
            "for inexact codes also 'deadline' (the round ends at round_timeout with whoever "
            "arrived) or 'error' (at the first responder set whose coefficient error is at "
            "most error_target); exact codes decode as soon as decodable under both",
            choices=("decodable", "count", "deadline", "error"),
        ),
        "error_target": Field(
            "float",
            0.1,
            "decode_rule 'error': the largest accepted coefficient error of a round, the "
            "root mean square of B_R^T a - 1 (a round that never gets there fails)",
            minimum=0,
            finite=True,
        ),
        "load_mode": Field(
            "choice",
            "per-worker",
            "compute delay: one draw x load, or one draw per partition",
            choices=("per-worker", "per-partition"),
        ),
        "round_timeout": Field(
            "float",
            INF,
            "a round not decodable within this time fails (s; inf = never)",
            minimum=0,
            exclusive_min=True,
        ),
        "failed_workers": Field(
            "list-int", [], "workers that never respond (permanent failures)", minimum=0
        ),
        "numerics": Field(
            "choice",
            "warn",
            "a decode that decode(check=True) refuses in the messages' precision: warn "
            "(used; one warning per point), refuse (the round fails), record (used silently)",
            choices=("warn", "refuse", "record"),
        ),
    },
    "cluster.network": {
        "latency": Field("float", 0.0, "one-way latency (s)", minimum=0, finite=True),
        "bandwidth": Field(
            "float", INF, "each worker's uplink (bytes/s)", minimum=0, exclusive_min=True
        ),
        "ingress": Field(
            "float", INF, "the server's shared ingress (bytes/s)", minimum=0, exclusive_min=True
        ),
        "broadcast": Field(
            "float",
            INF,
            "server-to-worker bandwidth for the model broadcast (bytes/s)",
            minimum=0,
            exclusive_min=True,
        ),
        "bytes_per_value": Field(
            "int", 8, "bytes per transmitted value (2, 4, 8 or 16)", minimum=1
        ),
        "sharing": Field(
            "choice",
            "fair",
            "how uploads share the ingress: max–min fair flows, or store-and-forward "
            "FIFO (one message at a time, after the uplink)",
            choices=("fair", "fifo"),
        ),
    },
    "cluster.costs": {
        "encode_rate": Field(
            "float",
            INF,
            "worker encode speed (multiply-adds/s; inf = free)",
            minimum=0,
            exclusive_min=True,
        ),
        "decode_rate": Field(
            "float", INF, "server decode speed (multiply-adds/s)", minimum=0, exclusive_min=True
        ),
        "update_rate": Field(
            "float", INF, "server update speed (operations/s)", minimum=0, exclusive_min=True
        ),
        "measured": Field(
            "bool",
            False,
            "charge the measured wall time of the real "
            "kernels instead (not reproducible across machines)",
        ),
    },
    "delays": {
        "compute": Field(
            "table",
            REQUIRED,
            "computation delay model per partition: {model = NAME, params...} (see `gcsim "
            "delays`); a relative trace path is relative to the scenario file",
        ),
        "comm": Field(
            "table",
            {"model": "constant", "value": 0.0},
            "communication delay model per full-length message",
        ),
    },
    "workload": {
        "model": Field(
            "choice",
            "random-vectors",
            "source of partial gradients",
            choices=("random-vectors", "logistic", "softmax", "none"),
        ),
        # further keys are the workload's parameters (dimension, samples, features, ...)
    },
    "code": {
        "s": Field("int", 0, "default stragglers tolerated for every scheme that has s", minimum=0),
        "m": Field(
            "int",
            1,
            "default communication reduction for schemes with m > 1 (ye-abbe, grouped)",
            minimum=1,
        ),
    },
    "scheme": {
        "code": Field("str", REQUIRED, "registry name (see `gcsim codes`)"),
        "label": Field(
            "str",
            "",
            "unique label in results and plots (default: the code "
            "name, with the generator for grouped)",
        ),
        "s": Field("int", -1, "stragglers tolerated (default: [code].s)", minimum=0),
        "m": Field(
            "int",
            -1,
            "communication reduction (default: [code].m where the scheme has m)",
            minimum=1,
        ),
        "options": Field("table", {}, "scheme options, e.g. {generator = 'chebyshev', draws = 5}"),
    },
    "live": {
        "round_timeout": Field(
            "float",
            30.0,
            "live only: a round not decodable within this time fails (s)",
            minimum=0,
            exclusive_min=True,
        ),
        "poll_interval": Field(
            "float",
            2e-4,
            "live only: sleep between polls of MPI messages (s); workers and server never spin",
            minimum=0,
        ),
        "point_timeout": Field(
            "float",
            600.0,
            "live only: a whole point is aborted after this long (s)",
            minimum=0,
            exclusive_min=True,
        ),
        "shutdown_timeout": Field(
            "float",
            5.0,
            "live only: how long the server waits for workers to finish at the end (s)",
            minimum=0,
        ),
        "inject": Field(
            "bool",
            True,
            "live only: wait out the drawn delays (true), or run with natural stragglers "
            "only: real computation and contention, no injected delay (false)",
        ),
        "slow_workers": Field(
            "list-int",
            [],
            "live only: workers that share their core with CPU-bound background processes "
            "(real contention; see background)",
            minimum=0,
        ),
        "background": Field(
            "int",
            1,
            "live only: CPU-bound background processes pinned to each slow worker's core",
            minimum=0,
            maximum=16,
        ),
    },
    "accuracy": {
        "target_loss": Field(
            "float",
            REQUIRED,
            "training loss to reach: the summary gets time_to_target and rounds_to_target, "
            "the figures time_to_accuracy (a workload that trains a model)",
            minimum=0,
            exclusive_min=True,
            finite=True,
        ),
    },
    "tune": {
        "enabled": Field(
            "bool",
            False,
            "tune every scheme's free parameters with the advisor before the sweep "
            "(fair comparisons; see docs/comparison.md)",
        ),
        "params": Field(
            "list-str",
            ["m", "options", "decode_rule"],
            "what is tuned: m, options (those not written in [[schemes]]) and decode_rule",
            choices=("m", "options", "decode_rule"),
        ),
        "objective": Field(
            "choice",
            "mean",
            "what the tuning minimises: mean or p95 round time",
            choices=("mean", "p95"),
        ),
        "load": Field(
            "int",
            0,
            "0: compare at equal s (each scheme tolerates exactly s); D > 0: at equal "
            "computation (load d <= D, at least s tolerated)",
            minimum=0,
        ),
        "rounds": Field("int", 2000, "rounds per advisor estimate", minimum=100, maximum=100_000),
    },
    "output": {
        "dir": Field(
            "str",
            "",
            "results folder (default: results/<name>); a relative path inside the "
            "current directory (no '..'; --out chooses any folder)",
        ),
        "format": Field(
            "choice",
            "csv",
            "per-round records format (parquet needs pyarrow)",
            choices=("csv", "parquet"),
        ),
        "records": Field("bool", True, "write per-round records of every point"),
        "plots": Field("bool", True, "draw the figures at the end of the sweep"),
        "plot_formats": Field(
            "list-str", ["png", "pdf"], "figure formats", choices=("png", "pdf", "svg")
        ),
    },
}

TOP_LEVEL = (
    "scenario",
    "cluster",
    "delays",
    "workload",
    "code",
    "schemes",
    "sweep",
    "live",
    "accuracy",
    "tune",
    "output",
)
#: A scheme label or scenario name: it names folders, so letters, digits, '-' and '_'
#: only (matched whole, with ``fullmatch``: ``$`` would accept a final newline).
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
#: A scenario name (it names the default results folder): a label that may hold dots.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
#: Longest label or scenario name (they name folders and files).
MAX_LABEL = 100


def _suggest(key: str, options: list[str]) -> str:
    close = difflib.get_close_matches(key, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: Keys that are machine configuration, never scenario data (a scenario file must not
#: choose a program to run): where they are set instead.
MACHINE_KEYS = {
    "live.mpiexec": "gcsim live --mpiexec PROGRAM (or the GCSIM_MPIEXEC environment variable)",
    "live.mpiexec_args": "gcsim live --mpiexec-arg ARG, repeatable (or GCSIM_MPIEXEC_ARGS)",
}


def _unknown(path: str, key: str, options: list[str]) -> ScenarioError:
    full = f"{path}.{key}" if path else key
    if full in MACHINE_KEYS:
        return ScenarioError(
            f"{full}: the MPI launcher is machine configuration, not scenario data (a "
            f"scenario file cannot choose a program to run); use {MACHINE_KEYS[full]}"
        )
    known = ", ".join(options)
    return ScenarioError(f"{full}: unknown key{_suggest(key, options)}; valid keys here: {known}")


def _fill(section: str, table: Any, path: str | None = None) -> dict[str, Any]:
    path = path or section
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: expected a table, got {_type_name(table)}")
    spec = SCHEMA[section]
    sub_sections = [s.split(".", 1)[1] for s in SCHEMA if s.startswith(section + ".")]
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in spec:
            out[key] = check_value(f"{path}.{key}", spec[key], value)
        elif key in sub_sections:
            out[key] = _fill(f"{section}.{key}", value, f"{path}.{key}")
        else:
            raise _unknown(path, key, list(spec) + sub_sections)
    for key, f in spec.items():
        if key not in out:
            if f.required:
                raise ScenarioError(f"{path}.{key}: required key is missing ({f.doc})")
            out[key] = copy.deepcopy(f.default)
    for sub in sub_sections:
        if sub not in out:
            out[sub] = _fill(f"{section}.{sub}", {}, f"{path}.{sub}")
    return out


def validate(data: Any, *, default_name: str = "scenario") -> dict[str, Any]:
    """Check a parsed scenario and return it resolved (every default filled in).

    Model parameters (delays, workload, scheme options) are checked later, per sweep
    point, by the model factories; sweep keys are checked by the expansion.
    """
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a TOML table")
    check_structure(data)
    for key in data:
        if key not in TOP_LEVEL:
            raise _unknown("", key, list(TOP_LEVEL))
    for required in ("cluster", "delays", "schemes"):
        if required not in data:
            raise ScenarioError(f"{required}: required section is missing (see docs/scenarios.md)")
    out: dict[str, Any] = {}
    out["scenario"] = _fill("scenario", data.get("scenario", {}))
    if out["scenario"]["name"]:
        _check_name("scenario.name", out["scenario"]["name"], NAME_RE, "'.'")
    else:
        out["scenario"]["name"] = safe_name(default_name)
    out["cluster"] = _fill("cluster", data["cluster"])
    delays = data["delays"]
    out["delays"] = _fill("delays", delays)
    for key in ("compute", "comm"):
        if "model" not in out["delays"][key]:
            raise ScenarioError(
                f"delays.{key}.model: required key is missing (the delay "
                "model's name, e.g. 'shifted-exponential')"
            )
    wl = data.get("workload", {})
    if not isinstance(wl, dict):
        raise ScenarioError(f"workload: expected a table, got {_type_name(wl)}")
    wl = dict(wl)
    wl["model"] = check_value(
        "workload.model", SCHEMA["workload"]["model"], wl.get("model", "random-vectors")
    )
    out["workload"] = wl
    out["code"] = _fill("code", data.get("code", {}))
    schemes = data["schemes"]
    if (
        not isinstance(schemes, list)
        or not schemes
        or not all(isinstance(s, dict) for s in schemes)
    ):
        raise ScenarioError(
            "schemes: expected a non-empty array of tables ([[schemes]] code = '...')"
        )
    resolved_schemes = []
    labels: set[str] = set()
    for i, sch in enumerate(schemes):
        r = _fill("scheme", sch, f"schemes[{i}]")
        if not r["label"]:
            gen = r["options"].get("generator")
            r["label"] = r["code"] + (f"-{gen}" if isinstance(gen, str) else "")
            if not _is_name(r["label"], LABEL_RE):
                raise ScenarioError(
                    f"schemes[{i}]: the default label {excerpt(r['label'])} (the code name, "
                    "with options.generator) cannot name result folders: check the code "
                    "and generator names (`gcsim codes`), or give the scheme a label of "
                    "letters, digits, '-' or '_'"
                )
        _check_name(f"schemes[{i}].label", r["label"], LABEL_RE, "")
        if r["label"] in labels:
            raise ScenarioError(
                f"schemes[{i}].label: {excerpt(r['label'])} is used twice; give each scheme "
                "a unique label"
            )
        labels.add(r["label"])
        resolved_schemes.append(r)
    out["schemes"] = resolved_schemes
    out["sweep"] = _check_sweep(data.get("sweep", {}))
    out["live"] = _fill("live", data.get("live", {}))
    if "accuracy" in data:  # only when written (results folders of older scenarios resume)
        out["accuracy"] = _fill("accuracy", data["accuracy"])
        if out["workload"]["model"] in ("none", "random-vectors"):
            raise ScenarioError(
                f"accuracy.target_loss: workload {out['workload']['model']!r} trains no "
                "model, so no loss can reach a target; use workload.model = 'logistic' or "
                "'softmax', or remove [accuracy]"
            )
    if "tune" in data:  # only when written: results folders of untuned scenarios resume
        out["tune"] = _fill("tune", data["tune"])
    out["output"] = _fill("output", data.get("output", {}))
    if out["output"]["dir"]:
        check_output_dir(out["output"]["dir"])
    return out


def check_output_dir(text: str, path: str = "output.dir") -> None:
    """A results folder named in a scenario file: a relative path below the current
    directory (a scenario file must not choose to write, or with --restart move aside,
    a folder elsewhere; ``--out`` on the command line chooses any folder)."""
    p = Path(text)
    bad = ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        bad = "holds control characters (a line break?)"
    elif p.is_absolute() or text.startswith("~"):
        bad = "is an absolute path"
    elif ".." in p.parts:
        bad = "leaves the current directory ('..')"
    elif not p.parts:
        bad = "is the current directory itself"
    if bad:
        raise ScenarioError(
            f"{path}: {excerpt(text)} {bad}; give a folder below the current directory, "
            "e.g. 'results/my-run' (use --out to write anywhere else)"
        )


def _is_name(text: str, pattern: re.Pattern[str]) -> bool:
    return len(text) <= MAX_LABEL and pattern.fullmatch(text) is not None


def _check_name(path: str, text: str, pattern: re.Pattern[str], extra: str) -> None:
    """A label or name that names a folder: refused unless it is a plain name."""
    if not _is_name(text, pattern):
        also = f", {extra}" if extra else ""
        raise ScenarioError(
            f"{path}: {excerpt(text)} must be letters, digits, '-', '_'{also} (starting "
            f"with a letter or digit, at most {MAX_LABEL} characters): it names result "
            "folders, so no '/', '..', spaces or line breaks"
        )


def valid_name(text: Any) -> bool:
    """Whether ``text`` is a valid scenario name (a plain folder name)."""
    return isinstance(text, str) and _is_name(text, NAME_RE)


def safe_name(text: str, default: str = "scenario") -> str:
    """``text`` made a plain folder name (the default scenario name, from a file name):
    other characters become '-'; ``default`` when nothing is left."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip(".-_")[:MAX_LABEL].strip(".-_")
    return name if _is_name(name, NAME_RE) else default


def _check_sweep(sweep: Any) -> dict[str, Any]:
    if not isinstance(sweep, dict):
        raise ScenarioError(f"sweep: expected a table, got {_type_name(sweep)}")
    out: dict[str, Any] = {"factors": {}, "zip": []}
    for key, values in sweep.items():
        if key == "zip":
            if not isinstance(values, list) or not all(isinstance(z, dict) for z in values):
                raise ScenarioError("sweep.zip: expected an array of tables ([[sweep.zip]])")
            for j, z in enumerate(values):
                lengths = set()
                for k, v in z.items():
                    _check_factor_values(f"sweep.zip[{j}].{k}", v)
                    lengths.add(len(v))
                if len(lengths) > 1:
                    raise ScenarioError(
                        f"sweep.zip[{j}]: zipped keys must have equal lengths; got "
                        + ", ".join(f"{k}: {len(v)}" for k, v in z.items())
                    )
                if not z:
                    raise ScenarioError(f"sweep.zip[{j}]: empty zip table")
                out["zip"].append(z)
            continue
        _check_factor_values(f"sweep.{key}", values)
        out["factors"][key] = values
    return out


def _check_factor_values(path: str, values: Any) -> None:
    if not isinstance(values, list) or not values:
        raise ScenarioError(
            f"{path}: a swept key takes a non-empty array of values, got {_type_name(values)}"
        )
    for v in values:
        if isinstance(v, (dict, list)):
            raise ScenarioError(f"{path}: swept values must be scalars, got {_type_name(v)}")


#: Deepest nesting of tables and arrays a scenario may have (it needs a few levels:
#: model tables inside delay tables); deeper input is refused before anything recurses.
MAX_DEPTH = 24
#: Longest key (keys name sections, parameters and sweep paths).
MAX_KEY = 100
_INT64 = 2**63


class _TomlSyntaxError(ScenarioError):
    """The text is not TOML (as opposed to TOML that is too deep or too large)."""


def _toml(text: str, what: str) -> dict[str, Any]:
    """``tomllib.loads`` whose every failure is one ScenarioError line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _TomlSyntaxError(f"{what}: not valid TOML: {one_line(str(exc))}") from None
    except RecursionError:
        raise ScenarioError(
            f"{what}: not valid TOML here: arrays or tables nested too deeply for the "
            f"reader; a scenario nests at most {MAX_DEPTH} levels"
        ) from None
    except ValueError as exc:  # e.g. an integer literal of more than 4300 digits
        if "integer string conversion" in str(exc):
            raise ScenarioError(
                f"{what}: not valid TOML: an integer literal with thousands of digits "
                "(TOML integers are 64-bit: -2^63..2^63-1)"
            ) from None
        raise ScenarioError(f"{what}: not valid TOML: {excerpt(str(exc), 200)}") from None


def _key_path(path: str, key: Any) -> str:
    k = str(key)
    return f"{path}.{k}" if path else k


def check_structure(data: Any, where: str = "") -> None:
    """Refuse what no scenario needs and later code should never see: nesting deeper
    than :data:`MAX_DEPTH`, keys longer than :data:`MAX_KEY` characters or with control
    characters, and integers outside TOML's 64-bit range. Iterative (never recurses)."""
    prefix = f"{where}: " if where else ""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        v, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{prefix}{path[:120]}: nested more than {MAX_DEPTH} levels deep; a scenario "
                "needs a few levels (model tables inside delay tables)"
            )
        if isinstance(v, dict):
            for k, x in v.items():
                key = str(k)
                if len(key) > MAX_KEY or any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
                    what = (
                        f"a key of {len(key)} characters (at most {MAX_KEY})"
                        if len(key) > MAX_KEY
                        else f"the key {excerpt(key)} holds control characters"
                    )
                    raise ScenarioError(
                        f"{prefix}{path or 'the top level'}: {what}; keys are short names "
                        "such as 'rate' or 'code.s'"
                    )
                stack.append((x, _key_path(path, key), depth + 1))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                stack.append((x, f"{path}[{i}]", depth + 1))
        elif isinstance(v, int) and not isinstance(v, bool) and not -_INT64 <= v < _INT64:
            raise ScenarioError(
                f"{prefix}{path}: integer {excerpt(v)} is outside the 64-bit range TOML "
                "allows (-2^63..2^63-1)"
            )


def load_scenario_text(
    text: str | bytes, *, source: str = "<scenario>", default_name: str = "scenario"
) -> dict[str, Any]:
    """Parse TOML text and validate it. Errors are prefixed with ``source``."""
    if isinstance(text, bytes):
        text = _decode(text, source)
    data = _toml(text, source)
    try:
        return validate(data, default_name=default_name)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def _decode(raw: bytes, source: str) -> str:
    """UTF-8 text of a scenario file (a UTF-8 byte-order mark is dropped)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = ""
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = " (it starts with a UTF-16 byte-order mark); save it as UTF-8"
        raise ScenarioError(
            f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}){hint}"
        ) from None


def load_scenario_file(path: str | Path) -> tuple[dict[str, Any], str]:
    """Read and validate a scenario file; returns (raw dict, verbatim text)."""
    p = Path(path)
    if not p.is_file():
        what = "a folder, not a scenario file" if p.is_dir() else "no such scenario file"
        if p.exists() and not p.is_dir():
            what = "not a regular file (a FIFO or device?); give a TOML scenario file"
        raise ScenarioError(f"{path}: {what}")
    text = _decode(p.read_bytes(), str(path))
    data = _toml(text, str(path))
    check_structure(data, str(path))
    return data, text


def parse_scalar(text: str) -> Any:
    """Parse a ``--set`` value as a TOML value (``12``, ``1e-3``, ``"x"``, ``true``,
    ``inf``, ``[1, 2]``); a bare word that is not TOML is taken as a string."""
    try:
        return _toml(f"v = {text}", "--set")["v"]
    except _TomlSyntaxError:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-\.]*", text):
            return text
        raise ScenarioError(
            f"--set: cannot parse value {excerpt(text)} (use TOML syntax, e.g. "
            '12, 0.5, "name", true, [1, 2])'
        ) from None


def apply_override(data: dict[str, Any], assignment: str) -> str:
    """Apply ``key.path=value`` to the raw scenario dict (before validation).

    ``schemes.LABEL.key`` addresses a scheme by label (or code name); other paths are
    nested tables, created when missing. The validation that follows type-checks the
    result exactly like the file.

    A key that the scenario sweeps takes the value at every point: its factor is
    replaced by that single value (in a ``[[sweep.zip]]`` table, that key is the value
    on every row while the other keys still vary). Returns a one-line note saying so,
    or ``""`` when no sweep was changed.
    """
    if "=" not in assignment:
        raise ScenarioError(f"--set {excerpt(assignment)}: expected key.path=value")
    path, raw = assignment.split("=", 1)
    path = path.strip()
    value = parse_scalar(raw.strip())
    set_path(data, path, value, where="--set ")
    return _pin_swept(data, split_path(path), value, f"--set {path}={raw.strip()}")


def _swept_name(data: dict[str, Any], parts: list[str]) -> str:
    """The sweep key that names the path ``parts`` (schemes by their label)."""
    if parts[0] == "schemes" and len(parts) >= 3:
        schemes = [s for s in data.get("schemes") or [] if isinstance(s, dict)]
        target = [s for s in schemes if _label_of(s) == parts[1]]
        if not target:
            target = [s for s in schemes if s.get("code") == parts[1]]
        if len(target) == 1:
            return ".".join(["schemes", _label_of(target[0]), *parts[2:]])
    return ".".join(parts)


def _pin_swept(data: dict[str, Any], parts: list[str], value: Any, what: str) -> str:
    """Replace the sweep of the key ``parts`` (if swept) by ``value``; a note, or ``""``."""
    sweep = data.get("sweep")
    if not parts or parts[0] == "sweep" or not isinstance(sweep, dict):
        return ""
    key = _swept_name(data, parts)
    zips = sweep.get("zip")
    swept = (key in sweep and key != "zip") or any(
        isinstance(z, dict) and key in z for z in (zips if isinstance(zips, list) else [])
    )
    if swept and isinstance(value, (list, dict)):
        raise ScenarioError(
            f"{what}: the scenario sweeps {key}, and a swept key takes one value here; "
            f"to give the sweep new values use --set 'sweep.\"{key}\"=[...]'"
        )
    notes = []
    if key in sweep and key != "zip":
        old = sweep[key]
        sweep[key] = [value]
        notes.append(
            f"{what}: the scenario sweeps {key} over {_show(old)}; the sweep now takes "
            f"the single value {_show(value)}"
        )
    for j, z in enumerate(zips if isinstance(zips, list) else []):
        if not isinstance(z, dict) or key not in z or not isinstance(z[key], list):
            continue
        others = [k for k in z if k != key]
        z[key] = [value] * len(z[key])
        lists = [z[k] for k in z]
        if all(isinstance(v, list) and len(v) == len(lists[0]) for v in lists):
            rows: list[tuple[Any, ...]] = []
            for row in zip(*lists, strict=True):
                if row not in rows:
                    rows.append(row)
            for i, k in enumerate(list(z)):
                z[k] = [r[i] for r in rows]
        rest = f"; {', '.join(others)} still vary" if others else ""
        notes.append(
            f"{what}: {key} is swept in [[sweep.zip]] {j}; it is now {_show(value)} on "
            f"every row{rest}"
        )
    return " ".join(notes)


def _show(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (list, str)) else str(v)


def split_path(path: str, where: str = "") -> list[str]:
    """Split a key path with TOML's rules: ``a.b``, ``sweep."code.s"``, ``'x y'.z``."""
    try:
        parsed: Any = _toml(f"{path} = 0", "")
    except ScenarioError:
        raise ScenarioError(
            f"{where}{excerpt(path)}: not a valid key path (dotted keys; quote a "
            'key that contains dots, e.g. sweep."code.s")'
        ) from None
    parts = []
    while isinstance(parsed, dict) and len(parsed) == 1:
        key, parsed = next(iter(parsed.items()))
        parts.append(key)
    return parts


def set_path(data: dict[str, Any], path: str, value: Any, *, where: str = "") -> None:
    """Set a key path in a raw scenario dict (schemes addressed as ``schemes.LABEL.key``,
    LABEL being the scheme's label, or its code name when only one scheme has it)."""
    parts = split_path(path, where)
    if parts[0] == "schemes":
        if len(parts) < 3:
            raise ScenarioError(
                f"{where}{path}: address a scheme key as schemes.LABEL.key (e.g. schemes.frc.s)"
            )
        schemes = data.get("schemes")
        if not isinstance(schemes, list):
            raise ScenarioError(f"{where}{path}: the scenario has no [[schemes]]")
        target = [s for s in schemes if isinstance(s, dict) and _label_of(s) == parts[1]]
        if not target:
            by_code = [s for s in schemes if isinstance(s, dict) and s.get("code") == parts[1]]
            target = by_code if len(by_code) == 1 else []
        if not target:
            labels = [_label_of(s) for s in schemes if isinstance(s, dict)]
            raise ScenarioError(
                f"{where}{path}: no scheme labelled {parts[1]!r}"
                f"{_suggest(parts[1], labels)}; labels: {', '.join(labels)}"
            )
        node: Any = target[0]
        rest = parts[2:]
    else:
        node = data
        rest = parts
    for p in rest[:-1]:
        if not isinstance(node, dict):
            raise ScenarioError(f"{where}{path}: {p!r} is inside a value, not a table")
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        node = nxt
    if not isinstance(node, dict):
        raise ScenarioError(f"{where}{path}: cannot set a key inside a non-table value")
    node[rest[-1]] = value


def _label_of(s: dict[str, Any]) -> str:
    if s.get("label"):
        return str(s["label"])
    gen = (s.get("options") or {}).get("generator") if isinstance(s.get("options"), dict) else None
    return str(s.get("code", "")) + (f"-{gen}" if isinstance(gen, str) else "")


def schema_markdown() -> str:
    """The schema as markdown tables (used to write docs/scenarios.md)."""
    lines = []
    for section, fields in SCHEMA.items():
        title = "[[schemes]]" if section == "scheme" else f"[{section}]"
        lines += [f"### `{title}`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, f in fields.items():
            typ = f.kind if f.kind != "choice" else " / ".join(f'"{c}"' for c in f.choices)
            if f.required:
                default = "**required**"
            elif section == "scheme" and key in ("s", "m"):
                default = f"[code].{key}"
            else:
                d = f.default
                default = "inf" if d == INF else ("" if d == "" else repr(d).replace("'", '"'))
            lines.append(f"| `{key}` | {typ} | {default} | {f.doc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(schema_markdown())
