"""Hand balance, chord asynchrony and run evenness on synthesized clips whose values we set."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from llaqo.lite import analysis, synth

SR = 22050
BALANCE_TOL_DB = 2.0  # level of a note from its harmonic bands: +-2 dB on the synthesizer
SPREAD_TOL_MS = 25.0  # an onset under a ringing chord is placed to about two transcription frames (2 x 12 ms)
CV_TOL_PCT = 5.0


def render(tmp_path, notes, name):
    path = tmp_path / f"{name}.wav"
    soundfile.write(path, synth.render(notes, SR), SR)
    return path


@pytest.fixture(scope="module")
def waltz(tmp_path_factory):
    """12 bars of 3/4 at 120 BPM: a right-hand melody at velocity 100 over a left-hand bass and chords at 50,
    i.e. 20 log10((100/50)^2) = 12.0 dB apart (the synthesizer's loudness follows velocity squared)."""
    tmp = tmp_path_factory.mktemp("waltz")
    rows, hands = [], []
    melody = [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74]
    for bar, top in enumerate(melody):
        t0 = 0.5 + 1.5 * bar
        rows.append([t0, t0 + 1.4, top, 100])
        hands.append(0)
        rows.append([t0, t0 + 0.45, 43 + (bar % 3) * 2, 50])
        hands.append(1)
        for k in (1, 2):
            for p in (55, 59, 62):
                rows.append([t0 + 0.5 * k, t0 + 0.5 * k + 0.4, p + bar % 2, 50])
                hands.append(1)
    notes, hands = np.array(rows, dtype=float), np.array(hands)
    order = np.argsort(notes[:, 0], kind="stable")
    notes, hands = notes[order], hands[order]
    audio, score = render(tmp, notes, "waltz"), tmp / "waltz.mid"
    synth.write_score(notes, score, 120, hands=hands)
    return audio, score


def test_hand_balance_from_the_score_tracks(waltz):
    j = analysis.analyze(*waltz).to_json()["balance"]
    assert j["source"] == "score"
    assert j["right_minus_left_db"] == pytest.approx(12.0, abs=BALANCE_TOL_DB)
    assert j["melody_minus_accompaniment_db"] == pytest.approx(12.0, abs=BALANCE_TOL_DB)
    per_bar = [s[2] for s in j["segments"] if s[2] is not None]
    assert len(per_bar) >= 5 and all(abs(d - 12.0) <= 2 * BALANCE_TOL_DB for d in per_bar)


def test_voicing_without_a_score_splits_by_voice(waltz):
    j = analysis.analyze(waltz[0]).to_json()["balance"]
    assert j["source"] == "voice" and j["right_minus_left_db"] is None
    assert j["melody_minus_accompaniment_db"] == pytest.approx(12.0, abs=BALANCE_TOL_DB)


def test_a_quiet_melody_is_measured_below_its_accompaniment(tmp_path):
    rows = []
    for i in range(16):
        t = 0.5 + 0.5 * i
        rows += [[t, t + 0.45, (75, 78, 80, 82)[i % 4], 64], [t, t + 0.45, 48, 100], [t, t + 0.45, 55, 100]]
    j = analysis.analyze(render(tmp_path, np.array(rows, dtype=float), "covered")).to_json()["balance"]
    assert j["melody_minus_accompaniment_db"] == pytest.approx(-7.8, abs=BALANCE_TOL_DB)  # 40 log10(64 / 100)


def test_chord_asynchrony_and_rolled_chords(tmp_path):
    """Eight chords: four together, four rolled upwards over 90 ms (30 ms between notes)."""
    rows = []
    for i in range(8):
        t = 0.5 + 0.75 * i
        step = 0.03 if i % 2 else 0.0
        for k, p in enumerate((48, 55, 64, 71)):  # no octave or twelfth: no overtone onsets
            rows.append([t + k * step, t + 0.6, p + (i % 3), 80])
    j = analysis.analyze(render(tmp_path, np.array(rows, dtype=float), "chords")).to_json()["chords"]
    chords = np.array(j["chords"])
    assert len(chords) == 8
    rolled, together = chords[1::2], chords[::2]
    assert np.all(np.abs(rolled[:, 1] - 90) <= SPREAD_TOL_MS) and rolled[:, 3].all()
    assert np.all(together[:, 1] <= SPREAD_TOL_MS) and not together[:, 3].any()
    assert j["n_rolled"] == 4


def test_run_evenness(tmp_path):
    """Two sixteenth-note runs at 120 BPM (125 ms apart): one even, one alternating 105/145 ms (CV 16%)."""
    even = [[0.5 + 0.125 * i, 0.5 + 0.125 * i + 0.11, 60 + i % 12, 80] for i in range(16)]
    t, uneven = 3.5, []
    for i in range(16):
        uneven.append([t, t + 0.1, 72 - i % 12, 80])
        t += 0.105 if i % 2 == 0 else 0.145
    notes = np.array(even + uneven, dtype=float)
    j = analysis.analyze(render(tmp_path, notes, "runs")).to_json()["runs"]
    runs = np.array(j["runs"])
    assert len(runs) == 2
    assert runs[0, 4] < 6 and runs[0, 3] == pytest.approx(125, abs=5)
    assert runs[1, 4] == pytest.approx(16.0, abs=CV_TOL_PCT)
