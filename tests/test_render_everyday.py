"""bench/render_everyday.py plays the pedal its truth.json names: a blurred take's presses, as a MIDI sustain pedal
sounds them (one state: the first lift raises it), are held across harmony changes (perfbench: >= 2 pedal-down
intervals continue > 0.25 s past a change)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The script imports its folder's common.py, so it is run from there.
DUMP = """
import json, render_everyday as r
made = {s[0]: r.piece(s, seed) for seed, s in enumerate(r.PIECES) if s[8] == "blurred"}
print(json.dumps({k: {"pedal": m["pedal"], "sounded": r.sounding_presses(m["pedal"]), "changes": m["changes"]}
                  for k, m in made.items()}))
"""


def test_blurred_takes_hold_the_pedal_across_changes():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", DUMP], cwd=REPO / "bench", env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    takes = json.loads(run.stdout)
    assert len(takes) == 4
    for name, made in takes.items():
        changes = made["changes"]
        sounded = made["sounded"]
        held = [p for p in sounded if any(p[0] < c < p[1] - 0.25 for c in changes)]
        assert len(held) >= 2, (name, sounded)
        assert len(sounded) == len(made["pedal"]), f"{name}: overlapping presses sound as one"
