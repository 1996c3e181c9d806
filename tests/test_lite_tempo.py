"""The tempo label from a heard beat (issue 26): a rubato's swings survive the smoothing, and a take that pushes
and pulls is rubato even when its last swing ends slower (or faster) than its first began."""

from __future__ import annotations

import numpy as np
import pytest

from llaqo.lite.hearing import tempo


def beats_of(bpm: np.ndarray, jitter_s: float = 0.0, seed: int = 0) -> np.ndarray:
    """(B-1,) tempo of each beat in BPM -> (B,) beat times in s from 0.5 s, each moved by up to jitter_s (the
    scatter of a beat snapped to a played onset)."""
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(60.0 / bpm)])
    return beats + np.random.default_rng(seed).uniform(-jitter_s, jitter_s, len(beats))


def swings(n: int, period: float, depth: float, phase: float, mean: float = 60.0) -> np.ndarray:
    """A rubato's tempo curve: (n,) BPM swinging by +-depth around mean, a swing every `period` beats."""
    return mean * (1.0 + depth * np.sin(2 * np.pi * np.arange(n) / period + phase))


@pytest.mark.parametrize("seed", range(3))
def test_a_rubato_of_short_phrases_survives_the_heard_beat_smoothing(seed):
    # Swings of six beats, as a waltz's rubato: a fit over five beats flattened them to "steady" (cv 1.9%).
    found = tempo.tempo_from_beats(tempo.smooth_beats(beats_of(swings(48, 6.0, 0.1, 0.0), 0.01, seed)), None, "a")
    assert found.label == "rubato", found.cv_pct
    steady = tempo.tempo_from_beats(tempo.smooth_beats(beats_of(np.full(48, 60.0), 0.01, seed)), None, "a")
    assert steady.label == "steady", steady.cv_pct


def test_smoothing_keeps_the_take_s_mean_tempo():
    # The end beats are fit on their side's three beats, so the first and last beat (the mean tempo) do not move
    # by their own scatter.
    beats = beats_of(np.linspace(80.0, 60.0, 30), 0.02, seed=4)
    smoothed = tempo.smooth_beats(beats)
    first = np.polyval(np.polyfit(np.arange(3), beats[:3], 1), 0)
    last = np.polyval(np.polyfit(np.arange(3), beats[-3:], 1), 2)
    assert smoothed[0] == pytest.approx(first) and smoothed[-1] == pytest.approx(last)


@pytest.mark.parametrize(("phase", "trend"), [(np.pi / 2, "ritardando"), (-np.pi / 2, "accelerando")])
def test_a_rubato_that_ends_in_another_swing_than_it_began_is_rubato(phase, trend):
    # Starts at the top of a swing and ends at its bottom (or the reverse): end/start is a trend's, the turns are
    # a rubato's.
    bpm = swings(21, 8.0, 0.12, phase, mean=45.0)
    raw = tempo.tempo_label(45.0, 8.0, bpm[-2:].mean() / bpm[:2].mean(), None)
    assert raw == trend  # what end/start alone says
    found = tempo.tempo_from_beats(tempo.smooth_beats(beats_of(bpm, 0.01)), None, "a")
    assert tempo.reversals(found.curve[:, 1]) >= tempo.RUBATO_REVERSALS
    assert found.label == "rubato"


@pytest.mark.parametrize(("end", "trend"), [(56.0, "ritardando"), (104.0, "accelerando")])
def test_a_smooth_trend_after_a_steady_start_keeps_its_label(end, trend):
    # Steady at 80, then a smooth change over the second half, with a snapped beat's scatter: no turns.
    bpm = np.concatenate([np.full(20, 80.0), np.linspace(80.0, end, 16)])
    found = tempo.tempo_from_beats(tempo.smooth_beats(beats_of(bpm, 0.01, seed=1)), None, "a")
    assert tempo.reversals(found.curve[:, 1]) < tempo.RUBATO_REVERSALS
    assert found.label == trend


def test_reversals_count_turns_of_more_than_the_threshold():
    assert tempo.reversals(np.array([60, 61, 60, 61, 60, 61.0])) == 0  # 1.7% wobble: no turn
    assert tempo.reversals(np.array([60, 66, 60, 66, 60.0])) == 3
    assert tempo.reversals(np.array([80, 75, 70, 65, 60.0])) == 0
