"""Children die with the gcsim command that started them (kill -9 and Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SWEEP = """
[scenario]
name = "lifeline"
rounds = 4000
engine = "des"
[cluster]
n = 12
policy = "non-preemptive"
[delays.compute]
model = "exponential"
rate = 1.0
[workload]
model = "logistic"
samples = 300
features = 20
[code]
s = 1
[[schemes]]
code = "frc"
[[schemes]]
code = "crc"
[sweep]
"code.s" = [1, 2, 3]
"""


def _children() -> dict[int, int]:
    """pid -> parent pid of every process on this machine."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            out[int(entry.name)] = int(fields[1])
    return out


def _descendants(pid: int) -> set[int]:
    parents = _children()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    end = time.time() + timeout
    alive = set(pids)
    while alive and time.time() < end:
        alive &= set(_children())
        time.sleep(0.1)
    return alive


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gcsim.cli", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(pred, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("never got there")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_kill_minus_9_of_a_sweep_kills_its_pool_workers(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    proc = _start(["sweep", str(path), "--out", str(tmp_path / "r"), "-j", "2", "-q"], tmp_path)
    _wait_for(lambda: len(_descendants(proc.pid)) >= 3)  # forkserver + 2 workers
    time.sleep(1.0)
    kids = _descendants(proc.pid)
    proc.kill()  # the sweep process only, not its process group
    proc.wait()
    assert not _wait_gone(kids, 10), "pool workers outlived the sweep"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_ctrl_c_stops_a_sweep_within_seconds(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    proc = _start(["sweep", str(path), "--out", str(tmp_path / "r"), "-j", "2", "-q"], tmp_path)
    _wait_for(lambda: len(_descendants(proc.pid)) >= 3)
    time.sleep(1.0)
    kids = _descendants(proc.pid)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 8, "Ctrl-C took too long"
    assert proc.returncode == 130 and b"interrupted" in err
    assert not _wait_gone(kids, 10)


LIVE = """
[scenario]
name = "lifeline-live"
rounds = 3000
[cluster]
n = 3
[delays.compute]
model = "constant"
value = 0.005
[workload]
model = "random-vectors"
dimension = 8
[code]
s = 1
[[schemes]]
code = "crc"
"""


@pytest.mark.slow
@pytest.mark.live
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_kill_minus_9_of_gcsim_live_kills_the_launcher_and_every_rank(tmp_path):
    pytest.importorskip("mpi4py")
    path = tmp_path / "l.toml"
    path.write_text(LIVE)
    proc = _start(["live", str(path), "--out", str(tmp_path / "r"), "-q", "--no-plots"], tmp_path)
    _wait_for(lambda: any((tmp_path / "r" / "points").glob(".tmp-*/pids.json")), 120)
    kids = _descendants(proc.pid)
    assert len(kids) >= 4  # launcher, proxies, 4 ranks (under their shells)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not _wait_gone(kids, 10), "the MPI job outlived gcsim live"
