"""Live-cluster backend on MPI (mpi4py): the simulator's protocol on real processes."""

from gcsim.live.launcher import LiveOutcome, find_launcher, run_live

__all__ = ["LiveOutcome", "find_launcher", "run_live"]
