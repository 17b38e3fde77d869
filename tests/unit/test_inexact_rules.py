"""Decode rules for inexact codes (``count``, ``deadline``, ``error``), the gradient error
recorded every round on every engine, and its effect on training."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gcsim
from gcsim.errors import InvalidInputError
from gcsim.live.memory import InMemoryTransport
from gcsim.live.server import serve
from gcsim.spec import RunSpec

DELAYS = {"model": "shifted-exponential", "shift": 0.2, "rate": 2.0}
INEXACT = [
    ("ignore-stragglers", {}),
    ("frc-approx", {"d": 2}),
    ("bernoulli", {"d": 3}),
    ("expander", {"d": 4}),
    ("expander", {"d": 4, "decoder": "optimal"}),
    ("sgc", {"d": 3}),
]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = [c for c in a.columns if c not in ("decode_wall", "responders")]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False, rtol=1e-9, atol=1e-12)
    for x, y in zip(a["responders"], b["responders"], strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _code(name: str, opts: dict, n: int = 12, s: int = 3, seed: int = 0) -> gcsim.GradientCode:
    return gcsim.make_code(name, n=n, s=s, rng=seed, **opts)


# ---------------------------------------------------------------------------- error rule
@settings(max_examples=15)
@given(
    case=st.sampled_from(INEXACT),
    target=st.floats(0.05, 0.8),
    seed=st.integers(0, 1000),
)
def test_error_rule_ends_at_the_first_set_below_target(case, target, seed):
    """Each decoded round's responders have coefficient error <= target, every shorter
    prefix of the arrival order is above it (it is the *first* such set), a round whose
    full set never gets there fails; the fast path gives the DES's records."""
    name, opts = case
    code = _code(name, opts, seed=seed)
    kw = dict(
        delays=DELAYS,
        iterations=12,
        seed=seed,
        decode_rule="error",
        error_target=target,
        workload={"model": "random-vectors", "dimension": 6},
    )
    des = gcsim.simulate(code, engine="des", record_workers=True, **kw)
    fast = gcsim.simulate(code, engine="fast", **kw)
    _same(des.records, fast.records)
    w = des.workers
    for rec in des.records.itertuples():
        rows = w[w["round"] == rec.round].sort_values(["arrival", "worker"])
        order = rows["worker"].tolist()
        if rec.decoded:
            R = sorted(int(x) for x in rec.responders)
            assert code.coefficient_error(R) <= target + 1e-9
            k = len(R)
            for j in range(1, k):
                assert code.coefficient_error(sorted(order[:j])) > target - 1e-9
            assert math.isfinite(rec.rel_error)
        else:
            assert code.coefficient_error(sorted(order)) > target - 1e-9


def test_error_rule_with_a_tighter_target_waits_longer_and_errs_less():
    code = _code("expander", {"d": 4})
    out = {}
    for target in (0.05, 0.5):
        r = gcsim.simulate(
            code,
            delays=DELAYS,
            iterations=200,
            seed=3,
            decode_rule="error",
            error_target=target,
            workload={"model": "random-vectors", "dimension": 8},
        ).records
        out[target] = (r["n_responders"].mean(), r["rel_error"].mean(), r["duration"].mean())
    assert out[0.05][0] > out[0.5][0] and out[0.05][2] > out[0.5][2]
    assert out[0.05][1] < out[0.5][1]


def test_exact_codes_decode_as_soon_as_decodable_under_the_inexact_rules():
    code = gcsim.make_code("frc", n=12, s=2)
    kw = dict(delays=DELAYS, iterations=20, seed=1, workload="random-vectors", engine="des")
    base = gcsim.simulate(code, decode_rule="decodable", **kw).records
    _same(base, gcsim.simulate(code, decode_rule="error", error_target=0.2, **kw).records)
    timed = dict(kw, round_timeout=1e9)
    _same(
        gcsim.simulate(code, decode_rule="decodable", **timed).records,
        gcsim.simulate(code, decode_rule="deadline", **timed).records,
    )


# ---------------------------------------------------------------------------- deadline
@pytest.mark.parametrize(("name", "opts"), INEXACT)
def test_deadline_rule_decodes_whoever_arrived(name, opts):
    """A round ends at the deadline with every worker that arrived by then (or at the
    last arrival when everybody answered sooner); it fails only when nobody arrived (or
    the code cannot estimate from so few: ignore-stragglers needs n - s). The fast path
    gives the DES's records."""
    code = _code(name, opts)
    timeout = 1.2 * float(code.loads.mean())  # (the compute delay scales with the load)
    kw = dict(
        delays=DELAYS,
        iterations=40,
        seed=5,
        decode_rule="deadline",
        round_timeout=timeout,
        workload={"model": "random-vectors", "dimension": 5},
    )
    res = gcsim.simulate(code, engine="des", record_workers=True, **kw)
    fast = gcsim.simulate(code, **kw)
    assert fast.engine == "fast"  # the automatic choice
    _same(res.records, fast.records)
    rec, w = res.records, res.workers
    for r in rec.itertuples():
        rows = w[w["round"] == r.round]
        arrived = rows[(rows["arrival"] - r.start) <= timeout + 1e-12]
        assert sorted(int(x) for x in r.responders) == sorted(arrived["worker"].tolist())
        everyone = len(arrived) == code.n
        assert r.decode_at == pytest.approx(
            (arrived["arrival"].max() - r.start) if everyone else timeout
        )
        want = len(arrived) > 0 and code.is_decodable(arrived["worker"].tolist())
        assert r.decoded == want
        assert math.isfinite(r.rel_error) == want
    assert rec["decoded"].any()
    assert (rec["n_responders"] < code.n).any()  # the deadline cut some workers off


@pytest.mark.parametrize(
    ("rule", "kw"), [("deadline", {"round_timeout": 1.0}), ("error", {"error_target": 0.3})]
)
def test_inexact_rules_on_the_live_server_match_the_simulator(rule, kw):
    code = _code("bernoulli", {"d": 3})
    spec = RunSpec.create(
        code,
        delays=DELAYS,
        iterations=15,
        seed=2,
        decode_rule=rule,
        **kw,
        workload={"model": "logistic", "samples": 120, "features": 6},
        engine="des",
        record_workers=True,
    )
    sim = gcsim.sim.run(spec)
    live = serve(spec, InMemoryTransport(spec))
    _same(sim.records, pd.DataFrame(live.records)[sim.records.columns])


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"decode_rule": "deadline"}, "set a finite round_timeout"),
        ({"decode_rule": "error"}, "needs error_target"),
        ({"decode_rule": "error", "error_target": -1.0}, "finite number >= 0"),
        ({"decode_rule": "error", "error_target": math.inf}, "finite number >= 0"),
        ({"decode_rule": "error", "error_target": "0.1"}, "finite number >= 0"),
        ({"decode_rule": "count", "error_target": 0.1}, "applies only to decode_rule 'error'"),
        ({"decode_rule": "soon"}, "decode_rule must be one of"),
    ],
)
def test_bad_rule_settings_are_one_clear_line(kw, match):
    with pytest.raises(InvalidInputError, match=match) as info:
        gcsim.simulate(_code("sgc", {}), delays=DELAYS, iterations=2, seed=0, **kw)
    assert "\n" not in str(info.value)


def test_scenario_deadline_needs_a_round_timeout():
    from gcsim.scenarios.expand import expand
    from gcsim.scenarios.schema import ScenarioError, load_scenario_text

    text = """
[cluster]
n = 8
decode_rule = "deadline"
[delays]
compute = {model = "exponential", rate = 1.0}
[[schemes]]
code = "sgc"
"""
    with pytest.raises(ScenarioError, match="finite cluster.round_timeout"):
        expand(load_scenario_text(text))
    sc = load_scenario_text(text.replace('"deadline"', '"error"\nerror_target = 0.2'))
    pts = expand(sc)
    assert all(p.spec["error_target"] == 0.2 for p in pts)
    spec = RunSpec.from_point(pts[0].spec)
    assert spec.error_target == 0.2 and spec.to_point()["error_target"] == 0.2


# ---------------------------------------------------------------------------- error recorded
@pytest.mark.parametrize(("name", "opts"), INEXACT)
def test_gradient_error_is_recorded_every_round_on_every_engine(name, opts):
    """rel_error = ||g_hat - g|| / ||g|| is filled for every decoded round of an inexact
    code, on the fast path, the DES and the live server (in memory), and they agree."""
    code = _code(name, opts)
    spec = RunSpec.create(
        code,
        delays=DELAYS,
        iterations=10,
        seed=4,
        workload={"model": "logistic", "samples": 96, "features": 5},
        engine="des",
        record_workers=True,
    )
    des = gcsim.sim.run(spec).records
    fast = gcsim.sim.run(spec.with_(engine="fast", record_workers=False)).records
    live = pd.DataFrame(serve(spec, InMemoryTransport(spec)).records)[des.columns]
    for df in (des, fast, live):
        assert df["decoded"].all()
        assert np.isfinite(df["rel_error"]).all() and np.isfinite(df["loss"]).all()
    _same(des, fast)
    _same(des, live)
    if code.s:
        assert (des["rel_error"] > 1e-12).any()  # an estimate, not the exact sum


def test_training_with_an_approximate_code_converges_and_pays_for_its_error():
    """On the logistic workload an approximate code still drives the loss down; its
    loss after the same number of rounds is no better than the exact code's, and the
    optimal decoder's gradient error is on average at most the one-step decoder's."""
    wl = {"model": "logistic", "samples": 400, "features": 10}
    kw = dict(delays=DELAYS, iterations=60, seed=7, workload=wl)
    exact = gcsim.simulate(gcsim.make_code("crc", n=12, s=4), **kw).records
    one = gcsim.simulate(_code("expander", {"d": 2}, s=4), **kw).records
    opt = gcsim.simulate(_code("expander", {"d": 2, "decoder": "optimal"}, s=4), **kw).records
    for r in (one, opt):
        assert r["loss"].iloc[-1] < r["loss"].iloc[0]
    assert one["rel_error"].mean() > 1e-3 > exact["rel_error"].max()
    assert opt["rel_error"].mean() <= one["rel_error"].mean() * 1.05
    assert one["loss"].iloc[-1] >= exact["loss"].iloc[-1] - 1e-9


def test_the_advisor_ranks_approximate_codes_only_when_allowed():
    kw = dict(
        delays={"model": "shifted-exponential", "shift": 0.1, "rate": 1.0},
        confirm=0,
        policies=["cancel"],
        rules=["decodable"],
        max_stragglers=3,
    )
    names = ["frc-approx", "bernoulli", "expander", "sgc"]
    with pytest.raises(gcsim.errors.GcsimError):  # exact only (the default): nothing left
        gcsim.advise(12, schemes=names, **kw)
    a = gcsim.advise(12, exact_only=False, schemes=[*names, "crc"], window=100, **kw)
    ranked = set(a.table()["scheme"])
    assert ranked & set(names)
    assert any("ranked by time only" in x for x in a.notes)
    b = gcsim.advise(12, exact_only=False, max_error=0.2, schemes=names, window=100, **kw)
    err = b.table()["rel_error"].dropna()
    assert len(err) and (err <= 0.2).all()


@pytest.mark.parametrize("rule", ["error", "deadline"])
def test_tuned_points_keep_an_inexact_rule(tmp_path, rule):
    """[tune] searches m, options and the rule with the advisor, which knows only the
    decodable and count rules: a point under deadline or error keeps its own rule and
    its settings, and runs."""
    from gcsim.scenarios import load_results, load_scenario, run_sweep

    extra = "error_target = 0.3" if rule == "error" else "round_timeout = 0.05"
    path = tmp_path / "t.toml"
    path.write_text(
        f"""
[scenario]
rounds = 10
[cluster]
n = 8
decode_rule = "{rule}"
{extra}
[delays]
compute = {{model = "shifted-exponential", shift = 0.001, rate = 200.0}}
[workload]
model = "random-vectors"
dimension = 4
[code]
s = 2
[tune]
enabled = true
rounds = 100
[[schemes]]
code = "expander"
""",
        encoding="utf-8",
    )
    resolved, text, _ = load_scenario(path, ())
    run_sweep(resolved, text, folder=tmp_path / "out", jobs=1, progress=False, plots=False)
    res = load_results(tmp_path / "out")
    assert set(res.summary["status"]) == {"ok"}
    point = next((tmp_path / "out" / "points").iterdir())
    spec = json.loads((point / "point.json").read_text(encoding="utf-8"))
    spec = spec.get("spec", spec)
    assert spec["decode_rule"] == rule
