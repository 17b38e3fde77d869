"""The live MPI backend: a real run on this machine, faults, misconfiguration, and the
simulator's agreement with it (n = 3 or 4 workers, a few rounds: fits CI on 2 cores).
Most of a live test's time is its MPI ranks starting (importing gcsim), so each test
starts as few jobs, with as few ranks, as what it checks needs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gcsim.cli import main
from gcsim.live.compare import compare_live
from gcsim.scenarios import load_results
from gcsim.sim.result import ROUND_COLUMNS

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]

LIVE = """
[scenario]
name = "live-test"
seed = 5
rounds = {rounds}

[cluster]
n = {n}
policy = "{policy}"

[delays.compute]
model = "shifted-exponential"
shift = 0.01
rate = 100.0

[workload]
model = "logistic"
samples = 200
features = 16

[code]
s = 1
m = 2

{schemes}

[live]
round_timeout = {timeout}
"""

SCHEMES = """
[[schemes]]
code = "uncoded"

[[schemes]]
code = "grouped"

[[schemes]]
code = "frc"
"""


def scenario(tmp_path: Path, rounds=8, policy="cancel", schemes=SCHEMES, timeout=10.0, n=4) -> Path:
    p = tmp_path / "live.toml"
    p.write_text(LIVE.format(rounds=rounds, policy=policy, schemes=schemes, timeout=timeout, n=n))
    return p


@pytest.mark.slow
def test_small_live_run_records_compare_and_exact_training(tmp_path, capsys):
    path = scenario(tmp_path)
    out = tmp_path / "res"
    assert main(["live", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    res = load_results(out)
    assert (res.summary["status"] == "ok").all() and len(res.summary) == 3
    rec = res.records
    assert set(ROUND_COLUMNS) <= set(rec.columns)
    assert rec["decoded"].all()
    assert (rec["duration"] > 0.01).all()  # the injected delays are really waited out
    # exact codes train exactly the uncoded model, round for round
    models = {
        p.scheme: np.load(out / "points" / p.point / "final_model.npy")
        for p in res.summary.itertuples()
    }
    np.testing.assert_allclose(models["grouped"], models["uncoded"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(models["frc"], models["uncoded"], rtol=1e-9, atol=1e-12)
    assert (rec["rel_error"] < 1e-12).all()
    # per-worker records and the measured traces the simulator can replay
    pdir = out / "points" / res.summary["point"][1]
    workers = pd.read_csv(pdir / "workers.csv")
    assert len(workers) == 8 * 4 and set(workers["status"]) <= {"responder", "cancelled"}
    trace = pd.read_csv(pdir / "compute_trace.csv")
    assert trace.shape == (8, 4) and (trace.to_numpy() > 0).all()
    import gcsim

    replay = gcsim.make_delay({"model": "trace", "data": str(pdir / "compute_trace.csv")})
    first = replay.sampler(4, np.random.default_rng(0)).draw(np.ones(4))
    np.testing.assert_allclose(first, trace.to_numpy()[0])
    # the same live run and its calibrated simulation
    report = compare_live(out)
    assert set(report.table["scheme"]) == {"uncoded", "grouped", "frc"}
    assert (report.table["mean_rel_diff"].abs() < 0.25).all(), report.markdown
    assert (out / "compare" / "compare.md").is_file()
    assert (out / "compare" / "compare.png").stat().st_size > 0


def _pids(folder: Path, timeout: float = 60) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        for f in folder.glob("points/.tmp-*/pids.json"):
            try:
                return json.loads(f.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)
    raise AssertionError("the live run never started")


class LiveRun:
    """``gcsim live`` running in a thread of this process, so that a test can stop or kill
    its MPI ranks while it runs (no second interpreter to start: the job's own ranks are
    the only new processes). Its output is in the test's ``capsys``."""

    def __init__(self, path: Path, out: Path) -> None:
        self.out = out
        self.rc: int | None = None
        args = ["live", str(path), "--out", str(out), "--quiet", "--no-plots"]
        self.thread = threading.Thread(target=self._run, args=(args,), daemon=True)
        self.thread.start()

    def _run(self, args: list[str]) -> None:
        self.rc = main(args)

    def wait(self, timeout: float = 120) -> int | None:
        """The command's exit status (None if it did not end within ``timeout``)."""
        self.thread.join(timeout)
        return self.rc

    def __enter__(self) -> LiveRun:
        return self

    def __exit__(self, *exc: object) -> None:
        # a failed test must not leave the job behind: resume and kill every rank
        if self.thread.is_alive():
            for f in self.out.glob("points/.tmp-*/pids.json"):
                try:
                    pids = json.loads(f.read_text())
                except (OSError, json.JSONDecodeError):
                    continue
                for pid in [pids.get("server"), *pids.get("workers", [])]:
                    for sig in (signal.SIGCONT, signal.SIGKILL):
                        try:
                            os.kill(pid, sig)
                        except (ProcessLookupError, TypeError):
                            pass
            self.thread.join(60)


def _rows(out: Path) -> pd.DataFrame:
    for f in out.glob("points/.tmp-*/records.csv"):
        try:
            return pd.read_csv(f)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            pass
    return pd.DataFrame({"decoded": []})


def _wait_rows(out: Path, cond, timeout: float = 90) -> pd.DataFrame:
    end = time.time() + timeout
    while time.time() < end:
        rows = _rows(out)
        if len(rows) and cond(rows):
            return rows
        time.sleep(0.05)
    raise AssertionError("the live run did not get there in time")


@pytest.mark.slow
def test_a_stopped_worker_is_a_straggler_and_undecodable_rounds_fail_cleanly(tmp_path, capsys):
    one = '[[schemes]]\ncode = "frc"\n'  # groups {0,1}, {2,3}: worker 3 alone is harmless
    path = scenario(tmp_path, rounds=40, schemes=one, timeout=0.5)
    out = tmp_path / "res"
    with LiveRun(path, out) as run:
        pids = _pids(out)
        w2, w3 = pids["workers"][2], pids["workers"][3]
        try:
            _wait_rows(out, lambda r: len(r) >= 3)
            os.kill(w3, signal.SIGSTOP)
            stopped_at = len(_rows(out))
            _wait_rows(out, lambda r: len(r) >= stopped_at + 8)
            os.kill(w2, signal.SIGSTOP)  # group {2, 3} lost: rounds cannot decode
            _wait_rows(out, lambda r: (~r["decoded"].astype(bool)).sum() >= 2)
        finally:
            for pid in (w2, w3):  # group {2, 3} is back through worker 2
                os.kill(pid, signal.SIGCONT)
        run.wait()
    stderr = capsys.readouterr().err
    rec = load_results(out).records
    assert len(rec) == 40, stderr
    failed = rec[~rec["decoded"]]
    window = rec.iloc[stopped_at + 2 : int(failed.index[0])]  # worker 3 stopped, 2 alive
    ok = window[window["decoded"]]
    assert len(ok) >= 5  # rounds went on without worker 3
    assert not ok["responders"].astype(str).str.split().apply(lambda x: "3" in x).any()
    assert len(failed) >= 2 and (failed["duration"] < 1.5).all()  # the 0.5 s timeout
    assert rec["decoded"].iloc[-3:].all()  # and it recovers when worker 2 is back
    assert "not decodable within 0.5 s" in stderr


@pytest.mark.slow
def test_a_dead_worker_ends_the_run_with_a_clear_error_and_keeps_the_records(tmp_path, capsys):
    one = '[[schemes]]\ncode = "grouped"\n'  # n = 3, s = 1, m = 2: one group of 3
    rounds = 20  # ~0.07 s each: the kill lands well before the last one
    path = scenario(tmp_path, rounds=rounds, schemes=one, n=3)  # 4 MPI ranks start faster
    out = tmp_path / "res"
    with LiveRun(path, out) as run:
        pids = _pids(out)
        _wait_rows(out, lambda r: len(r) >= 3)  # a few rounds on disk, then kill
        os.kill(pids["workers"][1], signal.SIGKILL)
        rc = run.wait()
    stderr = capsys.readouterr().err
    assert rc == 1, stderr
    assert "worker 1 (MPI rank 2, pid" in stderr and "died" in stderr
    assert "during round" in stderr
    res = load_results(out)
    row = res.summary.iloc[0]
    assert row["status"] == "failed" and "worker 1" in row["error"]
    kept = res.records
    assert 3 <= len(kept) < rounds  # every finished round is on disk
    # running again retries the failed point; the failed run's folder is kept aside
    assert main(["live", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    assert load_results(out).summary.iloc[0]["status"] == "ok"
    assert len(load_results(out).records) == rounds
    assert len(list((out / "points").glob("*.failed-*"))) == 1


@pytest.mark.slow
def test_launch_with_too_few_processes_is_refused_before_any_round(tmp_path):
    from gcsim.live import find_launcher

    spec = {"n": 4}
    sp = tmp_path / "spec.json"
    sp.write_text(json.dumps(spec))
    proc = subprocess.run(
        [
            find_launcher("mpiexec"),
            "-n",
            "3",
            sys.executable,
            "-m",
            "gcsim.live.node",
            str(sp),
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode != 0
    assert "the launch provided 3 MPI processes but the point needs n + 1 = 5" in proc.stderr
    assert not (tmp_path / "o" / "records.csv").exists()


def test_compare_refuses_simulated_results(tmp_path, capsys):
    path = scenario(tmp_path, rounds=3, schemes='[[schemes]]\ncode = "frc"\n')
    assert main(["sweep", str(path), "--out", str(tmp_path / "sim"), "-q", "--no-plots"]) == 0
    assert main(["compare", str(tmp_path / "sim")]) == 2
    assert "not a live run" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["non-preemptive"])
def test_non_preemptive_live_run(tmp_path, policy):
    path = scenario(tmp_path, rounds=6, policy=policy, schemes='[[schemes]]\ncode = "crc"\n')
    out = tmp_path / "res"
    assert main(["live", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    rec = load_results(out).records
    assert rec["decoded"].all() and len(rec) == 6


@pytest.mark.slow
def test_a_stopped_worker_costs_only_its_own_messages_for_any_number_of_rounds(tmp_path, capsys):
    """Regression: one SIGSTOPped worker used to stall the whole run after ~32 rounds
    (sends piling up towards it); rounds must go on as long as the rest decode."""
    one = '[[schemes]]\ncode = "frc"\n'  # groups {0,1}, {2,3}: worker 3 alone is harmless
    rounds = 64  # twice the ~32 after which the run used to stall
    path = scenario(tmp_path, rounds=rounds, schemes=one, timeout=2.0)
    out = tmp_path / "res"
    with LiveRun(path, out) as run:
        pids = _pids(out)
        w3 = pids["workers"][3]
        try:
            _wait_rows(out, lambda r: len(r) >= 2)
            os.kill(w3, signal.SIGSTOP)
            stopped_at = len(_rows(out))
            _wait_rows(out, lambda r: len(r) >= rounds, timeout=120)
        finally:
            os.kill(w3, signal.SIGCONT)
        run.wait()
    stderr = capsys.readouterr().err
    rec = load_results(out).records
    assert len(rec) == rounds, stderr
    after = rec.iloc[stopped_at + 1 :]
    assert after["decoded"].all(), after[~after["decoded"]]
    assert (after["n_responders"] >= 2).all()
    assert (after["duration"] < 1.0).all()  # never waited for the stopped worker


def test_a_scenario_file_cannot_choose_a_program_to_run(tmp_path, capsys):
    """Regression: [live].mpiexec and mpiexec_args were executed as given, so a scenario
    (or --set) could run any command. They are machine configuration now."""
    path = scenario(tmp_path, rounds=2, schemes='[[schemes]]\ncode = "frc"\n')
    victim = tmp_path / "somefile"
    rc = main(
        [
            "live",
            str(path),
            "--out",
            str(tmp_path / "res"),
            "--set",
            'live.mpiexec="/bin/sh"',
            "--set",
            f'live.mpiexec_args=["-c","id > {victim}","x"]',
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and not victim.exists()
    assert "machine configuration" in err and "--mpiexec" in err
    text = path.read_text() + '\nmpiexec = "/bin/sh"\n'
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    assert "live.mpiexec: the MPI launcher is machine configuration" in capsys.readouterr().err


def test_the_launcher_comes_from_the_command_line_or_the_environment(tmp_path, monkeypatch):
    from gcsim.errors import GcsimError
    from gcsim.live import Launcher, find_launcher

    monkeypatch.setenv("GCSIM_MPIEXEC_ARGS", "-f 'hosts file.txt'")
    launcher = Launcher.create()
    assert launcher.program == find_launcher("mpiexec")
    assert launcher.args == ("-f", "hosts file.txt")
    assert Launcher.create(args=["-v"]).args == ("-v",)
    monkeypatch.setenv("GCSIM_MPIEXEC", str(tmp_path / "no-such-launcher"))
    with pytest.raises(GcsimError, match="not an executable file"):
        Launcher.create()
    with pytest.raises(GcsimError, match="not found"):
        Launcher.create("no-such-launcher-anywhere")


NATURAL = """
[scenario]
name = "natural"
seed = 2
rounds = 6
[cluster]
n = 4
[delays.compute]
model = "constant"
value = 0.0
[workload]
model = "logistic"
samples = 4000
features = 30
[code]
s = 1
[[schemes]]
code = "uncoded"
[[schemes]]
code = "crc"
[live]
inject = false
slow_workers = [1]
"""


@pytest.mark.slow
def test_natural_stragglers_fit_predict_and_report(tmp_path, capsys):
    """No injected delay: the records hold real times; predict fits the probe and
    predicts the other schemes with fresh draws, with intervals and ranking checks."""
    path = tmp_path / "n.toml"
    path.write_text(NATURAL)
    out = tmp_path / "res"
    assert main(["live", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    res = load_results(out)
    workers = pd.concat(
        pd.read_csv(out / "points" / p / "workers.csv") for p in res.summary["point"]
    )
    assert (workers["injected_compute"] == 0).all()  # nothing injected
    assert (res.records["duration"] > 0).all() and res.records["decoded"].all()
    capsys.readouterr()
    assert main(["predict", str(out), "--probe", "uncoded", "--rounds", "200"]) == 0
    table = pd.read_csv(out / "predict" / "predict.csv")
    assert set(table["scheme"]) == {"crc"}
    assert np.isfinite(table[["pred_mean_s", "live_mean_s", "pred_mean_lo"]]).all().all()
    assert (table["pred_mean_lo"] <= table["pred_mean_s"]).all()
    assert (out / "predict" / "predict.png").stat().st_size > 0
    md = (out / "predict" / "predict.md").read_text()
    assert "fitted on the live probe `uncoded`" in md and "Rankings agree" in md
    assert main(["predict", str(out), "--probe", "nope"]) == 2
    assert "no finished live point of the probe scheme 'nope'" in capsys.readouterr().err


def test_a_live_point_in_which_no_round_decoded_is_failed_and_exits_non_zero(tmp_path, capsys):
    """Like a simulated point: every round failing (every worker in failed_workers) is
    not 'ok' with NaN times but a failed point, and gcsim live exits 1; the point's
    folder and files follow the umask like a simulated point's."""
    text = LIVE.format(
        rounds=3, policy="cancel", schemes='[[schemes]]\ncode = "uncoded"\n', timeout=0.3, n=3
    )
    text = text.replace('policy = "cancel"', 'policy = "cancel"\nfailed_workers = [0, 1, 2]')
    text = text.replace("s = 1\nm = 2", "s = 0\nm = 1")
    path = tmp_path / "dead.toml"
    path.write_text(text)
    out = tmp_path / "res"
    old = os.umask(0o022)  # and its folder follows the umask (mkdtemp makes it 0700)
    try:
        assert main(["live", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 1
    finally:
        os.umask(old)
    stderr = capsys.readouterr().err
    (point,) = (p for p in (out / "points").iterdir() if not p.name.startswith("."))
    assert oct(point.stat().st_mode & 0o777) == oct(0o755)
    assert oct((point / "records.csv").stat().st_mode & 0o777) == oct(0o644)
    row = load_results(out).summary.iloc[0]
    assert row["status"] == "failed", stderr
    assert "no round decoded: all 3 rounds failed" in row["error"]
    assert "failed_workers lists 3 of the n = 3 workers" in row["error"]
    assert "no round decoded" in stderr
    assert len(load_results(out).records) == 3  # the records are kept
