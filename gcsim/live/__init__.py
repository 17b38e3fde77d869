"""The live backend: the simulator's round protocol on real MPI processes.

Names load on first use, so an MPI rank (``python -m gcsim.live.node``) imports only
what it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gcsim._lazy import lazy_getattr

if TYPE_CHECKING:
    from gcsim.live.launcher import Launcher, find_launcher, live_executor, run_live

__all__ = ["Launcher", "find_launcher", "live_executor", "run_live"]


__getattr__ = lazy_getattr(__name__, dict.fromkeys(__all__, "gcsim.live.launcher"))
