"""The comparison plot: the take's and the reference's tempo and loudness on one shared axis (matplotlib, Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered by the app, never shown in a window

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from llaqo.lite.practice.compare import Comparison  # noqa: E402

FIG_SIZE = (8.0, 4.5)  # inches: two stacked panels in the evidence column


def comparison_figure(c: Comparison) -> Figure:
    """Two panels on the reference's axis (bar numbers with a score, reference seconds without): tempo per
    segment, and loudness relative to each recording's overall level, for the take and the reference."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    tempo_ax, level_ax = fig.subplots(2, 1, sharex=True)
    if c.by_bar:
        x = np.array([s.label for s in c.segments], dtype=float)
        xlabel = "bar"
    else:
        x = np.array([s.reference_s[0] for s in c.segments])
        xlabel = "reference time (s)"
    # The reference is drawn first and wider, so where the two agree it shows as a grey band around the take.
    for who, colour, width in (("reference", "tab:grey", 4.0), ("take", "tab:blue", 1.5)):
        name = c.reference.name if who == "reference" else c.take.name
        bpm = [getattr(s, f"{who}_bpm") for s in c.segments]
        level = [getattr(s, f"{who}_level_db") for s in c.segments]
        style = {"where": "post", "color": colour, "linewidth": width, "label": f"{who}: {name}"}
        tempo_ax.step(np.append(x, _next(x)), np.append(bpm, bpm[-1:]), **style)
        level_ax.step(np.append(x, _next(x)), np.append(level, level[-1:]), **style)
    tempo_ax.margins(y=0.15)  # the wide reference line stays inside the axes at its extremes
    level_ax.margins(y=0.15)
    tempo_ax.set(ylabel="BPM", title=f"{c.take.name} against the reference")
    tempo_ax.legend(loc="best", fontsize="small")
    level_ax.set(xlabel=xlabel, ylabel="level (dB, relative)")
    return fig


def _next(x: np.ndarray) -> float:
    """Where the last step ends: one segment length past the last start."""
    return float(x[-1] + (x[-1] - x[-2] if len(x) > 1 else 1.0))
