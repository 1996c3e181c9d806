"""A slow piece without its score (bench/render_everyday.py's "slow" texture: 42-56 quarter BPM, a bass note on
every beat under a broken-chord tone on its eighth) is counted at the bass's rate, not in its eighths: the eighth
level's bars of two put a "downbeat" on every bass note, but the bass line says that level is too fast
(metre.SHORTLIST_EXCESS). Takes at seeds no bench set was rendered or tuned with."""

from __future__ import annotations

import numpy as np
import pytest
from everyday_pieces import piece

from llaqo.lite.hearing import metre


@pytest.mark.parametrize(("name", "offset"), [("s1_slow", 5005), ("s1_slow", 7007), ("s4_slow", 7007)])
def test_a_slow_piece_is_counted_at_its_bass_notes(name, offset):
    made = piece(name, offset)
    notes = np.array(made["notes"])
    found = metre.infer_metre(notes[np.argsort(notes[:, 0], kind="stable")])
    bpm = 60.0 / float(np.median(np.diff(found.beats)))
    assert bpm == pytest.approx(made["bpm"], rel=0.15)


def test_chords_taken_for_bass_notes_do_not_hide_that_the_eighths_are_too_fast():
    """A slow 2/4 heard in its eighths (a chord on every pulse), a bass note on every other one, and five inner
    chords the transcription's quietest notes made look like bass notes: the quarters still fit the bass line
    better than the eighths by more than metre.SHORTLIST_EXCESS, so the eighths do not reach the shortlist
    unless they are the best. (Weighing the slower level by its share of the bass notes as well let the strays
    cost it twice, and the eighths, on every chord, nothing: a 46 BPM 2/4 was read at 92.)"""
    pulses, step = 48, metre.SUBDIVISIONS
    grid = np.arange(pulses * step + 1) * (30.0 / 46.0) / step
    on = np.zeros(len(grid))
    on[: pulses * step : step] = 1.0
    accent = np.zeros(len(grid))
    accent[: pulses * step : 2 * step] = 1.0
    accent[[step * k for k in (5, 13, 21, 31, 41)]] = 1.0  # odd pulses: the strays
    feat = {"on": on, "salience": on.copy(), "accent": accent, "bass_line": accent.copy()}
    _, excess = metre._beat_score(feat, grid, step, 0)
    assert excess > metre.SHORTLIST_EXCESS
