"""Contract suite run over every registered scheme (see tests/cases.py).

The contract itself lives in :mod:`gcsim.testing` (exported for authors of new schemes):
every case runs every check there, one test per (case, check). The tolerance of decodes
is :func:`gcsim.testing.decode_tolerance` (justified in that module's docstring). The
hypothesis tests below add randomly drawn sets and orders, and
``test_broken_codes_are_caught`` keeps the suite able to fail: deliberately broken
codes must be rejected by the check that guards what they break.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcsim import NotDecodableError, list_codes, make_code
from gcsim.codes import (
    CyclicMDSCode,
    FractionalRepetitionCode,
    GradientCode,
    GroupedCode,
    IgnoreStragglersCode,
)
from gcsim.codes.tracker import DecodeRule
from gcsim.testing import (
    CHECKS,
    check_code,
    decode_tolerance,
    parametrize_checks,
    relative_error,
)
from tests.cases import CASES, case_id

EXHAUSTIVE_LIMIT = 20_000


def build(case, seed=0):
    name, n, s, m, opts = case
    return make_code(name, n=n, s=s, m=m, rng=seed, **opts)


def _n_sets(case):
    return sum(math.comb(case[1], t) for t in range(case[2] + 1))


LARGE = [c for c in CASES if _n_sets(c) > EXHAUSTIVE_LIMIT]


def test_every_registered_scheme_has_a_case():
    assert {c[0] for c in CASES} == set(list_codes())


def test_large_cases_exist():
    assert LARGE, "the contract suite must also exercise sampled (large) configurations"


def test_a_general_rule_above_its_early_limit_is_exercised():
    above = [c for c in CASES if build(c).n > build(c).decode_rule.early_up_to]
    kinds = {(c[0], build(c).decode_rule.kind) for c in above}
    assert {("crc", "general"), ("cyclic-mds", "general")} <= kinds


# ---------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("case", CASES, ids=case_id)
@parametrize_checks()
def test_contract(case, check):
    check(build(case), rng=0, exhaustive_limit=EXHAUSTIVE_LIMIT)


@pytest.mark.parametrize("case", [CASES[0], LARGE[0]], ids=case_id)
def test_check_code_runs_every_check(case):
    report = check_code(build(case), rng=1, l=7, orders=3)
    assert report.checks == tuple(c.name for c in CHECKS)
    assert report.exhaustive == (case not in LARGE)
    assert report.straggler_sets > 0 and report.arrival_orders == 3


# ---------------------------------------------------------------------------- broken codes
class WrongCoefficient(CyclicMDSCode):
    """One coefficient 1% off: the structured decoder no longer inverts the encode."""

    def __init__(self, n: int, s: int) -> None:
        super().__init__(n, s)
        coefs = [np.array(self.coefficients(i)) for i in range(n)]
        coefs[0][0, 0] *= 1.01
        GradientCode.__init__(
            self,
            n=n,
            k=n,
            s=s,
            m=1,
            supports=[self.support(i) for i in range(n)],
            coefficients=coefs,
            exact=True,
            field=self.field,
        )


class LeakyEncode(FractionalRepetitionCode):
    """Every message also reads a partition of the next replica group."""

    def _encode(self, blocks):
        return super()._encode(blocks) + 1e-3 * np.roll(blocks[:, 0, :], -self._r, axis=0)


class ShiftedGroups(FractionalRepetitionCode):
    """Declares its replica groups one worker off."""

    def _decode_rule(self):
        rule = super()._decode_rule()
        return DecodeRule.groups(np.roll(rule.group_of, 1), rule.need, rule.threshold)


class CountsTooEarly(FractionalRepetitionCode):
    """Declares a count rule one responder short of n - s."""

    def _decode_rule(self):
        return DecodeRule.count(self.n - self.s - 1)


class Overclaims(FractionalRepetitionCode):
    """Declares one straggler more than it tolerates."""

    def __init__(self, n: int, s: int) -> None:
        super().__init__(n, s)
        self._s = s + 1


class NoReason(FractionalRepetitionCode):
    """Refuses sets without saying why."""

    def _not_decodable_reason(self, R):
        return ""


class Pessimistic(FractionalRepetitionCode):
    """Says only n - s responders decode (one per replica group already does)."""

    def _is_decodable(self, R):
        return len(R) >= self.n - self.s


class ClaimsExact(IgnoreStragglersCode):
    """An estimate that declares itself exact."""

    def __init__(self, n: int, s: int) -> None:
        super().__init__(n, s)
        self._exact = True


BROKEN = [
    (WrongCoefficient, (10, 3), "round_trips"),
    (LeakyEncode, (12, 2), "encode"),
    (ShiftedGroups, (12, 2), "tracker"),
    (CountsTooEarly, (12, 2), "declared_parameters"),
    (Overclaims, (12, 2), "round_trips"),
    (NoReason, (12, 2), "not_decodable"),
    (Pessimistic, (12, 2), "not_decodable"),
    (ClaimsExact, (9, 3), "declared_parameters"),
    (ClaimsExact, (9, 3), "round_trips"),
]


@pytest.mark.parametrize(
    ("cls", "args", "check"), BROKEN, ids=[f"{c.__name__}-{chk}" for c, _, chk in BROKEN]
)
def test_broken_codes_are_caught(cls, args, check):
    code = cls(*args)
    by_name = {c.name: c for c in CHECKS}
    with pytest.raises(AssertionError, match=cls.__name__):
        by_name[check](code)
    with pytest.raises(AssertionError):
        check_code(code)


def test_correct_parents_of_the_broken_codes_pass():
    for code in (CyclicMDSCode(10, 3), FractionalRepetitionCode(12, 2)):
        check_code(code, orders=5)


# ---------------------------------------------------------------------------- hypothesis
@pytest.mark.parametrize("case", LARGE, ids=case_id)
@given(data=st.data())
def test_decode_sampled_large(case, data):
    code = build(case)
    stragglers = data.draw(
        st.lists(st.integers(0, code.n - 1), max_size=code.s, unique=True), label="stragglers"
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    l = data.draw(st.integers(1, 40), label="l")
    P = rng.standard_normal((code.k, l))
    R = np.setdiff1d(np.arange(code.n), np.asarray(stragglers, dtype=int))
    assert code.is_decodable(R), f"{code!r}: stragglers {stragglers} should be tolerated"
    ghat = code.decode(R, code.encode(P)[R], l)
    dec = code.decoder(R)
    if not code.exact:  # an estimate: its error is what the coefficients say it is
        g = P.sum(axis=0)
        err = np.linalg.norm(ghat - g) / max(np.linalg.norm(g), 1e-300)
        assert math.isclose(err, code.decoding_error(R, P), rel_tol=1e-8, abs_tol=1e-12)
        return
    assert relative_error(ghat, P) <= decode_tolerance(code, dec.cond)
    assert dec.residual <= code.residual_tol


@pytest.mark.parametrize("case", CASES, ids=case_id)
@given(data=st.data())
def test_is_decodable_monotone_and_agrees_with_decode(case, data):
    code = build(case)
    R = sorted(data.draw(st.sets(st.integers(0, code.n - 1)), label="responders"))
    extra = data.draw(st.integers(0, code.n - 1), label="extra")
    decodable = code.is_decodable(R)
    if decodable:
        assert code.is_decodable(sorted({*R, extra})), "is_decodable must be monotone"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    l = 7
    P = rng.standard_normal((code.k, l))
    M = code.encode(P)
    if decodable:
        ghat = code.decode(R, M[R], l)
        if code.exact:
            assert relative_error(ghat, P) <= decode_tolerance(code, code.decoder(R).cond)
    else:
        with pytest.raises(NotDecodableError):
            code.decode(R, M[R], l)
    if len(R) >= code.n - code.s and code.exact:
        assert decodable, "any n - s responders must decode"


@pytest.mark.parametrize("case", CASES, ids=case_id)
@given(data=st.data())
def test_tracker_agrees_with_is_decodable_on_every_prefix(case, data):
    code = build(case)
    rule = code.decode_rule
    order = data.draw(st.permutations(range(code.n)), label="arrival order")
    tracker = code.tracker()
    # a general rule above its early limit declares itself the count rule at n - s
    # (an inexact code's count rule ends the round; smaller sets still give an estimate)
    counting = (rule.kind == "general" and code.n > rule.early_up_to) or (
        not code.exact and rule.kind == "count"
    )
    if counting and rule.kind == "general":
        assert not rule.early_checks and rule.threshold == code.n - code.s
        assert "count rule" in rule.describe()
    for t, worker in enumerate(order):
        now = tracker.add(worker)
        prefix = order[: t + 1]
        if counting:
            assert now == (t + 1 >= code.n - code.s), (prefix, now)
            if now:
                assert code.is_decodable(prefix), "any n - s responders decode"
        else:
            assert now == code.is_decodable(prefix), (prefix, now)
    assert tracker.decodable  # every worker in: always decodable
    tracker.reset()
    assert not tracker.decodable and tracker.responders == []


# ---------------------------------------------------------------------------- structure
def d_of_mds(case):
    _, _, s, m, _ = case
    return s + m


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c[0] == "ye-abbe"
        or (
            c[0] == "grouped"
            and str(c[4].get("generator", "gaussian")) in ("gaussian", "vandermonde", "chebyshev")
            and c[1] % (c[2] + c[3]) == 0
            and "speeds" not in c[4]  # loads from speeds: d is the fastest group's share
        )
    ],
    ids=case_id,
)
def test_optimal_load_d_equals_s_plus_m(case):
    code = build(case)
    assert code.d == code.s + code.m == d_of_mds(case)


def test_grouped_repetition_equals_frc():
    for n, s in [(12, 2), (9, 0), (10, 4), (8, 1)]:
        frc = make_code("frc", n=n, s=s)
        rep = make_code("grouped", n=n, s=s, m=1, generator="repetition")
        assert isinstance(rep, GroupedCode)
        np.testing.assert_array_equal(frc.assignment, rep.assignment)
        rng = np.random.default_rng(n * 10 + s)
        l = 17
        P = rng.standard_normal((n, l))
        np.testing.assert_array_equal(frc.encode(P), rep.encode(P))
        M = frc.encode(P)
        for stragglers in itertools.combinations(range(n), s):
            R = np.setdiff1d(np.arange(n), stragglers)
            np.testing.assert_array_equal(frc.decode(R, M[R], l), rep.decode(R, M[R], l))
            np.testing.assert_array_equal(frc.decoder(R).matrix, rep.decoder(R).matrix)
