"""Speed of engraving a marked score: a 100-bar, two-staff score (1200 notes) with 30 marked errors and shaded
bars -> SVG pages, through llaqo.lite.evidence.notation.engrave (verovio lays out the score as the analysis
loaded it and draws it, the marks are drawn in).

Usage: python bench/notation_speed.py [--bars 100] [--midi] [--page-width 1400]
The score is synthesised (right-hand eighths over left-hand quarters in 4/4) and written as MIDI, then as
MusicXML by partitura; --midi engraves the MIDI score itself (partitura converts it inside engrave()). The score
report marked on it is made up (every 10th bar: a wrong, a missed and an extra note; every 7th bar off tempo;
pedal blurred in every 9th), because the time measured is the engraving's, not the analysis's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from common import quiet  # this folder is on the path of a script run from it

from llaqo.lite import synth
from llaqo.lite.alignment import score
from llaqo.lite.alignment.score_report import NoteEvent
from llaqo.lite.analysis import analyze
from llaqo.lite.evidence import notation
from llaqo.lite.measures.bars import BarView

BPM = 120.0
REPEATS = 3


def score_notes(bars: int) -> np.ndarray:
    """(N, 4) notes of `bars` bars at BPM: right-hand eighths over left-hand quarters."""
    rng = np.random.default_rng(0)
    beat = 60 / BPM
    right = [(i * beat / 2, (i + 1) * beat / 2, 60 + int(rng.integers(0, 19)), 80) for i in range(8 * bars)]
    left = [(i * beat, (i + 1) * beat, 36 + int(rng.integers(0, 12)), 80) for i in range(4 * bars)]
    return np.array(sorted(right + left), dtype=float)


def marked_analysis(tmp: Path, notes: np.ndarray, bars: int):
    """A real Analysis of a short take, with a made-up score report over all `bars` bars."""
    short = synth.scale_notes(BPM, n=12)
    soundfile.write(tmp / "take.wav", synth.render(short, 22050), 22050)
    synth.write_score(short, tmp / "take.mid", BPM)
    base = analyze(tmp / "take.wav", tmp / "take.mid")
    bar_s = 4 * 60 / BPM
    views = [
        BarView(b, (b - 1) * bar_s, b * bar_s, BPM * (1.2 if b % 7 == 0 else 1.0), -20.0, 0) for b in range(1, bars + 1)
    ]
    wrong, missed, extra = [], [], []
    for b in range(1, bars + 1, 10):
        in_bar = notes[(notes[:, 0] >= (b - 1) * bar_s) & (notes[:, 0] < b * bar_s)]
        first, second = in_bar[0], in_bar[1]
        wrong.append(NoteEvent("wrong", first[0], int(first[2]) + 1, int(first[2]), b))
        missed.append(NoteEvent("missed", second[0], int(second[2]), None, b))
        extra.append(NoteEvent("extra", second[0] + 0.1, 90, None, b))
    report = dataclasses.replace(
        base.score, wrong=wrong, missed=missed, extra=extra, bars=views, performed_bars=(1, bars)
    )
    blurred = np.array([(b - 1) * bar_s + 0.5 for b in range(9, bars + 1, 9)])
    return dataclasses.replace(base, score=report, pedal=dataclasses.replace(base.pedal, blurred_s=blurred))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100)
    parser.add_argument("--midi", action="store_true", help="engrave the MIDI file (partitura converts it)")
    parser.add_argument("--page-width", type=int, default=notation.EngraveConfig.page_width, help="verovio units")
    args = parser.parse_args()
    quiet()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notes = score_notes(args.bars)
        synth.write_score(notes, tmp / "score.mid", BPM)
        path = tmp / "score.mid"
        if not args.midi:
            path = tmp / "score.musicxml"
            path.write_text(notation.musicxml(score.load_score(tmp / "score.mid")))
        # The made-up report is marked on this score (loaded once, as analyze() loads it).
        a = dataclasses.replace(marked_analysis(tmp, notes, args.bars), notated=score.load_score(path))
        times, result = [], None
        for _ in range(REPEATS):
            start = time.perf_counter()
            result = notation.engrave(a, notation.EngraveConfig(page_width=args.page_width))
            times.append(time.perf_counter() - start)
    kind = "MIDI" if args.midi else "MusicXML"
    marked = {k: len(v) for k, v in result.marked.items()}
    shaded = {k: len(v) for k, v in result.bars.items()}
    each = ", ".join(f"{t:.2f}" for t in times)
    print(
        f"engrave a {args.bars}-bar {kind} score, page width {args.page_width} ({len(notes)} notes, "
        f"marks {marked}, shaded bars {shaded}) -> "
        f"{len(result.pages)} pages: median {np.median(times):.2f} s, best {min(times):.2f} s over {REPEATS} ({each})"
    )
    print(f"cores: {os.cpu_count()}, load average over the last minute: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
