"""Grounding, checked strictly: every number an answer prints comes from a named field of the analysis JSON
(or of the score report, the method's constants, the asked scale and the rating record), at the precision
printed. Each sentence carries its citations; the test recomputes each from the document and checks that
nothing numeric is left in the sentence once the cited texts are taken out."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from llaqo.lite import analysis, synth
from llaqo.lite.answers import answers
from llaqo.lite.answers.grounding import Sentence, derive, resolve
from llaqo.lite.answers.questions import parse
from llaqo.protocol import clock

SR = 22050
SHARED = Path(os.environ.get("LLAQO_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
DERIVED_ROOTS = {"method", "rating", "scope"}  # the method's constants, the rating record, the judged span
QUESTIONS = [
    "", "How steady was my tempo?", "How was my tempo in bars 2 to 3?", "How was the tempo in the first four bars?",
    "Can you compare my tempo to the marking?", "Was my rhythm even?", "How were my dynamics?",
    "Did I get louder towards the end?", "How was the opening?", "Did I play legato or staccato?",
    "How was my pedalling?", "Did I use too much pedal in the last phrase?", "Did I play any wrong notes?",
    "Any wrong notes in bars 2-4?", "Which mistakes were in the right hand?", "Is my left hand too loud?",
    "Does the melody come through?", "Were my chords together or rolled?", "Were the left-hand chords together?",
    "Were my runs even?", "Rate my performance out of 10.", "Rate it from 1 to 6.", "Give it a score out of 100.",
    "How would you rate the performance, and what should the student practise?",
    "What's the single most important thing to fix?", "What should I practise next week?",
    "How should I practise bars 1-2?", "How was the second half?", "What happened around 0:03?",
    "How was my tone colour?", "What about bars 3-4?", "Was I rushing anywhere?", "Did I slow down at the end?",
    "Was it too fast?", "Was anything too loud?", "Was anything too soft?", "Did I miss any notes?",
    "Which hand had more mistakes?", "Which bar was worst?", "Where did I drag?", "Did I stop anywhere?",
    "Can you play bars 2-3?", "Play me the passage you mean",
]  # fmt: skip


BAR_ITEM = r"\d+(?:\s*[-–]\s*\d+)?"
NAMED_BARS = re.compile(rf"\bbars? ({BAR_ITEM}(?:(?:,\s*(?:and\s+)?|\s+and\s+){BAR_ITEM})*)", re.IGNORECASE)
NAMED_TIMES = re.compile(r"\b(\d+:\d\d)(?:\s*(?:-|–| to )\s*(\d+:\d\d))?\b")
BRACKETED = re.compile(r"(\bbars? \d+(?:-\d+)?(?:, the \w+ time)?) \([^)]*\)", re.IGNORECASE)


def named_places(text: str) -> tuple[list[tuple[int, int]], list[tuple[str, str]]]:
    """The places a sentence's text names, read back from its words: bars as (first, last), and times as their
    clocks (first, last), a moment as (clock, clock). A time in brackets after a bar only repeats it."""
    bars = []
    for match in NAMED_BARS.finditer(text):
        for item in re.split(r",\s*(?:and\s+)?|\s+and\s+", match.group(1)):
            first, _, last = re.sub(r"\s", "", item).replace("–", "-").partition("-")
            bars.append((int(first), int(last or first)))
    times = [(m.group(1), m.group(2) or m.group(1)) for m in NAMED_TIMES.finditer(BRACKETED.sub(r"\1", text))]
    return bars, times


def check_places(sentences: list[Sentence], doc: dict) -> None:
    """Each sentence records exactly the places its text names (the clips the app plays come from these). The
    whole played take ("all through the take (0:01-0:45)") is no place in it."""
    notes = doc["notes"]
    whole = (clock(notes[0][0]), clock(notes[-1][0])) if notes else None
    for s in sentences:
        if s.text.startswith("(Bars are counted from"):  # how bars are counted: the time of a downbeat, no place
            assert not s.places, s
            continue
        bars, times = named_places(s.text)
        times = [t for t in times if t != whole]
        assert sorted(p.bars for p in s.places if p.bars) == sorted(bars), s
        recorded = [(clock(p.span_s[0]), clock(p.span_s[1])) for p in s.places if p.span_s]
        assert sorted(recorded) == sorted(times), s


def check_grounded(a: analysis.Analysis, question: str, previous: list[str] = ()) -> list[float]:
    """Assert that the answer is grounded, and names the places it records; return the numbers it printed."""
    sentences, doc = answers.answer(a, question, previous)
    assert sentences, question
    check_places(sentences, doc)
    measured = a.to_json()
    printed = []
    for s in sentences:
        rest = s.text
        for cite in sorted(s.cites, key=lambda cite: -len(cite.text)):
            for path in cite.paths:
                root = re.match(r"[^.\[]+", path).group()
                assert root in measured or root in DERIVED_ROOTS, f"{path} is not a field of the analysis"
                if root in measured:
                    assert resolve(doc, path) == resolve(measured, path), f"{path} differs from the analysis JSON"
            assert derive(doc, cite.how, cite.paths, cite.fmt) == cite.text, (question, cite)
            printed_at = re.compile(rf"(?<![\d.:]){re.escape(cite.text)}(?!\d|[.:]\d)")
            assert printed_at.search(rest), f"{cite.text!r} is cited but not printed in {s.text!r}"
            rest = printed_at.sub(" ", rest, count=1)
            printed += [float(x) for x in re.findall(r"\d+(?:\.\d+)?", cite.text)]
        assert not re.search(r"\d", rest), f"an uncited number in {s.text!r} ({question!r})"
    if "rating" in doc:
        r = doc["rating"]
        assert r["scale"] == parse(question).scale
        assert r["value"] == pytest.approx(max(1.0, r["scale"] - sum(r["deductions"])))
    return printed


def write(tmp, notes, name, bpm=None):
    """The take as audio and, with bpm, as a score with the right hand (from middle C up) and the left on two
    tracks."""
    audio = tmp / f"{name}.wav"
    soundfile.write(audio, synth.render(notes, SR), SR)
    score = None
    if bpm is not None:
        score = tmp / f"{name}.mid"
        synth.write_score(notes, score, bpm, hands=np.where(notes[:, 2] >= 60, 0, 1))
    return audio, score


def two_hand_take(bpm: float, melody_velocity: int, wrong: bool = False) -> np.ndarray:
    """Eight bars of a melody over a bass and a chord, at `bpm`."""
    beat, rows = 60 / bpm, []
    for i in range(32):
        t = 0.5 + i * beat
        rows.append([t, t + 0.9 * beat, 72 + (i * 2) % 7 + (1 if wrong and i == 9 else 0), melody_velocity])
        if i % 2 == 0:
            rows += [[t, t + 1.8 * beat, 48 + i % 5, 60], [t, t + 1.8 * beat, 55 + i % 5, 60]]
    return np.array(rows, dtype=float)


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grounding")
    slow = two_hand_take(100, 100)
    fast = two_hand_take(132, 70)
    audio_slow, _ = write(tmp, slow, "slow")
    audio_fast, _ = write(tmp, fast, "fast")
    audio_wrong, _ = write(tmp, two_hand_take(100, 100, wrong=True), "wrong")
    _, score = write(tmp, slow, "slow-score", bpm=100)
    return {
        "slow": analysis.analyze(audio_slow),
        "fast": analysis.analyze(audio_fast),
        "scored": analysis.analyze(audio_wrong, score),
    }


@pytest.mark.parametrize("take", ["slow", "scored", "unbarred"])
@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q[:40] or "(empty)")
def test_every_number_is_a_cited_field(takes, take, question):
    """With a score, with the heard bar grid, and with no bars (places then are times)."""
    a = dataclasses.replace(takes["slow"], bars=[]) if take == "unbarred" else takes[take]
    check_grounded(a, question, ["How steady was my tempo?"])


def test_a_place_named_without_being_recorded_is_caught(takes):
    """The places check can fail: a sentence naming a bar it did not record, or recording one it does not name."""
    said, doc = answers.answer(takes["scored"], "Did I play any wrong notes?")
    named = next(s for s in said if s.places)
    with pytest.raises(AssertionError):
        check_places([dataclasses.replace(named, places=())], doc)
    with pytest.raises(AssertionError):
        check_places([dataclasses.replace(named, text=named.text.replace("bar", "in the"))], doc)


def test_an_invented_number_is_caught(takes):
    """The check can fail: a sentence stating a number nobody cited is refused."""
    sentences, _ = answers.answer(takes["slow"], "How steady was my tempo?")
    tampered = sentences[0].text.replace("BPM", "BPM over 3 missed notes", 1)
    rest = tampered
    for cite in sentences[0].cites:
        rest = rest.replace(cite.text, " ", 1)
    assert re.search(r"\d", rest)


def test_same_questions_on_another_take_give_its_own_numbers(takes):
    """Shuffle: the answers' numbers follow the measurements of the take asked about."""
    for question in ("How steady was my tempo?", "Does the melody come through?", "What should I practise?"):
        slow, fast = check_grounded(takes["slow"], question), check_grounded(takes["fast"], question)
        assert slow != fast, question
    bpm = {name: takes[name].to_json()["tempo"]["bpm"] for name in ("slow", "fast")}
    assert bpm["slow"] != bpm["fast"], "the two takes were measured at different tempi"
    # Counted in the melody's quarters (chords on every other beat make the bars, not the beat).
    assert bpm["fast"] == pytest.approx(132, rel=0.03)
    for name in ("slow", "fast"):
        assert round(bpm[name]) in check_grounded(takes[name], "How steady was my tempo?"), name


def test_scoped_answers_say_what_they_judged(takes):
    a = takes["scored"]
    bars = a.to_json()["score"]["bars"]
    text = " ".join(answers.answer_sentences(a, "How was my tempo in bars 2 to 3?"))
    assert "bars 2-3" in text and "BPM" in text
    inside = [p[1] for p in a.to_json()["tempo"]["curve"] if bars[1]["start_s"] - 1e-3 <= p[0] < bars[2]["end_s"]]
    assert f"{np.mean(inside):.0f} BPM" in text
    # Without a score, bars are the heard grid's (when confident), and the answer says how they are counted;
    # without a confident grid there are no bars to count.
    heard = takes["slow"]
    assert heard.bars, "the synthesized take has a confident bar grid"
    plain = " ".join(answers.answer_sentences(heard, "How was my tempo in bars 2 to 3?"))
    assert "I judged bars 2-3" in plain and "Bars are counted from the first downbeat I heard" in plain
    check_grounded(heard, "How was my tempo in bars 2 to 3?")
    unsure = dataclasses.replace(heard, bars=[])
    plain = " ".join(answers.answer_sentences(unsure, "How was my tempo in bars 2 to 3?"))
    assert "Without a score I cannot count bars" in plain and "Bars are counted" not in plain


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "perfbench" / "dev").is_dir(), reason="../shared/perfbench/dev is absent")
def test_perfbench_answers_are_grounded():
    folder = SHARED / "perfbench" / "dev" / "d10_waltz_a_minor"
    for score in (folder / "score.mid", None):
        a = analysis.analyze(folder / "audio.flac", score)
        for question in QUESTIONS:
            check_grounded(a, question, ["How was my pedalling?"])


def test_mistakes_are_counted_for_the_asked_hand(takes):
    """The wrong note is in the melody (right-hand track): the right hand's answer names it, the left's not."""
    a = takes["scored"]
    wrong = a.to_json()["score"]["wrong"]
    assert wrong and wrong[0]["hand"] == "right"
    right = " ".join(answers.answer_sentences(a, "Which mistakes were in the right hand?"))
    left = " ".join(answers.answer_sentences(a, "Did I play wrong notes in the left hand?"))
    assert f"bar {wrong[0]['bar']}" in right and "I heard no wrong" not in right
    assert "I heard no wrong or missed notes in the left hand" in left
