"""The typed scheme registry: SchemeInfo declarations, lookup, registration, effective."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pytest

from gcsim import InfeasibleParametersError, UnknownSchemeError, make_code
from gcsim.codes import (
    CODES,
    FractionalRepetitionCode,
    GradientCode,
    SchemeInfo,
    StyleHint,
    list_codes,
    register_scheme,
    scheme_info,
    schemes,
    unregister_scheme,
)
from gcsim.codes import generators as gens
from gcsim.errors import InvalidInputError
from gcsim.report import default_cases
from tests.cases import CASES, case_id


def test_schemes_are_typed_and_in_registry_order():
    infos = schemes()
    assert [i.name for i in infos] == list_codes() == list(CODES)
    assert isinstance(CODES, Mapping)
    for info in infos:
        assert isinstance(info, SchemeInfo) and issubclass(info.cls, GradientCode)
        assert CODES[info.name] is info.cls and scheme_info(info.name) is info
        assert info.name == info.cls.name and info.summary and info.constraints
        assert info.display_name and info.examples
    with pytest.raises(TypeError):
        CODES["x"] = FractionalRepetitionCode  # type: ignore[index]


def test_every_scheme_has_its_own_colour_and_marker():
    infos = schemes()
    assert len({i.color for i in infos}) == len({i.marker for i in infos}) == len(infos)


def test_inexact_schemes_say_so():
    ign = scheme_info("ignore-stragglers")
    assert not ign.exact and "(inexact)" in ign.display_name
    assert ign.style == StyleHint(ign.color, ign.marker, inexact=True)
    assert ign.style.fillstyle == "none" and ign.style.linestyle == "--"
    assert ign.style.label("x") == "x (inexact)"
    for info in schemes():  # every inexact scheme says so, and plots draw it so
        assert info.exact == ("inexact" not in info.display_name), info.name
        assert info.style.inexact == (not info.exact), info.name
    assert {"frc-approx", "bernoulli", "expander", "sgc"} <= {
        i.name for i in schemes() if not i.exact
    }


def test_supports_m_and_s_match_what_build_accepts():
    for info in schemes():
        s = 2 if info.supports_s else 0
        # n = 12, or the first example's n for a scheme with structural sizes (bibd)
        n = 12 if info.feasible(12, 0, 1) else info.examples[0].n
        assert info.feasible(n, s, 2) == info.supports_m, info.name
        assert info.feasible(n, 1, 1) == info.supports_s, info.name


def test_unknown_scheme_suggests_the_closest():
    with pytest.raises(UnknownSchemeError, match="did you mean 'grouped'") as exc:
        scheme_info("groupd")
    assert "known codes: uncoded" in str(exc.value)
    with pytest.raises(UnknownSchemeError, match="did you mean 'ye-abbe'"):
        make_code("ye_abbe", n=6, s=1)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_declarations_match_the_built_codes(case):
    name, n, s, m, opts = case
    info = scheme_info(name)
    code = info.build(n=n, s=s, m=m, rng=0, **opts)
    assert type(code) is info.cls
    assert code.exact == info.exact
    assert code.m == 1 or info.supports_m
    assert info.effective(n, s, m, **opts) == (code.s, code.d)
    assert info.feasible(n, s, m, **opts)


def test_grouped_effective_runs_at_the_higher_s_without_drawing(monkeypatch):
    def no_draws(*args, **kwargs):
        raise AssertionError("effective must not draw generators")

    monkeypatch.setattr(gens, "gaussian", no_draws)
    info = scheme_info("grouped")
    # d = 4 does not divide 14: groups of 5, 5, 4 -> s = min(5, 5, 4) - 2 = 2, d = 5
    assert info.effective(14, 2, 2, draws=50) == (2, 5)
    # d = 4 does not divide 10: two groups of 5 -> s = 3 at d = 5
    assert info.effective(10, 2, 2) == (3, 5)
    assert info.effective(14, 2, 4, generator="hamming") == (2, 7)


@pytest.mark.parametrize(
    ("name", "kwargs", "fragment"),
    [
        ("frc", dict(n=10, s=2), "(s+1) to divide n"),
        ("uncoded", dict(n=5, s=1), "got s=1"),
        ("ye-abbe", dict(n=4, s=2, m=3), "n >= d = s+m"),
        ("ye-abbe", dict(n=240, s=2, m=2, points="paper"), "overflow float64"),
        ("grouped", dict(n=12, s=2, m=4, generator="hamming"), "d=7"),
        ("cyclic-mds", dict(n=10, s=2, field="real"), "n-s odd"),
        ("crc", dict(n=5, s=1, m=2), "m=1"),
    ],
)
def test_effective_and_feasible_agree_with_build_on_infeasible(name, kwargs, fragment):
    info = scheme_info(name)
    with pytest.raises(InfeasibleParametersError, match=re.escape(fragment)) as built:
        make_code(name, **kwargs)
    n, s = kwargs.pop("n"), kwargs.pop("s")
    m = kwargs.pop("m", 1)
    with pytest.raises(InfeasibleParametersError) as eff:
        info.effective(n, s, m, **kwargs)
    assert str(eff.value) == str(built.value)
    assert info.feasible(n, s, m, **kwargs) is False


def test_feasible_still_rejects_malformed_options():
    with pytest.raises(InvalidInputError, match="unknown option"):
        scheme_info("grouped").feasible(12, 2, 2, generater="gaussian")
    with pytest.raises(InvalidInputError, match="select"):
        scheme_info("grouped").effective(12, 2, 2, select="best")


def test_base_build_is_abstract():
    with pytest.raises(NotImplementedError):
        GradientCode.build(n=4, s=1)


class _Toy(FractionalRepetitionCode):
    name = "toy-frc"
    summary = "a registered subclass of frc, for tests"


def _toy_info(**kw):
    base = dict(
        cls=_Toy, display_name="Toy", supports_m=False, exact=True, color="#101010", marker="8"
    )
    return SchemeInfo(**{**base, **kw})


def test_register_and_unregister_a_scheme():
    info = register_scheme(_toy_info())
    try:
        assert list_codes()[-1] == "toy-frc" and CODES["toy-frc"] is _Toy
        code = make_code("toy-frc", n=6, s=1)
        assert isinstance(code, _Toy)
        assert scheme_info("toy-frc").effective(6, 1) == (1, 2)
        assert any(c.scheme == "toy-frc" for c in default_cases()) is False  # no examples
        with pytest.raises(InvalidInputError, match="already registered"):
            register_scheme(_toy_info())
        register_scheme(_toy_info(marker="p"), replace=True)
        assert scheme_info("toy-frc").marker == "p"
    finally:
        unregister_scheme("toy-frc")
    assert "toy-frc" not in list_codes() and info.name == "toy-frc"
    with pytest.raises(InvalidInputError, match="built-in"):
        unregister_scheme("frc")


def test_registration_refuses_a_style_another_scheme_has():
    frc = scheme_info("frc")
    with pytest.raises(InvalidInputError, match="already 'frc'"):
        register_scheme(_toy_info(color=frc.color, marker=frc.marker))
    assert "toy-frc" not in list_codes()


@pytest.mark.parametrize(
    ("kw", "err", "fragment"),
    [
        (dict(cls=int), TypeError, "GradientCode subclass"),
        (dict(cls=GradientCode), ValueError, "'name'"),
        (dict(color="red"), ValueError, "hex"),
        (dict(marker=""), ValueError, "marker"),
    ],
)
def test_scheme_info_validates_its_declaration(kw, err, fragment):
    with pytest.raises(err, match=fragment):
        _toy_info(**kw)


def test_a_class_without_build_cannot_be_declared():
    class NoBuild(GradientCode):
        name = "no-build"

    with pytest.raises(ValueError, match="build"):
        _toy_info(cls=NoBuild)


def test_examples_are_read_only_and_drive_the_default_report():
    cases = default_cases()
    assert [c.scheme for c in cases] == [i.name for i in schemes() for _ in i.examples]
    ex = scheme_info("grouped").examples[0]
    with pytest.raises(TypeError):
        ex.options["generator"] = "x"  # type: ignore[index]
    assert hash(ex) == hash(ex)


def test_ye_abbe_overflow_bound_is_sound():
    from gcsim.codes.ye_abbe import evaluation_points, may_overflow, ye_abbe_coefficients

    for n in (8, 40, 100, 180, 200):
        for pts in ("paper", "chebyshev", "equispaced"):
            theta = evaluation_points(n, pts)
            if not may_overflow(theta, 2, 2):
                with np.errstate(over="ignore", invalid="ignore"):
                    assert np.all(np.isfinite(ye_abbe_coefficients(theta, 2, 2)))
    assert not may_overflow(evaluation_points(40, "paper"), 2, 2)  # the cheap path is used
