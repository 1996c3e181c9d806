"""The overall answer in a teacher's voice (llaqo.lite.answers.overview): a verdict first, the top problem of
the advice named with its place and a way to practise, at most about 90 words before "Ask me about", no MIDI
number and no dB or ms; and rubato is no fault in music that asks for it.

On synthesized takes, with and without a score (bench/overview_voice.py runs the same checks on perfbench)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import soundfile
from test_grounding import two_hand_take  # tests/ is on sys.path under pytest's default import mode

from llaqo.lite import analysis, synth
from llaqo.lite.answers import advice, overview
from llaqo.lite.answers.answers import answer, document
from llaqo.lite.answers.grounding import Citer
from llaqo.lite.answers.questions import parse
from llaqo.lite.answers.scope import resolve_scope

SR = 22050


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("overview")
    played, written = two_hand_take(100, 90, wrong=True), two_hand_take(100, 90)
    audio, score = tmp / "take.wav", tmp / "score.mid"
    soundfile.write(audio, synth.render(played, SR), SR)
    synth.write_score(written, score, 100, hands=np.where(written[:, 2] >= 60, 0, 1))
    return {"scored": analysis.analyze(audio, score), "heard": analysis.analyze(audio)}


def overall(a: analysis.Analysis, question: str = "") -> tuple[str, str | None]:
    """The overall answer's text and the advice's top problem (None when it finds none)."""
    said, doc = answer(a, question)
    found = advice.problems(Citer(doc), resolve_scope(parse(question).scope, doc))
    return " ".join(s.text for s in said), found[0].topic if found else None


@pytest.mark.parametrize("take", ["scored", "heard"])
@pytest.mark.parametrize("question", ["", "How was it?"])
def test_the_overall_answer_is_a_teachers(takes, take, question):
    text, top = overall(takes[take], question)
    assert overview.shortfalls(text, top) == [], text


def test_the_top_problem_is_the_wrong_note_by_name_and_bar(takes):
    a = takes["scored"]
    wrong = a.to_json()["score"]["wrong"]
    assert wrong, "the semitone slip is heard as a wrong note"
    text, top = overall(a)
    assert top == "notes"
    first = text.split("First, ", 1)[1]
    assert first.startswith(f"in bar {wrong[0]['bar']}") and "where" in first and "is written" in first
    assert "hands separately" in first, "a way to practise it"


def test_the_checks_can_fail():
    """shortfalls refuses the old dashboard list, a long answer and a MIDI number."""
    old = (
        "Your tempo was steady: the average was 100 BPM. Your notes were evenly placed: onsets sit 6 ms (RMS) "
        "from an even subdivision of the beat. In bar 3 you played C#5 (73) where C5 is written."
    )
    found = overview.shortfalls(old, "notes")
    assert {"does not start with a verdict", 'no "Ask me about"', "shows a MIDI number"} <= set(found)
    assert "states dB or ms unasked" in found
    long = "A good take, with one thing to polish. " + "First, the tempo ran ahead, most at bar 3: " + "slow " * 90
    assert any("words before" in f for f in overview.shortfalls(long + "Ask me about the pedal.", "tempo"))
    assert any("top problem" in f for f in overview.shortfalls("A good take. Ask me about it.", "pedal"))


def rubato(a: analysis.Analysis, title: str) -> dict:
    """The take's analysis JSON with a rubato tempo and a score titled `title`."""
    doc = copy.deepcopy(document(a.to_json()))
    doc["tempo"] |= {"label": "rubato", "cv_pct": 9.0}
    doc["score"]["title"] = title
    return doc


def test_rubato_is_no_fault_in_a_mazurka_and_the_rating_says_why(takes):
    a = takes["scored"]
    for title, deducted in (("Mazurka in A minor", False), ("Nocturne", False), ("March in D", True)):
        doc = rubato(a, title)
        span = resolve_scope(parse("Rate it").scope, doc)
        topics = [p.topic for p in advice.problems(Citer(doc), span)]
        assert ("tempo" in topics) == deducted, title
        reasons = " ".join(s.text for s in advice.rating(Citer(doc), span, 5, ()))
        if deducted:
            assert "more than this music asks for" in reasons, reasons
        else:
            assert "I did not deduct for the rubato" in reasons and title.split()[0].lower() in reasons, reasons
