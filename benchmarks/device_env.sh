# Sourced by the live benchmark scripts: the Python environment on the lent machine.
# Its python3 is itself a venv (numpy, scipy, pandas...): the carried wheels in .whl/
# (simpy, mpich, mpi4py) go in with --target, and MPICH's launcher and libraries come
# from its wheel. SKIP_VENV=1 uses this machine's environment instead (a local try).
PY=python3
if [ -z "${SKIP_VENV:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
  python3 -m zipfile -e .whl/mpich-*.whl /tmp/mpich || exit 1
  D=$(echo /tmp/mpich/mpich-*.data/data)
  chmod +x "$D"/bin/*
  export PATH=$D/bin:$PATH LD_LIBRARY_PATH=$D/lib:$D/lib/mpich${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
