"""Start-up cost: import time of ``gcsim`` and ``gcsim.codes``, wall time of the CLI.

Every measurement runs in a fresh interpreter (a subprocess), repeated, and the table
gives the minimum (the least disturbed run) and the median:

* ``import X``: ``time.perf_counter()`` around ``import X`` inside the child (the
  interpreter's own start-up excluded), for ``numpy`` (the floor every code pays),
  ``gcsim``, ``gcsim.codes`` and, for reference, the heavy ``gcsim.sim``;
* ``gcsim --help`` and ``gcsim codes``: wall time of the whole command as a user runs
  it (the console script next to this interpreter, else ``python -m gcsim.cli``), and
  of ``python -c pass`` (the interpreter floor).

Each child also reports which heavy modules (pandas, simpy, scipy, scipy.stats,
matplotlib) it loaded: the light commands must load none of them.

Two conditions: **bytecode cached** (``.pyc`` files written to a private
``PYTHONPYCACHEPREFIX`` during the warm-up run and read afterwards: an installed
package), and **no bytecode cache** (``PYTHONDONTWRITEBYTECODE=1``, as the development
environment runs: gcsim's modules are compiled from source on every start, numpy's come
from its installed ``.pyc`` files).

Run: ``python3 benchmarks/bench_import.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_info, machine_md, md_table, parse_args, write_results

NAME = "bench_import"
HEAVY = ("pandas", "simpy", "scipy", "scipy.stats", "matplotlib")
IMPORTS = ("numpy", "gcsim", "gcsim.codes", "gcsim.sim")
#: Target from the issue: the light commands answer in well under half a second.
TARGET_S = 0.5


_ENV: dict[str, str] = {}


def _env() -> dict[str, str]:
    """The children's environment for the current condition (see :func:`condition`)."""
    return _ENV


def condition(cached: bool, prefix: str) -> None:
    """Set the children's environment: bytecode cached under ``prefix``, or no cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cached:
        env["PYTHONPYCACHEPREFIX"] = prefix
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    _ENV.clear()
    _ENV.update(env)


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "gcsim"
    if script.is_file():
        return [str(script)]
    found = shutil.which("gcsim")
    return [found] if found else [sys.executable, "-m", "gcsim.cli"]


def import_once(module: str) -> dict[str, Any]:
    """Import ``module`` in a fresh interpreter; its import time and heavy modules."""
    code = (
        "import json, sys, time\n"
        "t0 = time.perf_counter()\n"
        f"import {module}\n"
        "dt = time.perf_counter() - t0\n"
        f"print(json.dumps({{'seconds': dt, 'heavy': [m for m in {list(HEAVY)!r} "
        "if m in sys.modules]}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=_env(),
        timeout=300,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def wall_once(cmd: list[str]) -> float:
    """Wall time of one run of ``cmd`` (output discarded; it must succeed)."""
    # no timeout: Popen.wait(timeout=...) polls with sleeps of up to 50 ms, which would
    # round every measurement up to the next poll; a plain wait blocks in waitpid
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO_ROOT, env=_env()
    )
    rc = proc.wait()
    elapsed = time.perf_counter() - t0
    if rc != 0:
        raise subprocess.CalledProcessError(rc, cmd)
    return elapsed


def heavy_of(cmd_args: list[str]) -> list[str]:
    """Heavy modules loaded by ``gcsim.cli.main(cmd_args)`` in a fresh interpreter."""
    code = (
        "import contextlib, io, json, sys\nfrom gcsim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({cmd_args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=_env(),
        timeout=300,
    )
    heavy: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return heavy


def summarise(times: list[float]) -> dict[str, Any]:
    return {
        "min_s": min(times),
        "median_s": statistics.median(times),
        "max_s": max(times),
        "repeats": len(times),
        "times_s": times,
    }


def _commands() -> dict[str, tuple[list[str], list[str] | None]]:
    cli = _cli()
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "gcsim --help": ([*cli, "--help"], ["--help"]),
        "gcsim codes": ([*cli, "codes"], ["codes"]),
    }


def measure(repeats: int, prefix: str) -> dict[str, Any]:
    """Every (condition, import or command) once per round, ``repeats`` rounds after a
    warm-up round: interleaved, so a burst of load on the machine hits them alike."""
    conditions = {"bytecode cached": True, "no bytecode cache": False}
    commands = _commands()
    items = [("import", m) for m in IMPORTS] + [("command", c) for c in commands]
    times: dict[tuple[str, str, str], list[float]] = {}
    heavy: dict[tuple[str, str, str], list[str]] = {}
    for rnd in range(repeats + 1):  # round 0 warms the bytecode and file caches
        for cond, cached in conditions.items():
            condition(cached, prefix)
            for kind, what in items:
                if kind == "import":
                    r = import_once(what)
                    t, heavy[(cond, kind, what)] = r["seconds"], r["heavy"]
                else:
                    t = wall_once(commands[what][0])
                if rnd:
                    times.setdefault((cond, kind, what), []).append(t)
        print(f"round {rnd}/{repeats} done", flush=True)
    results: dict[str, Any] = {}
    for cond, cached in conditions.items():
        condition(cached, prefix)
        imports = {
            m: {
                **summarise(times[(cond, "import", m)]),
                "heavy_modules": heavy[(cond, "import", m)],
            }
            for m in IMPORTS
        }
        walls: dict[str, Any] = {}
        for label, (cmd, cli_args) in commands.items():
            walls[label] = {
                **summarise(times[(cond, "command", label)]),
                "command": cmd,
                "heavy_modules": heavy_of(cli_args) if cli_args is not None else [],
            }
        results[cond] = {"imports": imports, "commands": walls}
        print(f"{cond}:")
        for label, v in [*(("import " + m, x) for m, x in imports.items()), *walls.items()]:
            lo, mid = v["min_s"] * 1e3, v["median_s"] * 1e3
            print(f"  {label:<20} min {lo:7.1f} ms, median {mid:7.1f} ms")
    return results


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    repeats = 5 if args.quick else 15
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="gcsim-pycache-") as prefix:
        results = measure(repeats, prefix)
    light_ok = all(
        not r["imports"][m]["heavy_modules"] and not r["commands"][c]["heavy_modules"]
        for r in results.values()
        for m in ("gcsim", "gcsim.codes")
        for c in ("gcsim --help", "gcsim codes")
    )
    fast_ok = all(
        r["commands"][c]["median_s"] < TARGET_S
        for r in results.values()
        for c in ("gcsim --help", "gcsim codes")
    )
    data = {
        "benchmark": NAME,
        "quick": args.quick,
        "repeats": repeats,
        "target_s": TARGET_S,
        "conditions": results,
        "light_commands_load_no_heavy_module": light_ok,
        "cli_under_target": fast_ok,
        "machine": info,
    }

    def ms(x: float) -> str:
        return f"{x * 1e3:.1f}"

    conds = list(results)
    head = ["min / median (ms), " + c for c in conds]
    rows_i = [
        [f"`import {m}`"]
        + [
            f"{ms(results[c]['imports'][m]['min_s'])} / {ms(results[c]['imports'][m]['median_s'])}"
            for c in conds
        ]
        + [", ".join(results[conds[0]]["imports"][m]["heavy_modules"]) or "none"]
        for m in IMPORTS
    ]
    cmds = list(results[conds[0]]["commands"])
    rows_c = [
        [f"`{k}`"]
        + [
            f"{ms(results[c]['commands'][k]['min_s'])} / "
            f"{ms(results[c]['commands'][k]['median_s'])}"
            for c in conds
        ]
        + [", ".join(results[conds[0]]["commands"][k]["heavy_modules"]) or "none"]
        for k in cmds
    ]
    md = "\n".join(
        [
            "# Start-up cost: imports and the command line",
            "",
            f"Fresh interpreter per run, {repeats} rounds after a warm-up round, every "
            "item once per round (interleaved, so load bursts hit all alike). Imports are "
            "timed inside the child (interpreter start-up excluded); commands are the wall "
            "time of the whole process. *bytecode cached*: `.pyc` files read from a private "
            "`PYTHONPYCACHEPREFIX` (an installed package); *no bytecode cache*: "
            "`PYTHONDONTWRITEBYTECODE=1`, gcsim compiled from source at every start (the "
            "development environment). Heavy modules: " + ", ".join(HEAVY) + ".",
            "",
            md_table(["import", *head, "heavy modules loaded"], rows_i),
            "",
            md_table(["command", *head, "heavy modules loaded"], rows_c),
            "",
            f"Target: `gcsim --help` and `gcsim codes` well under {TARGET_S * 1e3:.0f} ms "
            f"(median, both conditions): {'met' if fast_ok else 'NOT met'}; light "
            f"commands load no heavy module: {'yes' if light_ok else 'NO'}. Before the "
            "lazy imports (commit 557bebd) both commands took 1.3-1.4 s and "
            "`import gcsim.codes` ~1.1 s, since `import gcsim` loaded the simulator, "
            "pandas, SimPy and scipy.stats.",
            "",
            machine_md(info),
        ]
    )
    write_results(NAME, data, md, args.out_dir)


if __name__ == "__main__":
    main()
