"""Beat, metre and downbeats without a score, on synthesized pieces whose metre and timing are known."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile

from llaqo.lite import synth
from llaqo.lite.analysis import analyze
from llaqo.lite.answers.answers import answer_sentences
from llaqo.lite.evidence import plots
from llaqo.lite.hearing import metre, tempo

SR = 22050
METRES = [  # (beats per bar, compound, beats a minute, time signature)
    (2, False, 100.0, "2/4"),
    (3, False, 132.0, "3/4"),
    (4, False, 84.0, "4/4"),
    (2, True, 60.0, "6/8"),
]


@pytest.mark.parametrize("pickup", [0, 1])
@pytest.mark.parametrize(("beats_per_bar", "compound", "bpm", "name"), METRES)
def test_metre_and_downbeats(beats_per_bar, compound, bpm, name, pickup):
    for seed in range(2):
        notes, beats, downbeats, _ = synth.metre_piece(beats_per_bar, compound, bpm, pickup_beats=pickup, seed=seed)
        found = metre.infer_metre(notes)
        assert found is not None
        assert found.name == name
        assert found.beat_unit == ("dotted quarter" if compound else "quarter")
        assert 60.0 / np.median(np.diff(found.beats)) == pytest.approx(bpm, rel=0.03)
        assert found.downbeats[0] == pytest.approx(downbeats[0], abs=0.05)  # a pickup is not bar 1
        assert found.confident
        hits = [np.min(np.abs(downbeats - d)) <= 0.05 for d in found.downbeats]
        assert np.mean(hits) >= 0.9


@pytest.mark.parametrize("pickup", [0, 1, 2])
@pytest.mark.parametrize("middle_bass", [0, 7])
def test_four_beat_bar_with_a_bass_note_on_its_third_beat(middle_bass, pickup):
    """A march's or a hymn's left hand: the bass on beats 1 and 3, the harmony changing once a bar. The bar is
    the span of a harmony, not of a bass note (4/4, not 2/4), and its first beat carries the lowest bass note
    (when the third's is the fifth above it) or the harmony change (when it is the same note)."""
    for seed in range(2):
        notes, _, downbeats, _ = synth.metre_piece(
            4, False, 88.0, pickup_beats=pickup, seed=seed, middle_bass=middle_bass
        )
        found = metre.infer_metre(notes)
        assert found.name == "4/4"
        assert found.downbeats[0] == pytest.approx(downbeats[0], abs=0.05)
        assert found.confident


@pytest.mark.parametrize(("end_ratio", "label"), [(0.7, "ritardando"), (1.3, "accelerando"), (1.0, "steady")])
def test_tempo_change_in_the_second_half_is_followed(end_ratio, label):
    notes, beats, _, _ = synth.metre_piece(4, False, 96.0, n_bars=10, end_ratio=end_ratio, seed=3)
    found = metre.infer_metre(notes)
    measured = tempo.tempo_from_beats(tempo.smooth_beats(found.beats), None, "audio")
    assert measured.label == label
    true_end = 60.0 / np.diff(beats)[-3:].mean()
    assert measured.end_bpm == pytest.approx(true_end, rel=0.05)


@pytest.mark.parametrize("bpm", [90.0, 132.0, 140.0])
def test_melody_in_quarters_over_chords_every_other_beat_is_counted_in_quarters(bpm):
    """Up to a brisk tempo, a melody in quarters is the beat and the chords on every other beat make its bars
    (2/4), rather than half notes with the melody's quarters as their off-beats (the grounding take at 132)."""
    beat = 60.0 / bpm
    rows = []
    for i in range(32):
        t = 0.5 + i * beat
        rows.append([t, t + 0.9 * beat, 72 + (i * 2) % 7, 70])
        if i % 2 == 0:
            rows += [[t, t + 1.8 * beat, 48 + i % 5, 60], [t, t + 1.8 * beat, 55 + i % 5, 60]]
    notes = np.array(rows)
    found = metre.infer_metre(notes[np.argsort(notes[:, 0], kind="stable")])
    assert 60.0 / np.median(np.diff(found.beats)) == pytest.approx(bpm, rel=0.03)
    assert found.downbeats[0] == pytest.approx(0.5, abs=0.05)


def test_bar_numbers_follow_the_first_downbeat():
    notes, _, downbeats, _ = synth.metre_piece(3, False, 120.0, pickup_beats=1, seed=1)
    found = metre.infer_metre(notes)
    assert found.bar_at(np.array([downbeats[0] - 0.2, downbeats[0] + 0.01, downbeats[2] + 0.01])).tolist() == [0, 1, 3]
    assert found.alt_unit == "bar"
    assert found.to_json()["name"] == "3/4"


def test_bars_that_move_halfway_are_not_trusted():
    """Six bars of 4/4, then a bar with a beat added, then six more: each half hears its bars in one place, and
    no single bar grid fits both, so the answers must cite times rather than bar numbers."""
    for seed in range(2):
        first, _, downbeats, _ = synth.metre_piece(4, False, 96.0, n_bars=6, seed=seed)
        first = first[first[:, 0] < downbeats[-1] - 0.01]  # without its closing chord
        start = downbeats[-1] + 60.0 / 96.0  # one beat later than the next bar would start
        second, _, _, _ = synth.metre_piece(4, False, 96.0, n_bars=6, seed=seed + 10, start_s=start)
        notes = np.concatenate([first, second])
        found = metre.infer_metre(notes[np.argsort(notes[:, 0], kind="stable")])
        assert not found.confident


def test_too_few_chords_give_no_metre():
    assert metre.infer_metre(synth.scale_notes(100.0, n=5)) is None


def test_analysis_without_score_counts_bars(tmp_path):
    """The heard metre through the analysis, the JSON, the answers and the plots. The analysis is given the
    notes played, so the test follows what comes after the transcription, not how Transkun hears the
    synthesiser (the transcriber has tests of its own, on real renderings too)."""
    from llaqo.lite.hearing.transcribe import Transcription

    notes, beats, downbeats, _ = synth.metre_piece(3, False, 120.0, n_bars=6, pickup_beats=1, seed=2)
    path = tmp_path / "waltz.wav"
    soundfile.write(path, synth.render(notes, SR), SR)
    played = notes[np.argsort(notes[:, 0], kind="stable")]
    analysis = analyze(
        path, transcriber=lambda wave, progress=None: Transcription(played, np.zeros((0, 2)), np.zeros((0, 2)))
    )
    result = analysis.to_json()
    assert result["metre"]["name"] == "3/4"
    assert result["metre"]["downbeats_s"][0] == pytest.approx(downbeats[0], abs=0.1)
    assert result["tempo"]["bpm"] == pytest.approx(120.0, rel=0.03)
    assert result["dynamics"]["segment_kind"] == "bar"
    bars = result["bars"]
    # Bars count from the first downbeat; the one-beat pickup is too short to judge alone and joins bar 1.
    assert [b["bar"] for b in bars][:3] == [1, 2, 3]
    assert bars[1]["start_s"] == pytest.approx(downbeats[1], abs=0.1)
    assert "n_errors" not in bars[1]
    # Answers and plots use the heard bars: cited as bars, said once to be counted from the first downbeat.
    tempo_answer = " ".join(answer_sentences(analysis, "How was my tempo?"))
    said = re.search(r"About (\d+) BPM \(counting quarter notes; (\d+) if you count whole bars\)", tempo_answer)
    assert said is not None and abs(int(said[1]) - 120) <= 2 and abs(int(said[2]) - 40) <= 1
    dynamics_answer = answer_sentences(analysis, "How were my dynamics?")
    assert any("bar " in line for line in dynamics_answer[:-1])
    assert dynamics_answer[-1].startswith("(Bars are counted from the first downbeat I heard")
    figure = plots.tempo_figure(analysis)
    assert len(figure.axes[0].lines) == 1 + len(bars)  # the curve and one line per bar


def test_pedal_harmony_windows_halve_a_bar_of_four():
    """In common time the harmony, and the pedal with it, often changes on beat 3: the pedal is judged over half
    bars there, over whole bars in a bar of three."""
    from llaqo.lite.measures.bars import half_bars

    beats = np.arange(16.0)
    four = metre.Metre(beats, beats[1::4], 4, False, "quarter", "eighth", 2.0, 1.0)
    bounds = np.array([0.0, 1.0, 5.0, 9.0, 13.0, 16.0])
    assert half_bars(four, bounds).tolist() == [0.0, 1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 16.0]
    three = metre.Metre(beats, beats[1::3], 3, False, "quarter", "eighth", 2.0, 1.0)
    assert half_bars(three, bounds).tolist() == bounds.tolist()
