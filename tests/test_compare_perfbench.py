"""The alignment of a take with a reference on a real rendering: one perfbench dev performance rendered twice
with FluidSynth by bench/render_variants.py, once as played and once with a known tempo warp (--warp). The
aligned times of the performance's notes must be within 50 ms (median) of the warp's truth, with and without
the score. Skips without ../shared/perfbench, fluidsynth or a GM SoundFont.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llaqo.lite import synth
from llaqo.lite.coach import LiteCoach

REPO = Path(__file__).resolve().parents[1]
# ../shared from the repository root; LLAQO_PERFBENCH_DEV points elsewhere (e.g. from a git worktree).
PERFBENCH = Path(os.environ.get("LLAQO_PERFBENCH_DEV", REPO.parent / "shared" / "perfbench" / "dev"))
TAKE = "d09_minuet_in_g"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
WARP = "6:12:1.3,16:22:0.85"
MAX_MEDIAN_ERROR_S = 0.05

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PERFBENCH / TAKE).is_dir(), reason=f"no perfbench take at {PERFBENCH / TAKE}"),
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed"),
    pytest.mark.skipif(not SOUNDFONT.is_file(), reason=f"no SoundFont at {SOUNDFONT} (fluid-soundfont-gm)"),
]


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    out = tmp_path_factory.mktemp("renders")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name, extra in (("plain", []), ("warped", ["--warp", WARP])):
        command = [sys.executable, str(REPO / "bench" / "render_variants.py"), "--perfbench", str(PERFBENCH)]
        command += ["--soundfont", str(SOUNDFONT), "--only", TAKE, "--out", str(out / name), *extra]
        subprocess.run(command, check=True, capture_output=True, env=env, timeout=300)
    return out / "plain" / TAKE, out / "warped" / TAKE


@pytest.mark.parametrize("with_score", [False, True], ids=["audio", "score"])
def test_rendered_warp_is_recovered(renders, with_score):
    plain, warped = renders
    spans = json.loads((warped / "warp.json").read_text())["spans"]
    score = PERFBENCH / TAKE / "score.mid" if with_score else None
    coach = LiteCoach(warm_up=False)
    reference = coach.prepare(plain / "audio.flac", score_path=score)
    take = coach.prepare(warped / "audio.flac", score_path=score)
    comparison = coach.compare(take, reference)
    onsets = np.unique([n[0] for n in json.loads((PERFBENCH / TAKE / "truth.json").read_text())["notes"]])
    errors = np.abs(comparison.time_map.take_time(onsets) - synth.stretch_times(onsets, spans))
    assert np.median(errors) < MAX_MEDIAN_ERROR_S, f"median error {1000 * np.median(errors):.0f} ms"
