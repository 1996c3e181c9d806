"""The pulse holds one metrical level through a tempo change (issue 26): an Alberti bass's sixteenths that a
ritardando brings within the tracker's periods, or a march's eighths that an accelerando takes past them, do not
halve or double the beat read without a score."""

from __future__ import annotations

import numpy as np
import pytest

from llaqo.lite.hearing import metre, pulse, tempo


def piece(bpm: np.ndarray, per_beat: int) -> tuple[np.ndarray, np.ndarray]:
    """(B-1,) tempo of each beat -> ((N, 4) notes: a melody note on each beat over a broken chord of per_beat
    notes, (B,) beat times in s)."""
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(60.0 / bpm)])
    rows = []
    for i, (start, end) in enumerate(zip(beats[:-1], beats[1:], strict=True)):
        step = (end - start) / per_beat
        for j in range(per_beat):
            t = start + j * step
            rows.append([t, t + 0.9 * step, (48, 55, 52, 55)[j % 4] + (i // 4) % 3 * 2, 70 if j == 0 else 55])
        rows.append([start, end - 0.05, 72 + (i * 3) % 8, 80])
    notes = np.array(rows)
    return notes[np.argsort(notes[:, 0], kind="stable")], beats


@pytest.mark.parametrize(
    ("bpm", "per_beat", "label"),
    [
        # sixteenths at 320 a minute slow to 208: the free pulse leaves the eighths for them at the end
        (np.concatenate([np.full(24, 80.0), np.linspace(80.0, 52.0, 20)]), 4, "ritardando"),
        # eighths at 208 a minute speed up to 280: the free pulse falls to the quarters halfway
        (np.concatenate([np.full(16, 104.0), np.linspace(104.0, 140.0, 30)]), 2, "accelerando"),
    ],
)
def test_the_beat_keeps_its_level_through_a_tempo_change(bpm, per_beat, label):
    notes, beats = piece(bpm, per_beat)
    found = metre.infer_metre(notes)
    measured = tempo.tempo_from_beats(tempo.smooth_beats(found.beats), None, "audio")
    assert measured.label == label
    assert measured.bpm == pytest.approx(60.0 * (len(beats) - 1) / (beats[-1] - beats[0]), rel=0.03)
    assert measured.end_bpm == pytest.approx(bpm[-3:].mean(), rel=0.06)


def test_a_change_of_level_is_an_octave_in_a_few_pulses_not_a_ritardando():
    ritardando = 0.5 + np.concatenate([[0.0], np.cumsum(np.geomspace(0.4, 0.4 / 0.7, 30))])
    assert pulse.level_change(ritardando) is None  # 0.5 octave over 30 pulses
    halved = np.concatenate([ritardando, ritardando[-1] + np.cumsum(np.full(12, 0.4 / 0.7 / 2))])
    first, last = pulse.level_change(halved)
    assert first < 30 < last
