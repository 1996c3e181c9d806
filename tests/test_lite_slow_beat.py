"""A slow piece without its score (bench/render_everyday.py's "slow" texture: 42-56 quarter BPM, a bass note on
every beat under a broken-chord tone on its eighth) is counted at the bass's rate, not in its eighths: the eighth
level's bars of two put a "downbeat" on every bass note, but the bass line says that level is too fast
(metre.SHORTLIST_EXCESS). Takes at seeds no bench set was rendered or tuned with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llaqo.lite.hearing import metre

REPO = Path(__file__).resolve().parents[1]
# The script imports its folder's common.py, so it is run from there.
DUMP = """
import json, sys, render_everyday as r
name, offset = sys.argv[1], int(sys.argv[2])
seed, spec = next((i, s) for i, s in enumerate(r.PIECES) if s[0] == name)
print(json.dumps({"notes": [list(map(float, n)) for n in r.piece(spec, seed + offset)["notes"]], "bpm": spec[3]}))
"""


@pytest.mark.parametrize(("name", "offset"), [("s1_slow", 5005), ("s1_slow", 7007), ("s4_slow", 7007)])
def test_a_slow_piece_is_counted_at_its_bass_notes(name, offset):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", DUMP, name, str(offset)],
        cwd=REPO / "bench", env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    notes = np.array(made["notes"])
    found = metre.infer_metre(notes[np.argsort(notes[:, 0], kind="stable")])
    bpm = 60.0 / float(np.median(np.diff(found.beats)))
    assert bpm == pytest.approx(made["bpm"], rel=0.15)
