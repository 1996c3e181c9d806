"""The time the passes add to an analysis with a score: alignment/passes.find_passes (the jump-aware path, then
align.align) and pass_report.judge_passes (each pass's own report) against align.align alone, on the notes of a
synthesised take with its own score (no audio: the transcription, which dominates a whole analysis, is left out).

Usage: python bench/passes_speed.py [--minutes 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import quiet  # this folder is on the path of a script run from it

from llaqo.lite import synth
from llaqo.lite.alignment import align, pass_report, passes, score


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    notes = synth.texture_notes(args.minutes)
    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    with tempfile.TemporaryDirectory() as tmp:
        synth.write_score(notes, Path(tmp) / "score.mid", 120.0)
        notated = score.load_score(Path(tmp) / "score.mid")
    align.align(notes, notated)  # warm: librosa's import and its compiled DTW
    before = median_seconds(lambda: align.align(notes, notated), args.repeats)
    curve = np.stack([np.arange(0.0, args.minutes * 60, 0.05), np.full(int(args.minutes * 1200), -20.0)], axis=1)
    levels = np.full(len(notes), -20.0)  # a flat loudness: the reports' cost does not depend on the levels

    def with_passes() -> int:
        found = passes.find_passes(notes, notated)
        return len(pass_report.judge_passes(found, notes, notated, curve, levels))

    after = median_seconds(with_passes, args.repeats)
    print(f"{len(notes)} notes, {args.minutes:g} minutes, {with_passes()} pass(es) found")
    print(f"align.align {before:.2f} s; find_passes + judge_passes {after:.2f} s: {after - before:+.2f} s more")


if __name__ == "__main__":
    main()
