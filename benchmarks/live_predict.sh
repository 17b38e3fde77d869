#!/usr/bin/env bash
# Out-of-sample prediction with natural stragglers (scenarios/live-natural.toml): for each
# cluster size, run every scheme live, fit the probe (uncoded), predict the others with
# fresh draws and compare (gcsim predict); also the replay comparison (gcsim compare).
# Usage (the lent 16-core machine): bash benchmarks/live_predict.sh   (wheels in .whl/)
# Usage (here, smaller): PATH=$PWD/.venv/bin:$PATH SIZES="4" ROUNDS=8 SKIP_VENV=1 OUT=/tmp/o \
#   bash benchmarks/live_predict.sh
set -u
SIZES=${SIZES:-"6 15"}
ROUNDS=${ROUNDS:-50}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
. benchmarks/device_env.sh
export PYTHONUNBUFFERED=1
LOG="$OUT/run.log"
{ nproc; $PY --version; $PY -c "from mpi4py import MPI; print(MPI.Get_library_version().splitlines()[0])"; } >"$LOG" 2>&1
for N in $SIZES; do
  F=/tmp/natural-n$N
  rm -rf "$F"
  echo "== n = $N: live ($(date +%T))" >>"$LOG"
  $PY -m gcsim.cli live scenarios/live-natural.toml --set cluster.n="$N" \
      --set scenario.rounds="$ROUNDS" --out "$F" --no-plots -q >>"$LOG" 2>&1
  echo "== n = $N: predict ($(date +%T))" >>"$LOG"
  $PY -m gcsim.cli predict "$F" --probe uncoded >>"$LOG" 2>&1
  if [ -d "$F/points" ] && ls "$F"/points | grep -q -- '-frc-'; then
    echo "== n = $N: predict from two loads ($(date +%T))" >>"$LOG"
    $PY -m gcsim.cli predict "$F" --probe uncoded,frc --out "$F/predict2" >>"$LOG" 2>&1
    cp "$F/predict2/predict.md" "$OUT/predict2-n$N.md" 2>/dev/null
  fi
  echo "== n = $N: compare ($(date +%T))" >>"$LOG"
  $PY -m gcsim.cli compare "$F" >>"$LOG" 2>&1
  cp "$F/predict/predict.md" "$OUT/predict-n$N.md" 2>/dev/null
  cp "$F/predict/predict.csv" "$OUT/predict-n$N.csv" 2>/dev/null
  cp "$F/compare/compare.md" "$OUT/compare-n$N.md" 2>/dev/null
done
echo "== done ($(date +%T))" >>"$LOG"
true
