"""The live backend: the simulator's round protocol on real MPI processes."""

from gcsim.live.launcher import Launcher, find_launcher, live_executor, run_live

__all__ = ["Launcher", "find_launcher", "live_executor", "run_live"]
