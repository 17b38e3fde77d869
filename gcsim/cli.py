"""The ``gcsim`` command line.

Subcommands come from a name -> function table; every gcsim error is printed as one
line ``gcsim: error: ...`` with exit status 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gcsim.errors import GcsimError

__all__ = ["main"]


def _parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise GcsimError(f"--option must look like key=value; got {text!r}")
    key, raw = text.split("=", 1)
    value: Any = raw
    for conv in (int, float):
        try:
            value = conv(raw)
            break
        except ValueError:
            continue
    return key.strip(), value


def cmd_codes(args: argparse.Namespace) -> int:
    from gcsim.codes.registry import schemes

    infos = schemes()
    print("Gradient codes (use with `gcsim check NAME --n N --s S [--m M]`):\n")
    width = max(len(info.name) for info in infos)
    pad = " " * (width + 4)

    def para(text: str) -> str:
        return textwrap.fill(text, 100, initial_indent=pad, subsequent_indent=pad + "  ")

    for info in infos:
        print(f"  {info.name:<{width}}  {info.summary}")
        print(para(f"constraints: {info.constraints}"))
        if info.options_help:
            print(para(f"options: {info.options_help}"))
    return 0


def cmd_delays(args: argparse.Namespace) -> int:
    import inspect

    from gcsim.delays.registry import ALIASES, DELAYS

    print("Delay models (per unit load; use as {model = NAME, params...}):\n")
    width = max(len(n) for n in DELAYS)
    for name, cls in DELAYS.items():
        params = []
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.append("**params")
            elif p.default is inspect.Parameter.empty or p.name in cls.required:
                params.append(f"{p.name} (required)")
            else:
                params.append(f"{p.name}={p.default!r}")
        doc = (inspect.getdoc(cls) or "").splitlines()[0]
        print(f"  {name:<{width}}  {doc}")
        print(f"  {'':<{width}}  parameters: {', '.join(params) or 'none'}")
    print("\naliases: " + ", ".join(f"{a} -> {n}" for a, (n, _) in ALIASES.items()))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gcsim.analysis.stability import check_code
    from gcsim.codes import make_code
    from gcsim.report import ReportCase, format_table

    options = dict(_parse_option(o) for o in args.option or [])
    code = make_code(args.name, n=args.n, s=args.s, m=args.m, rng=args.seed, **options)
    res = check_code(
        code, l=args.l, seed=args.seed, samples=args.samples, max_exhaustive=args.max_exhaustive
    )
    print(repr(code))
    print(format_table([(ReportCase(args.name, args.n, args.s, args.m, options), res)]))
    if not res.all_decodable:
        print(
            f"FAILED: {res.failures} straggler set(s); first: {res.first_failure}", file=sys.stderr
        )
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gcsim.report import format_table, run_report, write_report

    rows = run_report(l=args.l, seed=args.seed)
    print(format_table(rows))
    md, js = write_report(rows, Path(args.out), l=args.l, seed=args.seed)
    print(f"\nwrote {md} and {js}")
    return 0 if all(r.all_decodable for _, r in rows) else 1


def _load(args: argparse.Namespace) -> Any:
    from gcsim.scenarios import load_scenario

    try:
        return load_scenario(args.scenario, tuple(args.set or ()))
    except GcsimError:
        raise
    except Exception as exc:  # a bug: still one line, never a traceback
        raise GcsimError(
            f"{args.scenario}: internal error while reading the scenario: "
            f"{type(exc).__name__}: {exc} (please report it)"
        ) from None


def cmd_validate(args: argparse.Namespace) -> int:
    _, _, points = _load(args)
    infeasible = [p for p in points if p.status == "infeasible"]
    runnable = len(points) - len(infeasible)
    print(
        f"{args.scenario}: valid; {len(points)} point(s): {runnable} to run, "
        f"{len(infeasible)} infeasible"
    )
    for p in infeasible:
        where = ", ".join(f"{k}={v}" for k, v in p.factors.items())
        print(f"  infeasible: {p.scheme}{' at ' + where if where else ''}: {p.error}")
    if runnable == 0:
        print("gcsim: error: no point can run: every scheme is infeasible", file=sys.stderr)
        return 2
    return 0


def _report(title: str, points: list[Any], out: Any, results: str) -> bool:
    """Print what a sweep or live run did; False when no point could run at all."""
    print(
        f"{title}: {len(points)} point(s): ran {out.ran}, already done {out.skipped}, "
        f"infeasible {len(out.infeasible)}, failed {len(out.failed)}"
    )
    for pid, err in out.infeasible:
        print(f"  infeasible {pid}: {err}")
    for pid, err in out.failed:
        print(f"  FAILED {pid}: {err}", file=sys.stderr)
    print(f"results: {results}")
    if len(out.infeasible) == len(points):
        print("gcsim: error: no point can run: every scheme is infeasible", file=sys.stderr)
        return False
    return True


def cmd_sweep(args: argparse.Namespace) -> int:
    from gcsim.scenarios import output_folder, run_sweep

    resolved, text, points = _load(args)
    folder = output_folder(resolved, args.out)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    out = run_sweep(
        resolved,
        text,
        folder=folder,
        jobs=jobs,
        executor=args.executor,
        progress=not args.quiet,
        plots=False if args.no_plots else None,
        restart=args.restart,
    )
    if not _report(f"{resolved['scenario']['name']}", points, out, f"{folder}/summary.csv"):
        return 2
    if out.figures:
        print(f"figures: {folder}/figures/ ({len(out.figures)} files)")
    return 1 if out.failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    from gcsim.scenarios import run_point

    _, _, points = _load(args)
    sel = [p for p in points if p.point == args.point or str(p.index) == args.point]
    if not sel:
        raise GcsimError(
            f"--point {args.point!r}: no such point; the scenario has points "
            f"0..{len(points) - 1} (see `gcsim validate`)"
        )
    p = sel[0]
    if p.status == "infeasible":
        raise GcsimError(f"point {p.point} is infeasible: {p.error}")
    summary, records = run_point(p.spec)
    print(
        f"point {p.point}: scheme {p.scheme}, n={p.n}, s={summary['s']}, m={p.m}, "
        f"d={summary['d']}, engine {summary['engine']}"
    )
    for key in (
        "rounds",
        "failed_rounds",
        "mean_round_time",
        "median_round_time",
        "p95_round_time",
        "p99_round_time",
        "mean_bytes_received",
        "worst_cond",
        "worst_rel_error",
        "final_loss",
    ):
        print(f"  {key:<20} {summary[key]:.6g}")
    if args.records:
        records.to_csv(args.records, index=False)
        print(f"records: {args.records}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from gcsim.scenarios.runner import make_figures

    folder = Path(args.folder)
    if not (folder / "manifest.json").is_file():
        raise GcsimError(f"{folder}: not a gcsim results folder (no manifest.json)")
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if not formats or bad:
        raise GcsimError(
            f"--formats takes a comma-separated list of png, pdf, svg; got {args.formats!r}"
        )
    paths = make_figures(folder, formats)
    print(f"wrote {len(paths)} file(s) to {folder / 'figures'}")
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from gcsim.live import Launcher, run_live
    from gcsim.scenarios import output_folder

    resolved, text, points = _load(args)
    folder = output_folder(resolved, args.out)
    launcher = Launcher.create(args.mpiexec, args.mpiexec_arg)
    out = run_live(
        resolved,
        text,
        folder=folder,
        launcher=launcher,
        progress=not args.quiet,
        plots=False if args.no_plots else None,
        restart=args.restart,
    )
    hint = f"{folder}/summary.csv  (compare with: gcsim compare {folder})"
    if not _report(f"{resolved['scenario']['name']} (live)", points, out, hint):
        return 2
    return 1 if out.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from gcsim.live.compare import compare_live

    report = compare_live(Path(args.folder), out=Path(args.out) if args.out else None)
    print(report.markdown)
    print(f"\nwrote {report.path} and {len(report.figures)} figure file(s)")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "validate": (cmd_validate, "check a scenario file (and every sweep point) without running"),
    "sweep": (cmd_sweep, "run every point of a scenario file (parallel, resumable)"),
    "run": (cmd_run, "run one point of a scenario file and print its summary"),
    "plot": (cmd_plot, "draw the figures of a results folder"),
    "live": (cmd_live, "run a scenario on real MPI processes (the live backend)"),
    "compare": (cmd_compare, "calibrate the simulator on a live run and compare them"),
    "codes": (cmd_codes, "list the gradient codes with their parameters and constraints"),
    "delays": (cmd_delays, "list the delay models with their parameters"),
    "check": (cmd_check, "check decodability and measure stability of one code"),
    "report": (cmd_report, "decodability-and-stability report of every scheme"),
}


def build_parser() -> argparse.ArgumentParser:
    from gcsim import __version__

    p = argparse.ArgumentParser(prog="gcsim", description="Gradient-coding simulator.")
    p.add_argument("--version", action="version", version=f"gcsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (_, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        if name == "check":
            sp.add_argument("name", help="scheme name (see `gcsim codes`)")
            sp.add_argument("--n", type=int, required=True, help="number of workers")
            sp.add_argument("--s", type=int, required=True, help="stragglers tolerated")
            sp.add_argument("--m", type=int, default=1, help="communication reduction")
            sp.add_argument(
                "--option",
                "-o",
                action="append",
                metavar="KEY=VALUE",
                help="scheme option, e.g. -o generator=chebyshev (repeatable)",
            )
            sp.add_argument(
                "--samples",
                type=int,
                default=200,
                help="random straggler sets when exhaustive is too many",
            )
            sp.add_argument(
                "--max-exhaustive",
                type=int,
                default=20_000,
                help="check every set of size <= s up to this many",
            )
        if name in ("validate", "sweep", "run", "live"):
            sp.add_argument("scenario", help="scenario file (TOML)")
            sp.add_argument(
                "--set",
                action="append",
                metavar="KEY.PATH=VALUE",
                help="override a key, e.g. --set cluster.n=24 (repeatable)",
            )
        if name == "sweep":
            sp.add_argument(
                "--jobs",
                "-j",
                type=int,
                default=None,
                help="parallel processes (default: all cores)",
            )
            sp.add_argument(
                "--executor",
                choices=("local", "mpi"),
                default="local",
                help="local process pool, or an MPI pool (mpi4py.futures)",
            )
            sp.add_argument("--out", default=None, help="results folder")
            sp.add_argument("--no-plots", action="store_true", help="skip the figures")
            sp.add_argument(
                "--restart",
                action="store_true",
                help="move existing results of another scenario aside",
            )
            sp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
        if name == "live":
            sp.add_argument("--out", default=None, help="results folder")
            sp.add_argument(
                "--mpiexec",
                default=None,
                metavar="PROGRAM",
                help="MPI launcher (default: $GCSIM_MPIEXEC, else mpiexec next to this "
                "Python or on PATH)",
            )
            sp.add_argument(
                "--mpiexec-arg",
                action="append",
                default=None,
                metavar="ARG",
                help="extra launcher argument, e.g. --mpiexec-arg=-f --mpiexec-arg=hosts.txt "
                "(repeatable; default: $GCSIM_MPIEXEC_ARGS)",
            )
            sp.add_argument(
                "--restart", action="store_true", help="move results of another scenario aside"
            )
            sp.add_argument("--no-plots", action="store_true", help="skip the figures")
            sp.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
        if name == "compare":
            sp.add_argument("folder", help="results folder of `gcsim live`")
            sp.add_argument("--out", default=None, help="report folder (default FOLDER/compare)")
        if name == "run":
            sp.add_argument("--point", default="0", help="point index or id (default 0)")
            sp.add_argument("--records", default=None, help="write per-round records (CSV)")
        if name == "plot":
            sp.add_argument("folder", help="results folder of a sweep")
            sp.add_argument("--formats", default="png,pdf", help="comma-separated formats")
        if name in ("check", "report"):
            sp.add_argument("--l", type=int, default=64, help="gradient length")
            sp.add_argument("--seed", type=int, default=0, help="seed (data and code)")
        if name == "report":
            sp.add_argument(
                "--out",
                default="results/report.md",
                help="markdown output (JSON written next to it)",
            )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = COMMANDS[args.command][0]
    try:
        return func(args)
    except GcsimError as exc:
        print(f"gcsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gcsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gcsim codes | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file the user named cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"gcsim: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
