"""Suite-wide settings.

* One BLAS thread per process: the suite runs on small machines (CI has 2 cores) and
  starts many processes at once (MPI ranks, pool workers, notebook kernels); threaded
  OpenBLAS on the suite's small matrices spins for work and multiplies the CPU time
  (5x on one contract check). Set before numpy is first imported; children inherit it;
  an explicit setting in the environment wins.
* Hypothesis profiles: ``dev`` locally, ``ci`` (derandomized) when CI is set,
  ``thorough`` on request (HYPOTHESIS_PROFILE=thorough) for long bug hunts.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import HealthCheck, settings  # noqa: E402

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, derandomize=True, **_common)
settings.register_profile("dev", max_examples=40, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
