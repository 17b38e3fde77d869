"""The ``gcsim`` command line.

Subcommands come from a name -> function table; every gcsim error is printed as one
line ``gcsim: error: ...`` with exit status 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import sys
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
    from gcsim.codes import CODES

    print("Gradient codes (use with `gcsim check NAME --n N --s S [--m M]`):\n")
    width = max(len(n) for n in CODES)
    for name, cls in CODES.items():
        print(f"  {name:<{width}}  {cls.summary}")
        print(f"  {'':<{width}}  constraints: {cls.constraints}")
    print(
        "\ngrouped generators: gaussian (default, option draws=K keeps the best of K), "
        "vandermonde, chebyshev, repetition, parity, hamming, or a custom (m x d) "
        "matrix from Python"
    )
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


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "codes": (cmd_codes, "list the gradient codes with their parameters and constraints"),
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
