"""The everyday case (issue 26): a phone in a room. Its reverberation hides the dampers' falls, and its automatic
gain flattens the loudness; the articulation rests on the transcribed key releases and the dynamics on the
transcribed velocities (the touch), which neither hides. The notes are given (the transcriber hears exactly what
was played), so these test what follows the transcription."""

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


def in_a_room(wave: np.ndarray, rt60_s: float, direct_to_reverberant_db: float) -> np.ndarray:
    """(samples,) -> the same heard in a room: an exponentially decaying noise tail, as make_phone.py's."""
    rng = np.random.default_rng(0)
    t = np.arange(1, int(SR * rt60_s * 1.2)) / SR
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s)
    tail *= np.sqrt(10 ** (-direct_to_reverberant_db / 10) / np.sum(tail**2))
    return signal.fftconvolve(wave, np.concatenate([[1.0], tail]))[: len(wave)]


def automatic_gain(wave: np.ndarray) -> np.ndarray:
    """(samples,) -> the level held near one target within ~50 ms, as a phone's recorder does."""
    envelope = np.sqrt(signal.lfilter([1 - 0.999], [1, -0.999], wave**2) + 1e-9)
    return wave * np.clip(0.1 / envelope, 0.1, 20.0)


def write(tmp_path, wave: np.ndarray, name: str):
    path = tmp_path / name
    soundfile.write(path, 0.7 * wave / np.abs(wave).max(), SR)
    return path


def test_legato_in_a_live_room_stays_legato(tmp_path):
    """A second of reverberation holds each string's sound up after its damper falls; the transcribed key
    releases still say legato (the dampers alone read these keys as detached: mixed)."""
    held = synth.scale_notes(BPM, n=15, legato=1.0)
    live = analyze(write(tmp_path, in_a_room(synth.render(held, SR), 1.0, -3.0), "live.wav"), transcriber=hears(held))
    assert live.articulation.label == "legato"
    detached = synth.scale_notes(BPM, n=15, legato=0.3)
    wave = in_a_room(synth.render(detached, SR), 1.0, -3.0)
    assert analyze(write(tmp_path, wave, "short.wav"), transcriber=hears(detached)).articulation.label == "staccato"


def test_a_crescendo_through_automatic_gain(tmp_path):
    """The gain holds the level within ~4 dB, so the notes' band levels are flat; the velocities rise."""
    notes = synth.scale_notes(BPM, n=15)
    notes[:, 3] = np.linspace(30, 120, len(notes))
    result = analyze(write(tmp_path, automatic_gain(synth.render(notes, SR)), "agc.wav"), transcriber=hears(notes))
    assert result.dynamics.label == "crescendo"
    even = synth.scale_notes(BPM, n=15)
    flat = analyze(write(tmp_path, automatic_gain(synth.render(even, SR)), "even.wav"), transcriber=hears(even))
    assert flat.dynamics.label == "flat"
