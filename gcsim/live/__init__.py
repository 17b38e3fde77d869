"""The live backend: the simulator's round protocol on real MPI processes.

Names load on first use, so an MPI rank (``python -m gcsim.live.node``) imports only
what it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gcsim.live.launcher import Launcher, find_launcher, live_executor, run_live

__all__ = ["Launcher", "find_launcher", "live_executor", "run_live"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gcsim.live import launcher

        return getattr(launcher, name)
    raise AttributeError(f"module 'gcsim.live' has no attribute {name!r}")
