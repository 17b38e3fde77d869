"""Write the notebooks of this folder from the cells below (stored without outputs).

    python3 notebooks/make_notebooks.py          # rewrites notebooks/*.ipynb

Edit the cells here, not the .ipynb files, so the notebooks stay reproducible and free
of outputs. Every notebook uses the public API only, writes into a temporary folder
(never into the repository), draws with the Agg backend, runs in a few seconds, and ends
with a check cell (``assert``s and a line ``... OK``) that
``tests/integration/test_notebooks.py`` looks for.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import tempfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")            # no display needed; figures are saved to files
import numpy as np
import pandas as pd

import gcsim
from gcsim import plots

workdir = Path(tempfile.mkdtemp(prefix="gcsim-notebook-"))   # everything is written here
print("gcsim", gcsim.__version__, "- writing into", workdir)"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip("\n"))


# --------------------------------------------------------------------------- 01
QUICKSTART = [
    md("""
# 01 — Quickstart

gcsim compares **gradient codes** for straggler mitigation: every scheme is a real
encode/decode kernel, a simulator runs them round after round on a modelled cluster, and
scenario files sweep parameters into tidy tables and figures.

This notebook: (1) one code by hand, (2) one simulation, (3) a tiny scenario sweep with its
results table and figures. It runs in a few seconds and writes only into a temporary
folder.
"""),
    code(SETUP),
    md("""
## 1. A code by hand

`gcsim.make_code(name, n=..., s=..., m=...)` builds a scheme. Here the Kadhe–Koyluoglu–
Ramchandran *grouped* code with a Gaussian MDS generator: n = 12 workers in groups of
d = s + m = 4, each message has l/m values, any s = 2 stragglers are tolerated (and more
when they are spread over the groups).
"""),
    code("""
code = gcsim.make_code("grouped", n=12, s=2, m=2, rng=0)
print(code)
partials = np.random.default_rng(1).standard_normal((code.k, 1000))   # one row per data partition
messages = code.encode(partials)                                      # one row per worker
print("message shape:", messages.shape, "- l/m =", code.message_length(1000), "values each")

responders = [0, 1, 4, 5, 8, 9]          # 6 of 12 workers: two per group
print("decodable:", code.is_decodable(responders))
g = code.decode(responders, messages[responders], l=1000)
print("max |error|:", np.abs(g - partials.sum(axis=0)).max())
print("decoder condition number:", code.decoder(responders).cond)"""),
    md("""
## 2. One simulation

`gcsim.simulate` runs rounds of coded gradient descent: delays are drawn per round from the
delay models (here Lee et al.'s shifted exponential for computation, an exponential for
communication), the server decodes as soon as the responders are decodable, and every
round is recorded. The same seed gives every scheme the same delay draws.
"""),
    code("""
cluster = dict(
    delays={"model": "shifted-exponential", "shift": 0.01, "rate": 100.0},   # s per partition
    comm_delays={"model": "exponential", "rate": 50.0},                        # s per full message
    network=gcsim.Network(latency=5e-4, bandwidth=1.25e8, ingress=1.25e8),
    workload={"model": "logistic", "samples": 600, "features": 200},
    iterations=40,
    seed=1,
)
rows = {}
for name, kw in [("uncoded", dict(s=0)), ("frc", dict(s=2)), ("grouped", dict(s=2, m=2))]:
    res = gcsim.simulate(gcsim.make_code(name, n=12, rng=0, **kw), **cluster)
    rows[name] = res.summary()
columns = ["mean_round_time", "p95_round_time", "mean_bytes_received", "final_loss"]
sim_table = pd.DataFrame(rows).T[columns]
sim_table"""),
    code("""
res.records.head()     # per-round records of the last run (gcsim.sim.ROUND_COLUMNS)"""),
    md("""
## 3. A scenario sweep

A scenario file (TOML) names the cluster, the delay models, the workload, the schemes and
the parameters to sweep; `docs/scenarios.md` lists every key. The same steps as
`gcsim sweep FILE` on the command line: load (validate and expand), run, load the results.
"""),
    code('''
scenario = workdir / "tiny.toml"
scenario.write_text("""
[scenario]
name = "tiny"
seed = 3
rounds = 30

[cluster]
n = 6

[delays.compute]
model = "shifted-exponential"
shift = 0.01
rate = 100.0

[workload]
model = "logistic"
samples = 300
features = 50

[code]
s = 1
m = 2

[[schemes]]
code = "uncoded"

[[schemes]]
code = "frc"

[[schemes]]
code = "ye-abbe"

[[schemes]]
code = "grouped"
options = { generator = "gaussian", draws = 5 }

[sweep]
"code.s" = [1, 2]
""")

from gcsim.scenarios import load_scenario, run_sweep, load_results

resolved, text, points = load_scenario(scenario)
print(len(points), "points;", sum(p.status == "infeasible" for p in points), "infeasible")
for p in points:
    if p.status == "infeasible":
        print("  ", p.scheme, p.factors, "->", p.error.split(";")[0])'''),
    code("""
outcome = run_sweep(resolved, text, folder=workdir / "tiny", jobs=1, progress=False, plots=False)
print("ran", outcome.ran, "points; failed:", outcome.failed)

results = load_results(workdir / "tiny")
ok = results.summary[results.summary.status == "ok"]
table = ok.pivot_table(index="scheme", columns="code.s", values="mean_round_time")
table"""),
    md("""
## 4. Figures

`gcsim.plots.plot_results` draws every figure the results have data for (and a
`README.md` saying which were skipped and why). Each figure also has a data function
returning a tidy DataFrame and a drawing function, for your own plots.
"""),
    code("""
files = plots.plot_results(results, workdir / "tiny" / "figures", formats=("png",))
print([f.name for f in files])

data = plots.round_time_vs_s_data(results)
ax = plots.plot_round_time_vs_s(data)
ax.figure.savefig(workdir / "round_time_vs_s.png", dpi=80)
data"""),
    code("""
# checks used by tests/integration/test_notebooks.py
bytes_ = sim_table["mean_bytes_received"]
assert bytes_["grouped"] < bytes_["uncoded"]
assert (workdir / "tiny" / "summary.csv").is_file() and len(files) > 0
assert set(table.index) == {"uncoded", "frc", "ye-abbe", "grouped-gaussian"}
print("QUICKSTART OK")"""),
]

# --------------------------------------------------------------------------- 02
BYOC = [
    md("""
# 02 — Bring your own code

In the framework of Kadhe, Koyluoglu & Ramchandran (2020) **any linear code** becomes a
gradient code: the workers form groups of d (block length = computation load), each group
encodes its sum with an `[d, m, d_min]` generator (dimension m = communication reduction,
messages of l/m values) and tolerates `d_min − 1` stragglers. `gcsim` takes a generator
matrix of your own, computes its **real** minimum distance (by checking column subsets,
since a code over the reals can differ from the same 0/1 matrix over GF(2)) and refuses a
wrong `s`.

Here: a small integer-coefficient `[5, 3]` code, compared with the Gaussian MDS code of the
same parameters and with FRC on decodability, numerical stability and simulated round time.
"""),
    code(SETUP),
    md("""
## 1. The generator

A systematic `[5, 3]` generator with integer coefficients. Every 3 of its 5 columns are
linearly independent, so it is MDS: `d_min = d − m + 1 = 3`, i.e. s = 2 stragglers per
group, m = 3, load d = 5 (the Ye–Abbe optimum d = s + m). Integer coefficients make the
worker's encoding cheap (additions and small multiples).
"""),
    code("""
G = np.array([
    [1, 0, 0, 1, 1],
    [0, 1, 0, 1, 2],
    [0, 0, 1, 1, 3],
], dtype=float)

n = 15                                   # three groups of 5 workers
mine = gcsim.make_code("grouped", n=n, s=2, m=3, generator=G)
gauss = gcsim.make_code("grouped", n=n, s=2, m=3, rng=0, draws=10)   # best of 10 Gaussian draws
frc = gcsim.make_code("frc", n=n, s=2)                                # Tandon et al., m = 1
for c in (mine, gauss, frc):
    print(c)"""),
    md("""
A generator that is *not* what you claim is refused with its real tolerance. Repeating a
column makes two workers of a group send the same symbol, so losing both is fatal:
"""),
    code("""
bad = np.array([
    [1, 0, 0, 1, 1],
    [0, 1, 0, 1, 1],
    [0, 0, 1, 1, 1],
], dtype=float)                                  # columns 3 and 4 are equal
try:
    gcsim.make_code("grouped", n=n, s=2, m=3, generator=bad)
except gcsim.InfeasibleParametersError as exc:
    refused = str(exc)
    print(refused)"""),
    md("""
## 2. Decodability

Every code tolerates **any** 2 stragglers. Beyond that, the grouped codes still decode when
the stragglers are spread over the groups (at most 2 per group), and FRC when every group of
3 keeps one responder. Fraction of decodable straggler sets, all sets of each size:
"""),
    code("""
from itertools import combinations

def decodable_fraction(code, k):
    sets = list(combinations(range(code.n), k))
    ok = sum(code.is_decodable(sorted(set(range(code.n)) - set(S))) for S in sets)
    return ok / len(sets)

codes = {"custom [5,3] (m=3)": mine, "gaussian [5,3] (m=3)": gauss, "frc (m=1)": frc}
decodability = pd.DataFrame(
    {name: [decodable_fraction(c, k) for k in range(0, 6)] for name, c in codes.items()},
    index=pd.Index(range(0, 6), name="stragglers"),
)
decodability"""),
    md("""
## 3. Numerical stability

Decoding a grouped code inverts one m × m block per group, whatever n. The worst condition
number over every straggler set of size s, and the worst relative error of the decoded
gradient on random partial gradients, in float64 and float32:
"""),
    code("""
rng = np.random.default_rng(0)
l = 600
partials = rng.standard_normal((n, l))
exact = partials.sum(axis=0)

def stability(code):
    worst_cond, worst_err = {}, {"float64": 0.0, "float32": 0.0}
    msgs = {dt: code.encode(partials.astype(dt)) for dt in worst_err}
    conds = []
    for S in combinations(range(code.n), code.s):
        R = sorted(set(range(code.n)) - set(S))
        conds.append(code.decoder(R).cond)
        for dt, M in msgs.items():
            g = code.decode(R, M[R], l=l)
            rel = float(np.linalg.norm(g - exact) / np.linalg.norm(exact))
            worst_err[dt] = max(worst_err[dt], rel)
    return {"worst cond": max(conds), "rel. error float64": worst_err["float64"],
            "rel. error float32": worst_err["float32"]}

stab = pd.DataFrame({name: stability(c) for name, c in codes.items()}).T
stab"""),
    md("""
## 4. Simulated round time

A communication-heavy cluster (the ratios of the Ye–Abbe simulation model, in ms; 1 Gbit/s
links into a shared 1 Gbit/s server ingress; l = 20 000). The same seed gives all three
codes the same delay draws. The m = 3 codes send a third of FRC's bytes.
"""),
    code("""
cluster = dict(
    delays={"model": "shifted-exponential", "shift": 0.0016, "rate": 800.0},
    comm_delays={"model": "shifted-exponential", "shift": 0.006, "rate": 100.0},
    network=gcsim.Network(latency=5e-4, bandwidth=1.25e8, ingress=1.25e8),
    workload={"model": "random-vectors", "dimension": 20000},
    iterations=60,
    seed=4,
)
timing = pd.DataFrame(
    {name: gcsim.simulate(c, **cluster).summary() for name, c in codes.items()}
).T[["mean_round_time", "p95_round_time", "mean_bytes_received", "worst_rel_error"]]
timing"""),
    code("""
import matplotlib.pyplot as plt   # only to lay out one figure; the library never uses pyplot

fig, ax = plt.subplots(figsize=(5, 3))
timing["mean_round_time"].mul(1e3).plot.barh(ax=ax)
ax.set_xlabel("mean round time (ms)")
fig.tight_layout()
fig.savefig(workdir / "byoc_round_time.png", dpi=80)
plt.close(fig)"""),
    code("""
# checks used by tests/integration/test_notebooks.py
assert (mine.s, mine.m, mine.d) == (2, 3, 5)
assert "real minimum distance" in refused
assert (decodability.loc[2] == 1.0).all()
assert stab.loc["custom [5,3] (m=3)", "rel. error float64"] < 1e-12
sent = timing["mean_bytes_received"]
assert sent["custom [5,3] (m=3)"] < sent["frc (m=1)"]
print("BYOC OK")"""),
]

# --------------------------------------------------------------------------- 03
STABILITY = [
    md("""
# 03 — Numerical stability

A gradient code is only useful if its decoder is accurate in floating point. The Ye–Abbe
polynomial code decodes by inverting a real Vandermonde matrix of size n − s, whose
condition number grows exponentially with n; the grouped Gaussian code inverts m × m
blocks, independent of n; the cyclic MDS code works over the complex roots of unity.

A small version of `scenarios/stability.toml`: every scheme at n = 6..30 with float64 and
float32 messages (`workload.dtype` swept), random-vector partial gradients, each round
decoding a new random responder set.
"""),
    code(SETUP),
    code('''
scenario = workdir / "stability-small.toml"
scenario.write_text("""
[scenario]
name = "stability-small"
seed = 7
rounds = 4

[cluster]
n = 6

[delays.compute]
model = "exponential"
rate = 1.0

[workload]
model = "random-vectors"
dimension = 128

[code]
s = 2
m = 2

[[schemes]]
code = "uncoded"

[[schemes]]
code = "frc"

[[schemes]]
code = "crc"

[[schemes]]
code = "cyclic-mds"

[[schemes]]
code = "ye-abbe"

[[schemes]]
code = "grouped"
options = { draws = 5 }

[sweep]
"cluster.n" = [6, 12, 18, 24, 30]
"workload.dtype" = ["float64", "float32"]
""")

from gcsim.scenarios import load_scenario, run_sweep, load_results

resolved, text, points = load_scenario(scenario)
outcome = run_sweep(resolved, text, folder=workdir / "stability", jobs=1,
                    progress=False, plots=False)
results = load_results(workdir / "stability", records=False)
print(len(points), "points, failed:", outcome.failed)'''),
    md("""
The tidy data behind the figure: worst relative error and worst condition number per
scheme, dtype and n.
"""),
    code("""
stab = plots.stability_vs_n_data(results)
err = stab[stab.metric == "rel_error"].pivot_table(
    index=["dtype", "n"], columns="scheme", values="value")
print(err.to_string(float_format="{:.1e}".format))"""),
    code("""
axes = plots.plot_stability_vs_n(stab)
fig = axes[0].figure
fig.savefig(workdir / "stability_vs_n.png", dpi=80, bbox_inches="tight")
print("saved", workdir / "stability_vs_n.png")"""),
    md("""
## Why: the matrices each decoder inverts

The condition number of the decoder for one straggler set, directly from the codes, as n
grows (s = 2, m = 2):
"""),
    code("""
rows = []
for n in (8, 16, 24, 32, 40):
    R = list(range(2, n))            # the first two workers straggle
    variants = [("ye-abbe", {}), ("ye-abbe", {"points": "chebyshev"}), ("grouped", {"rng": 0})]
    for name, kw in variants:
        c = gcsim.make_code(name, n=n, s=2, m=2, **kw)
        label = name + ("-chebyshev" if kw.get("points") else "")
        rows.append({"n": n, "scheme": label, "cond": c.decoder(R).cond})
conds = pd.DataFrame(rows).pivot(index="n", columns="scheme", values="cond")
print(conds.to_string(float_format="{:.1e}".format))"""),
    code("""
# checks used by tests/integration/test_notebooks.py
f64 = err.loc["float64"]
assert f64["grouped"].max() < 1e-12                          # machine precision at every n
assert f64["ye-abbe"].loc[30] > 1e3 * f64["ye-abbe"].loc[6]  # grows by orders of magnitude
assert conds.loc[40, "ye-abbe"] > 1e6 * conds.loc[40, "grouped"]
print("STABILITY OK")"""),
]

NOTEBOOKS = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-bring-your-own-code.ipynb": BYOC,
    "03-stability.ipynb": STABILITY,
}


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):  # stable ids: rewriting gives identical files
        cell["id"] = f"cell-{i:02d}"
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = build(cells)
        nbformat.validate(nb)
        path = HERE / name
        nbformat.write(nb, path)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells)")


if __name__ == "__main__":
    main()
