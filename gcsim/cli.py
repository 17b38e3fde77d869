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

from gcsim.errors import GcsimError, excerpt, one_line

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
    else:
        if raw.strip()[:1] in ("[", "{") or raw.strip() in ("true", "false"):
            import tomllib

            try:  # a list, table or bool as in a scenario file: -o speeds=[1,1,2,4]
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError as exc:
                raise GcsimError(
                    f"--option {key.strip()}: {raw!r} is not a TOML value ({exc})"
                ) from None
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
        pad = " " * (width + 4)
        text = summary_sentences(inspect.getdoc(cls) or "", 100 - len(pad))
        print(textwrap.fill(text, 100, initial_indent=f"  {name:<{width}}  ", **_wrap(pad)))
        more = f"parameters: {', '.join(params) or 'none'}"
        print(textwrap.fill(more, 100, initial_indent=pad, **_wrap(pad + "  ")))
    aliases = "aliases: " + ", ".join(f"{a} -> {n}" for a, (n, _) in ALIASES.items())
    print("\n" + textwrap.fill(aliases, 100, **_wrap("  ")))
    return 0


def _wrap(indent: str) -> dict[str, Any]:
    """textwrap settings: never break a word or at a hyphen."""
    return {"subsequent_indent": indent, "break_long_words": False, "break_on_hyphens": False}


def summary_sentences(doc: str, width: int, max_lines: int = 3) -> str:
    """The description of a docstring for a listing: its first paragraph in plain text
    (reST roles and literals unwrapped), whole when it wraps to at most ``max_lines``
    lines of ``width``, else its first sentence; never cut within a sentence."""
    import re

    para = " ".join(doc.strip().split("\n\n")[0].split())
    para = re.sub(r":\w+:`~(?:[\w.]*\.)?([^`]+)`", r"\1", para)  # :class:`~a.b.C` -> C
    para = re.sub(r":\w+:`([^`]+)`", r"\1", para)  # :func:`a.b.f` -> a.b.f
    para = para.replace("``", "`")
    if len(textwrap.wrap(para, width, break_long_words=False)) <= max_lines:
        return para
    # a sentence ends at . ! or ? followed by a space and a capital (not "e.g. x")
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", para, maxsplit=1)[0]
    return first


def cmd_check(args: argparse.Namespace) -> int:
    from gcsim.analysis.stability import check_code
    from gcsim.codes import make_code
    from gcsim.report import ReportCase, format_table

    options = dict(_parse_option(o) for o in args.option or [])
    code = make_code(args.name, n=args.n, s=args.s, m=args.m, rng=args.seed, **options)
    with _progress_bar(f"gcsim check {code.name}", "set") as bar:
        res = check_code(
            code,
            l=args.l,
            seed=args.seed,
            samples=args.samples,
            max_exhaustive=args.max_exhaustive,
            progress=bar,
        )
    print(repr(code))
    from gcsim.analysis.effective import effective_params

    adjusted = effective_params(args.name, args.n, args.s, args.m, options).describe()
    if adjusted:
        print(f"note: {adjusted}")
    print(format_table([(ReportCase(args.name, args.n, args.s, args.m, options), res)]))
    if not res.all_decodable:
        print(
            f"FAILED: {res.failures} straggler set(s); first: {res.first_failure}", file=sys.stderr
        )
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gcsim.report import format_table, run_report, write_report

    with _progress_bar("gcsim report", "code") as bar:
        rows = run_report(l=args.l, seed=args.seed, progress=bar)
    print(format_table(rows))
    md, js = write_report(rows, Path(args.out), l=args.l, seed=args.seed)
    print(f"\nwrote {md} and {js}")
    return 0 if all(r.all_decodable for _, r in rows) else 1


class _Bar:
    """``progress(done, total)`` callback drawing a tqdm bar on stderr, only when stderr
    is a terminal and only once the work has taken over ``delay`` seconds (quick runs
    and pipes or logs stay clean)."""

    def __init__(self, desc: str, unit: str, delay: float = 2.0) -> None:
        self.desc, self.unit, self.delay = desc, unit, delay
        self.enabled = sys.stderr.isatty()
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=self.desc,
                unit=self.unit,
                file=sys.stderr,
                delay=self.delay,
                leave=False,
                dynamic_ncols=True,
            )
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


def _progress_bar(desc: str, unit: str) -> _Bar:
    return _Bar(desc, unit)


def _load(args: argparse.Namespace) -> Any:
    from gcsim.scenarios import load_scenario

    notes: list[str] = []
    try:
        loaded = load_scenario(args.scenario, tuple(args.set or ()), notes=notes)
    except GcsimError:
        raise
    except Exception as exc:  # a bug: still one line, never a traceback
        raise GcsimError(
            f"{args.scenario}: internal error while reading the scenario: "
            f"{type(exc).__name__}: {exc} (please report it)"
        ) from None
    for note in notes:  # a --set of a swept key replaced that sweep: say so
        print(f"gcsim: note: {note}", file=sys.stderr)
    return loaded


def _adjusted_lines(points: list[Any]) -> list[str]:
    """One line per scheme and sweep combination whose code runs at another s or d than
    requested (its replicates share the line), with the point indices."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for p in points:
        if getattr(p, "adjusted", "") and p.status != "infeasible":
            where = ", ".join(f"{k}={v}" for k, v in p.factors.items())
            groups.setdefault((p.scheme, where, p.adjusted), []).append(f"{p.index:04d}")
    return [
        f"  other parameters: {scheme}{' at ' + where if where else ''}: {text}; "
        f"point{'s' if len(idx) > 1 else ''} {', '.join(idx)}"
        for (scheme, where, text), idx in groups.items()
    ]


def _tuned_lines(points: list[Any]) -> list[str]:
    """One line per tuned scheme and sweep combination: what the advisor picked."""
    seen: dict[tuple[str, str], str] = {}
    for p in points:
        if getattr(p, "tuned", "") and p.status != "infeasible":
            where = ", ".join(f"{k}={v}" for k, v in p.factors.items())
            seen.setdefault((p.scheme, where), p.tuned)
    return [
        f"  tuned: {scheme}{' at ' + where if where else ''}: {text}"
        for (scheme, where), text in seen.items()
    ]


def cmd_validate(args: argparse.Namespace) -> int:
    resolved, _, points = _load(args)
    if (resolved.get("tune") or {}).get("enabled"):
        print(
            "note: [tune] is on: each scheme's "
            + ", ".join(resolved["tune"]["params"])
            + " are chosen by the advisor when the sweep starts (the values below are "
            "the scenario's own, before tuning)"
        )
    infeasible = [p for p in points if p.status == "infeasible"]
    runnable = len(points) - len(infeasible)
    adjusted = [p for p in points if p.adjusted and p.status != "infeasible"]
    print(
        f"{args.scenario}: valid; {len(points)} point(s): {runnable} to run, "
        f"{len(infeasible)} infeasible"
        + (f"; {len(adjusted)} run at another s or d than requested" if adjusted else "")
    )
    for line in _adjusted_lines(points):
        print(line)
    for p in infeasible:
        where = ", ".join(f"{k}={v}" for k, v in p.factors.items())
        print(f"  infeasible: {p.scheme}{' at ' + where if where else ''}: {p.error}")
    print("points (id: swept values; n, s, m, d the code runs at, [requested] where it differs):")
    width = max(len(p.point) for p in points)
    for p in points:
        where = ", ".join(f"{k}={v}" for k, v in p.factors.items())
        if p.status == "infeasible":
            params = f"n={p.n} s={p.s_requested} m={p.m}: infeasible"
        elif p.s is None:  # [tune]: infeasible as written, the tuning decides
            params = f"n={p.n} s={p.s_requested} m={p.m}: infeasible as written; tuned"
        else:
            s_txt = f"s={p.s}" + (f" [{p.s_requested}]" if p.s != p.s_requested else "")
            d_req = p.d_requested
            d_txt = f"d={p.d}" + (f" [{d_req}]" if d_req is not None and p.d != d_req else "")
            params = f"n={p.n} {s_txt} m={p.m} {d_txt}"
        print(f"  {p.point:<{width}}  {where + ';  ' if where else ''}{params}")
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
    for line in _adjusted_lines(points):
        print(line)
    for line in _tuned_lines(points):
        print(line)
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

    resolved, text, _points = _load(args)
    folder = output_folder(resolved, args.out)
    if args.jobs is not None and not 1 <= args.jobs <= 1024:
        raise GcsimError(f"--jobs must be a number of processes from 1 to 1024; got {args.jobs}")
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
    if not _report(f"{resolved['scenario']['name']}", out.points, out, f"{folder}/summary.csv"):
        return 2
    if out.figures:
        print(f"figures: {folder}/figures/ ({len(out.figures)} files)")
    _print_headline(folder)
    return 1 if out.failed else 0


def _print_headline(folder: Path) -> None:
    """The sweep's headline table (:func:`gcsim.analysis.headline.headline_table`)."""
    from gcsim.analysis.headline import headline_table
    from gcsim.scenarios import load_results

    res = load_results(folder, records=False)
    table = headline_table(res.summary, factors=res.factors)
    if table:
        print()
        print(table)


def cmd_run(args: argparse.Namespace) -> int:
    from gcsim.scenarios import run_point
    from gcsim.scenarios.runner import point_outcome

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
    try:
        summary, records = run_point(p.spec)
    except GcsimError:
        raise
    except MemoryError:
        raise GcsimError(
            f"point {p.point} ran out of memory during its run; reduce the size (rounds, "
            "n, the workload) or set GCSIM_MEMORY_LIMIT to what this machine really has"
        ) from None
    except Exception as exc:  # a failed run is one line (gcsim sweep records it)
        print(
            f"gcsim: error: point {p.point} failed during its run: {type(exc).__name__}: "
            f"{excerpt(str(exc), 300)}",
            file=sys.stderr,
        )
        return 1
    status, error = point_outcome(summary, p.spec, records)
    from gcsim.analysis.headline import _registry_exactness

    inexact = "" if _registry_exactness([p.code]).get(p.code, True) else " (inexact)"
    print(
        f"point {p.point}: scheme {p.scheme}{inexact}, n={p.n}, s={summary['s']}, m={p.m}, "
        f"d={summary['d']}, engine {summary['engine']}"
    )
    if inexact:
        print("  note: an inexact code: it estimates the gradient sum, it does not recover it")
    if p.adjusted:
        print(f"  note: {p.adjusted}")
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
        "mean_rel_error",
        "final_loss",
    ):
        print(f"  {key:<20} {summary[key]:.6g}")
    if args.records:
        records.to_csv(args.records, index=False)
        print(f"records: {args.records}")
    if status != "ok":  # nothing to report: say why, exit 1 (as gcsim sweep does)
        print(f"gcsim: error: point {p.point} {status}: {error}", file=sys.stderr)
        return 1
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

    resolved, text, _points = _load(args)
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
    if not _report(f"{resolved['scenario']['name']} (live)", out.points, out, hint):
        return 2
    return 1 if out.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from gcsim.live.compare import compare_live

    report = compare_live(Path(args.folder), out=Path(args.out) if args.out else None)
    print(report.markdown)
    print(f"\nwrote {report.path} and {len(report.figures)} figure file(s)")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from gcsim.live.predict import predict_live

    if args.rounds < 1 or args.rounds > 1_000_000:
        raise GcsimError(f"--rounds must be in 1..1000000; got {args.rounds}")
    report = predict_live(
        Path(args.folder),
        probe=args.probe,
        rounds=args.rounds,
        out=Path(args.out) if args.out else None,
    )
    print(report.markdown)
    print(f"\nwrote {report.path} and {len(report.figures)} figure file(s)")
    return 0


def cmd_netcal(args: argparse.Namespace) -> int:
    from gcsim.live import Launcher
    from gcsim.live.netcal import DEFAULT_SIZES, calibrate_network

    sizes = DEFAULT_SIZES
    if args.sizes:
        try:
            sizes = tuple(int(float(x)) for x in args.sizes.split(","))
        except ValueError:
            raise GcsimError(
                f"--sizes takes comma-separated byte counts, e.g. 8,1024,1e6; got {args.sizes!r}"
            ) from None
    launcher = Launcher.create(args.mpiexec, args.mpiexec_arg)
    cal = calibrate_network(ranks=args.ranks, sizes=sizes, repeats=args.repeats, launcher=launcher)
    if not args.quiet:  # the measurements, as TOML comments above the snippet
        print("#   size (B)  one-way (us)")
        for size, t in zip(cal.sizes, cal.one_way, strict=True):
            print(f"# {size:>10d}  {1e6 * t:12.2f}")
    print(cal.toml())
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from gcsim.fit import fit_trace
    from gcsim.scenarios.schema import safe_name

    src = Path(args.trace)
    fit = fit_trace(src, criterion=args.criterion, alpha=args.alpha)
    name = src.name or src.resolve().name
    # the default folder is named after the trace: a plain name, never '..' or a path
    default = Path("results") / "fit" / safe_name(Path(name).stem, "trace")
    out = Path(args.out) if args.out else default
    files = fit.write_report(out)
    print(fit.summary())
    print()
    print(fit.toml(), end="")
    figures = sum(1 for f in files if f.suffix == ".png")
    print(f"\nreport: {out / 'report.md'} (candidates.csv, model.toml, {figures} figure(s))")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from gcsim.analysis.tables import paired_table
    from gcsim.scenarios import load_results

    folder = Path(args.folder)
    if not (folder / "manifest.json").is_file():
        raise GcsimError(f"{folder}: not a gcsim results folder (no manifest.json)")
    by = [b.strip() for item in args.by or [] for b in item.split(",") if b.strip()]
    table = paired_table(load_results(folder), vs=args.vs, by=by, stat=args.stat, level=args.level)
    text = table.format(args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    if args.format == "csv":  # the CSV stays one clean table: its notes go to stderr
        for note in table.notes:
            print(f"gcsim: note: {note}", file=sys.stderr)
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    import json

    from gcsim.advise import advise

    def spec(text: str | None, what: str) -> Any:
        """A delay or workload spec: JSON, a name, or name:key=value,key=value."""
        if text is None:
            return None
        text = text.strip()
        if text.startswith("{"):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise GcsimError(f"{what}: not valid JSON ({exc.msg}): {text!r}") from None
        name, _, rest = text.partition(":")
        out: dict[str, Any] = {"model": name.strip()}
        for item in filter(None, (x.strip() for x in rest.split(","))):
            key, value = _parse_option(item)
            out[key] = value
        return out

    def names(text: str | None) -> tuple[str, ...] | None:
        return None if text is None else tuple(x.strip() for x in text.split(",") if x.strip())

    if args.scenario is None and args.n is None:
        raise GcsimError("give a scenario file or --n (and --delays); see gcsim advise --help")
    network: dict[str, Any] | None = None
    if args.network is not None:
        try:
            network = json.loads(args.network)
        except json.JSONDecodeError as exc:
            raise GcsimError(f"--network: not valid JSON ({exc.msg}): {args.network!r}") from None
        if not isinstance(network, dict):
            raise GcsimError(f"--network must be a JSON object; got {args.network!r}")
    for key in ("latency", "bandwidth", "ingress", "broadcast"):
        value = getattr(args, key)
        if value is not None:
            network = {**(network or {}), key: value}
    kw: dict[str, Any] = {}
    if args.scenario is not None:
        from gcsim.advise.model import cluster_from_scenario

        kw.update(cluster_from_scenario(args.scenario, tuple(args.set or ())))
    given = {
        "n": args.n,
        "delays": spec(args.delays, "--delays"),
        "comm_delays": spec(args.comm_delays, "--comm-delays"),
        "dimension": args.dimension,
        "dtype": args.dtype,
        "workload": spec(args.workload, "--workload"),
    }
    kw.update({k: v for k, v in given.items() if v is not None})
    if network is not None:
        kw["network"] = {**dict(kw.get("network") or {}), **network}
    advice = advise(
        **kw,
        min_stragglers=args.min_stragglers,
        max_stragglers=args.max_stragglers,
        max_load=args.max_load,
        max_bytes=args.max_bytes,
        max_cond=args.max_cond,
        max_error=args.max_error,
        exact_only=not args.allow_inexact,
        schemes=names(args.schemes),
        policies=names(args.policies) or ("cancel", "non-preemptive"),
        rules=names(args.rules) or ("decodable", "count"),
        objective=args.objective,
        target_loss=args.target_loss,
        max_rounds=args.max_rounds,
        top=args.top,
        rounds=args.rounds,
        confirm=args.confirm,
        seed=args.seed,
        window=args.window,
    )
    print(advice.format())
    if args.out != "-":
        paths = advice.save(args.out, figure=not args.no_figure)
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
        print(f"confirm with: gcsim sweep {Path(args.out) / 'recommendation.toml'}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "validate": (cmd_validate, "check a scenario file (and every sweep point) without running"),
    "sweep": (cmd_sweep, "run every point of a scenario file (parallel, resumable)"),
    "run": (cmd_run, "run one point of a scenario file and print its summary"),
    "plot": (cmd_plot, "draw the figures of a results folder"),
    "live": (cmd_live, "run a scenario on real MPI processes (the live backend)"),
    "compare": (cmd_compare, "calibrate the simulator on a live run and compare them"),
    "fit": (cmd_fit, "fit a delay model to a measured trace (tasks' compute/comm times)"),
    "predict": (cmd_predict, "predict a live run's schemes from a model fitted on one probe"),
    "netcal": (cmd_netcal, "measure latency and bandwidth by MPI ping-pong: [cluster.network]"),
    "codes": (cmd_codes, "list the gradient codes with their parameters and constraints"),
    "delays": (cmd_delays, "list the delay models with their parameters"),
    "check": (cmd_check, "check decodability and measure stability of one code"),
    "report": (cmd_report, "decodability-and-stability report of every scheme"),
    "table": (cmd_table, "summary table of a results folder: every scheme vs one, paired by round"),
    "advise": (cmd_advise, "the best code and parameters for a cluster (ranked, with why)"),
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
        if name == "netcal":
            sp.add_argument(
                "--ranks",
                type=int,
                default=2,
                help="MPI processes: rank 0 and ranks-1 workers (3+ also measures the ingress)",
            )
            sp.add_argument(
                "--sizes",
                default=None,
                help="comma-separated message sizes in bytes (default 8 B..2 MiB, x4 apart)",
            )
            sp.add_argument("--repeats", type=int, default=20, help="round trips per size")
            sp.add_argument(
                "--mpiexec", default=None, metavar="PROGRAM", help="MPI launcher (as gcsim live)"
            )
            sp.add_argument(
                "--mpiexec-arg",
                action="append",
                default=None,
                metavar="ARG",
                help="extra launcher argument (repeatable, as gcsim live)",
            )
            sp.add_argument("--quiet", "-q", action="store_true", help="only the TOML snippet")
        if name == "compare":
            sp.add_argument("folder", help="results folder of `gcsim live`")
            sp.add_argument("--out", default=None, help="report folder (default FOLDER/compare)")
        if name == "fit":
            sp.add_argument(
                "trace",
                help="tidy CSV/Parquet (round, worker, load, compute_time[, comm_time, bytes]), "
                "a live point folder, or a wide compute_trace.csv",
            )
            sp.add_argument("--out", default=None, help="report folder (default results/fit/NAME)")
            sp.add_argument(
                "--criterion",
                choices=("aic", "bic"),
                default="bic",
                help="information criterion that chooses the family (default bic)",
            )
            sp.add_argument(
                "--alpha",
                type=float,
                default=1e-3,
                help="significance level of the speed and persistence tests (default 0.001)",
            )
        if name == "predict":
            sp.add_argument("folder", help="results folder of `gcsim live`")
            sp.add_argument(
                "--probe", default="uncoded", help="scheme label to fit on (default uncoded)"
            )
            sp.add_argument(
                "--rounds", type=int, default=2000, help="simulated rounds per scheme (2000)"
            )
            sp.add_argument("--out", default=None, help="report folder (default FOLDER/predict)")
        if name == "run":
            sp.add_argument("--point", default="0", help="point index or id (default 0)")
            sp.add_argument("--records", default=None, help="write per-round records (CSV)")
        if name == "table":
            sp.add_argument("folder", help="results folder of a sweep (or of `gcsim live`)")
            sp.add_argument("--vs", required=True, metavar="SCHEME", help="reference scheme label")
            sp.add_argument(
                "--by",
                action="append",
                metavar="KEY[,KEY]",
                help="swept key(s) to group by, e.g. --by s or --by code.s,cluster.n "
                "(s, m, n stand for code.s, code.m, cluster.n; the rest is pooled)",
            )
            sp.add_argument(
                "--stat", choices=("mean", "median", "p95"), default="mean", help="statistic"
            )
            sp.add_argument(
                "--format", choices=("md", "latex", "csv"), default="md", help="output format"
            )
            sp.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")
            sp.add_argument("--out", default=None, help="write the table to this file")
        if name == "plot":
            sp.add_argument("folder", help="results folder of a sweep")
            sp.add_argument("--formats", default="png,pdf", help="comma-separated formats")
        if name == "advise":
            sp.add_argument(
                "scenario", nargs="?", default=None, help="scenario file (TOML): its cluster"
            )
            sp.add_argument(
                "--set",
                action="append",
                metavar="KEY.PATH=VALUE",
                help="override a key of the scenario (repeatable)",
            )
            sp.add_argument("--n", type=int, default=None, help="number of workers")
            sp.add_argument(
                "--delays",
                default=None,
                metavar="SPEC",
                help="compute delay per partition: JSON, a model name, or "
                "name:key=value,... e.g. shifted-exponential:shift=1.6,rate=0.8",
            )
            sp.add_argument(
                "--comm-delays",
                default=None,
                metavar="SPEC",
                help="communication delay per full message (same forms as --delays)",
            )
            sp.add_argument("--dimension", type=int, default=None, help="gradient length l")
            sp.add_argument("--dtype", choices=("float64", "float32"), default=None)
            sp.add_argument("--network", default=None, metavar="JSON", help="network as JSON")
            sp.add_argument("--latency", type=float, default=None, help="one-way latency (s)")
            sp.add_argument("--bandwidth", type=float, default=None, help="uplink (bytes/s)")
            sp.add_argument("--ingress", type=float, default=None, help="server ingress (B/s)")
            sp.add_argument("--broadcast", type=float, default=None, help="broadcast (B/s)")
            sp.add_argument(
                "--workload", default=None, metavar="SPEC", help="training workload (loss)"
            )
            sp.add_argument(
                "--objective",
                choices=("mean", "p95", "loss"),
                default="mean",
                help="rank by mean or p95 round time, or time to --target-loss",
            )
            sp.add_argument("--target-loss", type=float, default=None)
            sp.add_argument("--max-rounds", type=int, default=500)
            sp.add_argument("--min-stragglers", type=int, default=0, help="tolerate >= s")
            sp.add_argument(
                "--max-stragglers", type=int, default=None, help="tolerate <= s (= min: exactly s)"
            )
            sp.add_argument("--max-load", type=int, default=None, help="largest load d")
            sp.add_argument("--max-bytes", type=float, default=None, help="per round")
            sp.add_argument("--max-cond", type=float, default=None, help="worst cond")
            sp.add_argument("--max-error", type=float, default=None, help="worst rel. error")
            sp.add_argument("--allow-inexact", action="store_true", help="rank inexact codes too")
            sp.add_argument("--schemes", default=None, help="comma-separated registry names")
            sp.add_argument("--policies", default=None, help="cancel,non-preemptive")
            sp.add_argument("--rules", default=None, help="decodable,count")
            sp.add_argument("--top", type=int, default=5, help="rows in the top part")
            sp.add_argument("--rounds", type=int, default=2000, help="rounds per estimate")
            sp.add_argument("--confirm", type=int, default=3, help="DES-confirmed rows")
            sp.add_argument("--seed", type=int, default=0)
            sp.add_argument("--window", type=float, default=3.0, help="best-of-scheme window")
            sp.add_argument(
                "--out",
                default="results/advise",
                help="folder for advice.md/json, rows.csv, pareto.png, recommendation.toml "
                "('-': write nothing)",
            )
            sp.add_argument("--no-figure", action="store_true", help="skip pareto.png")
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


#: Longest error line printed: the sources echo short excerpts of values; this is the
#: last guard (a message that still runs longer is cut in the middle).
MAX_ERROR_CHARS = 2000


def _one_short_line(text: str) -> str:
    """An error message as one line of at most :data:`MAX_ERROR_CHARS` characters."""
    text = one_line(text)
    if len(text) <= MAX_ERROR_CHARS:
        return text
    half = MAX_ERROR_CHARS // 2
    return f"{text[:half]} … ({len(text) - 2 * half} characters left out) … {text[-half:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = COMMANDS[args.command][0]
    try:
        return func(args)
    except GcsimError as exc:
        print(f"gcsim: error: {_one_short_line(str(exc))}", file=sys.stderr)
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
