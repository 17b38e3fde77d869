#!/usr/bin/env bash
# Prints every table of docs/comparison.md (about 15 minutes on 2 cores from scratch).
#
#   bash docs/comparison.sh            # from the repository root, after `make demo`
#
# A rerun resumes: finished points and each folder's tuning.json are reused (a changed
# scenario is moved aside by --restart). To recompute everything after changing gcsim,
# remove results/paper-comparison and results/pc-* first.
# Writes results/paper-comparison (equal s), results/pc-equal-load (equal computation)
# and results/pc-<variant> (sensitivity), and prints the tables of the doc.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${GCSIM_BIN:-.venv/bin}
JOBS=${JOBS:-2}
SC=scenarios/paper-comparison.toml

# 1. Equal s: every scheme tuned (m, options, decode rule) at exactly s = 1, 2, 3
"$BIN/gcsim" sweep "$SC" -j "$JOBS" -q --restart --out results/paper-comparison
"$BIN/gcsim" table results/paper-comparison --vs grouped-gaussian --by s
"$BIN/python" docs/comparison_tables.py configs results/paper-comparison
"$BIN/python" docs/comparison_tables.py best-prior results/paper-comparison code.s
echo

# 2. Equal computation: s >= 1 and load d <= 2, 3, 4, 6 for every scheme
"$BIN/gcsim" sweep "$SC" -j "$JOBS" -q --restart --out results/pc-equal-load --set code.s=1 \
    --set 'sweep={"tune.load" = [2, 3, 4, 6]}'
"$BIN/python" docs/comparison_tables.py configs results/pc-equal-load
"$BIN/python" docs/comparison_tables.py best-prior results/pc-equal-load tune.load
echo

# 3. Sensitivity: s = 2, one assumption changed at a time (every scheme re-tuned)
variant() {
    local name=$1
    shift
    "$BIN/gcsim" sweep "$SC" -j "$JOBS" -q --restart --out "results/pc-$name" \
        --set 'sweep={"code.s" = [2]}' "$@" >/dev/null
    "$BIN/python" docs/comparison_tables.py sensitivity "results/pc-$name" "$name"
}
variant baseline
variant comm-half --set delays.comm.shift=0.003 --set delays.comm.rate=200.0
variant comm-double --set delays.comm.shift=0.012 --set delays.comm.rate=50.0
variant network-only --set 'delays.comm={model = "constant", value = 0.0}'
variant compute-only --set 'delays.comm={model = "constant", value = 0.0}' \
    --set cluster.network.latency=0.0 --set cluster.network.bandwidth=inf \
    --set cluster.network.ingress=inf --set cluster.network.broadcast=inf
variant n24 --set cluster.n=24 --set workload.samples=480
variant per-partition --set cluster.load_mode=per-partition
