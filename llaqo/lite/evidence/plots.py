"""The evidence plots for the app: tempo curve, loudness curve and piano roll, as matplotlib Figures (Agg).

In a practice session of several passes each pass has its colour in the tempo and loudness plots, with nothing
drawn across the pause between two passes (a pause is no tempo dip), and the piano roll marks the stops."""

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
PASS_COLOURS = ("tab:blue", "tab:green", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def pass_spans(a: Analysis) -> list[tuple[float, float, str]]:
    """A practice session's passes -> [(start_s, end_s, name)] in playing order; empty for a single run. With a
    score, its passes through the score ("pass 2: bars 4–8"); without, the stretches between its stops."""
    if a.score is not None:
        found = [(p.start_s, p.end_s, p.label) for p in a.score.passes]
    else:
        found = [(p.start_s, p.end_s, f"pass {k}") for k, p in enumerate(a.heard_passes, start=1)]
    return found if len(found) > 1 else []


def _pass_curves(a: Analysis, curve: np.ndarray, own: list[np.ndarray] | None) -> list[tuple[np.ndarray, str]]:
    """A (T, 2) [time, value] curve -> [(its points inside one pass, the pass's name)], one per pass: `own`, the
    passes' own curves when they have them (with a score, each pass's tempo); [(curve, "")] for a single run."""
    spans = pass_spans(a)
    if not spans:
        return [(curve, "")]
    if own is not None:
        return [(c, name) for c, (_, _, name) in zip(own, spans, strict=True)]
    return [(curve[(curve[:, 0] >= start) & (curve[:, 0] <= end)], name) for start, end, name in spans]


def tempo_figure(a: Analysis) -> Figure:
    """BPM per beat against time, with the notated tempo as a dashed line when known."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    own = [p.tempo.curve for p in a.score.passes] if a.score is not None else None
    parts = _pass_curves(a, a.tempo.curve, own)
    for k, (part, name) in enumerate(parts):
        ax.plot(part[:, 0], part[:, 1], marker=".", color=PASS_COLOURS[k % len(PASS_COLOURS)], label=name or "played")
    curve = np.concatenate([part for part, _ in parts])
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
    for k, (part, name) in enumerate(_pass_curves(a, a.dynamics.curve, None)):
        ax.plot(part[:, 0], part[:, 1], color=PASS_COLOURS[k % len(PASS_COLOURS)], linewidth=0.8, label=name or None)
    if pass_spans(a):
        ax.legend(loc="lower right", fontsize="small")
    ax.set(
        xlabel="time (s)",
        ylabel="loudness (dBFS)",
        title=f"Dynamics: {a.dynamics.label}, range {a.dynamics.range_db:.1f} dB across {a.dynamics.segment_name}s",
    )
    levels = ax.twinx()
    # In a session with a score, each pass's own bar levels (the take's are its main pass's bars alone).
    segments = np.concatenate([p.dynamics.segments for p in a.score.passes]) if _judged_passes(a) else None
    segments = a.dynamics.segments if segments is None else segments
    for start, end, level in segments:
        levels.hlines(level, start, end, color="tab:green")
    levels.set_ylabel(f"note level per {a.dynamics.segment_name} (dB)", color="tab:green")
    if len(segments):
        # At least MIN_LEVEL_SPAN_DB on the axis, so a flat take looks flat rather than magnified.
        middle = float(np.mean([segments[:, 2].min(), segments[:, 2].max()]))
        half = max(a.dynamics.range_db / 2 + 1.0, MIN_LEVEL_SPAN_DB / 2)
        levels.set_ylim(middle - half, middle + half)
    return fig


def _judged_passes(a: Analysis) -> bool:
    """Whether the take is a session of several passes through its score, each judged on its own."""
    return a.score is not None and len(a.score.passes) > 1


def stops(a: Analysis) -> list[tuple[float, str]]:
    """Where a session's passes stop before the next begins -> [(time s, "stop in bar 5" or "stop")]."""
    bars = [f"stop in bar {p.last_bar}" for p in a.score.passes] if _judged_passes(a) else None
    return [(end, bars[k] if bars else "stop") for k, (_, end, _) in enumerate(pass_spans(a)[:-1])]


def piano_roll_figure(a: Analysis) -> Figure:
    """Detected notes as bars (pitch against time), the sustain pedal as a lane below them (blurred harmony
    changes marked); wrong, missed and extra notes coloured when a score is given; a session's stops marked."""
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
    for k, (at, name) in enumerate(stops(a)):
        ax.axvline(at, color="black", linestyle="--", linewidth=1.0, label="stop" if k == 0 else None)
        ax.text(at, high + 1.5, f" {name}", fontsize="small", va="top")
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
