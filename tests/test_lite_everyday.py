"""The everyday case (issue 26): a phone's automatic gain flattens the loudness, so the dynamics label weighs in
the transcribed velocities (the touch), which the gain does not flatten. The notes are given (the transcriber
hears exactly what was played), so this tests what follows the transcription."""

import numpy as np
import soundfile
from scipy import signal

from llaqo.lite import synth
from llaqo.lite.analysis import analyze
from llaqo.lite.hearing.transcribe import Transcription

SR = 22050
BPM = 100.0


def hears(notes: np.ndarray):
    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    return lambda wave, progress=None: Transcription(notes, np.zeros((0, 2)), np.zeros((0, 2)))


def automatic_gain(wave: np.ndarray) -> np.ndarray:
    """(samples,) -> the level held near one target within ~50 ms, as a phone's recorder does."""
    envelope = np.sqrt(signal.lfilter([1 - 0.999], [1, -0.999], wave**2) + 1e-9)
    return wave * np.clip(0.1 / envelope, 0.1, 20.0)


def write(tmp_path, wave: np.ndarray, name: str):
    path = tmp_path / name
    soundfile.write(path, 0.7 * wave / np.abs(wave).max(), SR)
    return path


def test_a_crescendo_through_automatic_gain(tmp_path):
    """The gain holds the level within ~4 dB, so the notes' band levels are flat; the velocities rise."""
    notes = synth.scale_notes(BPM, n=15)
    notes[:, 3] = np.linspace(30, 120, len(notes))
    result = analyze(write(tmp_path, automatic_gain(synth.render(notes, SR)), "agc.wav"), transcriber=hears(notes))
    assert result.dynamics.label == "crescendo"
    even = synth.scale_notes(BPM, n=15)
    flat = analyze(write(tmp_path, automatic_gain(synth.render(even, SR)), "even.wav"), transcriber=hears(even))
    assert flat.dynamics.label == "flat"
