"""gcsim.fit: fitting a delay model to measured task times (docs/fit.md).

Statistical properties are tested with hypothesis over the generating parameters; each
example builds its numpy Generator from a drawn seed. The tests are ``derandomize``d: a
detection test has a false-alarm rate alpha by design, so a fixed example set keeps the
suite deterministic (the examples were checked once; see the tolerances below).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gcsim
from gcsim.cli import main
from gcsim.delays import make_delay
from gcsim.delays.empirical import EmpiricalDelay
from gcsim.errors import GcsimError, InvalidInputError
from gcsim.fit import fit_live_point, fit_trace, read_trace
from gcsim.fit.families import FAMILIES, fit_families
from gcsim.fit.report import cdf_data, qq_data, speeds_data

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: families used by the structure tests (fewer candidates: faster, same structure logic)
STRUCT = ("shifted-exponential", "lognormal", "bimodal-lognormal", "bimodal-shifted-exponential")


def fit_settings(examples: int) -> settings:
    """``examples`` derandomized examples, no deadline (fits take a fraction of a second)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def tidy(durations: np.ndarray, loads: np.ndarray | float = 1.0) -> pd.DataFrame:
    """A rounds x workers table of durations as a tidy trace."""
    R, n = durations.shape
    r, w = np.meshgrid(np.arange(R), np.arange(n), indexing="ij")
    d = np.broadcast_to(np.asarray(loads, dtype=float), durations.shape)
    return pd.DataFrame(
        {
            "round": r.ravel(),
            "worker": w.ravel(),
            "load": d.ravel(),
            "compute_time": durations.ravel(),
        }
    )


def draw(spec: Any, n: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """rounds x workers unit-load durations of a delay model (one run)."""
    return make_delay(spec).sampler(n, rng).draw_rounds(rounds, np.ones(n))


def true_quantile(spec: Any, p: float) -> tuple[float, float]:
    """(quantile, density at it) of a model's marginal, from 400 000 draws."""
    big = make_delay(spec).sample(np.random.default_rng(12345), 400_000)
    h = 0.01
    q = float(np.quantile(big, p))
    dens = 2 * h / float(np.quantile(big, p + h) - np.quantile(big, p - h))
    return q, dens


# ------------------------------------------------------------------ families come back


def _family_spec(family: str, a: float, b: float, c: float) -> dict[str, Any]:
    """A model of ``family`` from three numbers in [0, 1] (ranges where the families
    are distinguishable: a shift worth at least half the exponential's mean, Weibull
    shapes away from 1, ...)."""

    def lerp(lo: float, hi: float, t: float) -> float:
        return lo + (hi - lo) * t

    if family == "shifted-exponential":
        rate = lerp(0.5, 5, a)
        return {"model": family, "shift": lerp(0.5, 3, b) / rate, "rate": rate}
    if family == "weibull":
        shape = lerp(0.5, 0.8, 2 * b) if b < 0.5 else lerp(1.5, 4, 2 * b - 1)
        return {"model": family, "shape": shape, "scale": lerp(0.5, 5, a)}
    if family == "lognormal":
        return {"model": family, "mu": lerp(-3, 1, a), "sigma": lerp(0.3, 1.2, b)}
    if family == "gamma":
        return {"model": "scipy", "dist": "gamma", "a": lerp(1.5, 6, b), "scale": lerp(0.2, 2, a)}
    if family == "pareto":
        return {"model": family, "scale": lerp(0.5, 3, a), "alpha": lerp(1.2, 4, b)}
    if family == "bimodal-lognormal":
        base = {"model": "lognormal", "mu": lerp(-3, 1, a), "sigma": lerp(0.1, 0.4, b)}
        return {"model": "bimodal", "base": base, "p": lerp(0.1, 0.3, c), "factor": lerp(3, 8, b)}
    assert family == "bimodal-shifted-exponential"
    rate = lerp(0.5, 5, a)
    base = {"model": "shifted-exponential", "shift": lerp(1, 3, b) / rate, "rate": rate}
    return {"model": "bimodal", "base": base, "p": lerp(0.1, 0.3, c), "factor": lerp(3, 8, c)}


PARAMETRIC = [f for f in FAMILIES if f != "empirical"]
#: sample size of the family tests: 8 workers x 150 rounds
N_WORKERS, N_ROUNDS = 8, 150


@pytest.mark.parametrize("family", PARAMETRIC)
@fit_settings(2)
@given(
    a=st.floats(0, 1),
    b=st.floats(0, 1),
    c=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_known_family_is_fitted_back(
    family: str, a: float, b: float, c: float, seed: int
) -> None:
    """1 200 draws of a known family: BIC chooses that family, and the fitted p50 and p95
    are within 4 standard errors of the true ones, the standard error being the sample
    quantile's, sqrt(p (1 - p) / N) / f(q) (the maximum-likelihood quantile of the right
    family is at least as precise; over 210 calibration fits (30 per family) none was
    misclassified and the largest error was 2.7 standard errors)."""
    spec = _family_spec(family, a, b, c)
    rng = np.random.default_rng(seed)
    fit = fit_trace(tidy(draw(spec, N_WORKERS, N_ROUNDS, rng)))
    assert fit.family == family, fit.summary()
    assert not fit.compute.heterogeneity.detected and not fit.compute.persistence.detected
    N = N_WORKERS * N_ROUNDS
    for p in (0.5, 0.95):
        q, dens = true_quantile(spec, p)
        se = math.sqrt(p * (1 - p) / N) / dens
        got = float(fit.compute.chosen.ppf(p)[0])
        assert abs(got - q) <= 4 * se, (p, got, q, se)


def test_candidates_report_their_statistics_and_weights() -> None:
    x = np.random.default_rng(1).lognormal(0.0, 0.5, (60, 20))
    fit = fit_trace(tidy(x), criterion="aic")
    cands = fit.compute.candidates
    assert cands[0].name == "lognormal" and fit.family == "lognormal"
    assert {c.name for c in cands} == set(FAMILIES)
    assert all(a.aic <= b.aic for a, b in itertools.pairwise(cands))
    best = cands[0]
    assert best.ks_pvalue > 0.01 and 0 < best.ks_stat < 0.05
    assert best.bic == pytest.approx(best.k * math.log(1200) - 2 * best.loglik)
    conf = fit.confidence
    assert conf.best == "lognormal" and conf.runner_up == cands[1].name
    assert conf.delta == pytest.approx(cands[1].aic - cands[0].aic)
    assert conf.evidence_ratio == pytest.approx(conf.weight / conf.runner_up_weight, rel=1e-6)
    table = fit.compute.candidates_table("aic")
    assert table["weight"].sum() == pytest.approx(1.0)
    assert list(table.columns[:4]) == ["family", "k", "loglik", "aic"]
    assert table["p50"].iloc[0] == pytest.approx(1.0, rel=0.05)  # median exp(0)
    assert fit_families(x.ravel(), "bic")[0].name == "lognormal"


# ------------------------------------------------------------------ heterogeneity


@fit_settings(4)
@given(
    n=st.integers(6, 12),
    slow=st.integers(1, 3),
    speed=st.floats(0.2, 0.5),
    sigma=st.floats(0.1, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_slow_workers_are_found_and_their_speeds_estimated(
    n: int, slow: int, speed: float, sigma: float, seed: int
) -> None:
    """60 rounds. A speed is the ratio of two medians (its speed group's and the typical
    worker's), each with a log standard error of about 1.25 sigma / sqrt(rounds): the
    log speed is within 4 sqrt(2) of those (30 calibration fits: at most 3.8). Speeds
    are defined up to a common factor (the base law absorbs it), so they are compared
    after removing the median log ratio."""
    rng = np.random.default_rng(seed)
    speeds = np.ones(n)
    speeds[rng.choice(n, slow, replace=False)] = speed
    spec = {
        "model": "heterogeneous",
        "base": {"model": "lognormal", "mu": -3.0, "sigma": sigma},
        "speeds": speeds.tolist(),
    }
    R = 60
    fit = fit_trace(tidy(draw(spec, n, R, rng)), families=STRUCT)
    het = fit.compute.heterogeneity
    assert het.detected and het.pvalue < 1e-3
    assert fit.compute_model["model"] == "heterogeneous"
    assert len(fit.compute_model["speeds"]) == n
    tol = 4 * math.sqrt(2) * 1.2533 * sigma / math.sqrt(R)
    err = np.log(het.speeds) - np.log(speeds)
    assert np.max(np.abs(err - np.median(err))) <= tol
    assert fit.compute_model["base"]["model"] == "lognormal"
    assert not fit.compute.persistence.detected


@fit_settings(4)
@given(bimodal=st.booleans(), sigma=st.floats(0.2, 1.0), seed=st.integers(0, 2**32 - 1))
def test_iid_data_get_no_invented_structure(bimodal: bool, sigma: float, seed: int) -> None:
    """i.i.d. draws (log-normal, or bimodal straggling): neither speeds nor persistence
    (each test at its level alpha = 0.001); the model is the plain family."""
    spec: dict[str, Any] = {"model": "lognormal", "mu": -2.0, "sigma": sigma}
    if bimodal:
        spec = {"model": "bimodal", "base": {**spec, "sigma": sigma / 4}, "p": 0.2, "factor": 5}
    fit = fit_trace(tidy(draw(spec, 8, 100, np.random.default_rng(seed))), families=STRUCT)
    assert not fit.compute.heterogeneity.detected
    assert not fit.compute.persistence.detected
    assert fit.compute_model["model"] == spec["model"]
    assert fit.family == ("bimodal-lognormal" if bimodal else "lognormal")


# ------------------------------------------------------------------ persistence


@fit_settings(4)
@given(
    p_slow=st.floats(0.02, 0.08),
    p_recover=st.floats(0.1, 0.3),
    factor=st.floats(4, 10),
    lognormal=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_persistent_stragglers_are_found_and_the_chain_fitted(
    p_slow: float, p_recover: float, factor: float, lognormal: bool, seed: int
) -> None:
    """8 workers x 200 rounds of a two-state chain. Found (and not mistaken for fixed
    speeds); the slow-down factor within 15 %, the stationary slow fraction within 0.1
    and the state autocorrelation 1 - p_slow - p_recover within 0.15 (over 30
    calibration fits the largest errors were 4 %, 0.07 and 0.08)."""
    base = (
        {"model": "lognormal", "mu": -3.0, "sigma": 0.2}
        if lognormal
        else {"model": "shifted-exponential", "shift": 1.0, "rate": 2.0}
    )
    spec = {
        "model": "persistent",
        "base": base,
        "p_slow": p_slow,
        "p_recover": p_recover,
        "factor": factor,
    }
    fit = fit_trace(tidy(draw(spec, 8, 200, np.random.default_rng(seed))), families=STRUCT)
    per = fit.compute.persistence
    assert per.detected and per.modelled and per.lr_pvalue < 1e-3
    assert not fit.compute.heterogeneity.detected
    m = fit.compute_model
    assert m["model"] == "persistent" and m["base"]["model"] == base["model"]
    assert m["factor"] == pytest.approx(factor, rel=0.15)
    assert per.stationary_slow == pytest.approx(p_slow / (p_slow + p_recover), abs=0.1)
    assert 1 - m["p_slow"] - m["p_recover"] == pytest.approx(1 - p_slow - p_recover, abs=0.15)


# ------------------------------------------------------------------ load scaling


@fit_settings(2)
@pytest.mark.parametrize("mode", ["per-worker", "per-partition", "affine"])
@given(lognormal=st.booleans(), spread=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_the_load_scaling_is_identified(
    mode: str, lognormal: bool, spread: float, seed: int
) -> None:
    """Loads 1, 2, 4 in turn (8 workers x 150 rounds): one draw times d (per-worker),
    the sum of d draws (per-partition), or (d + c) times one draw (affine, c in [1, 3])."""
    rng = np.random.default_rng(seed)
    base = (
        {"model": "lognormal", "mu": -3.0, "sigma": 0.2 + 0.4 * spread}
        if lognormal
        else {"model": "shifted-exponential", "shift": 1.0, "rate": 0.5 + 2.5 * spread}
    )
    n, R = 8, 150
    d = np.array([1.0, 2.0, 4.0])[np.arange(R) % 3][:, None] * np.ones((1, n))
    smp = make_delay(base).sampler(
        n, rng, "per-partition" if mode == "per-partition" else "per-worker"
    )
    c = 1.0 + 2.0 * spread if mode == "affine" else 0.0
    T = np.stack([smp.draw(d[r] + c) for r in range(R)])
    fit = fit_trace(tidy(T, d), families=STRUCT)
    ls = fit.compute.load
    assert ls.mode == mode, ls.line()
    assert fit.load_mode == ("per-partition" if mode == "per-partition" else "per-worker")
    if mode == "affine":
        assert ls.offset == pytest.approx(c, rel=0.35)
        # the model for load d reproduces the mean time (d + c) E[X] within 10 %
        mean_x = make_delay(base).sample(np.random.default_rng(0), 200_000).mean()
        for load in (1.0, 4.0):
            got = fit.model_for_load(load).sample(np.random.default_rng(1), 100_000).mean()
            assert got * load == pytest.approx((load + c) * mean_x, rel=0.1)


def test_one_load_cannot_be_tested_and_says_so() -> None:
    fit = fit_trace(tidy(np.random.default_rng(0).lognormal(0, 0.5, (30, 5))), families=STRUCT)
    assert fit.compute.load.mode == "single-load" and fit.load_mode == "per-worker"
    assert "cannot be tested" in fit.compute.load.line()


# ------------------------------------------------------------------ the fitted model runs


def test_a_fitted_model_simulates() -> None:
    rng = np.random.default_rng(3)
    spec = {
        "model": "heterogeneous",
        "base": {"model": "shifted-exponential", "shift": 0.01, "rate": 200.0},
        "speeds": [1, 1, 0.3, 1, 1, 1],
    }
    fit = fit_trace(tidy(draw(spec, 6, 60, rng)), families=STRUCT)
    code = gcsim.make_code("frc", n=6, s=1)
    res = gcsim.simulate(code, delays=fit.model, iterations=20, seed=0, load_mode=fit.load_mode)
    assert len(res.records) == 20 and np.all(res.records["duration"] > 0)
    res = gcsim.simulate(code, delays=fit.compute_model, iterations=5, seed=0)
    assert len(res.records) == 5


def test_slow_workers_are_not_fitted_as_iid_frc_prediction() -> None:
    """Two persistently slow workers (speed 0.25) in the same FRC group (n = 6, s = 1:
    groups of 2). The group must wait for a slow worker every round; an i.i.d. fit
    under-predicts the mean round time by tens of percent, the fitted heterogeneous model
    is within 10 % of the truth."""
    truth = {
        "model": "heterogeneous",
        "base": {"model": "shifted-exponential", "shift": 0.01, "rate": 100.0},
        "speeds": [0.25, 0.25, 1, 1, 1, 1],
    }
    fit = fit_trace(tidy(draw(truth, 6, 100, np.random.default_rng(8))), families=STRUCT)
    assert fit.compute_model["model"] == "heterogeneous"
    code = gcsim.make_code("frc", n=6, s=1)
    group_of = code.decode_rule.group_of
    assert group_of is not None and list(group_of[:2]) == [0, 0]

    def mean_round(delays: Any) -> float:
        res = gcsim.simulate(code, delays=delays, iterations=400, seed=5)
        return float(res.records["duration"].mean())

    true_mean = mean_round(truth)
    assert mean_round(fit.model) == pytest.approx(true_mean, rel=0.1)
    assert mean_round(fit.iid_model()) < 0.8 * true_mean


# ------------------------------------------------------------------ TOML and the report


def test_toml_snippet_builds_the_model_and_validates_in_a_scenario(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    U = draw(
        {
            "model": "heterogeneous",
            "base": {"model": "lognormal", "mu": -4, "sigma": 0.3},
            "speeds": [1, 1, 1, 0.4, 1, 1, 1, 1],
        },
        8,
        60,
        rng,
    )
    df = tidy(U)
    df["comm_time"] = rng.exponential(0.002, len(df))
    fit = fit_trace(df, families=STRUCT)
    text = fit.toml()
    data = tomllib.loads(text)
    assert fit.comm_model is not None
    for key, spec in (("compute", fit.compute_model), ("comm", fit.comm_model)):
        built = make_delay(data["delays"][key]).spec()
        assert built["model"] == spec["model"]
        _assert_close(built, make_delay(spec).spec(), rel=1e-5)
    assert 'load_mode = "per-worker"' in text
    from gcsim.scenarios.schema import load_scenario_text

    scenario = (
        '[scenario]\nname = "fitted"\nrounds = 5\n[cluster]\nn = 8\n[workload]\n'
        'model = "none"\n[[schemes]]\ncode = "uncoded"\n' + text
    )
    resolved = load_scenario_text(scenario)
    assert resolved["delays"]["compute"]["model"] == "heterogeneous"


def _assert_close(a: Any, b: Any, rel: float) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _assert_close(a[k], b[k], rel)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y, rel)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=rel, abs=1e-12)
    else:
        assert a == b


def test_figure_data() -> None:
    """The data step of the figures (the drawing is exercised by the CLI test)."""
    rng = np.random.default_rng(6)
    fit = fit_trace(tidy(rng.lognormal(-3, 0.4, (40, 6))), families=STRUCT)
    cd, qd, sd = cdf_data(fit.compute), qq_data(fit.compute), speeds_data(fit.compute)
    assert cd["x"].shape == cd["ecdf"].shape and cd["ecdf"][-1] == 1.0
    assert [m["name"] for m in cd["models"]] == [c.name for c in fit.compute.candidates[:2]]
    assert np.all(np.diff(cd["models"][0]["cdf"]) >= 0)
    assert qd["models"][0]["model"].shape == qd["models"][0]["sample"].shape
    assert sd["quantiles"].shape == (5, 6) and np.all(np.diff(sd["quantiles"], axis=0) >= 0)
    assert not sd["detected"] and np.all(sd["speeds"] == 1)


def test_cli_fit_prints_model_confidence_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(7)
    path = tmp_path / "trace.csv"
    tidy(rng.lognormal(-3, 0.4, (40, 6))).to_csv(path, index=False)
    out = tmp_path / "rep"
    assert main(["fit", str(path), "--out", str(out), "--criterion", "aic"]) == 0
    text = capsys.readouterr().out
    assert "compute: lognormal" in text and "AIC weight" in text and "runner-up" in text
    assert f"report: {out / 'report.md'}" in text and "[delays.compute]" in text
    names = set(os.listdir(out))
    assert {"report.md", "candidates.csv", "candidates.md", "model.toml", "model.json"} <= names
    assert {"cdf.png", "qq.png", "speeds.png"} <= names
    assert not [p for p in names if p.startswith(".")]  # atomic writes leave no temp file
    assert all((out / f).stat().st_size > 0 for f in names)
    cands = pd.read_csv(out / "candidates.csv")
    assert cands["family"].iloc[0] == "lognormal" and cands["weight"].sum() == pytest.approx(1)
    model = json.loads((out / "model.json").read_text())
    assert model["compute"]["model"] == "lognormal" and model["load_mode"] == "per-worker"
    md = (out / "report.md").read_text()
    assert "[delays.compute]" in md and "Kolmogorov" in md and "Friedman" in md
    bad = tmp_path / "bad.csv"
    bad.write_text("round;worker;load;compute_time\n0;0;1;0.5\n")
    assert main(["fit", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "separated by semicolons" in err[0]


# ------------------------------------------------------------------ inputs


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


GOOD = "round,worker,load,compute_time\n" + "".join(
    f"{r},{w},1,{0.5 + 0.01 * ((7 * r + 3 * w) % 11)}\n" for r in range(5) for w in range(4)
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        ("round,worker,compute_time\n0,0,1.0\n", "missing column(s) 'load'"),
        ("round,worker,load\n0,0,1\n", "round, worker, load, compute_time"),
        (GOOD.replace("0.55", "abc", 1), "cannot read 'abc' as a number"),
        (GOOD.replace(",0.55\n", ",\n", 1), "no value (empty or NaN)"),
        (GOOD.replace(",0.55\n", ",nan\n", 1), "no value (empty or NaN)"),
        (GOOD.replace(",0.55\n", ",-0.55\n", 1), "'compute_time' must be > 0 seconds"),
        (GOOD.replace(",0.55\n", ",inf\n", 1), "is infinite"),
        (GOOD.replace("1,0,1,", "1,0,0,", 1), "'load' must be > 0"),
        (GOOD.replace("1,0,1,", "1,0.5,1,", 1), "'worker' must hold integers >= 0"),
        (GOOD.replace("1,0,1,", "0,0,1,", 1), "appears 2 times"),
        (GOOD.replace(",", ";"), "separated by semicolons"),
        (GOOD.replace(",", "\t"), "separated by tabs"),
        ("round,worker,load,compute_time\n", "no data rows"),
        ("round,worker,load,compute_time\n0,0,1,0.5\n", "at least 10"),
        ("\ufeffround,worker,load,compute_time\n0,0,1,0.5\n".encode("utf-16"), "UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        (GOOD + "5,0,1,0.5,7\n", "not a well-formed CSV"),
    ],
)
def test_malformed_traces_give_one_clear_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    p = _write(tmp_path, "trace.csv", content)
    with pytest.raises(InvalidInputError) as info:
        read_trace(p)
    text = str(info.value)
    assert message in text and "\n" not in text and str(p) in text
    assert isinstance(info.value, GcsimError)


def test_a_utf8_bom_is_harmless_and_comments_are_skipped(tmp_path: Path) -> None:
    p = _write(tmp_path, "bom.csv", "\ufeff# measured on node 3\n" + GOOD)
    t = read_trace(p)
    assert t.tasks == 20 and t.kind == "table"


def test_folders_fifos_and_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is a folder, not a trace file"):
        read_trace(tmp_path)
    with pytest.raises(InvalidInputError, match="no such file"):
        read_trace(tmp_path / "nope.csv")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.csv"
        os.mkfifo(fifo)
        with pytest.raises(InvalidInputError, match="FIFO"):
            read_trace(fifo)  # never opened: opening a FIFO would block
    (tmp_path / "res" / "points" / "p0").mkdir(parents=True)
    (tmp_path / "res" / "points" / "p0" / "workers.csv").write_text("round\n")
    with pytest.raises(InvalidInputError, match="live results folder with 1 point"):
        read_trace(tmp_path / "res")


def test_wide_trace_and_comm_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    U = rng.lognormal(-4, 0.3, (30, 5))
    U[3, 2] = 0.0  # the live export's "no work"
    p = tmp_path / "compute_trace.csv"
    pd.DataFrame(U, columns=[f"w{i}" for i in range(5)]).to_csv(p, index=False)
    t = read_trace(p)
    assert t.kind == "wide" and t.tasks == 149 and np.all(t.load == 1)
    assert any("left out" in n for n in t.notes)
    df = tidy(U[:, :4] + 0.01)
    df["comm_time"] = 0.01
    df["bytes"] = np.where(df["worker"] == 0, 500.0, 1000.0)
    t = read_trace(_write(tmp_path, "c.csv", df.to_csv(index=False)))
    assert t.comm is not None and t.comm_load is not None
    assert set(t.comm_load) == {0.5, 1.0}


def test_parquet_traces(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    df = tidy(np.random.default_rng(0).lognormal(0, 0.3, (10, 4)))
    df.to_parquet(tmp_path / "t.parquet")
    assert read_trace(tmp_path / "t.parquet").tasks == 40


def test_live_point_folder(tmp_path: Path) -> None:
    """A point folder as gcsim live writes it (workers.csv, spec.json), here from the
    simulator's own worker records (same columns)."""
    from gcsim.scenarios.expand import expand
    from gcsim.scenarios.schema import load_scenario_text
    from gcsim.sim import run
    from gcsim.spec import RunSpec

    text = (
        '[scenario]\nname = "t"\nseed = 1\nrounds = 60\n[cluster]\nn = 6\n'
        '[delays.compute]\nmodel = "heterogeneous"\nspeeds = [1, 1, 0.3, 1, 1, 1]\n'
        'base = { model = "shifted-exponential", shift = 0.01, rate = 200.0 }\n'
        '[delays.comm]\nmodel = "exponential"\nrate = 500.0\n'
        '[workload]\nmodel = "none"\n[code]\ns = 1\n[[schemes]]\ncode = "frc"\n'
    )
    point = expand(load_scenario_text(text))[0]
    res = run(RunSpec.from_point(point.spec).with_(record_workers=True))
    folder = tmp_path / "points" / point.point
    folder.mkdir(parents=True)
    assert res.workers is not None
    res.workers.to_csv(folder / "workers.csv", index=False)
    (folder / "spec.json").write_text(json.dumps(point.spec))
    trace = read_trace(folder)
    assert trace.kind == "live-point" and trace.comm is not None
    assert np.all(trace.load == 2.0)  # FRC with s = 1: every worker computes 2 partitions
    fit = fit_live_point(folder, families=STRUCT)
    assert fit.compute_model["model"] == "heterogeneous"
    assert fit.compute_model["speeds"][2] == pytest.approx(0.3, rel=0.25)
    assert fit.comm_model is not None and fit.describe().startswith("compute heterogeneous")
    (folder / "spec.json").unlink()
    with pytest.raises(InvalidInputError, match="spec.json"):
        read_trace(folder)


def test_fit_arguments_are_checked() -> None:
    df = tidy(np.random.default_rng(0).lognormal(0, 0.3, (10, 4)))
    with pytest.raises(InvalidInputError, match="criterion"):
        fit_trace(df, criterion="hqic")
    with pytest.raises(InvalidInputError, match="alpha"):
        fit_trace(df, alpha=2)
    with pytest.raises(InvalidInputError, match="families"):
        fit_trace(df, families=("normal",))
    with pytest.raises(InvalidInputError, match="path, a pandas DataFrame or a Trace"):
        fit_trace(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the empirical model


def test_empirical_delay_model() -> None:
    m = make_delay({"model": "empirical", "quantiles": [1.0, 2.0, 4.0, 8.0]})
    assert isinstance(m, EmpiricalDelay) and m.iid and m.row_stable
    x = m.sample(np.random.default_rng(0), 200_000)
    assert np.quantile(x, [1 / 3, 2 / 3]) == pytest.approx([2.0, 4.0], rel=0.01)
    assert x.min() >= 1.0 and x.max() <= 8.0
    np.testing.assert_allclose(m.cdf([0.5, 1.0, 3.0, 8.0, 9.0]), [0, 0, 0.5, 1, 1])
    np.testing.assert_allclose(m.ppf([0, 0.5, 1]), [1.0, 3.0, 8.0])
    np.testing.assert_allclose(m.dist().cdf([1.5, 3.0, 6.0]), m.cdf([1.5, 3.0, 6.0]))
    assert make_delay(m.spec()).spec() == m.spec()
    # many rounds at once equal successive rounds
    a = m.sampler(3, np.random.default_rng(1)).draw_rounds(4, np.ones(3))
    s = m.sampler(3, np.random.default_rng(1))
    np.testing.assert_array_equal(a, np.stack([s.draw(np.ones(3)) for _ in range(4)]))
    tied = EmpiricalDelay([1.0, 2.0, 2.0, 3.0], probs=[0, 0.2, 0.7, 1.0])
    assert tied.dist() is None and tied.cdf([2.0])[0] == pytest.approx(0.7)
    assert tied.spec()["probs"] == [0, 0.2, 0.7, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "missing required parameter(s) 'quantiles'"),
        ({"quantiles": [1.0]}, "at least 2"),
        ({"quantiles": [2.0, 1.0]}, "non-decreasing"),
        ({"quantiles": [-1.0, 1.0]}, ">= 0"),
        ({"quantiles": [1.0, float("nan")]}, "finite"),
        ({"quantiles": "1,2"}, "list of numbers"),
        ({"quantiles": [1.0, 2.0], "probs": [0.0, 0.5]}, "from 0 to 1"),
        ({"quantiles": [1.0, 2.0], "probs": [0.0, 0.5, 1.0]}, "one entry per quantile"),
    ],
)
def test_empirical_delay_rejects_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        make_delay({"model": "empirical", **kwargs})


def test_import_gcsim_fit_is_light() -> None:
    import subprocess

    code = (
        "import sys, gcsim.fit\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
