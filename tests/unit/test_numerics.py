"""Decodes judged in the messages' precision (issue "Hardening", item 7).

``decode(check=True)`` used to check only the float64 residual of the coefficients, so
float32 decodes of Ye-Abbe (Chebyshev points, n = 24) and CRC (n = 12, s = 3) returned
gradients with errors of 1e-4 to 1e-2 without a word; the simulator trained on such
gradients (and on Ye-Abbe's float64 ones, whose residual decode refuses) silently.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gcsim
import gcsim.testing
from gcsim.errors import DecodeResidualError, InvalidInputError, NumericsWarning
from gcsim.scenarios import expand
from gcsim.scenarios.schema import ScenarioError, load_scenario_text
from gcsim.spec import RunSpec
from gcsim.testing import relative_error

L = 400


def _ye_abbe() -> tuple[gcsim.GradientCode, np.ndarray]:
    code = gcsim.make_code("ye-abbe", n=24, s=2, m=2, rng=0, points="chebyshev")
    return code, np.arange(22)  # stragglers 22, 23


def _crc() -> tuple[gcsim.GradientCode, np.ndarray]:
    code = gcsim.make_code("crc", n=12, s=3, rng=0)
    return code, np.setdiff1d(np.arange(12), [2, 7, 9])  # its worst straggler set


@pytest.mark.parametrize("make", [_ye_abbe, _crc], ids=["ye-abbe-chebyshev-n24", "crc-n12-s3"])
def test_float32_decode_that_loses_the_gradient_raises(make):
    code, R = make()
    P = np.random.default_rng(3).standard_normal((code.k, L))
    M32 = code.encode(P.astype(np.float32))
    assert code.is_decodable(R)  # algebraically decodable ...
    problem = code.decode_problem(R, np.float32)  # ... but not numerically, in float32
    assert problem is not None and "float32" in problem
    with pytest.raises(DecodeResidualError, match=r"estimated relative error .* in float32") as ei:
        code.decode(R, M32[R], L)
    msg = str(ei.value)
    assert "> precision tolerance" in msg and "decode float64 messages" in msg
    assert "another code" in msg and "check=False" in msg
    g = code.decode(R, M32[R], L, check=False)  # still returned on request
    assert g.dtype == np.float32
    err = relative_error(g, P)
    assert err > 50 * np.finfo(np.float32).eps  # far above float32's floor: it was wrong
    assert err <= code.decoder(R).error_estimate(np.float32)  # and the estimate bounds it
    # float64 messages decode accurately, and are accepted
    assert code.decode_problem(R, np.float64) is None
    assert relative_error(code.decode(R, code.encode(P)[R], L), P) < 1e-7


@pytest.mark.parametrize(
    ("name", "n", "s", "m", "opts"),
    [
        ("uncoded", 12, 0, 1, {}),
        ("frc", 12, 2, 1, {}),
        ("crc", 12, 3, 1, {}),
        ("cyclic-mds", 30, 4, 1, {}),
        ("cyclic-mds", 10, 2, 1, {}),  # complex
        ("ye-abbe", 12, 2, 2, {}),
        ("ye-abbe", 16, 2, 2, {"points": "chebyshev"}),
        ("grouped", 60, 3, 2, {}),
        ("grouped", 15, 3, 2, {"generator": "chebyshev"}),
    ],
)
def test_error_estimate_tracks_the_measured_error(name, n, s, m, opts):
    """eps * amplification is an upper estimate within ~20x of the measured float32
    error (relative to sum |g_j|) on the decoders that matter."""
    code = gcsim.make_code(name, n=n, s=s, m=m, rng=0, **opts)
    gen = np.random.default_rng(5)
    P = gen.standard_normal((code.k, L))
    M32 = code.encode(P.astype(np.float32))
    P32 = P.astype(np.float32).astype(np.float64)
    for _ in range(8):
        R = np.sort(gen.choice(n, n - s, replace=False))
        dec = code.decoder(R)
        est = dec.error_estimate(np.float32)
        assert dec.error_estimate(np.float64) == pytest.approx(est * 2.0**-29)
        err = relative_error(code.decode(R, M32[R], L, check=False), P32)
        assert err <= est
        if dec.amplification > 100:  # the estimate is not vacuous where it matters
            assert err >= est / 50


@pytest.mark.parametrize(
    ("name", "n", "s", "m", "opts"),
    [
        ("uncoded", 12, 0, 1, {}),
        ("frc", 240, 2, 1, {}),
        ("cyclic-mds", 60, 2, 1, {}),
        ("grouped", 240, 2, 2, {}),
        ("grouped", 48, 3, 2, {"generator": "chebyshev"}),
    ],
)
def test_well_conditioned_codes_decode_float32(name, n, s, m, opts):
    code = gcsim.make_code(name, n=n, s=s, m=m, rng=0, **opts)
    gen = np.random.default_rng(1)
    P = gen.standard_normal((code.k, 16)).astype(np.float32)
    M = code.encode(P)
    for _ in range(5):
        R = np.sort(gen.choice(n, n - s, replace=False))
        assert code.decode_problem(R, np.float32) is None
        code.decode(R, M[R], 16)


def test_precision_tolerance_default_and_override():
    code, R = _crc()
    assert code.precision_tolerance(np.float32) == pytest.approx(np.sqrt(2.0**-23))
    assert code.precision_tolerance(np.float64) == pytest.approx(np.sqrt(2.0**-52))
    M32 = code.encode(np.ones((code.k, 8), dtype=np.float32))
    code.precision_tol = 1e-2
    assert code.decode_problem(R, np.float32) is None
    code.decode(R, M32[R], 8)
    code.precision_tol = None
    with pytest.raises(DecodeResidualError):
        code.decode(R, M32[R], 8)
    inexact = gcsim.make_code("ignore-stragglers", n=6, s=2)
    assert inexact.decode_problem([0, 1, 2, 3], np.float32) is None


def test_contract_accepts_a_refusal_in_float32():
    """The contract's float32 round trip: a set decode_problem refuses must raise, and
    check=False must still meet the tolerance (all of Ye-Abbe n = 24's worst sets)."""
    code, _ = _ye_abbe()
    gcsim.testing.check_round_trips(code, samples=20, exhaustive_limit=0)


# ---------------------------------------------------------------- the simulator's policy
DELAYS = {"model": "exponential", "rate": 1.0}
F32 = {"model": "random-vectors", "dimension": 64, "dtype": "float32"}


def _sim(code, numerics=None, **kw):
    args = {"delays": DELAYS, "workload": F32, "iterations": 40, "seed": 1, **kw}
    if numerics is not None:
        args["numerics"] = numerics
    return gcsim.simulate(code, **args)


@pytest.mark.parametrize("make", [_ye_abbe, _crc], ids=["ye-abbe-chebyshev-n24", "crc-n12-s3"])
def test_simulator_warns_once_per_run_by_default(make):
    code, _ = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _sim(code, iterations=60)
    ours = [w for w in caught if issubclass(w.category, NumericsWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    msg = str(ours[0].message)
    assert ours[0].filename == __file__  # points at the caller
    flagged = res.config["numerics_flagged"]
    assert flagged > 0 and msg.startswith(f"gcsim: {flagged} of 60 decoded rounds of {code.name}")
    worst = res.records.loc[res.records["rel_error"].idxmax()]
    assert f"round {int(worst['round'])}, relative error {worst['rel_error']:.2g}" in msg
    assert f"cond {worst['cond']:.3g}" in msg and "numerics='refuse'" in msg
    assert res.records["decoded"].all() and res.config["numerics"] == "warn"


@pytest.mark.parametrize("make", [_ye_abbe, _crc], ids=["ye-abbe-chebyshev-n24", "crc-n12-s3"])
@pytest.mark.parametrize("engine", ["fast", "des"])
def test_simulator_refuse_fails_the_rounds(make, engine):
    code, _ = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # record and refuse never warn
        kept = _sim(code, "record", engine=engine, iterations=60).records
        res = _sim(code, "refuse", engine=engine, iterations=60)
    rec = res.records
    bad = np.array(
        [code.decode_problem(r, np.float32) is not None for r in kept["responders"]], dtype=bool
    )
    assert bad.any() and res.config["numerics_flagged"] == bad.sum()
    assert (~rec["decoded"]).to_numpy().tolist() == bad.tolist()  # exactly those rounds
    assert not rec.loc[bad, "early"].any() and (rec.loc[bad, "rows_used"] == 0).all()
    assert (rec.loc[bad, "decode_time"] == 0).all() and rec.loc[bad, "loss"].isna().all()
    # the record still says why: the error the refused decode would have had
    assert np.allclose(rec.loc[bad, "rel_error"], kept.loc[bad, "rel_error"])
    assert np.allclose(rec.loc[bad, "cond"], kept.loc[bad, "cond"])
    same = ["round", "start", "end", "duration", "n_responders", "rel_error"]
    assert rec.loc[~bad, same].equals(kept.loc[~bad, same])
    assert res.summary()["failed_rounds"] == bad.sum()


def test_refused_rounds_do_not_update_the_model():
    """Ye-Abbe with the paper's points at n = 24 (float64): every decode's residual is
    over tolerance; with refuse the logistic model never moves."""
    code = gcsim.make_code("ye-abbe", n=24, s=2, m=2, rng=0)
    wl = {"model": "logistic", "samples": 240, "features": 10}
    with pytest.warns(NumericsWarning, match=r"residual .* > 1e-06"):
        used = gcsim.simulate(code, delays=DELAYS, workload=wl, iterations=5, seed=2)
    refused = gcsim.simulate(
        code, delays=DELAYS, workload=wl, iterations=5, seed=2, numerics="refuse"
    )
    assert used.records["decoded"].all() and not refused.records["decoded"].any()
    assert np.any(used.final_model != 0)
    assert refused.final_model is not None and np.all(refused.final_model == 0)


def test_refused_round_charges_no_decode_in_the_des():
    code, _ = _crc()
    costs = gcsim.CostModel(decode_rate=1e3, update_rate=1e3)
    res = _sim(code, "refuse", costs=costs, iterations=60)
    rec = res.records
    assert res.engine == "des" and (~rec["decoded"]).any()
    failed = rec[~rec["decoded"]]
    assert np.allclose(failed["duration"], failed["decode_at"])
    ok = rec[rec["decoded"]]
    assert (ok["duration"] > ok["decode_at"]).all()


def test_well_conditioned_runs_are_silent_and_the_policy_is_validated():
    code = gcsim.make_code("grouped", n=12, s=2, m=2, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = _sim(code)
    assert res.config["numerics_flagged"] == 0
    with pytest.raises(InvalidInputError, match="numerics must be one of warn, refuse, record"):
        _sim(code, "ignore")


SCENARIO = """
[scenario]
rounds = 3
[cluster]
n = 12
{extra}
[delays.compute]
model = "exponential"
rate = 1.0
[workload]
model = "random-vectors"
dimension = 8
dtype = "float32"
[code]
s = 3
[[schemes]]
code = "crc"
"""


def test_scenario_cluster_numerics():
    default = expand(load_scenario_text(SCENARIO.format(extra="")))
    assert "numerics" not in default[0].spec  # the ids of existing points do not change
    assert RunSpec.from_point(default[0].spec).numerics == "warn"
    refuse = expand(load_scenario_text(SCENARIO.format(extra='numerics = "refuse"')))
    assert refuse[0].spec["numerics"] == "refuse" and refuse[0].point != default[0].point
    spec = RunSpec.from_point(refuse[0].spec)
    assert spec.numerics == "refuse" and spec.to_point()["numerics"] == "refuse"
    with pytest.raises(ScenarioError, match="cluster.numerics"):
        load_scenario_text(SCENARIO.format(extra='numerics = "ignore"'))
