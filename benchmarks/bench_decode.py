"""Decode time per scheme against the floor of summing the received messages.

For each n and scheme (line-up in ``schemes.py``): a random responder set of n - s workers
(sorted), the decoder built once before timing (cached), then the median wall time of
``code.decode(R, msgs, l, check=False)`` and of ``msgs.sum(axis=0)`` on the *same* message
array of shape (|R|, message_length(l)), l = 10^6 float64, the two timed alternately.
The ratio decode / floor is reported (ratio of medians; also min/min and the median of
the per-pair ratios, which are more robust on a loaded machine). Numerical health is
reported alongside: the decoder's condition number and residual, whether ``check=True``
would raise ``DecodeResidualError``, and the relative error of a real encode -> decode
round trip at l = 4096 for the same responder set.

Run: ``python3 benchmarks/bench_decode.py [--quick]``.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np
from _common import (
    fmt_ms,
    fmt_sci,
    machine_info,
    machine_md,
    md_table,
    parse_args,
    relative_error,
    write_results,
)
from schemes import SCHEMES, Scheme

import gcsim

NAME = "bench_decode"
SEED = 20240611
TARGET_SCHEME = "grouped gaussian (m=2)"
TARGET_N = 120
TARGET_RATIO = 1.5
ERR_L = 4096


class MessagePool:
    """Holds at most one large message array; reused while the shape stays the same."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._arr: np.ndarray | None = None

    def get(self, shape: tuple[int, int]) -> np.ndarray:
        if self._arr is None or self._arr.shape != shape:
            self._arr = None
            gc.collect()
            arr = np.empty(shape, dtype=np.float64)
            self._rng.random(out=arr)
            arr -= 0.5
            self._arr = arr
        return self._arr

    def release(self) -> None:
        self._arr = None
        gc.collect()


def responders_for(n: int, s: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, n, s])
    return np.sort(rng.choice(n, n - s, replace=False))


def bench_point(
    scheme: Scheme, n: int, length: int, repeats: int, pool: MessagePool
) -> dict[str, Any]:
    s = scheme.s_for(n)
    row: dict[str, Any] = {
        "scheme": scheme.label,
        "name": scheme.name,
        "n": n,
        "s": s,
        "m": scheme.m,
        "options": dict(scheme.options),
        "l": length,
    }
    try:
        code = gcsim.make_code(scheme.name, n=n, s=s, m=scheme.m, rng=SEED, **scheme.options)
    except gcsim.InfeasibleParametersError as exc:
        row["status"] = f"infeasible: {exc}"
        return row
    R = responders_for(n, s)
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        dec = code.decoder(R)
    row.update(
        code_s=code.s,
        d=code.d,
        field=code.field,
        responders=len(R),
        rows_read=len(dec.rows),
        decoder_build_s=time.perf_counter() - t0,
        cond=dec.cond,
        residual=dec.residual,
        l1_amplification=dec.l1_amplification,
        method=dec.method,
        check_passes=code.decode_problem(R) is None,  # float64 messages
    )
    # accuracy of a real round trip at a small length (the decoder depends only on R)
    rng = np.random.default_rng([SEED, n, 1])
    P = rng.standard_normal((code.k, ERR_L))
    with np.errstate(all="ignore"):
        g = code.decode(R, code.encode(P)[R], ERR_L, check=False)
    row["rel_error"] = relative_error(g, P.sum(axis=0))
    # timing on one shared message array
    msgs = pool.get((len(R), code.message_length(length)))
    row["message_shape"] = list(msgs.shape)
    row["message_bytes"] = msgs.nbytes

    def decode() -> np.ndarray:
        return code.decode(R, msgs, length, check=False)

    def floor() -> np.ndarray:
        return msgs.sum(axis=0)

    with np.errstate(all="ignore"):
        decode()  # warm-up (also pages in any temporaries)
        floor()
        t_dec, t_floor = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            floor()
            t_floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            decode()
            t_dec.append(time.perf_counter() - t)
    t_floor_a, t_dec_a = np.asarray(t_floor), np.asarray(t_dec)
    row["floor_s"] = float(np.median(t_floor_a))
    row["decode_s"] = float(np.median(t_dec_a))
    row["floor_all_s"] = t_floor
    row["decode_all_s"] = t_dec
    row["ratio"] = row["decode_s"] / row["floor_s"]  # ratio of medians (the headline)
    row["ratio_min"] = float(t_dec_a.min() / t_floor_a.min())
    row["ratio_paired_median"] = float(np.median(t_dec_a / t_floor_a))
    if not code.exact:
        row["status"] = "ok (inexact by design)"
    elif not row["check_passes"]:
        row["status"] = "BROKEN (check=True raises DecodeResidualError)"
    else:
        row["status"] = "ok" if row["rel_error"] < 1e-6 else "inaccurate"
    return row


HEADERS = (
    "n", "scheme", "s", "m", "|R|", "rows read", "msg MB", "floor ms", "decode ms",
    "decode/floor", "min/min", "paired", "cond", "rel err", "check", "status",
)  # fmt: skip


def table_row(r: dict[str, Any]) -> list[Any]:
    if "ratio" not in r:
        return [r["n"], r["scheme"], r["s"], r["m"]] + ["-"] * 11 + [r["status"].split(":")[0]]
    s_txt = r["s"] if r["code_s"] == r["s"] else f"{r['s']} ({r['code_s']})"
    return [
        r["n"], r["scheme"], s_txt, r["m"], r["responders"], r["rows_read"],
        f"{r['message_bytes'] / 1e6:.0f}", fmt_ms(r["floor_s"]), fmt_ms(r["decode_s"]),
        f"{r['ratio']:.2f}", f"{r['ratio_min']:.2f}", f"{r['ratio_paired_median']:.2f}",
        fmt_sci(r["cond"]), fmt_sci(r["rel_error"]), "pass" if r["check_passes"] else "FAIL",
        r["status"],
    ]  # fmt: skip


def render(rows: list[dict[str, Any]], info: dict[str, Any], meta: dict[str, Any]) -> str:
    out = ["# Decode time vs the summation floor", ""]
    out.append(
        f"l = {meta['l']:,} float64, responders = a random sorted set of n - s workers, "
        f"decoder cached before timing; floor = `msgs.sum(axis=0)` over the same "
        "(|R|, ceil(l/m)) message array. Floor and decode are timed alternately "
        f"({meta['repeats']} pairs, time.perf_counter). `floor ms`, `decode ms`: medians; "
        "`decode/floor`: ratio of the medians (the headline figure); `min/min`: ratio of the "
        "fastest runs; `paired`: median of the per-pair ratios (robust to load drift). "
        f"`rel err`: relative error of an encode -> decode round trip (l = {ERR_L}, "
        "check=False) for the same responder set; `check`: whether `decode(check=True)` "
        "accepts the decoder for float64 messages (`code.decode_problem`)."
    )
    out.append("")
    out.append(machine_md(info))
    out.append("")
    out.append(md_table(HEADERS, [table_row(r) for r in rows]))
    out.append("")
    out.append(
        "`s (x)`: the code was built for s but tolerates x >= s in the worst case "
        "(grouped with unequal group sizes). `rows read`: messages the cached decoder "
        "actually combines (`len(decoder.rows)`)."
    )
    target = meta.get("target")
    if target:
        out.append("")
        out.append(
            f"**Target** ({target['scheme']}, n = {target['n']}, cached decoder within "
            f"{target['limit']}x of the floor): ratio of medians {target['ratio']:.2f} "
            f"(min/min {target['ratio_min']:.2f}, paired {target['ratio_paired']:.2f}) -> "
            f"**{'met' if target['met'] else 'NOT met'}**."
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    ns = [12, 48] if args.quick else [12, 48, 120, 240]
    length = 200_000 if args.quick else 1_000_000
    repeats = 5 if args.quick else 15
    info = machine_info()
    pool = MessagePool(np.random.default_rng(SEED))
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for n in ns:
        # schemes sharing a message shape run back to back, so the pool reallocates rarely
        order = sorted(SCHEMES, key=lambda sc: (sc.m, sc.s_for(n)))
        for scheme in order:
            t0 = time.perf_counter()
            row = bench_point(scheme, n, length, repeats, pool)
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print(
                f"n={n:4d} {scheme.label:24s} {row['status'][:40]:40s} "
                f"ratio={row.get('ratio', float('nan')):.2f} ({row['wall_s']:.1f}s)",
                flush=True,
            )
        pool.release()
    rank = {sc.label: i for i, sc in enumerate(SCHEMES)}
    rows.sort(key=lambda r: (r["n"], rank[r["scheme"]]))
    meta: dict[str, Any] = {
        "l": length,
        "repeats": repeats,
        "ns": ns,
        "quick": args.quick,
        "seed": SEED,
        "error_length": ERR_L,
        "runtime_s": time.perf_counter() - t_start,
    }
    hit = [r for r in rows if r["scheme"] == TARGET_SCHEME and r["n"] == TARGET_N and "ratio" in r]
    if hit:
        meta["target"] = {
            "scheme": TARGET_SCHEME,
            "n": TARGET_N,
            "limit": TARGET_RATIO,
            "ratio": hit[0]["ratio"],
            "ratio_min": hit[0]["ratio_min"],
            "ratio_paired": hit[0]["ratio_paired_median"],
            "met": hit[0]["ratio"] <= TARGET_RATIO,
        }
    data = {"benchmark": NAME, "machine": info, "meta": meta, "results": rows}
    write_results(NAME, data, render(rows, info, meta), args.out_dir)
    print(f"total {meta['runtime_s']:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
