"""Child processes die with the gcsim command that started them.

A sweep's pool workers and a live run's launcher and MPI ranks must not outlive a
``kill -9`` of ``gcsim sweep`` / ``gcsim live`` (they used to finish the queued work for
minutes). Two mechanisms, both cheap:

* :func:`die_with_parent` (Linux): ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` in a child, so
  the kernel kills it the moment its parent dies;
* :func:`watch` : a daemon thread that polls whether a given process (the gcsim command,
  named by pid in ``GCSIM_WATCH_PID`` for processes started further down, such as MPI
  ranks under a launcher) is still alive, and ends this process when it is not.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["ENV_PID", "child_env", "die_with_parent", "watch", "watch_from_env"]

ENV_PID = "GCSIM_WATCH_PID"
ENV_HOST = "GCSIM_WATCH_HOST"


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only; a no-op
    elsewhere). Safe to call as a ``preexec_fn`` or a pool initializer."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def watch(pid: int, *, interval: float = 0.5, code: int = 1) -> None:
    """End this process (``os._exit(code)``) as soon as process ``pid`` is gone."""

    def run() -> None:
        while _alive(pid):
            time.sleep(interval)
        os._exit(code)

    threading.Thread(target=run, name="gcsim-lifeline", daemon=True).start()


def child_env() -> dict[str, str]:
    """Environment for a child that should watch this process (see :func:`watch_from_env`)."""
    import socket

    return {**os.environ, ENV_PID: str(os.getpid()), ENV_HOST: socket.gethostname()}


def watch_from_env() -> None:
    """Watch the process named in ``GCSIM_WATCH_PID`` when it runs on this host."""
    import socket

    pid = os.environ.get(ENV_PID, "")
    if pid.isdigit() and os.environ.get(ENV_HOST) == socket.gethostname():
        watch(int(pid))
