"""Code construction and decoder construction time per scheme.

Same schemes, n and s as ``bench_decode.py`` (line-up in ``schemes.py``). For each point:
the median time of ``make_code(...)`` over a few builds, and the median time of
``code.decoder(R)`` for a *new* responder set R (``code.clear_cache()`` before each call,
a fresh random sorted set of n - s workers each time), i.e. the cost paid the first time a
straggler pattern is seen. The decoder's method and the worst condition number seen are
reported too.

Run: ``python3 benchmarks/bench_decoder_build.py [--quick]``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
from _common import fmt_ms, fmt_sci, machine_info, machine_md, md_table, parse_args, write_results
from schemes import SCHEMES, Scheme

import gcsim

NAME = "bench_decoder_build"
SEED = 20240612


def bench_point(scheme: Scheme, n: int, sets: int, builds: int) -> dict[str, Any]:
    s = scheme.s_for(n)
    row: dict[str, Any] = {
        "scheme": scheme.label,
        "name": scheme.name,
        "n": n,
        "s": s,
        "m": scheme.m,
        "options": dict(scheme.options),
    }
    build_times = []
    code = None
    for _ in range(builds):
        t0 = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                code = gcsim.make_code(
                    scheme.name, n=n, s=s, m=scheme.m, rng=SEED, **scheme.options
                )
        except gcsim.InfeasibleParametersError as exc:
            row["status"] = f"infeasible: {exc}"
            return row
        build_times.append(time.perf_counter() - t0)
    assert code is not None
    rng = np.random.default_rng([SEED, n, s])
    dec_times, conds, methods = [], [], set()
    for _ in range(sets):
        R = np.sort(rng.choice(n, n - s, replace=False))
        code.clear_cache()
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            dec = code.decoder(R)
        dec_times.append(time.perf_counter() - t0)
        conds.append(dec.cond)
        methods.add(dec.method)
    row.update(
        status="ok",
        code_s=code.s,
        d=code.d,
        build_s=statistics.median(build_times),
        build_all_s=build_times,
        decoder_s=statistics.median(dec_times),
        decoder_min_s=min(dec_times),
        decoder_max_s=max(dec_times),
        decoder_all_s=dec_times,
        worst_cond=max(conds) if not any(np.isnan(conds)) else float("nan"),
        method="; ".join(sorted(methods)),
    )
    return row


def render(rows: list[dict[str, Any]], info: dict[str, Any], meta: dict[str, Any]) -> str:
    out = ["# Code and decoder construction time", ""]
    out.append(
        f"`build ms`: median of {meta['builds']} `make_code` calls. `decoder ms`: median "
        f"(min-max) of `code.decoder(R)` over {meta['sets']} fresh random sorted responder "
        "sets of n - s workers, cache cleared before each call. s and m as in "
        "`bench_decode`."
    )
    out.append("")
    out.append(machine_md(info))
    out.append("")
    headers = [
        "n",
        "scheme",
        "s",
        "m",
        "d",
        "build ms",
        "decoder ms",
        "decoder min-max ms",
        "worst cond",
        "method",
    ]
    table = []
    for r in rows:
        if r["status"] != "ok":
            table.append(
                [
                    r["n"],
                    r["scheme"],
                    r["s"],
                    r["m"],
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    r["status"].split(":")[0],
                ]
            )
            continue
        s_txt = r["s"] if r["code_s"] == r["s"] else f"{r['s']} ({r['code_s']})"
        table.append(
            [
                r["n"],
                r["scheme"],
                s_txt,
                r["m"],
                r["d"],
                fmt_ms(r["build_s"]),
                fmt_ms(r["decoder_s"]),
                f"{fmt_ms(r['decoder_min_s'])}-{fmt_ms(r['decoder_max_s'])}",
                fmt_sci(r["worst_cond"]),
                r["method"],
            ]
        )
    out.append(md_table(headers, table))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    ns = [12, 48] if args.quick else [12, 48, 120, 240]
    sets = 5 if args.quick else 31
    builds = 2 if args.quick else 5
    info = machine_info()
    rows = []
    t_start = time.perf_counter()
    for n in ns:
        for scheme in SCHEMES:
            t0 = time.perf_counter()
            row = bench_point(scheme, n, sets, builds)
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print(
                f"n={n:4d} {scheme.label:24s} {row['status'][:20]:20s} "
                f"decoder={fmt_ms(row.get('decoder_s'))} ms ({row['wall_s']:.1f}s)",
                flush=True,
            )
    meta = {
        "ns": ns,
        "sets": sets,
        "builds": builds,
        "quick": args.quick,
        "seed": SEED,
        "runtime_s": time.perf_counter() - t_start,
    }
    data = {"benchmark": NAME, "machine": info, "meta": meta, "results": rows}
    write_results(NAME, data, render(rows, info, meta), args.out_dir)
    print(f"total {meta['runtime_s']:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
