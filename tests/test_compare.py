"""A take against a reference: the alignment recovers a known tempo warp (with and without a score), and the
answers name the bars that were slowed, with their numbers.

The clips are synthesized: a reference tune at 120 BPM and takes whose note times are warped by a known
function (llaqo.lite.synth.stretch_times), so the truth comes from outside the code under test.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile

from llaqo.lite import synth
from llaqo.lite.coach import LiteCoach
from llaqo.lite.evidence.compare_plots import comparison_figure
from llaqo.lite.hearing import transcribe
from llaqo.lite.practice import compare

SR = transcribe.SAMPLE_RATE
BPM = 120.0  # a 4/4 bar lasts 2 s, bar k spanning (2k - 2, 2k) s
WARP = [(2.0, 6.0, 1.3), (6.0, 10.0, 0.8), (10.0, 14.0, 1.2)]  # slower, faster, slower
SLOW_BARS = [(8.0, 12.0, 1.4)]  # bars 5-6 40% longer: the take is slowest there
MAX_MEDIAN_ERROR_S = 0.05


def write_take(path, notes: np.ndarray, spans) -> None:
    warped = notes.copy()
    warped[:, 0], warped[:, 1] = synth.stretch_times(notes[:, 0], spans), synth.stretch_times(notes[:, 1], spans)
    soundfile.write(path, synth.render(warped, SR), SR)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(coach, the reference tune's notes, {name: path}) for the reference, the two takes and the score."""
    folder = tmp_path_factory.mktemp("pair")
    notes = synth.melody_notes(seed=1, bpm=BPM)
    paths = {name: folder / f"{name}.wav" for name in ("reference", "warped", "slow")}
    soundfile.write(paths["reference"], synth.render(notes, SR), SR)
    write_take(paths["warped"], notes, WARP)
    write_take(paths["slow"], notes, SLOW_BARS)
    paths["score"] = folder / "score.mid"
    synth.write_score(notes, paths["score"], bpm=BPM)
    return LiteCoach(warm_up=False), notes, paths


@pytest.mark.parametrize("with_score", [False, True], ids=["audio", "score"])
def test_aligned_times_recover_a_known_warp(pair, with_score):
    coach, notes, paths = pair
    score = paths["score"] if with_score else None
    reference = coach.prepare(paths["reference"], score_path=score)
    take = coach.prepare(paths["warped"], score_path=score)
    comparison = coach.compare(take, reference)
    assert comparison.time_map.method == ("bars" if with_score else "audio")
    onsets = np.unique(notes[:, 0])
    errors = np.abs(comparison.time_map.take_time(onsets) - synth.stretch_times(onsets, WARP))
    assert np.median(errors) < MAX_MEDIAN_ERROR_S, f"median error {1000 * np.median(errors):.0f} ms"


def test_answer_names_the_slowed_bars_with_numbers(pair):
    coach, _, paths = pair
    reference = coach.prepare(paths["reference"], score_path=paths["score"])
    take = coach.prepare(paths["slow"], score_path=paths["score"])
    text = "".join(coach.answer(take, "Where was I slower than the reference?", reference=reference))
    slower = re.findall(r"slower than the reference in bars? (\d+)(?:-(\d+))?: (\d+) BPM against (\d+)", text)
    assert slower, text
    first, last, take_bpm, ref_bpm = slower[0]  # the largest difference comes first
    assert {5, 6} <= set(range(int(first), int(last or first) + 1)) <= {4, 5, 6, 7}, text
    assert abs(int(take_bpm) - BPM / 1.4) <= 6 and abs(int(ref_bpm) - BPM) <= 4, text
    # A follow-up on the pair, naming no comparison word, stays on the pair.
    follow = "".join(
        coach.answer(take, "and the dynamics?", [_turn("Where was I slower than the reference?")], reference=reference)
    )
    assert "relative to each recording's overall loudness" in follow
    figure = comparison_figure(coach.compare(take, reference))
    assert len(figure.axes[0].get_lines()) == 2  # both tempo curves


def test_answer_without_score_names_the_slowed_times(pair):
    coach, _, paths = pair
    reference, take = coach.prepare(paths["reference"]), coach.prepare(paths["slow"])
    text = "".join(coach.answer(take, "Where was I slower than my teacher?", reference=reference))
    places = re.findall(r"slower than the reference around (\d+):(\d+)-(\d+):(\d+)", text)
    assert places, text
    m0, s0, m1, s1 = map(int, places[0])
    start, end = synth.stretch_times(np.array([8.0, 12.0]), SLOW_BARS)  # the slowed bars in the take
    assert 60 * m0 + s0 < end and 60 * m1 + s1 > start, text


def test_a_comparison_without_a_score_decodes_neither_recording_again(pair, monkeypatch):
    """The audio alignment runs on the waves the analyses kept: nothing downstream decodes a file again."""
    from llaqo.lite import analysis

    coach, _, paths = pair
    reference, take = coach.prepare(paths["reference"]), coach.prepare(paths["warped"])

    def refuse(*args, **kwargs):
        raise AssertionError("a recording was decoded again")

    monkeypatch.setattr(analysis, "load_audio", refuse)
    comparison = compare.compare_takes(reference.payload.analysis, take.payload.analysis)
    assert comparison.time_map.method == "audio" and len(comparison.time_map.points)


def test_questions_without_a_reference_word_are_not_comparisons():
    from llaqo.lite.practice.compare_answers import asks_comparison

    assert asks_comparison("Where was I slower than the reference?")
    assert not asks_comparison("How was my pedalling?")
    assert asks_comparison("and softer?", "Where was I slower than the reference?")
    assert not asks_comparison("How was my pedalling?", "Where was I slower than the reference?")


def test_bar_alignment_needs_common_bars(pair):
    coach, _, paths = pair
    reference = coach.prepare(paths["reference"])  # no score: no bars to pair
    take = coach.prepare(paths["slow"], score_path=paths["score"])
    assert compare.align_bars(reference.payload.analysis, take.payload.analysis) is None


def _turn(question: str):
    from llaqo.protocol import Turn

    return Turn(question, "")
