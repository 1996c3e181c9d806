"""The class view's speed: 12 synthesized takes of one piece analysed one after another (1 process) and in
parallel (--workers processes), each run in a fresh interpreter so both pay the same start-up (imports, model
load, JIT compilation).

    PYTHONPATH=. python bench/classview_speed.py --workers 2 --beats 120 --out /tmp/classview-bench

Prints one JSON line per run: {"workers", "takes", "wall_s"}, then the speed-up. Timings on a shared machine
are noisy: compare the ratio of the two runs measured together.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import soundfile

from llaqo.lite import synth
from llaqo.lite.hearing import transcribe

N_TAKES = 12


def write_takes(folder: Path, beats: int) -> Path:
    """12 takes of one tune of `beats` beats at 100-144 BPM, and its score at 120 -> the score path."""
    folder.mkdir(parents=True, exist_ok=True)
    notes = synth.melody_notes(seed=7, n_beats=beats)
    for k in range(N_TAKES):
        bpm = 100 + 4 * k
        take = synth.melody_notes(seed=7, n_beats=beats, bpm=bpm)
        sr = transcribe.SAMPLE_RATE
        soundfile.write(folder / f"take-{k:02d}.wav", synth.render(take, sr), sr)
    score = folder / "score.mid"
    synth.write_score(notes, score, bpm=120)
    return score


def timed_run(folder: Path, score: Path, workers: int) -> float:
    command = [sys.executable, "-m", "llaqo", "analyze", str(folder), "--table", "--score", str(score)]
    start = time.perf_counter()
    subprocess.run([*command, "--workers", str(workers)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="a folder for the synthesized takes")
    parser.add_argument("--beats", type=int, default=120, help="length of the tune (120 beats: ~1 min at 120 BPM)")
    args = parser.parse_args()
    score = write_takes(args.out, args.beats)
    serial = timed_run(args.out, score, 1)
    print(json.dumps({"workers": 1, "takes": N_TAKES, "wall_s": round(serial, 1)}))
    parallel = timed_run(args.out, score, args.workers)
    print(json.dumps({"workers": args.workers, "takes": N_TAKES, "wall_s": round(parallel, 1)}))
    print(f"speed-up: {serial / parallel:.2f}x")


if __name__ == "__main__":
    main()
