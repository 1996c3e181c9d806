"""One measurement, one number, and no contradiction inside an answer: the rating's melody figure is the balance
answer's, and pedalling with a blurred change is never called clean (issue 29's defect 9)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from llaqo.app.views import overview
from llaqo.lite.answers import advice, sentences
from llaqo.lite.answers.grounding import Citer
from llaqo.lite.answers.questions import Scope
from llaqo.lite.answers.scope import resolve_scope
from llaqo.lite.measures import dynamics
from llaqo.protocol import AudioFacts, Evidence


def doc(**parts) -> dict:
    base = {
        "duration_s": 8.0,
        "notes": [[0.5, 1.0, 60, 64], [7.0, 7.5, 60, 64]],
        "tempo": {"bpm": 100.0, "curve": [[0.5, 100.0], [1.1, 100.0]], "cv_pct": 1.0, "label": "steady"},
        "timing": {"jitter_ms": 5.0},
        "pedal": {
            "label": "clean", "sustained_share": 0.4, "harmony_changes_s": [2.0, 4.0, 6.0],
            "blurred_changes_s": [], "held_changes_s": [], "released_changes_s": [],
        },
        "chords": {"chords": []},
        "runs": {"runs": []},
        "balance": {
            "source": "audio", "right_minus_left_db": None, "melody_minus_accompaniment_db": -0.4,
            "segments": [[0.5, 2.0, None, -1.6], [2.0, 4.0, None, -0.9], [4.0, 6.0, None, -0.5]],
        },
        "dynamics": {"label": "wide-contrast", "range_db": 12.0, "segments": []},
        "method": {"slow_share": 0.7},
    }  # fmt: skip
    return {**base, **parts}


def whole(d: dict):
    return resolve_scope(Scope(), d)


def test_the_ratings_melody_figure_is_the_balance_answers():
    d = doc()
    c = Citer(d)
    [problem] = [p for p in advice.problems(c, whole(d)) if p.topic == "balance"]
    why = problem.why(c)
    said = " ".join(s.text for s in sentences.balance(Citer(d), whole(d), None))
    assert "0.4 dB below the accompaniment" in why and "0.4 dB below the accompaniment" in said
    assert "1.0" not in why  # the mean of the segments, which the balance answer never says


def test_pedalling_with_a_blurred_change_is_mostly_clean():
    d = doc()
    d["pedal"] = {**d["pedal"], "blurred_changes_s": [4.0]}
    first = sentences.pedal(Citer(d), whole(d))[0].text
    assert first.startswith("I hear mostly clean pedalling")
    d["pedal"]["blurred_changes_s"] = []
    assert sentences.pedal(Citer(d), whole(d))[0].text.startswith("I hear clean pedalling")


def test_the_dynamic_range_is_one_measurement_whatever_the_grid():
    """The same playing measured on the score's bars (its notes only) and on heard beat groups (every note heard,
    two faint ghost notes in a pause among them): one stray segment moved max - min by 12 dB; the range does not."""
    onsets = np.arange(32) * 0.5 + 0.5
    levels = 40 + 10 * onsets / onsets.max()  # a crescendo of 10 dB
    bars = np.arange(0.5, 17, 2.0)  # eight bars of four notes
    scored = dynamics.analyse_dynamics(np.zeros((1, 2)), levels, onsets, bars, "bar")
    ghosts_at = np.array([16.6, 16.8])  # in the pause after the last note: a segment of their own
    heard = dynamics.analyse_dynamics(
        np.zeros((1, 2)), np.r_[levels, 30.0, 30.0], np.r_[onsets, ghosts_at], np.r_[np.arange(0.5, 16.6, 1.0), 17.5],
        "beats",
    )  # fmt: skip
    spans = [d.segments[:, 2].max() - d.segments[:, 2].min() for d in (scored, heard)]
    assert spans[1] - spans[0] > 8, "the stray segment is there"
    assert abs(heard.range_db - scored.range_db) < 1.5 and scored.range_db > 5


def test_the_range_reads_the_same_in_the_chat_the_rating_and_the_overview():
    d = doc(dynamics={"label": "flat", "range_db": 4.26, "segments": [[0.5, 4.0, 45.0], [4.0, 7.5, 49.26]]})
    chat = sentences.dynamics(Citer(d), whole(d))[0].text
    c = Citer(d)
    [flat] = [p for p in advice.problems(c, whole(d)) if p.topic == "dynamics"]
    facts = AudioFacts("take.wav", 8.0, 22050, 1, (0.0, 8.0))
    panel = overview(Evidence(facts, {**d, "articulation": {"label": "legato"}}), SimpleNamespace(name="Lite"))
    for text in (chat, flat.why(c), panel):
        assert "4.3 dB" in text, text
