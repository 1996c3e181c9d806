"""The app's example recordings are heard as they were written (issue 29's defect 6): the detached scale's 16
notes all, on their onsets and pitches, and detached; the crescendo's 16, growing louder."""

from __future__ import annotations

import numpy as np
import pytest

from llaqo import examples
from llaqo.lite.analysis import analyze


@pytest.mark.parametrize(
    "name, label",
    [("detached_scale.wav", ("articulation", "staccato")), ("crescendo_arpeggio.wav", ("dynamics", "crescendo"))],
)
def test_every_note_of_the_examples_is_heard(tmp_path, name, label):
    path = next(p for p in examples.write_examples(tmp_path) if p.name == name)
    written = examples.RECORDINGS[path.name]()
    a = analyze(path)
    assert len(a.notes) == len(written) == 16
    assert np.abs(a.notes[:, 0] - written[:, 0]).max() < 0.05
    assert a.notes[:, 2].astype(int).tolist() == written[:, 2].astype(int).tolist()
    assert getattr(a, label[0]).label == label[1]
