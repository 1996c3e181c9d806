"""A piece of bench/render_everyday.py's set as notes, at a seed offset no bench set was rendered or tuned with,
for the metre tests that need its textures without rendering audio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The script imports its folder's common.py, so it is run from there.
DUMP = """
import json, sys, render_everyday as r
name, offset = sys.argv[1], int(sys.argv[2])
seed, spec = next((i, s) for i, s in enumerate(r.PIECES) if s[0] == name)
made = r.piece(spec, seed + offset)
print(json.dumps({"notes": made["notes"].tolist(), "downbeats": made["downbeats"].tolist(), "bpm": spec[3]}))
"""


def piece(name: str, offset: int) -> dict:
    """-> {notes: (N, 4) rows [onset_s, offset_s, pitch, velocity], downbeats: notated downbeats (s), bpm: the
    notated beat's tempo} of render_everyday's piece `name` at seed offset `offset`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", DUMP, name, str(offset)],
        cwd=REPO / "bench", env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)
