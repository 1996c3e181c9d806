"""How many of the project's files a reader visits following `LiteCoach.prepare` on a recording (audio only, or
with its score).

A visit is counted, by sys.settrace, each time a function of one llaqo file is called from a function of another
(the nearest calling frame inside llaqo; library frames between them are skipped). "files" is how many llaqo files
are visited at least once, "entries" how many visits there are, "returns" how many of them go back to a file
already left. The recording is synthesised (llaqo.lite.synth, a scale of 24 notes at 120 BPM), so the numbers
depend on the code only.

Usage: python bench/files_visited.py [--score] [--list]
Run it with PYTHONPATH set to the checkout to measure (main's, or a branch's) to compare the two.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType

import soundfile
from common import quiet  # this folder is on the path of a script run from it

import llaqo
from llaqo.lite import synth
from llaqo.lite.coach import LiteCoach
from llaqo.lite.hearing import transcribe

ROOT = Path(llaqo.__file__).resolve().parent


class Visits:
    """A sys.settrace hook that counts calls crossing from one llaqo file into another."""

    def __init__(self):
        self.entries: list[str] = []  # the entered file, per visit, in order
        self.returns = 0
        self._left: set[str] = set()

    def __call__(self, frame: FrameType, event: str, arg) -> None:
        if event != "call":
            return None
        here = self._ours(frame.f_code.co_filename)
        if here is None:
            return None
        caller = frame.f_back
        while caller is not None and self._ours(caller.f_code.co_filename) is None:
            caller = caller.f_back
        there = None if caller is None else self._ours(caller.f_code.co_filename)
        if there != here:
            if here in self._left:
                self.returns += 1
            if there is not None:
                self._left.add(there)
            self.entries.append(here)
        return None  # no line events: only calls are counted

    @staticmethod
    def _ours(filename: str) -> str | None:
        path = Path(filename)
        return str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT) else None


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--score", action="store_true", help="prepare the take with its MIDI score")
    parser.add_argument("--list", action="store_true", help="print each visited file and its visits")
    args = parser.parse_args()
    coach = LiteCoach(warm_up=False)
    notes = synth.scale_notes(bpm=120, n=24, first_pitch=48)
    with tempfile.TemporaryDirectory() as tmp:
        audio, score = Path(tmp) / "take.wav", Path(tmp) / "take.mid"
        soundfile.write(audio, synth.render(notes, transcribe.SAMPLE_RATE), transcribe.SAMPLE_RATE)
        synth.write_score(notes, score, bpm=120)
        LiteCoach(warm_up=False).prepare(audio, score_path=score if args.score else None)  # load what loads once
        visits = Visits()
        sys.settrace(visits)
        try:
            coach.prepare(audio, score_path=score if args.score else None)
        finally:
            sys.settrace(None)
    counted = Counter(visits.entries)
    path = "prepare" + (" with a score" if args.score else ", audio only")
    print(f"{path}: {len(counted)} files, {len(visits.entries)} entries, {visits.returns} returns")
    if args.list:
        for name, n in sorted(counted.items(), key=lambda item: -item[1]):
            print(f"  {n:5d}  {name}")


if __name__ == "__main__":
    main()
