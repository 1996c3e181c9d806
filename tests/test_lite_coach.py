"""The Lite coach: protocol, caching, speed of follow-ups, and answers grounded in the analysis JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from matplotlib.figure import Figure

from llaqo.lite import analysis, synth
from llaqo.lite.coach import LiteCoach
from llaqo.protocol import Clip, Evidence, Turn

SR = 22050
QUESTIONS = [
    "How steady was my tempo?",
    "Was my rhythm even?",
    "How were my dynamics?",
    "Did I play legato or staccato?",
    "How was my pedalling?",
    "Did I play any wrong notes?",
    "Give me an overall assessment.",
    "What should I practise?",
    "Rate this performance on a scale of 1-5.",
    "Rate it from 1 to 6.",
]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="module")
def coach():
    return LiteCoach()


@pytest.fixture(scope="module")
def clip(coach, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coach")
    notes = synth.scale_notes(96, n=15)
    notes[:, 3] = np.linspace(40, 120, len(notes))
    audio = tmp / "take.wav"
    soundfile.write(audio, synth.render(notes, SR), SR)
    return coach.prepare(audio)


def test_protocol_shapes(coach, clip):
    assert coach.name == "Lite"
    assert "LLaQo" in coach.about and "tone" in coach.about
    assert isinstance(clip, Clip)
    assert clip.facts.heard_s == (0.0, clip.facts.duration_s)
    ev = coach.evidence(clip)
    assert isinstance(ev, Evidence)
    assert set(ev.plots) == {"tempo", "dynamics", "piano_roll"}
    assert all(isinstance(f, Figure) for f in ev.plots.values())
    assert ev.measurements["duration_s"] == pytest.approx(clip.facts.duration_s, abs=1e-3)


def test_cache_by_content(coach, clip, tmp_path, monkeypatch):
    # A copy of the same bytes under another name is the same clip; no re-analysis happens.
    original = next(Path(tmp_path).parent.glob("coach*/take.wav"))
    copy = tmp_path / "copy.wav"
    copy.write_bytes(original.read_bytes())
    monkeypatch.setattr(analysis, "hear", lambda *a, **k: pytest.fail("the copy was analysed again"))
    assert coach.prepare(copy) is clip


@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_say_something_without_hearing_again(coach, clip, question, monkeypatch):
    """Every answer type (grounding is checked strictly in test_grounding.py) reads the prepared analysis: it
    neither decodes nor transcribes again, which is what keeps answers instant (speed is bench/'s to measure)."""

    def heard_again(*args, **kwargs):
        raise AssertionError("an answer decoded or transcribed the recording again")

    monkeypatch.setattr(analysis, "hear", heard_again)
    monkeypatch.setattr(analysis, "decode", heard_again)
    chunks = list(coach.answer(clip, question))
    assert len(chunks) >= 1 and "".join(chunks).strip()


def test_answer_states_the_measured_labels(coach, clip):
    m = clip.payload.measurements
    tempo = "".join(coach.answer(clip, "How steady was my tempo?"))
    assert f"{m['tempo']['bpm']:.0f} BPM" in tempo
    dyn = "".join(coach.answer(clip, "How were my dynamics?"))
    assert f"{m['dynamics']['range_db']:.1f} dB" in dyn
    assert m["dynamics"]["label"] == "crescendo" and "crescendo" in dyn
    notes = "".join(coach.answer(clip, "Any wrong notes?"))
    assert "without a score" in notes


def test_rating_shows_reasoning_on_the_asked_scale(coach, clip):
    five = "".join(coach.answer(clip, "Rate it on a scale of 1-5"))
    six = "".join(coach.answer(clip, "Rate it from 1 to 6"))
    assert "out of 5" in five and "Reasoning" in five
    assert "out of 6" in six


def test_unmeasurable_topics_point_to_llaqo(coach, clip):
    for q in ("How was my tone colour?", "What emotion did I convey?", "Who composed this piece?"):
        answer = "".join(coach.answer(clip, q))
        assert "cannot judge" in answer and "LLaQo" in answer


def test_follow_up_uses_the_previous_topic(coach, clip):
    first = "".join(coach.answer(clip, "How was my pedalling?"))
    follow = "".join(coach.answer(clip, "And why?", history=[Turn("How was my pedalling?", first)]))
    assert "pedal" in follow


@pytest.mark.slow
def test_score_answers_name_bars(coach):
    folder = SHARED / "perfbench" / "dev" / "d09_minuet_in_g"
    if not folder.is_dir():
        pytest.skip("../shared/perfbench not present")
    clip = coach.prepare(folder / "audio.flac", score_path=folder / "score.mid")
    answer = "".join(coach.answer(clip, "Did I play any wrong notes?"))
    wrong = clip.payload.measurements["score"]["wrong"]
    assert wrong, "the dev take has substitutions"
    assert f"bar {wrong[0]['bar']}" in answer


def test_articulation_under_the_pedal_is_hedged(clip):
    """Detached notes under a held pedal are inaudible, so a pedalled take's articulation answer says so."""
    from dataclasses import replace

    from llaqo.lite.answers.answers import answer_sentences

    analysis = clip.payload.analysis
    assert analysis.pedal.label == "none"
    assert not any("pedal" in s for s in answer_sentences(analysis, "Legato or staccato?"))
    pedalled = replace(analysis, pedal=replace(analysis.pedal, label="blurred"))
    assert "cannot be heard as detached" in " ".join(answer_sentences(pedalled, "Legato or staccato?"))


def test_many_score_differences_are_hedged(clip):
    """Wrong, missed and extra notes come from a transcription; when they are many, the answer says that
    some may be the transcriber's, and it never claims more differences than the report holds."""
    from dataclasses import replace

    from llaqo.lite.alignment.score_report import NoteEvent, ScoreReport
    from llaqo.lite.answers.answers import answer_sentences

    missed = [NoteEvent("missed", 1.0 + i, 60 + i, None, i + 1) for i in range(3)]
    few = ScoreReport("score.mid", 100, 97, [], missed, [], [], n_performed=100, performed_bars=(1, 20))
    many = ScoreReport("score.mid", 20, 17, [], missed, [], [], n_performed=20, performed_bars=(1, 4))
    analysis = clip.payload.analysis
    question = "Did I play any wrong notes?"
    assert not any("transcription missed" in s for s in answer_sentences(replace(analysis, score=few), question))
    sentences = answer_sentences(replace(analysis, score=many), question)
    assert any("transcription missed" in s for s in sentences)
    assert "you left out the written C4." in " ".join(sentences)  # by name, not MIDI number
    assert "I heard 3 missed notes." in sentences


def test_no_pedal_is_said_without_a_zero_share(clip):
    from dataclasses import replace

    from llaqo.lite.answers.answers import answer_sentences

    analysis = clip.payload.analysis
    none = replace(analysis, pedal=replace(analysis.pedal, label="none", sustained_share=0.0))
    question = "How was my pedalling?"
    said = answer_sentences(none, question)
    assert "I hear no sustain pedal: no note kept sounding well past its written end." in said
    some = replace(analysis, pedal=replace(analysis.pedal, label="none", sustained_share=0.05))
    said = answer_sentences(some, question)
    assert any(s.startswith("I hear little or no sustain pedal: only 5% of notes") for s in said)


def test_piano_roll_draws_the_pedal_presses(clip):
    from dataclasses import replace

    import numpy as np

    from llaqo.lite.evidence import plots

    analysis = clip.payload.analysis
    pedal = replace(analysis.pedal, events=np.array([[1.0, 2.5], [3.0, 4.0]]), blurred_s=np.array([2.0]))
    fig = plots.piano_roll_figure(replace(analysis, pedal=pedal))
    ax = fig.axes[0]
    lowest_note = analysis.notes[:, 2].min()
    drawn = {
        (round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3)) for p in ax.patches if p.get_y() < lowest_note - 1
    }
    assert drawn == {(1.0, 2.5), (3.0, 4.0)}
    assert "sustain pedal" in ax.get_legend_handles_labels()[1]
    assert "pedal held through a change" in ax.get_legend_handles_labels()[1]


def test_a_steady_tempo_looks_steady_on_the_plot(clip):
    """A take varying by ~1% is drawn on an axis of at least +-10% of its median, not stretched to fill it."""
    from dataclasses import replace

    import numpy as np

    from llaqo.lite.evidence import plots

    analysis = clip.payload.analysis
    times = np.arange(32) * 0.5
    steady = np.stack([times, 125 + 1.5 * np.sin(times)], axis=1)  # 123.5-126.5 BPM
    figure = plots.tempo_figure(replace(analysis, tempo=replace(analysis.tempo, curve=steady, nominal_bpm=None)))
    low, high = figure.axes[0].get_ylim()
    assert low <= 125 * 0.9 and high >= 125 * 1.1
    wild = np.stack([times, np.where(np.arange(32) % 2, 60.0, 180.0)], axis=1)
    low, high = plots.tempo_figure(replace(analysis, tempo=replace(analysis.tempo, curve=wild))).axes[0].get_ylim()
    assert low <= 60 and high >= 180  # a wide curve keeps its own range
