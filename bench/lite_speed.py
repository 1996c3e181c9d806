"""Speed of the Lite coach: start-up (warm-up), analysis of a 3-minute recording, follow-up answers.

Usage: python bench/lite_speed.py [--minutes 3] [--score] [--repeats 3]
The recording is synthesised (llaqo.lite.synth.texture_notes): a two-hand texture of eighth notes at 120 BPM.
With --score, each take is analysed against its notes written as a MIDI score (the alignment runs too).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from common import quiet  # this folder is on the path of a script run from it

from llaqo.lite import synth
from llaqo.lite.coach import LiteCoach

SR = 44100  # a typical upload rate, so resampling is part of the measurement


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--score", action="store_true", help="analyse each take against its MIDI score")
    parser.add_argument("--repeats", type=int, default=3, help="takes analysed (each different)")
    args = parser.parse_args()
    start = time.perf_counter()
    coach = LiteCoach()
    print(f"start-up (model load + warm-up): {time.perf_counter() - start:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        notes = synth.texture_notes(args.minutes)
        score = Path(tmp) / "score.mid" if args.score else None
        if score is not None:
            synth.write_score(notes, score, bpm=120.0)
        paths = []
        for i in range(args.repeats):
            path = Path(tmp) / f"take{i}.wav"
            # a different final note per copy, so the content cache cannot answer
            soundfile.write(path, synth.render(notes[: len(notes) - i], SR, args.minutes * 60), SR)
            paths.append(path)
        times = []
        for path in paths:
            start = time.perf_counter()
            clip = coach.prepare(path, score_path=score)
            times.append(time.perf_counter() - start)
        print(
            f"analysis of a {args.minutes:g}-minute recording ({len(notes)} notes"
            f"{', with its score' if score else ''}): median {np.median(times):.2f} s, "
            f"best {min(times):.2f} s over {args.repeats} (each: {', '.join(f'{t:.2f}' for t in times)})"
        )
        start = time.perf_counter()
        coach.prepare(paths[0], score_path=score)
        print(f"prepare of a cached recording: {1000 * (time.perf_counter() - start):.1f} ms")
        answer_ms = []
        for q in (
            "How steady was my tempo?",
            "How were my dynamics?",
            "What should I practise?",
            "Rate it from 1 to 5",
            "Give me an overall assessment",
        ):
            start = time.perf_counter()
            "".join(coach.answer(clip, q))
            answer_ms.append(1000 * (time.perf_counter() - start))
        print(f"follow-up answers: max {max(answer_ms):.1f} ms over {len(answer_ms)} questions")
        start = time.perf_counter()
        coach.evidence(clip)
        print(f"evidence (3 figures, first time): {1000 * (time.perf_counter() - start):.0f} ms")
    # Other work on the machine slows every figure above; the load average says how busy it was.
    print(f"cores: {os.cpu_count()}, load average over the last minute: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
