"""Figures of a sweep's results: a pure data step, then a drawing function.

Every figure ``x`` has ``x_data(results, ...) -> DataFrame`` (tidy, testable, no
matplotlib) and ``plot_x(data, *, ax=None, styles=None) -> Axes`` (draws on ``ax``, or on
a new :class:`matplotlib.figure.Figure` without pyplot). :func:`plot_results` draws every
figure the results have data for and saves PNG and PDF files.

============================  ===========================================================
figure                        shows
============================  ===========================================================
``round_time_vs_s``           mean round time vs s per scheme, 95% CI bands (summary)
``tradeoff_d_vs_m``           d vs m at fixed s per scheme, Ye–Abbe bound d = s + m
``stability_vs_n``            worst rel. error and cond vs n, float64 solid / float32 dashed
``round_time_cdf``            empirical CDF of round times, one cluster (records)
``loss_vs_time``              training loss vs simulated time (records)
``decode_time_vs_n``          measured decode time per round vs n, log y (summary)
============================  ===========================================================

Needs matplotlib (``pip install 'gcsim[plots]'``). Library code never calls
``plt.show()`` nor changes the global rcParams.
"""

from __future__ import annotations

try:
    import matplotlib  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "gcsim.plots needs matplotlib; install it with: pip install 'gcsim[plots]'"
    ) from exc

from gcsim.plots.cdf import CDF_COLUMNS, plot_round_time_cdf, round_time_cdf_data
from gcsim.plots.decode_time import DECODE_COLUMNS, decode_time_vs_n_data, plot_decode_time_vs_n
from gcsim.plots.loss import LOSS_COLUMNS, loss_vs_time_data, plot_loss_vs_time
from gcsim.plots.round_time import ROUND_TIME_COLUMNS, plot_round_time_vs_s, round_time_vs_s_data
from gcsim.plots.save import FIGURES, FigurePlan, figure_plan, plot_results
from gcsim.plots.stability import (
    DTYPE_LINESTYLES,
    STABILITY_COLUMNS,
    plot_stability_vs_n,
    stability_vs_n_data,
)
from gcsim.plots.style import (
    DISTINCT_SLOTS,
    EXTRA_COLORS,
    LINESTYLES,
    MARKERS,
    OKABE_ITO,
    REGISTRY_ORDER,
    SchemeStyle,
    registry_family,
    scheme_styles,
    style_context,
    style_for,
)
from gcsim.plots.tradeoff import TRADEOFF_COLUMNS, plot_tradeoff_d_vs_m, tradeoff_d_vs_m_data

__all__ = [
    "CDF_COLUMNS",
    "DECODE_COLUMNS",
    "DISTINCT_SLOTS",
    "DTYPE_LINESTYLES",
    "EXTRA_COLORS",
    "FIGURES",
    "LINESTYLES",
    "LOSS_COLUMNS",
    "MARKERS",
    "OKABE_ITO",
    "REGISTRY_ORDER",
    "ROUND_TIME_COLUMNS",
    "STABILITY_COLUMNS",
    "TRADEOFF_COLUMNS",
    "FigurePlan",
    "SchemeStyle",
    "decode_time_vs_n_data",
    "figure_plan",
    "loss_vs_time_data",
    "plot_decode_time_vs_n",
    "plot_loss_vs_time",
    "plot_results",
    "plot_round_time_cdf",
    "plot_round_time_vs_s",
    "plot_stability_vs_n",
    "plot_tradeoff_d_vs_m",
    "registry_family",
    "round_time_cdf_data",
    "round_time_vs_s_data",
    "scheme_styles",
    "stability_vs_n_data",
    "style_context",
    "style_for",
    "tradeoff_d_vs_m_data",
]
