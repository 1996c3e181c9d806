"""A 3-minute analysis timed in two source trees, alternately: main's and a branch's (issue 24's speed target).

The machine is shared and its load moves by the minute, so the two trees run in turns, round after round, each in
a fresh process with PYTHONPATH set to its tree, and the medians are compared. The take is synthesised
(llaqo.lite.synth.texture_notes, a two-hand texture of eighth notes at 120 BPM) and its notes are given as the
transcription: the transcriber is the same code in both trees, so leaving it out makes the difference look larger,
not smaller. Each process times, after one untimed warm-up run (the JIT-compiled code, the caches): the analysis
with the take's MIDI score, the evidence drawn from it (three figures and the marked score), and the analysis
without a score.

Usage: python bench/passes_ab_speed.py OLD_TREE NEW_TREE [--minutes 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SR = 22050
MEASURES = ("with score", "evidence", "without score")


def child(folder: Path) -> dict[str, float]:
    """In one tree: the seconds of each of MEASURES on the take in `folder` (its second run)."""
    from llaqo.lite.analysis import analyze
    from llaqo.lite.evidence import notation, plots
    from llaqo.lite.hearing.transcribe import Transcription

    notes = np.load(folder / "notes.npy")
    heard = Transcription(notes, np.zeros((0, 2)), np.zeros((0, 2)))
    audio, score = folder / "take.wav", folder / "score.mid"
    times: dict[str, float] = {}
    for _ in range(2):  # the first run warms up; the second is timed
        start = time.perf_counter()
        a = analyze(audio, score, transcriber=lambda wave, progress=None: heard)
        times["with score"] = time.perf_counter() - start
        start = time.perf_counter()
        plots.figures(a)
        notation.engrave(a)
        times["evidence"] = time.perf_counter() - start
        start = time.perf_counter()
        analyze(audio, transcriber=lambda wave, progress=None: heard)
        times["without score"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path, help="the reference tree (main)")
    parser.add_argument("new", type=Path, help="the tree under test (the branch)")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    import soundfile

    from llaqo.lite import synth

    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    results: dict[str, list[dict]] = {k: [] for k in trees}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        notes = synth.texture_notes(args.minutes)
        notes = notes[np.argsort(notes[:, 0], kind="stable")]
        np.save(folder / "notes.npy", notes)
        soundfile.write(folder / "take.wav", synth.render(notes, SR, args.minutes * 60), SR)
        synth.write_score(notes, folder / "score.mid", bpm=120.0)
        for r in range(args.rounds):
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):  # alternate which runs first
                env = os.environ | {"PYTHONPATH": str(trees[name])}
                run = subprocess.run(
                    [sys.executable, __file__, "old", "new", "--child", str(folder)],
                    env=env,
                    cwd=trees[name],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[name].append(json.loads(run.stdout.strip().splitlines()[-1]))
                print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in results[name][-1].items()))
    print(f"\n{args.minutes:g}-minute take ({len(notes)} notes), medians over {args.rounds} rounds:")
    for measure in MEASURES:
        old, new = (float(np.median([t[measure] for t in results[k]])) for k in ("old", "new"))
        print(f"  {measure}: old {old:.2f} s, new {new:.2f} s ({100 * (new / old - 1):+.1f}%)")
    print(f"cores: {os.cpu_count()}, load average over the last minute: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
