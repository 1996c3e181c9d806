"""The evidence plots for the app: tempo curve, loudness curve and piano roll, as matplotlib Figures (Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered by the app, never shown in a window

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from llaqo.lite.analysis import Analysis  # noqa: E402

FIG_SIZE = (8.0, 3.0)  # inches: wide and short, to sit in an app tab
MIN_LEVEL_SPAN_DB = 20.0  # smallest span of the dynamics plot's level axis
MIN_TEMPO_SPAN = 0.10  # the tempo axis spans at least +-10% of the median beat
ERROR_COLOURS = {"wrong": "tab:red", "missed": "tab:orange", "extra": "tab:purple"}
PEDAL_ROWS = 2.0  # height of the pedal lane under the lowest note, in semitones


def tempo_figure(a: Analysis) -> Figure:
    """BPM per beat against time, with the notated tempo as a dashed line when known."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    curve = a.tempo.curve
    ax.plot(curve[:, 0], curve[:, 1], marker=".", label="played")
    if a.tempo.nominal_bpm:
        ax.axhline(a.tempo.nominal_bpm, linestyle="--", color="grey", label=f"notated {a.tempo.nominal_bpm:.0f}")
    title = f"Tempo: {a.tempo.label}, {a.tempo.bpm:.0f} BPM"
    if a.bars and a.metre is not None:  # the bars heard without a score, as the answers cite them
        for bar in a.bars:
            ax.axvline(bar.start_s, color="lightgrey", linewidth=0.8, zorder=0)
        title += f" ({a.metre.beat_unit} beats, {a.metre.name}; grey lines: bars from the first downbeat heard)"
    ax.set(xlabel="time (s)", ylabel="BPM", title=title)
    if len(curve):
        # At least +-MIN_TEMPO_SPAN around the median, so a steady take looks steady rather than magnified.
        median = float(np.median(curve[:, 1]))
        shown = [*curve[:, 1], *([a.tempo.nominal_bpm] if a.tempo.nominal_bpm else [])]
        low, high = min(min(shown), median * (1 - MIN_TEMPO_SPAN)), max(max(shown), median * (1 + MIN_TEMPO_SPAN))
        margin = 0.05 * (high - low)
        ax.set_ylim(low - margin, high + margin)
    ax.legend(loc="best")
    return fig


def dynamics_figure(a: Analysis) -> Figure:
    """The RMS loudness curve (dBFS) and, on a second axis, each segment's note level as a step."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    curve = a.dynamics.curve
    ax.plot(curve[:, 0], curve[:, 1], color="tab:blue", linewidth=0.8)
    ax.set(
        xlabel="time (s)",
        ylabel="loudness (dBFS)",
        title=f"Dynamics: {a.dynamics.label}, range {a.dynamics.range_db:.1f} dB across {a.dynamics.segment_name}s",
    )
    levels = ax.twinx()
    for start, end, level in a.dynamics.segments:
        levels.hlines(level, start, end, color="tab:green")
    levels.set_ylabel(f"note level per {a.dynamics.segment_name} (dB)", color="tab:green")
    if len(a.dynamics.segments):
        # At least MIN_LEVEL_SPAN_DB on the axis, so a flat take looks flat rather than magnified.
        middle = float(np.mean([a.dynamics.segments[:, 2].min(), a.dynamics.segments[:, 2].max()]))
        half = max(a.dynamics.range_db / 2 + 1.0, MIN_LEVEL_SPAN_DB / 2)
        levels.set_ylim(middle - half, middle + half)
    return fig


def piano_roll_figure(a: Analysis) -> Figure:
    """Detected notes as bars (pitch against time), the sustain pedal as a lane below them (blurred harmony
    changes marked); wrong, missed and extra notes coloured when a score is given."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for onset, offset, pitch, velocity in a.notes:
        ax.add_patch(Rectangle((onset, pitch - 0.4), offset - onset, 0.8, color="tab:blue", alpha=0.3 + velocity / 254))
    low, high = (a.notes[:, 2].min(), a.notes[:, 2].max()) if len(a.notes) else (21, 108)
    lane = low - 2 - PEDAL_ROWS
    for k, (down, up) in enumerate(a.pedal.events):
        ax.add_patch(
            Rectangle(
                (down, lane), up - down, PEDAL_ROWS * 0.8, color="tab:gray", label="sustain pedal" if k == 0 else None
            )
        )
    if len(a.pedal.blurred_s):
        ax.vlines(
            a.pedal.blurred_s, lane, high + 2, color="tab:red", linestyle=":", label="pedal held through a change"
        )
    if a.score is not None:
        for kind, events in (("wrong", a.score.wrong), ("missed", a.score.missed), ("extra", a.score.extra)):
            if events:
                ax.scatter(
                    [e.time_s for e in events],
                    [e.pitch for e in events],
                    color=ERROR_COLOURS[kind],
                    marker="x" if kind == "missed" else "o",
                    label=f"{kind} ({len(events)})",
                    zorder=3,
                )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    ax.set(
        xlim=(0, a.duration_s),
        ylim=(lane - 0.5, high + 2),
        xlabel="time (s)",
        ylabel="MIDI pitch",
        title=f"Notes: {len(a.notes)} detected; pedal: {a.pedal.label}",
    )
    return fig


def figures(a: Analysis) -> dict[str, Figure]:
    """{"tempo", "dynamics", "piano_roll"} -> Figure."""
    return {"tempo": tempo_figure(a), "dynamics": dynamics_figure(a), "piano_roll": piano_roll_figure(a)}
