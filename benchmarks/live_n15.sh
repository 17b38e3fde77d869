#!/usr/bin/env bash
# Live validation with n = 15 workers (16 MPI processes) on the lent 16-core machine.
# Usage (device): bash benchmarks/live_n15.sh   (wheels of simpy, mpich, mpi4py in .whl/)
# Usage (here, smaller): N=5 ROUNDS=10 SKIP_VENV=1 OUT=/tmp/o bash benchmarks/live_n15.sh
set -u
N=${N:-15}
ROUNDS=${ROUNDS:-40}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
. benchmarks/device_env.sh
{ nproc; $PY --version; $PY -c "from mpi4py import MPI; print(MPI.Get_library_version().splitlines()[0])"; } 2>&1 | tee "$OUT/env.txt"
run() {
  rm -rf /tmp/live15
  $PY -m gcsim.cli live scenarios/live-validation.toml --set cluster.n=$N --set code.s=2 \
      --set scenario.rounds=$ROUNDS --out /tmp/live15 --no-plots -q
}
run 2>&1 | tee "$OUT/live.log"
if [ "${PIPESTATUS[0]}" != 0 ]; then
  echo "== retrying with the TCP netmod for local processes ==" | tee -a "$OUT/live.log"
  export MPIR_CVAR_NOLOCAL=1 FI_PROVIDER=tcp
  run 2>&1 | tee -a "$OUT/live.log"
fi
$PY -m gcsim.cli compare /tmp/live15 --out /tmp/live15/compare 2>&1 | tee "$OUT/compare.log"
cp /tmp/live15/compare/compare.md /tmp/live15/compare/compare.csv /tmp/live15/summary.csv "$OUT/" 2>/dev/null
cp /tmp/live15/compare/compare.png "$OUT/" 2>/dev/null
true
