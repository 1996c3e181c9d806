"""Bars as played: segment boundaries from the heard downbeats (or groups of beats), the pedal's harmony windows
within them, and one BarView per bar (its times, tempo and loudness), for heard and notated bars alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaqo.lite.hearing import metre, tempo
from llaqo.lite.measures import dynamics

BEATS_PER_SEGMENT = 4  # without a score or a confident bar grid, a take is judged over groups of beats
SEGMENT_S = 2.0  # ... or over windows this long when too few beats were tracked


@dataclass(frozen=True)
class BarView:
    """One bar, notated or heard: when it was played, its tempo, loudness and (with a score) errors."""

    bar: int
    start_s: float
    end_s: float
    bpm: float | None
    level_db: float | None
    n_errors: int | None
    """None for a bar heard without a score: nothing to count errors against."""

    def to_json(self) -> dict:
        out = {
            "bar": self.bar,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "bpm": None if self.bpm is None else round(self.bpm, 1),
            "level_db": None if self.level_db is None else round(self.level_db, 1),
        }
        if self.n_errors is not None:
            out["n_errors"] = self.n_errors
        return out


def bar_view(
    number: int,
    start: float,
    end: float,
    tempo_result: tempo.Tempo,
    dyn: dynamics.Dynamics,
    n_errors: int | None = None,
) -> BarView:
    """The bar played from start to end (s): its median tempo on the beats inside it and its dynamics segment's
    level (None when it has none)."""
    in_bar = (tempo_result.curve[:, 0] >= start - 1e-3) & (tempo_result.curve[:, 0] < end - 1e-3)
    level = dyn.segments[np.isclose(dyn.segments[:, 0], start), 2]
    return BarView(
        bar=int(number),
        start_s=float(start),
        end_s=float(end),
        bpm=float(np.median(tempo_result.curve[in_bar, 1])) if in_bar.any() else None,
        level_db=float(level[0]) if len(level) else None,
        n_errors=n_errors,
    )


def heard_bar_bounds(heard: metre.Metre, onsets: np.ndarray, duration_s: float) -> np.ndarray:
    """(S + 1,) segment boundaries in s: the start, the inferred downbeats, the end. onsets: (N,) of the notes
    played at a bar's level (not the faint ones of a ringing tail).

    A downbeat's chord is spread over some tens of ms and its time is the middle: each bar starts
    metre.CHORD_GAP_S before it. A pickup shorter than half a bar joins the first bar, and a closing chord alone
    after the last downbeat (or nothing played at all) joins the bar before: one chord is no bar's level, and on
    its own it would read as a step in the dynamics.
    """
    inner = heard.downbeats - metre.CHORD_GAP_S
    bar_s = float(np.median(np.diff(heard.downbeats))) if len(heard.downbeats) > 1 else 0.0
    if len(inner) > 1 and 0 < inner[0] - onsets.min() < bar_s / 2:
        inner = inner[1:]
    return close(inner, onsets, duration_s)


def half_bars(heard: metre.Metre, bounds: np.ndarray) -> np.ndarray:
    """(S + 1,) bar boundaries in s -> the pedal's harmony windows: the bars, each halved at its third beat when it
    has four (in common time the harmony, and so the pedal, often changes there)."""
    if heard.beats_per_bar != 4:
        return bounds
    first = int(np.argmin(np.abs(heard.beats - heard.downbeats[0])))
    middles = heard.beats[(first + 2) % 4 :: 4]
    middles = middles[(middles > bounds[0] + metre.CHORD_GAP_S) & (middles < bounds[-1] - metre.CHORD_GAP_S)]
    return np.sort(np.concatenate([bounds, middles]))


def close(inner: np.ndarray, onsets: np.ndarray, duration_s: float) -> np.ndarray:
    """(S - 1,) inner segment boundaries -> (S + 1,) with the start and end, the last segments joined to the one
    before while they hold at most one chord of the played onsets (N,)."""
    while len(inner) > 1:
        closing = onsets[onsets >= inner[-1]]
        if len(closing) and np.ptp(closing) > metre.CHORD_GAP_S:
            break
        inner = inner[:-1]
    inner = inner[(inner > 0.05) & (inner < duration_s - 0.05)]
    return np.concatenate([[0.0], inner, [duration_s]])


def beat_group_bounds(beats: np.ndarray, group: int, onsets: np.ndarray, duration_s: float) -> np.ndarray:
    """(S + 1,) boundaries in s of groups of `group` beats (or SEGMENT_S windows when there are few beats); the
    first and last groups run to the ends, and a last group without played onsets (N,) joins the one before."""
    inner = beats[group::group] if len(beats) > 2 * group else np.arange(SEGMENT_S, duration_s, SEGMENT_S)
    return close(inner[inner < duration_s], onsets, duration_s)


def heard_bars(
    heard: metre.Metre, bounds: np.ndarray, tempo_result: tempo.Tempo, dyn: dynamics.Dynamics
) -> list[BarView]:
    """Bars counted from 1 at the first inferred downbeat (0: a pickup before it) -> list[BarView]. A segment is
    numbered by the downbeat it starts at; the first, by the bar it ends in (a pickup joined to bar 1 is in it)."""
    views = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        inside = end - metre.CHORD_GAP_S - 1e-3 if start == 0 else start + metre.CHORD_GAP_S + 1e-3
        number = int(heard.bar_at(np.array([inside]))[0])
        view = bar_view(number, start, end, tempo_result, dyn)
        if number == 0 and view.level_db is None:
            continue  # no pickup: the silence before the first downbeat is not a bar
        views.append(view)
    return views
