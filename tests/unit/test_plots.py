"""gcsim.plots: the data steps (values, aggregation, CI), the drawn artists, the files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from gcsim.plots import (  # noqa: E402
    DISTINCT_SLOTS,
    FIGURES,
    OKABE_ITO,
    REGISTRY_ORDER,
    decode_time_vs_n_data,
    figure_plan,
    loss_vs_time_data,
    plot_decode_time_vs_n,
    plot_loss_vs_time,
    plot_results,
    plot_round_time_cdf,
    plot_round_time_vs_s,
    plot_stability_vs_n,
    plot_tradeoff_d_vs_m,
    round_time_cdf_data,
    round_time_vs_s_data,
    scheme_styles,
    stability_vs_n_data,
    style_for,
    tradeoff_d_vs_m_data,
)
from gcsim.scenarios.store import SUMMARY_COLUMNS, Results  # noqa: E402
from gcsim.sim.result import ROUND_COLUMNS  # noqa: E402

SCHEMES = ("uncoded", "frc", "cyclic-mds", "ye-abbe")
ROUNDS = 5


def _point(scheme: str, n: int, s_req: int, rep: int, dtype: str) -> dict:
    s = 0 if scheme == "uncoded" else s_req
    m = 2 if scheme == "ye-abbe" else 1
    f32 = dtype == "float32"
    row = dict.fromkeys(SUMMARY_COLUMNS, np.nan)
    row.update(
        point=f"{scheme}-n{n}-s{s_req}-r{rep}-{dtype}",
        scheme=scheme,
        code=scheme,
        n=n,
        s=s,
        s_requested=s_req,
        m=m,
        d=s + m,
        replicate=rep,
        dtype=dtype,
        status="ok",
        error="",
        rounds=ROUNDS,
        failed_rounds=0,
        mean_round_time=1.0 + 0.1 * s + 0.01 * n + 0.02 * rep,
        sem_round_time=0.01 * (rep + 1),
        mean_decode_wall=1e-6 * n * (1 + (SCHEMES.index(scheme) if scheme in SCHEMES else 7)),
        worst_cond=10.0 ** (n / 3) if scheme == "cyclic-mds" else 1.0 + s,
        worst_rel_error=(1e-7 if f32 else 1e-16) * n * (1 + s),
    )
    row["cluster.n"], row["code.s"] = n, s_req
    return row


def _records(row: dict, with_loss: bool) -> pd.DataFrame:
    r = np.arange(ROUNDS)
    dur = row["mean_round_time"] + 0.1 * r
    end = np.cumsum(dur)
    rec = {c: np.nan for c in ROUND_COLUMNS}
    rec.update(
        round=r,
        start=end - dur,
        end=end,
        duration=dur,
        decoded=r != 2 if row["scheme"] == "frc" else np.ones(ROUNDS, bool),
        loss=(1.0 / (1.0 + end)) if with_loss else np.full(ROUNDS, np.nan),
    )
    df = pd.DataFrame(rec)
    df.insert(0, "point", row["point"])
    df.insert(1, "scheme", row["scheme"])
    df["decode_wall"] = 1e-6
    df["replicate"], df["n"] = row["replicate"], row["n"]
    df["cluster.n"], df["code.s"] = row["n"], row["s_requested"]
    return df


def make_results(
    tmp_path: Path,
    *,
    schemes=SCHEMES,
    ns=(6, 12),
    ss=(1, 2),
    reps=(0, 1),
    dtypes=("float64",),
    with_loss=True,
) -> Results:
    rows = [
        _point(sc, n, s, r, dt)
        for sc in schemes
        for n in ns
        for s in ss
        for r in reps
        for dt in dtypes
    ]
    summary = pd.DataFrame(rows)
    recs = [_records(row, with_loss) for row in rows]
    records = pd.concat(recs, ignore_index=True) if recs else pd.DataFrame()
    return Results(summary=summary, records=records, manifest={}, resolved={}, folder=tmp_path)


@pytest.fixture
def res(tmp_path):
    return make_results(tmp_path)


def _legend_texts(ax: Axes) -> list[str]:
    leg = ax.get_legend()
    assert leg is not None
    return [t.get_text() for t in leg.get_texts()]


def _lines_by_label(ax: Axes) -> dict[str, Line2D]:
    return {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


# ---------------------------------------------------------------------------- style


def test_registry_names_get_fixed_okabe_ito_colours():
    st = scheme_styles(["grouped", "uncoded", "my-variant", "frc"])
    assert st["uncoded"].color == OKABE_ITO[0]
    assert st["frc"].color == OKABE_ITO[REGISTRY_ORDER.index("frc")]
    assert st["grouped"].color == OKABE_ITO[REGISTRY_ORDER.index("grouped")]
    assert st["my-variant"].slot == len(REGISTRY_ORDER)  # first free slot
    assert st["my-variant"].color not in {st[k].color for k in ("grouped", "uncoded", "frc")}
    # independent of which other registry names are present
    assert scheme_styles(["frc"])["frc"] == st["frc"]


def test_palette_is_okabe_ito_and_registry_colours_are_distinct():
    canonical = {
        "#000000",
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
    }  # Okabe & Ito (2008)
    assert {c.upper() for c in OKABE_ITO} == canonical and len(OKABE_ITO) == 8
    st = scheme_styles(REGISTRY_ORDER)
    assert len({x.color for x in st.values()}) == len(REGISTRY_ORDER)
    assert len({x.marker for x in st.values()}) == len(REGISTRY_ORDER)
    assert "#F0E442" not in {x.color.upper() for x in st.values()}  # yellow: weak on white


def test_registry_declares_the_styles_and_marks_inexact_schemes():
    from gcsim.codes import schemes

    st = scheme_styles(REGISTRY_ORDER)
    earlier: set[str] = set()
    for slot, info in enumerate(schemes()):
        got = st[info.name]
        assert got.slot == slot and got.inexact == (not info.exact)
        # its declared colour, unless an earlier registered scheme declared it too
        if info.color.upper() not in earlier:
            assert got.color == info.color
        else:
            assert got.color.upper() not in earlier
        earlier.add(got.color.upper())
    for name in REGISTRY_ORDER[:7]:  # the built-in seven keep their declared styles
        info = next(i for i in schemes() if i.name == name)
        assert (st[name].color, st[name].marker) == (info.color, info.marker)
    ign = st["ignore-stragglers"]
    assert ign.inexact and ign.fillstyle == "none" and ign.linestyle == "--"
    assert ign.legend("ignore-stragglers") == "ignore-stragglers (inexact)"
    assert not st["frc"].inexact and st["frc"].legend("frc") == "frc"
    assert st["frc"].line_kwargs()["fillstyle"] == "full"
    # a variant of an inexact scheme is drawn as inexact, in its family slot or not
    both = scheme_styles(["ignore-stragglers", "ignore-stragglers-fast"])
    assert both["ignore-stragglers-fast"].inexact
    assert both["ignore-stragglers-fast"].color != both["ignore-stragglers"].color


def test_inexact_scheme_is_drawn_hollow_and_dashed_with_a_marked_legend(tmp_path):
    r = make_results(tmp_path, schemes=("frc", "ignore-stragglers"), reps=(0,))
    frc = r.summary["scheme"] == "frc"  # not on top of each other (that is layered)
    r.summary.loc[frc, "mean_round_time"] += 0.5
    ax = plot_round_time_vs_s(round_time_vs_s_data(r))
    lines = _lines_by_label(ax)
    assert set(lines) == {"frc", "ignore-stragglers (inexact)"}
    ign = lines["ignore-stragglers (inexact)"]
    assert ign.get_fillstyle() == "none" and ign.get_linestyle() == "--"
    assert lines["frc"].get_fillstyle() == "full" and lines["frc"].get_linestyle() == "-"
    assert "ignore-stragglers (inexact)" in _legend_texts(ax)
    axs = plot_stability_vs_n(stability_vs_n_data(r))
    assert "ignore-stragglers (inexact)" in _legend_texts(axs[1])


def test_a_registered_scheme_gets_its_declared_style():
    from gcsim.codes import FractionalRepetitionCode, SchemeInfo, register_scheme, unregister_scheme

    class Variant(FractionalRepetitionCode):
        name = "frc-variant-for-plots"

    register_scheme(
        SchemeInfo(
            cls=Variant,
            display_name="FRC variant",
            supports_m=False,
            exact=True,
            color="#123456",
            marker="h",
        )
    )
    try:
        st = scheme_styles(["custom", "frc-variant-for-plots"])
        got = st["frc-variant-for-plots"]
        assert (got.color, got.marker, got.slot) == ("#123456", "h", len(REGISTRY_ORDER))
        assert st["custom"].slot == len(REGISTRY_ORDER) + 1  # after every registered one
    finally:
        unregister_scheme("frc-variant-for-plots")
    # unregistered, the label is again a variant of "frc" and takes its slot
    after = scheme_styles(["frc-variant-for-plots"])["frc-variant-for-plots"]
    assert after.slot == REGISTRY_ORDER.index("frc")


def test_extra_labels_are_stable_and_distinct_when_colours_run_out():
    names = [f"variant-{i}" for i in range(12)] + list(REGISTRY_ORDER)
    a = scheme_styles(names)
    b = scheme_styles(reversed(names))
    assert a == b
    pairs = {(s.color, s.marker) for s in a.values()}
    assert len(pairs) == len(names)
    # the first 15 slots differ in colour and in marker; beyond, a slot repeats a colour
    # with another line style and marker
    first = [style_for(k) for k in range(DISTINCT_SLOTS)]
    assert len({x.color for x in first}) == len({x.marker for x in first}) == DISTINCT_SLOTS
    assert style_for(DISTINCT_SLOTS).color == style_for(0).color
    assert style_for(DISTINCT_SLOTS).linestyle != style_for(0).linestyle
    assert style_for(DISTINCT_SLOTS).marker != style_for(0).marker
    # up to 15 labels, every colour and every marker is distinct
    some = scheme_styles([*REGISTRY_ORDER, *names][:DISTINCT_SLOTS])
    assert len({x.color for x in some.values()}) == len(some)
    assert len({x.marker for x in some.values()}) == len(some)


def test_derived_labels_take_their_family_slot_when_free():
    st = scheme_styles(["grouped-vandermonde", "grouped-gaussian", "frc", "custom"])
    grouped = OKABE_ITO[REGISTRY_ORDER.index("grouped")]
    assert st["grouped-gaussian"].color == grouped  # first in sorted order wins
    assert st["custom"].slot == len(REGISTRY_ORDER)  # then the free slots, sorted
    assert st["grouped-vandermonde"].slot == len(REGISTRY_ORDER) + 1
    assert list(st) == ["frc", "grouped-gaussian", "custom", "grouped-vandermonde"]
    # the registry name itself keeps its slot over derived labels
    st = scheme_styles(["grouped", "grouped-gaussian"])
    assert st["grouped"].color == grouped and st["grouped-gaussian"].color != grouped
    # an explicit code mapping places a free-form label in its family
    st = scheme_styles(["fast"], codes={"fast": "crc"})
    assert st["fast"].color == OKABE_ITO[REGISTRY_ORDER.index("crc")]
    assert scheme_styles(["frcx"])["frcx"].slot == len(REGISTRY_ORDER)  # not a prefix match


def test_given_styles_keep_colours_of_labels_missing_from_a_figure(tmp_path):
    r = make_results(tmp_path, schemes=("frc", "a-variant", "b-variant"), reps=(0,))
    every = scheme_styles(["frc", "a-variant", "b-variant"])
    sub = r.summary[r.summary["scheme"] != "a-variant"]
    data = decode_time_vs_n_data(sub)
    own = _lines_by_label(plot_decode_time_vs_n(data))  # styles from this figure's labels
    shared = _lines_by_label(plot_decode_time_vs_n(data, styles=every))
    assert shared["b-variant"].get_color() == every["b-variant"].color
    assert own["b-variant"].get_color() == every["a-variant"].color  # first free slot
    assert shared["frc"].get_color() == own["frc"].get_color()


def test_drawing_leaves_global_rcparams_alone(res):
    before = dict(matplotlib.rcParams)
    plot_round_time_vs_s(round_time_vs_s_data(res))
    assert dict(matplotlib.rcParams) == before


# ---------------------------------------------------------------- 1. round time vs s


def test_round_time_data_pools_replicates_with_ci(res):
    data = round_time_vs_s_data(res)
    assert set(data["n"]) == {12}  # tie between n = 6 and 12: the largest
    assert len(data) == len(SCHEMES) * 2 - 1  # uncoded has s = 0 only
    row = data[(data["scheme"] == "frc") & (data["s"] == 2)].iloc[0]
    assert row["replicates"] == 2
    assert row["mean"] == pytest.approx(1.0 + 0.2 + 0.12 + 0.01)
    sem = math.sqrt(0.01**2 + 0.02**2) / 2
    assert row["sem"] == pytest.approx(sem)
    assert row["ci_low"] == pytest.approx(row["mean"] - 1.959964 * sem, rel=1e-6)
    assert row["ci_high"] == pytest.approx(row["mean"] + 1.959964 * sem, rel=1e-6)
    unc = data[data["scheme"] == "uncoded"]
    # uncoded repeats the identical run at s_req 1 and 2: counted once per replicate
    assert list(unc["s"]) == [0] and unc["replicates"].iloc[0] == 2


def test_round_time_data_filters_status_n_and_nan(res):
    summ = res.summary.copy()
    bad = (summ["scheme"] == "frc") & (summ["replicate"] == 1)
    summ.loc[bad, "status"] = "failed"
    summ.loc[(summ["scheme"] == "ye-abbe") & (summ["replicate"] == 1), "mean_round_time"] = np.nan
    data = round_time_vs_s_data(summ, n=6)
    assert set(data["n"]) == {6}
    frc = data[(data["scheme"] == "frc") & (data["s"] == 1)].iloc[0]
    assert frc["replicates"] == 1 and frc["mean"] == pytest.approx(1.0 + 0.1 + 0.06)
    assert frc["sem"] == pytest.approx(0.01)
    assert (data[data["scheme"] == "ye-abbe"]["replicates"] == 1).all()
    summ.loc[summ["scheme"] == "crc", "sem_round_time"] = np.nan  # no crc rows: no effect
    summ.loc[summ["scheme"] == "cyclic-mds", "sem_round_time"] = np.nan
    data = round_time_vs_s_data(summ)
    cm = data[data["scheme"] == "cyclic-mds"]
    assert cm["sem"].isna().all() and cm["mean"].notna().all()


def test_round_time_plot_lines_bands_labels(res):
    data = round_time_vs_s_data(res)
    ax = plot_round_time_vs_s(data)
    lines = _lines_by_label(ax)
    assert sorted(lines) == sorted(SCHEMES)
    assert len(ax.get_lines()) == len(SCHEMES)
    assert list(lines["frc"].get_xdata()) == [1, 2]
    assert len(ax.collections) == len(SCHEMES)  # one CI band per scheme
    assert sorted(_legend_texts(ax)) == sorted(SCHEMES)
    assert "(s" in ax.get_ylabel() and "s" in ax.get_xlabel()
    assert "n = 12" in ax.get_title()


# -------------------------------------------------------------------- 2. trade-off


def test_tradeoff_data_distinct_points(res):
    data = tradeoff_d_vs_m_data(res)
    ya = data[data["scheme"] == "ye-abbe"]
    assert set(zip(ya["s"], ya["m"], ya["d"], strict=True)) == {(1, 2, 3), (2, 2, 4)}
    assert (ya["points"] == 2).all()  # two replicates at the n picked
    assert data.attrs["picked"] == [
        "at n = 12: the most common n, ties to the largest, of n = 6, 12"
    ]
    at6 = tradeoff_d_vs_m_data(res, n=6)
    assert (at6.loc[at6["scheme"] == "ye-abbe", "points"] == 2).all()
    assert list(tradeoff_d_vs_m_data(res, s=2)["s"].unique()) == [2]


def test_tradeoff_plot_has_bound_and_shading(res):
    data = tradeoff_d_vs_m_data(res)
    ax = plot_tradeoff_d_vs_m(data, s=2)
    lines = _lines_by_label(ax)
    bound = [k for k in lines if k.startswith("Ye–Abbe bound")]
    assert len(bound) == 1
    xb, yb = lines[bound[0]].get_data()
    np.testing.assert_allclose(np.asarray(yb) - np.asarray(xb), 2.0)  # d = s + m at s = 2
    assert len(ax.collections) == 1  # the infeasible region
    schemes_at_2 = {"frc", "cyclic-mds", "ye-abbe"}
    assert {k for k in lines if not k.startswith("Ye")} == schemes_at_2
    assert schemes_at_2 <= set(_legend_texts(ax))
    for k in schemes_at_2:
        assert lines[k].get_linestyle() == "None"
    # frc and cyclic-mds share (m, d) = (1, 3): spread along the bound, both still on it
    assert lines["frc"].get_xdata()[0] != lines["cyclic-mds"].get_xdata()[0]
    for k in ("frc", "cyclic-mds"):
        x, y = lines[k].get_xdata()[0], lines[k].get_ydata()[0]
        assert y - x == pytest.approx(3 - 1)  # d - m unchanged: on the bound at s = 2
    assert "s = 2" in ax.get_title()
    assert ax.get_xlabel() and "partitions per worker" in ax.get_ylabel()


# -------------------------------------------------------------------- 3. stability


def test_stability_data_worst_and_failures(tmp_path):
    r = make_results(tmp_path, dtypes=("float64", "float32"), reps=(0,))
    summ = r.summary.copy()
    sel = (summ["scheme"] == "ye-abbe") & (summ["n"] == 12) & (summ["dtype"] == "float32")
    summ.loc[sel & (summ["s_requested"] == 2), "worst_rel_error"] = np.inf
    summ.loc[summ["scheme"] == "uncoded", "worst_cond"] = np.nan  # not measured
    data = stability_vs_n_data(summ)
    err = data[data["metric"] == "rel_error"]
    row = err[(err["scheme"] == "frc") & (err["dtype"] == "float32") & (err["n"] == 12)].iloc[0]
    assert row["value"] == pytest.approx(1e-7 * 12 * 3)  # worst over s = 1, 2
    assert row["points"] == 2 and not row["failed"]
    bad = err[(err["scheme"] == "ye-abbe") & (err["dtype"] == "float32") & (err["n"] == 12)]
    assert bad["failed"].iloc[0] and math.isinf(bad["value"].iloc[0])
    assert data["failed"].sum() == 1
    cond = data[data["metric"] == "cond"]
    assert "uncoded" not in set(cond["scheme"])
    assert cond[(cond["scheme"] == "cyclic-mds") & (cond["n"] == 12)]["value"].max() == (
        pytest.approx(1e4)
    )


def test_stability_plot_log_scales_dtype_styles_failure_markers(tmp_path):
    r = make_results(tmp_path, dtypes=("float64", "float32"), reps=(0,))
    summ = r.summary.copy()
    sel = (summ["scheme"] == "ye-abbe") & (summ["n"] == 12) & (summ["dtype"] == "float32")
    summ.loc[sel, "worst_rel_error"] = np.inf
    ax_err, ax_cond = plot_stability_vs_n(stability_vs_n_data(summ))
    assert ax_err.get_yscale() == "log" and ax_cond.get_yscale() == "log"
    lines = _lines_by_label(ax_err)
    assert len(lines) == len(SCHEMES) * 2  # scheme x dtype
    assert lines["frc (float64)"].get_linestyle() == "-"
    assert lines["frc (float32)"].get_linestyle() == "--"
    assert lines["frc (float64)"].get_color() == lines["frc (float32)"].get_color()
    fails = [ln for ln in ax_err.get_lines() if ln.get_label().startswith("_failed")]
    assert len(fails) == 1 and list(fails[0].get_xdata()) == [12]
    assert fails[0].get_ydata()[0] > 0.9  # axes fraction: top of the panel
    assert np.isnan(lines["ye-abbe (float32)"].get_ydata()[1])  # no finite value at n = 12
    assert sorted(_legend_texts(ax_cond)) == sorted(SCHEMES)
    assert "‖" in ax_err.get_ylabel() and "κ" in ax_cond.get_ylabel()
    assert ax_err.get_xlabel() == "workers n"


# ------------------------------------------------------------------------ 4. CDF


def test_cdf_data_one_cluster_decoded_rounds_only(res):
    data = round_time_cdf_data(res)
    assert set(data["n"]) == {12} and set(data["s"]) == {2}
    frc = data[data["scheme"] == "frc"]
    assert len(frc) == 2 * (ROUNDS - 1)  # two replicates, round 2 failed
    assert np.all(np.diff(frc["duration"]) >= 0)
    np.testing.assert_allclose(frc["cdf"], np.arange(1, len(frc) + 1) / len(frc))
    unc = data[data["scheme"] == "uncoded"]
    assert len(unc) == 2 * ROUNDS
    d6 = round_time_cdf_data(res, n=6, s=1)
    assert set(d6["n"]) == {6}
    assert d6[d6["scheme"] == "uncoded"]["duration"].min() == pytest.approx(1.06)


def test_cdf_plot_one_step_per_scheme(res):
    ax = plot_round_time_cdf(round_time_cdf_data(res))
    lines = _lines_by_label(ax)
    assert sorted(lines) == sorted(SCHEMES)
    y = lines["frc"].get_ydata()
    assert y[0] == 0.0 and y[-1] == pytest.approx(1.0)
    assert "(s" in ax.get_xlabel() and ax.get_ylabel()
    assert sorted(_legend_texts(ax)) == sorted(SCHEMES)
    assert "n = 12" in ax.get_title() and "requested s = 2" in ax.get_title()


# ------------------------------------------------------------------------ 5. loss


def test_loss_data_replicate_zero_per_scheme(res):
    data = loss_vs_time_data(res)
    assert set(data["replicate"]) == {0}
    assert data.groupby("scheme")["point"].nunique().eq(1).all()
    frc = data[data["scheme"] == "frc"]
    assert len(frc) == ROUNDS
    np.testing.assert_allclose(frc["loss"], 1.0 / (1.0 + frc["time"]))
    assert np.all(np.diff(frc["time"]) > 0)
    assert set(loss_vs_time_data(res, replicate=1)["replicate"]) == {1}


def test_loss_plot_and_empty_state(tmp_path, res):
    ax = plot_loss_vs_time(loss_vs_time_data(res))
    assert sorted(_lines_by_label(ax)) == sorted(SCHEMES)
    assert sorted(_legend_texts(ax)) == sorted(SCHEMES)
    assert "replicate 0" in ax.get_title()
    assert ax.get_xlabel() == "simulated wall-clock time (s)" and ax.get_ylabel()
    empty = loss_vs_time_data(make_results(tmp_path, with_loss=False))
    assert empty.empty
    ax = plot_loss_vs_time(empty)
    assert not ax.get_lines()
    assert any("no finite training loss" in t.get_text() for t in ax.texts)


# ------------------------------------------------------------------ 6. decode time


def test_decode_time_data_and_plot(res):
    data = decode_time_vs_n_data(res)
    row = data[(data["scheme"] == "frc") & (data["n"] == 12)].iloc[0]
    assert row["mean"] == pytest.approx(1e-6 * 12 * 2) and row["points"] == 4
    ax = plot_decode_time_vs_n(data)
    assert ax.get_yscale() == "log"
    lines = _lines_by_label(ax)
    assert sorted(lines) == sorted(SCHEMES)
    assert list(lines["frc"].get_xdata()) == [6, 12]
    assert "(µs" in ax.get_ylabel() and ax.get_xlabel() == "workers n"
    np.testing.assert_allclose(lines["frc"].get_ydata(), [12.0, 24.0])  # in µs
    assert sorted(_legend_texts(ax)) == sorted(SCHEMES)


# ---------------------------------------------------- colours across every figure


def test_same_scheme_same_colour_in_every_figure(tmp_path):
    r = make_results(tmp_path, dtypes=("float64", "float32"))
    axes = [
        plot_round_time_vs_s(round_time_vs_s_data(r)),
        plot_tradeoff_d_vs_m(tradeoff_d_vs_m_data(r)),
        plot_stability_vs_n(stability_vs_n_data(r))[0],
        plot_round_time_cdf(round_time_cdf_data(r)),
        plot_loss_vs_time(loss_vs_time_data(r)),
        plot_decode_time_vs_n(decode_time_vs_n_data(r)),
    ]
    expected = scheme_styles(SCHEMES)
    for ax in axes:
        seen = set()
        for label, ln in _lines_by_label(ax).items():
            scheme = label.split(" (")[0]
            if scheme in expected:
                assert to_hex(ln.get_color()).lower() == expected[scheme].color.lower(), label
                seen.add(scheme)
        assert seen, ax.get_title()
    assert expected["cyclic-mds"].color != expected["frc"].color


# ------------------------------------------------------------------ plot_results


def test_plot_results_writes_every_figure(tmp_path):
    r = make_results(tmp_path, dtypes=("float64", "float32"))
    out = tmp_path / "figs"
    paths = plot_results(r, out, formats=("png",), dpi=30)  # low dpi, PNG only: fast
    # every figure but time_to_accuracy, which needs an [accuracy] target_loss
    assert [p.name for p in paths] == [f"{n}.png" for n in FIGURES if n != "time_to_accuracy"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (out / "README.md").read_text()
    assert "6 drawn, 1 skipped" in readme
    assert "| time_to_accuracy |" in readme and "no [accuracy] target_loss" in readme
    assert "at n = 12: the most common n, ties to the largest, of 6, 12" in readme


def test_plot_results_skips_with_reasons_and_writes_png_and_pdf(tmp_path):
    r = make_results(tmp_path, ns=(12,), ss=(2,), with_loss=False)
    out = tmp_path / "figs"
    out.mkdir()
    (out / "loss_vs_time.png").write_bytes(b"stale")  # from an earlier run
    paths = plot_results(r, out, dpi=30)  # default formats: png and pdf
    assert [p.name for p in paths] == [
        "tradeoff_d_vs_m.png",
        "tradeoff_d_vs_m.pdf",
        "round_time_cdf.png",
        "round_time_cdf.pdf",
    ]
    for p in paths:
        assert p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    readme = (out / "README.md").read_text()
    assert "2 drawn, 5 skipped" in readme
    assert not (out / "loss_vs_time.png").exists()
    assert "skipped: s does not vary" in readme
    assert "skipped: n does not vary" in readme
    assert "skipped: no finite training loss" in readme
    assert readme.count("skipped: n does not vary") == 2  # stability and decode time
    plans = {p.name: p for p in figure_plan(r)}
    assert not plans["stability_vs_n"].drawn and plans["round_time_cdf"].drawn
    assert plans["tradeoff_d_vs_m"].options["panels"] == [2]  # s = 0 is uncoded's alone
    assert "s = 0 left out" in plans["tradeoff_d_vs_m"].note
    assert "does not vary" in (plans["round_time_vs_s"].reason or "")


@pytest.mark.parametrize(
    "case", ["empty", "bare", "all_failed", "single_point", "nan_columns", "no_records"]
)
def test_plot_results_survives_odd_data(tmp_path, case):
    r = make_results(tmp_path, schemes=("frc",), ns=(6,), ss=(1,), reps=(0,))
    if case == "empty":
        r = Results(pd.DataFrame(columns=list(SUMMARY_COLUMNS)), pd.DataFrame(), {}, {}, tmp_path)
    elif case == "bare":  # no columns at all
        r = Results(pd.DataFrame(), pd.DataFrame(), {}, {}, tmp_path)
    elif case == "all_failed":
        r.summary["status"] = "failed"
        r.records = pd.DataFrame()
    elif case == "nan_columns":
        num = r.summary.select_dtypes("number").columns
        r.summary[num] = np.nan
        r.records["duration"] = np.nan
        r.records["loss"] = np.nan
    elif case == "no_records":
        r.records = pd.DataFrame()
    paths = plot_results(r, tmp_path / "figs", formats=("png",), dpi=30)
    readme = (tmp_path / "figs" / "README.md").read_text()
    drawn = {p.stem for p in paths}
    assert readme.count("skipped:") == len(FIGURES) - len(drawn)
    if case == "single_point":  # frc at m = 1 alone: no trade-off to show
        assert drawn == {"round_time_cdf", "loss_vs_time"}
        assert "skipped: every code runs at m = 1" in readme
    elif case == "no_records":
        assert drawn == set()
    else:
        assert drawn == set()
    # and the drawing functions draw an empty state instead of failing
    for fn, data in [
        (plot_round_time_vs_s, round_time_vs_s_data(r)),
        (plot_tradeoff_d_vs_m, tradeoff_d_vs_m_data(r)),
        (plot_round_time_cdf, round_time_cdf_data(r)),
        (plot_loss_vs_time, loss_vs_time_data(r)),
        (plot_decode_time_vs_n, decode_time_vs_n_data(r)),
    ]:
        assert isinstance(fn(data), Axes)
    assert len(plot_stability_vs_n(stability_vs_n_data(r))) == 2


def test_bad_arguments_name_the_parameter(res, tmp_path):
    with pytest.raises(ValueError, match="formats"):
        plot_results(res, tmp_path, formats=("gif",))
    with pytest.raises(ValueError, match="level"):
        round_time_vs_s_data(res, level=1.5)
    with pytest.raises(ValueError, match="column"):
        decode_time_vs_n_data(res, column="wall_s")


# ------------------------------------------- issue 11, item 10: figures a reviewer reads


def _heavy_tail(tmp_path: Path) -> Results:
    """Round times with a few very long rounds (a Pareto-like tail)."""
    r = make_results(tmp_path, schemes=("uncoded", "frc"), ns=(12,), ss=(1,), reps=(0,))
    long = r.records["round"] == ROUNDS - 1
    r.records.loc[long & (r.records["scheme"] == "uncoded"), "duration"] = 400.0
    return r


def test_heavy_tailed_round_time_cdf_gets_a_log_time_axis(tmp_path):
    r = _heavy_tail(tmp_path)
    ax = plot_round_time_cdf(round_time_cdf_data(r))
    assert ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()
    plan = {p.name: p for p in figure_plan(r)}["round_time_cdf"]
    assert plan.options["logx"] is True and "log time axis" in plan.note
    # light-tailed round times keep a linear axis
    light = plot_round_time_cdf(round_time_cdf_data(make_results(tmp_path, reps=(0,))))
    assert light.get_xscale() == "linear"
    assert plot_round_time_cdf(round_time_cdf_data(r), logx=False).get_xscale() == "linear"


def _tradeoff_results(tmp_path: Path) -> Results:
    """At s = 2: three codes at (m, d) = (1, 3) on the bound, ye-abbe at m = 2 on it,
    an inexact code below it and one code above it; at s = 1 only m = 1 codes."""
    r = make_results(
        tmp_path, schemes=("frc", "crc", "ye-abbe", "ignore-stragglers"), ns=(12,), reps=(0,)
    )
    summ = r.summary
    summ.loc[summ["scheme"] == "ye-abbe", "m"] = np.where(
        summ.loc[summ["scheme"] == "ye-abbe", "s"] == 2, 2, 1
    )
    summ["d"] = summ["s"] + summ["m"]
    summ.loc[summ["scheme"] == "ignore-stragglers", "d"] = 1
    summ.loc[(summ["scheme"] == "crc") & (summ["s"] == 2), "d"] = 5  # above the bound
    extra = summ[summ["scheme"] == "frc"].copy()
    extra["scheme"] = extra["code"] = "cyclic-mds"
    r.summary = pd.concat([summ, extra], ignore_index=True)
    return r


def test_tradeoff_markers_never_cross_the_bound(tmp_path):
    r = _tradeoff_results(tmp_path)
    data = tradeoff_d_vs_m_data(r)
    ax = plot_tradeoff_d_vs_m(data, s=2)
    at2 = data[data["s"] == 2].set_index("scheme")
    checked = 0
    for label, ln in _lines_by_label(ax).items():
        scheme = label.split(" (")[0]
        if scheme not in at2.index:
            continue
        m, d = float(at2.at[scheme, "m"]), float(at2.at[scheme, "d"])
        side = np.sign(d - 2 - m)  # the side of d = s + m the code is on
        for x, y in zip(ln.get_xdata(), ln.get_ydata(), strict=True):
            assert np.sign(round(y - 2 - x, 9)) == side, (label, x, y)
            checked += 1
    assert checked == len(at2)
    # the three codes at (1, 3) are told apart: distinct positions on the bound
    pos = {
        k: (ln.get_xdata()[0], ln.get_ydata()[0])
        for k, ln in _lines_by_label(ax).items()
        if k in ("frc", "cyclic-mds", "ye-abbe")
    }
    assert len(set(pos.values())) == len(pos)


def test_tradeoff_panels_with_only_m_1_are_left_out(tmp_path):
    r = _tradeoff_results(tmp_path)
    plan = {p.name: p for p in figure_plan(r)}["tradeoff_d_vs_m"]
    assert plan.drawn and plan.options["panels"] == [2]
    assert "s = 1 left out (every code at m = 1)" in plan.note
    r.summary["m"] = 1
    plan = {p.name: p for p in figure_plan(r)}["tradeoff_d_vs_m"]
    assert not plan.drawn and "every code runs at m = 1" in (plan.reason or "")


def _stability_results(tmp_path: Path) -> Results:
    r = make_results(tmp_path, ns=(6, 12, 18), ss=(1,), reps=(0,), dtypes=("float64", "float32"))
    ye = r.summary["scheme"] == "ye-abbe"
    r.summary.loc[ye, "worst_cond"] = 10.0 ** (r.summary.loc[ye, "n"] * 10.0)  # 1e60 .. 1e180
    r.summary.loc[ye & (r.summary["n"] == 18), "worst_cond"] = np.inf
    return r


def test_stability_condition_axis_is_capped_at_float64_and_marks_beyond(tmp_path):
    from gcsim.plots.stability import COND_CAP

    assert COND_CAP == pytest.approx(1 / np.finfo(np.float64).eps)
    _, ax_cond = plot_stability_vs_n(stability_vs_n_data(_stability_results(tmp_path)))
    assert ax_cond.get_ylim()[1] <= COND_CAP * 1e3  # not 1e184
    ye = _lines_by_label(ax_cond)["ye-abbe (float64)"]
    assert max(ye.get_ydata()) == COND_CAP  # drawn at the cap, inf included
    beyond = [ln for ln in ax_cond.get_lines() if ln.get_label().startswith("_beyond")]
    assert beyond and all(set(ln.get_ydata()) == {COND_CAP} for ln in beyond)
    assert sorted(beyond[0].get_xdata()) == [6, 12, 18]
    texts = [t.get_text() for leg in _all_legends(ax_cond) for t in leg.get_texts()]
    assert any("beyond float64" in t for t in texts)
    plan = {p.name: p for p in figure_plan(_stability_results(tmp_path))}["stability_vs_n"]
    assert "beyond 1/ε of float64" in plan.note


def _all_legends(ax: Axes) -> list:
    from matplotlib.legend import Legend

    return [a for a in ax.get_children() if isinstance(a, Legend)]


def test_stability_legends_sit_outside_both_panels(tmp_path):
    ax_err, ax_cond = plot_stability_vs_n(stability_vs_n_data(_stability_results(tmp_path)))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(ax_cond.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = _all_legends(ax_cond) + _all_legends(ax_err)
    assert len(legends) == 2  # schemes and precision
    boxes = [ax.get_window_extent(renderer) for ax in (ax_err, ax_cond)]
    for leg in legends:
        lb = leg.get_window_extent(renderer)
        for box in boxes:
            assert not lb.overlaps(box), leg.get_title().get_text()


def test_every_label_gets_its_own_colour_and_marker_in_the_figures(tmp_path):
    labels = [*REGISTRY_ORDER, "grouped-m2", "ye-abbe-m2"][:DISTINCT_SLOTS]
    st = scheme_styles(labels)
    assert len({x.color.upper() for x in st.values()}) == len(labels)
    assert len({x.marker for x in st.values()}) == len(labels)
    # in a drawn figure too
    r = make_results(tmp_path, schemes=tuple(labels[:10]), ns=(12,), reps=(0,))
    ax = plot_round_time_vs_s(round_time_vs_s_data(r), styles=scheme_styles(labels[:10]))
    lines = _lines_by_label(ax).values()
    assert len({(to_hex(ln.get_color()), ln.get_marker()) for ln in lines}) == len(lines)
    assert len({to_hex(ln.get_color()) for ln in lines}) == len(lines)


def test_coincident_lines_stay_visible(tmp_path):
    """crc and ye-abbe (or frc and grouped at m = 1) can have the same round times: the
    later one is dashed over a smaller marker, on top, so both can be seen; a distinct
    line is left alone."""
    r = make_results(tmp_path, schemes=("crc", "grouped", "uncoded"), ns=(12,), reps=(0,))
    unc = r.summary["scheme"] == "uncoded"
    r.summary.loc[unc, "mean_round_time"] += 1.0
    r.records.loc[r.records["scheme"] == "uncoded", "duration"] += 1.0
    lines = _lines_by_label(plot_round_time_vs_s(round_time_vs_s_data(r)))
    frc, grp = lines["crc"], lines["grouped"]
    np.testing.assert_allclose(frc.get_ydata(), grp.get_ydata())
    assert frc.get_linestyle() == "-" and grp.get_linestyle() == "--"
    assert grp.get_markersize() < frc.get_markersize() and grp.get_zorder() > frc.get_zorder()
    assert lines["uncoded"].get_linestyle() == "-"
    cdf = _lines_by_label(plot_round_time_cdf(round_time_cdf_data(r)))
    assert cdf["crc"].get_linestyle() == "-" and cdf["grouped"].get_linestyle() == "--"
    assert cdf["uncoded"].get_linestyle() == "-"


def test_inexact_scheme_is_marked_in_every_figure_and_table(tmp_path, capsys):
    from gcsim.analysis.headline import headline_table
    from gcsim.analysis.tables import paired_table
    from gcsim.plots.save import _draw

    r = make_results(
        tmp_path, schemes=("frc", "ignore-stragglers", "ye-abbe"), dtypes=("float64", "float32")
    )
    r.summary.loc[r.summary["scheme"] == "frc", "mean_round_time"] += 0.5
    styles = scheme_styles(r.summary["scheme"])
    drawn = 0
    for plan in figure_plan(r):
        if not plan.drawn:
            continue
        fig = _draw(plan, styles)
        texts = [
            t.get_text() for ax in fig.axes for leg in _all_legends(ax) for t in leg.get_texts()
        ]
        assert "ignore-stragglers (inexact)" in texts, plan.name
        assert "ignore-stragglers" not in texts, plan.name
        drawn += 1
    assert drawn >= 5
    table = paired_table(r, vs="frc")
    for fmt in ("md", "latex"):
        assert "ignore-stragglers (inexact)" in table.format(fmt)
        assert "ye-abbe (inexact)" not in table.format(fmt)
    assert "ignore-stragglers (inexact)" in headline_table(r.summary)


def test_a_swept_factor_gets_one_panel_per_value_never_pooled(tmp_path):
    r = make_results(tmp_path, schemes=("frc", "uncoded"), ns=(12,), reps=(0,))
    fast = r.summary.assign(**{"cluster.policy": "cancel"})
    slow = r.summary.assign(**{"cluster.policy": "non-preemptive"})
    slow["point"] = slow["point"] + "-np"
    slow["mean_round_time"] += 5.0
    rec_fast = r.records.assign(**{"cluster.policy": "cancel"})
    rec_slow = r.records.assign(**{"cluster.policy": "non-preemptive"})
    rec_slow["point"] = rec_slow["point"] + "-np"
    rec_slow["duration"] += 5.0
    both = Results(
        pd.concat([fast, slow], ignore_index=True),
        pd.concat([rec_fast, rec_slow], ignore_index=True),
        {},
        {},
        tmp_path,
        factors=["cluster.policy", "code.s"],
    )
    from gcsim.plots.save import _draw

    plans = {p.name: p for p in figure_plan(both)}
    styles = scheme_styles(["frc", "uncoded"])
    for name in ("round_time_vs_s", "round_time_cdf", "loss_vs_time"):
        plan = plans[name]
        assert plan.drawn, name
        titles = [t for t, _ in plan.options["facets"]]
        assert titles == ["policy = cancel", "policy = non-preemptive"], name
        fig = _draw(plan, styles)
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert len(panels) == 2 and "policy = non-preemptive" in panels[1].get_title()
    # the panels hold their own values, not the average of both policies
    (_, a), (_, b) = plans["round_time_vs_s"].options["facets"]
    np.testing.assert_allclose(b["mean"].to_numpy() - a["mean"].to_numpy(), 5.0)
    # more values than panels: one is picked, and the note says which
    many = both.summary.copy()
    many["cluster.policy"] = [f"p{i % 6}" for i in range(len(many))]
    plan = {p.name: p for p in figure_plan(many)}["round_time_vs_s"]
    assert "more than 4 panels" in plan.note and "at policy = " in plan.note


def test_gcsim_run_marks_an_inexact_scheme(tmp_path, capsys):
    from gcsim.cli import main

    path = tmp_path / "s.toml"
    path.write_text(
        '[scenario]\nname = "inexact"\nseed = 1\nrounds = 3\n\n[cluster]\nn = 4\n\n'
        '[delays.compute]\nmodel = "exponential"\nrate = 10.0\n\n'
        '[workload]\nmodel = "random-vectors"\ndimension = 8\n\n[code]\ns = 1\n\n'
        '[[schemes]]\ncode = "ignore-stragglers"\n\n[[schemes]]\ncode = "frc"\n'
    )
    assert main(["run", str(path), "--point", "0"]) == 0
    out = capsys.readouterr().out
    assert "scheme ignore-stragglers (inexact)," in out and "note: an inexact code" in out
    assert main(["run", str(path), "--point", "1"]) == 0
    out = capsys.readouterr().out
    assert "scheme frc," in out and "inexact" not in out


def test_a_scheme_at_its_only_s_is_kept_in_the_cdf_and_said(tmp_path):
    """uncoded runs at s = 0 when s is not swept: it was dropped from the CDF silently."""
    r = make_results(tmp_path, schemes=("uncoded", "frc"), ns=(12,), ss=(2,), reps=(0,))
    r.summary.loc[r.summary["scheme"] == "uncoded", "s_requested"] = 0
    r.summary = r.summary.drop(columns="code.s")
    r.records = r.records.drop(columns="code.s")
    data = round_time_cdf_data(r)
    assert set(data["scheme"]) == {"uncoded", "frc"}
    assert data.attrs["picked"] == ["uncoded at its only s = 0"]
    assert set(loss_vs_time_data(r)["scheme"]) == {"uncoded", "frc"}
    plan = {p.name: p for p in figure_plan(r)}["round_time_cdf"]
    assert "uncoded at its only s = 0" in plan.note
