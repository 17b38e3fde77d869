"""Fuzz: 1500 mutated copies of the shipped scenarios through ``gcsim validate``.

Every shipped ``scenarios/*.toml`` is mutated with a seeded generator (keys deleted,
types changed, huge / negative / NaN / inf numbers, long and unicode strings, deep
nesting, duplicate tables, truncation, random bytes, ``--set`` overrides) and validated
in-process through :func:`gcsim.cli.main`. Every case must end with exit status 0 or 2,
no traceback, no "internal error", at most one short ``gcsim: error:`` line (every
line on stderr is a ``gcsim:`` line), and within :data:`BUDGET_S` seconds (a slower
case is a hang). ``GCSIM_FUZZ_CASES`` and ``GCSIM_FUZZ_SEED`` change the size and the
seed (e.g. for a long bug hunt); the default is what CI runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gcsim.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "scenarios").glob("*.toml"))
CASES = int(os.environ.get("GCSIM_FUZZ_CASES", "1500"))
SEED = int(os.environ.get("GCSIM_FUZZ_SEED", "20260517"))
#: A case slower than this is a hang.
BUDGET_S = 5.0
#: The longest error line accepted (values are echoed as short excerpts).
MAX_LINE = 1500

pytestmark = pytest.mark.slow


# ----------------------------------------------------------------- a small TOML writer
def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(k: str) -> str:
    if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k):
        return k
    return _toml_str(k)


class Deep:
    """A value nested ``depth`` times in alternating arrays and inline tables (written
    out flat, so that the writer does not recurse)."""

    def __init__(self, depth: int, leaf: Any) -> None:
        self.depth, self.leaf = depth, leaf


def _toml_value(v: Any) -> str:
    if isinstance(v, Deep):
        opens = ["[" if i % 2 == 0 else "{a = " for i in range(v.depth)]
        closes = ["]" if i % 2 == 0 else "}" for i in reversed(range(v.depth))]
        return "".join(opens) + _toml_value(v.leaf) + "".join(closes)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dump_toml(data: dict[str, Any]) -> str:
    """TOML text of ``data``: scalars first, then one table or array of tables per
    top-level key (nested tables inline)."""
    lines: list[str] = []
    for k, v in data.items():
        if not isinstance(v, dict) and not (
            isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
        ):
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{_toml_key(k)}]")
            lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                lines.append(f"\n[[{_toml_key(k)}]]")
                lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in x.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- mutations
HUGE_NUMBERS: list[Any] = [
    2**31,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    10**12,
    10**9,
    1e308,
    -1e308,
    5e-324,
    1e-300,
    -1,
    -1.5,
    0,
    0.0,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    1.5,
    3,
]
STRINGS: list[str] = [
    "",
    " ",
    "x" * 100_000,
    "é" * 5_000,
    "\u202etxt.exe",
    "日本語",
    "🙂" * 50,
    "a\nb",
    "label\n",
    "../../escape",
    "/etc/passwd",
    "..",
    ".",
    "con",
    "\t",
    "\u0000nul",
    "gaussian",
    "trace",
    "pareto",
    "inf",
    "nan",
    "cancel",
]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 5)
    if kind == 0:
        return rng.choice(HUGE_NUMBERS)
    if kind == 1:
        return rng.choice(STRINGS)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return rng.randint(-5, 50)
    if kind == 4:
        return rng.uniform(-10, 10)
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6:
        return {
            rng.choice(["model", "a", "rate", "base", "value"]): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(3))
        }
    if kind == 7:
        return [rng.randint(-3, 40) for _ in range(rng.randrange(6))]
    return rng.choice(HUGE_NUMBERS + STRINGS)


def _slots(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (container path, key) of a parsed document."""
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*path, k))
            out += _slots(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*path, i))
            out += _slots(v, (*path, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for p in path[:-1]:
        node = node[p]
    return node


def _doc_mutation(rng: random.Random, doc: dict[str, Any]) -> None:
    slots = _slots(doc)
    path = rng.choice(slots) if slots else ("scenario",)
    parent = _parent(doc, path)
    key = path[-1]
    op = rng.randrange(10)
    if op == 0:  # delete a key (or an array element)
        del parent[key]
    elif op in (1, 2):  # a value of another type
        parent[key] = _random_value(rng)
    elif op == 3:  # huge, negative, NaN, inf
        parent[key] = rng.choice(HUGE_NUMBERS)
    elif op == 4:  # long or unicode strings
        parent[key] = rng.choice(STRINGS)
    elif op == 5:  # nesting
        parent[key] = Deep(rng.choice([3, 20, 100, 400]), rng.choice([1, "x", 2.5]))
    elif op == 6 and isinstance(parent, dict):  # an unknown or misspelt key
        parent[rng.choice(["x", "nn", str(key) + "s", "🙂", "a.b", ""])] = _random_value(rng)
    elif op == 7:  # a sweep over this key
        dotted = ".".join(str(p) for p in path if not isinstance(p, int))
        doc.setdefault("sweep", {})
        if isinstance(doc["sweep"], dict):
            doc["sweep"][dotted] = [_random_value(rng) for _ in range(rng.randrange(1, 4))]
    elif op == 8:  # a long list (small values: a long sweep of huge n is legitimately slow)
        parent[key] = [rng.randint(-2, 60) for _ in range(rng.choice([50, 300]))]
        if rng.random() < 0.3:
            parent[key][rng.randrange(len(parent[key]))] = rng.choice(HUGE_NUMBERS)
    else:  # swap two sections
        keys = list(doc)
        if len(keys) >= 2:
            a, b = rng.sample(keys, 2)
            doc[a], doc[b] = doc[b], doc[a]


def _text_mutation(rng: random.Random, text: str) -> bytes:
    data = text.encode("utf-8")
    op = rng.randrange(9)
    if op == 0:  # truncation
        return data[: rng.randrange(len(data) + 1)]
    if op == 1:  # random bytes spliced in
        i = rng.randrange(len(data) + 1)
        return data[:i] + rng.randbytes(rng.randrange(1, 40)) + data[i:]
    if op == 2:  # a duplicate table
        lines = text.splitlines()
        heads = [line for line in lines if line.startswith("[")]
        if heads:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(heads))
        return "\n".join(lines).encode("utf-8")
    if op == 3:  # a duplicate key
        lines = text.splitlines()
        keyed = [i for i, line in enumerate(lines) if "=" in line]
        if keyed:
            i = rng.choice(keyed)
            lines.insert(i, lines[i])
        return "\n".join(lines).encode("utf-8")
    if op == 4:  # deep nesting in the TOML text itself
        depth = rng.choice([50, 500, 5000])
        opener, closer = rng.choice([("[", "]"), ("{a = ", "}")])
        return data + f"\n[x]\ny = {opener * depth}1{closer * depth}\n".encode()
    if op == 5:  # a byte-order mark, or another encoding
        return rng.choice([b"\xef\xbb\xbf" + data, text.encode("utf-16"), data + b"\xff\xfe"])
    if op == 6:  # a line replaced by garbage
        lines = data.split(b"\n")
        lines[rng.randrange(len(lines))] = rng.randbytes(rng.randrange(1, 30))
        return b"\n".join(lines)
    if op == 7:  # whole-file noise
        return rng.randbytes(rng.randrange(0, 300))
    # a header of a deep dotted table
    return data + ("\n[" + ".".join(["t"] * rng.choice([10, 300])) + "]\nv = 1\n").encode()


SET_VALUES = [
    "1e9",
    "-1",
    "nan",
    "inf",
    "9223372036854775808",
    '"x"',
    "[1, 2]",
    "{a = 1}",
    "0",
    "'" + "y" * 2000 + "'",
    "true",
    "[" * 3000 + "]" * 3000,
    "=",
    "\u00e9",
    "../../x",
    '"label\\n"',
]


def _set_args(rng: random.Random, doc: dict[str, Any]) -> list[str]:
    paths = [
        ".".join(str(p) for p in s)
        for s in _slots(doc)
        if not any(isinstance(p, int) for p in s) and s[0] != "schemes"
    ]
    out: list[str] = []
    for _ in range(rng.randrange(1, 3)):
        path = rng.choice(paths) if paths else "cluster.n"
        value = rng.choice(SET_VALUES)
        out += ["--set", f"{path}={value}"]
    return out


def make_case(rng: random.Random, source: Path) -> tuple[bytes, list[str], str]:
    """One mutated scenario: (file bytes, extra CLI arguments, what was done)."""
    text = source.read_text(encoding="utf-8")
    # trace paths are relative to the shipped file's folder: make them absolute
    text = text.replace('data = "traces/', f'data = "{source.parent.as_posix()}/traces/')
    if rng.random() < 0.3:
        return _text_mutation(rng, text), [], "text"
    doc = tomllib.loads(text)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        _doc_mutation(rng, doc)
    extra = _set_args(rng, doc) if rng.random() < 0.15 else []
    return dump_toml(doc).encode("utf-8"), extra, "doc"


# ----------------------------------------------------------------- running one case
class CaseTimeout(BaseException):
    """A case ran over its budget (a BaseException: no ``except Exception`` hides it)."""


def run_validate(path: Path, extra: list[str], budget: float = BUDGET_S) -> tuple[int, str, float]:
    """``gcsim validate PATH EXTRA`` in-process: (exit status, stderr, seconds)."""
    err, out = io.StringIO(), io.StringIO()
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(
        signal, "setitimer"
    )

    def _alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout

    old: Callable[..., Any] | int | None = None
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, budget)
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(["validate", str(path), *extra])
    except CaseTimeout:
        rc = -1
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return rc, err.getvalue(), time.perf_counter() - t0


def problems(rc: int, err: str, seconds: float) -> list[str]:
    """What is wrong with one case's outcome (empty when it is fine)."""
    found = []
    if rc == -1 or seconds > BUDGET_S:
        found.append(f"hang: over {BUDGET_S} s")
    elif rc not in (0, 2):
        found.append(f"exit status {rc}")
    if "Traceback" in err:
        found.append("traceback")
    if "internal error" in err:
        found.append("internal error")
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("gcsim: error:")]
    if rc == 2 and len(errors) != 1:
        found.append(f"{len(errors)} error lines")
    if rc == 0 and errors:
        found.append("an error line with exit status 0")
    stray = [line for line in lines if not line.startswith("gcsim: ")]
    if stray:
        found.append(f"stray stderr line {stray[0][:100]!r}")
    long = [len(line) for line in lines if len(line) > MAX_LINE]
    if long:
        found.append(f"a {long[0]}-character line")
    return found


def test_fuzzed_scenarios_validate_cleanly(tmp_path):
    rng = random.Random(SEED)
    failures: list[str] = []
    slowest = 0.0
    t0 = time.perf_counter()
    for i in range(CASES):
        source = SHIPPED[i % len(SHIPPED)]
        data, extra, how = make_case(rng, source)
        path = tmp_path / f"case{i:04d}.toml"
        path.write_bytes(data)
        rc, err, seconds = run_validate(path, extra)
        slowest = max(slowest, seconds)
        found = problems(rc, err, seconds)
        if found:
            keep = tmp_path.parent / "fuzz-failures"
            keep.mkdir(exist_ok=True)
            (keep / path.name).write_bytes(data)
            failures.append(
                f"case {i} ({source.name}, {how}, {json.dumps(extra)[:200]}): "
                f"{'; '.join(found)}: {err.strip()[:300]!r} (file kept in {keep / path.name})"
            )
        path.unlink()
    total = time.perf_counter() - t0
    print(f"{CASES} cases in {total:.1f} s, slowest {slowest:.2f} s")
    assert not failures, f"{len(failures)} of {CASES} cases failed:\n" + "\n".join(failures[:40])
