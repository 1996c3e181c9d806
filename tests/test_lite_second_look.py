"""The transcriber's second look (hearing.second_look, alignment.recheck): Transkun's onset posterior at a few asked
moments, and the missed notes it re-decides. These run the real Transkun 2.0 weights (they ship in its wheel) on
short synthesised clips: one model segment each."""

from __future__ import annotations

import numpy as np
import soundfile

from llaqo.lite import synth
from llaqo.lite.analysis import analyze
from llaqo.lite.hearing.second_look import onset_probabilities
from llaqo.lite.hearing.transcribe import Transcription

SR = 22050
BEAT = 60.0 / 90.0


def test_a_struck_key_has_a_high_onset_posterior_and_a_silent_one_none():
    notes = np.array([[0.5, 3.0, 60, 80], [1.0, 1.8, 64, 80], [1.5, 2.5, 67, 80], [1.5, 2.5, 48, 80]], float)
    wave = synth.render_struck(notes, SR)
    asks = [(60, 0.5), (64, 1.0), (67, 1.5), (48, 1.5), (60, 1.5), (62, 0.5), (55, 1.5), (67, 2.7)]
    p = onset_probabilities(wave, SR, asks)
    assert (p[:4] > 0.5).all(), p  # struck
    assert (p[4:] < 0.01).all(), p  # still ringing (C4 at 1.5 s), never struck, or struck 1.2 s before


def take(tmp_path, restruck: bool) -> dict:
    """4 bars at 90 BPM: a right-hand melody in quarters over a left-hand C3 on beats 1 and 3. In bar 2 the pianist
    holds the first C3 through beat 3, and re-strikes it there or not; the transcriber hears one long C3 either way
    (as Transkun merges a key re-struck while it rings) -> the score report."""
    rows = []
    for bar in range(4):
        rows += [[4 * bar + k, 0.9, p, 80] for k, p in enumerate((72, 74, 76, 77))]
        rows += [[4 * bar + k, 1.9, 48, 80] for k in (0, 2)]
    written = np.array(rows, float)
    written[:, 1] += written[:, 0]
    written[:, :2] = 0.5 + written[:, :2] * BEAT
    written = written[np.argsort(written[:, 0], kind="stable")]
    second = int(np.flatnonzero((written[:, 2] == 48) & np.isclose(written[:, 0], 0.5 + 6 * BEAT))[0])
    first = int(np.flatnonzero((written[:, 2] == 48) & np.isclose(written[:, 0], 0.5 + 4 * BEAT))[0])
    heard = written.copy()
    heard[first, 1] = written[second, 1]  # one long C3
    heard = np.delete(heard, second, axis=0)
    played = np.vstack([heard, written[second]]) if restruck else heard
    score, clip = tmp_path / f"score{restruck}.mid", tmp_path / f"take{restruck}.wav"
    synth.write_score(written, score, 90.0, hands=(written[:, 2] < 60).astype(int))
    soundfile.write(clip, synth.render_struck(played[np.argsort(played[:, 0], kind="stable")], SR), SR)
    notes = heard[np.argsort(heard[:, 0], kind="stable")]
    transcriber = lambda wave, progress=None: Transcription(notes, np.zeros((0, 2)), np.zeros((0, 2)))  # noqa: E731
    return analyze(clip, score, transcriber=transcriber).to_json()["score"]


def test_a_key_held_through_its_next_note_without_striking_it_again_is_missed(tmp_path):
    """Before the second look, a notated note under an earlier note of its pitch that sounds on was excused as a
    re-strike the transcriber merged; Transkun's own posterior tells the two apart."""
    found = take(tmp_path, restruck=False)
    assert [(m["pitch"], m["bar"]) for m in found["missed"]] == [(48, 2)]
    assert take(tmp_path, restruck=True)["missed"] == []
