"""The score engraved with the performance marked on it, and the passages an answer cites, on a synthesized
take of a MusicXML (and a MIDI) score with known wrong and missed notes."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile

from llaqo.lite import synth
from llaqo.lite.analysis import analyze
from llaqo.lite.answers import answers, passages
from llaqo.lite.answers.grounding import Place
from llaqo.lite.evidence import notation
from llaqo.lite.measures import key as keys

SR = 22050
BPM = 100.0
WRONG = {5: +1, 10: -1}  # note index -> semitones off: Bb3 for A3 in bar 2, E4 for F4 in bar 3
MISSED = 13  # B4 in bar 4 is not played


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    """16 quarter notes (4 bars of 4/4) written as MusicXML and as MIDI, played with two wrong and one missed."""
    tmp = tmp_path_factory.mktemp("notation")
    written = synth.scale_notes(BPM, n=16, start_s=0.6, legato=1.0)
    synth.write_musicxml(written[:, 2].astype(int).tolist(), tmp / "score.musicxml", BPM)
    synth.write_score(written, tmp / "score.mid", BPM)
    played = synth.scale_notes(BPM, n=16, start_s=0.6)
    for k, shift in WRONG.items():
        played[k, 2] += shift
    played = np.delete(played, MISSED, axis=0)
    soundfile.write(tmp / "take.wav", synth.render(played, SR), SR)
    return tmp, written


@pytest.fixture(scope="module")
def analysis(take):
    tmp, _ = take
    return analyze(tmp / "take.wav", tmp / "score.musicxml")


def test_musicxml_wrong_and_missed_notes_are_marked_on_the_right_notes(take, analysis):
    _, written = take
    engraved = notation.engrave(analysis)
    assert engraved.marked["wrong"] == [f"n{k}" for k in WRONG]  # the ids the score file gives those notes
    assert engraved.marked["missed"] == [f"n{MISSED}"]
    svg = "".join(engraved.pages)
    for k in WRONG:
        assert re.search(rf'<g id="n{k}" class="note llaqo-wrong" fill="{notation.COLOURS["wrong"]}"', svg)
    assert re.search(rf'<g id="n{MISSED}" class="note llaqo-missed" fill="{notation.COLOURS["missed"]}"', svg)
    played = [keys.spell(int(written[k, 2]) + s, analysis.key) for k, s in WRONG.items()]
    assert re.findall(r'class="llaqo-played"[^>]*>([^<]+)<', svg) == played == ["Bb3", "E4"]
    assert svg.count('class="mNum') == 4  # every bar numbered


def test_midi_score_renders_with_numbered_bars(take, monkeypatch):
    import partitura

    tmp, _ = take
    result = analyze(tmp / "take.wav", tmp / "score.mid")

    def refuse(*args, **kwargs):
        raise AssertionError("the score was parsed again")

    monkeypatch.setattr(partitura, "load_score", refuse)  # engraved from the score the analysis read
    engraved = notation.engrave(result)
    svg = "".join(engraved.pages)
    numbers = [int(n) for n in re.findall(r'class="mNum[^"]*"[^>]*>.*?<tspan[^>]*>(\d+)</tspan>', svg, re.S)]
    bars = [b.bar for b in result.score.bars]
    assert numbers and set(numbers) >= set(bars[1:])
    assert len(engraved.marked["wrong"]) == len(WRONG)  # partitura's ids differ, but the marks land
    paths = notation.write_pages(engraved, tmp / "out", "take")
    assert [p.name for p in paths][0] == "take-score-1.svg" and paths[0].read_text().startswith("<svg")


def test_the_time_grid_is_the_score_s_bars_where_they_were_played(analysis):
    timeline, views = analysis.timeline, analysis.score.bars
    assert timeline.kind == "bar" and analysis.notated is not None
    assert np.allclose(timeline.bounds[:-1], [b.start_s for b in views])
    assert list(timeline.numbers[:-1]) == [b.bar for b in views]
    assert list(timeline.bar_at(np.array([b.start_s + 0.05 for b in views]))) == [b.bar for b in views]


def test_tempo_and_pedal_bars_are_highlighted(take, analysis):
    import dataclasses

    bars = analysis.score.bars
    rushed = dataclasses.replace(bars[2], bpm=bars[2].bpm * 1.2)
    changed = dataclasses.replace(analysis.score, bars=[*bars[:2], rushed, *bars[3:]])
    blurred = dataclasses.replace(analysis.pedal, blurred_s=np.array([bars[1].start_s + 0.1]))
    a = dataclasses.replace(analysis, score=changed, pedal=blurred)
    assert notation.highlighted_bars(a) == {"tempo": {bars[2].bar}, "pedal": {bars[1].bar}}
    svg = "".join(notation.engrave(a).pages)
    assert svg.count('class="llaqo-tempo"') == 1 and svg.count('class="llaqo-pedal"') == 1


def test_an_answer_cites_the_bars_it_names_as_passages(analysis):
    said, _ = answers.answer(analysis, "Did I play any wrong notes?")
    text = " ".join(s.text for s in said)
    cited = passages.cited(analysis, [p for s in said for p in s.places])
    views = {b.bar: b for b in analysis.score.bars}
    named = sorted({int(b) for b in re.findall(r"\bbar (\d+)", text)})
    assert named == [2, 3, 4]
    assert [p.bars for p in cited] == [(b, b) for b in named]
    for p in cited:
        assert (p.start_s, p.end_s) == (views[p.bars[0]].start_s, views[p.bars[1]].end_s)


def test_times_are_cited_without_a_score(analysis):
    """A moment stands for the second either side of it, a span for itself; the whole take is no passage."""
    import dataclasses

    a = dataclasses.replace(analysis, score=None, bars=[])
    places = [Place.of_time(7.1, 9.3), Place.of_time(4.2), Place.of_time(10.0, 599.0), Place.of_time(8.0, 8.4)]
    cited = passages.cited(a, places)
    assert [(p.start_s, p.end_s, p.label) for p in cited] == [(3.2, 5.2, "0:04"), (7.1, 9.3, "0:07-0:09")]


def test_cli_render_writes_the_marked_score_and_the_plots(take, tmp_path):
    from llaqo.cli import main

    tmp, _ = take
    out = tmp_path / "evidence"
    assert main(["analyze", str(tmp / "take.wav"), "--score", str(tmp / "score.musicxml"), "--render", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["take-dynamics.png", "take-piano_roll.png", "take-score-1.svg", "take-tempo.png"]
    assert (out / "take-score-1.svg").read_text().count("llaqo-wrong") == len(WRONG)


def test_engraves_in_a_worker_thread(take, analysis):
    """The app engraves in Gradio's worker threads, where verovio has no default font path of its own."""
    import threading

    found = []
    worker = threading.Thread(target=lambda: found.append(notation.engrave(analysis)))
    worker.start()
    worker.join()
    assert found and found[0].marked["wrong"] == [f"n{k}" for k in WRONG]
