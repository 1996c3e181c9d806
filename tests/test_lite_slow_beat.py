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
