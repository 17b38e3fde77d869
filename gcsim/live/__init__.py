"""The live backend: the simulator's round protocol on real MPI processes."""

from gcsim.live.launcher import find_launcher, live_executor, run_live

__all__ = ["find_launcher", "live_executor", "run_live"]
