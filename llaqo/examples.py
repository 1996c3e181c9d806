"""Example recordings the project makes itself (synthesized, so nothing is downloaded), and example questions
of the kinds the model was trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from llaqo.lite import synth

SAMPLE_RATE = 22050

QUESTIONS = (
    "How would you rate the performance, in a scale of 5?",
    "Is the pedal change clean?",
    "How is the dynamics change in the piece?",
    "Is the performed tempo stable?",
    "What should I practise next?",
)


def _steady_scale() -> np.ndarray:
    """A C-major scale, two octaves up, at a steady 96 BPM, legato, mezzo-forte."""
    return synth.scale_notes(bpm=96, n=15, velocity=80)


def _detached_scale() -> np.ndarray:
    """The same scale at 100 BPM played staccato: each note held for a third of its beat."""
    return synth.scale_notes(bpm=100, n=16, velocity=80, legato=0.35)


def _crescendo_arpeggio() -> np.ndarray:
    """A G-major arpeggio from G2 to B4, twice, growing from piano to forte, staccato. (Four octaves up to G7, as
    it was, took the top notes out of what Transkun hears of the synthesiser: 5 of 16 were heard.)"""
    notes = synth.scale_notes(bpm=110, n=16, velocity=40, legato=0.4, first_pitch=55)
    arpeggio = [43, 47, 50, 55, 59, 62, 67, 71]
    notes[:, 2] = arpeggio + arpeggio
    notes[:, 3] = np.linspace(35, 110, 16)
    return notes


RECORDINGS = {
    "steady_scale.wav": _steady_scale,
    "detached_scale.wav": _detached_scale,
    "crescendo_arpeggio.wav": _crescendo_arpeggio,
}


def write_examples(folder: str | Path) -> list[Path]:
    """Render the example recordings into folder (once; existing files are kept). Returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, notes in RECORDINGS.items():
        path = folder / name
        if not path.is_file():
            soundfile.write(str(path), synth.render_struck(notes(), SAMPLE_RATE), SAMPLE_RATE)
        paths.append(path)
    return paths
