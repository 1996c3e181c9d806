"""No stale state between takes: a comparison question with no reference says so, the reference compared
with itself is drawn, and a class-view row opens in a bubble of its own (issue 29's defects 2)."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from matplotlib.figure import Figure

from llaqo.app import ChatApp, Session
from llaqo.app.practice import UNSET_REFERENCE
from llaqo.lite.coach import LiteCoach
from llaqo.synthetic import synth_piano

SETTINGS = ["Streaming, greedy", 0.7, 0, 0.0, False]


@pytest.fixture(scope="module")
def app():
    coach = LiteCoach()
    return ChatApp(coach, coach, practice_coach=coach)


@pytest.fixture
def session(app, tmp_path):
    session = Session()
    take = synth_piano(tmp_path / "take.wav", seconds=4.0, seed=1)
    list(app.respond({"text": "How was it?", "files": [str(take)]}, [], session, *SETTINGS))
    yield session
    session.close()


def answer(app: ChatApp, session: Session, question: str) -> str:
    *_, last = app.respond({"text": question, "files": []}, [], session, *SETTINGS)
    return last[0][-1]["content"]


def test_a_comparison_without_a_reference_says_none_is_set(app, session):
    assert session.reference is None
    assert UNSET_REFERENCE in answer(app, session, "Where was I slower than the reference?")
    app.practice.mark_reference(session)
    assert UNSET_REFERENCE not in answer(app, session, "Where was I slower than the reference?")


def test_the_reference_against_itself_is_drawn(app, session):
    app.practice.mark_reference(session)
    assert isinstance(app.practice.comparison_plot(session), Figure)


def test_a_class_view_row_opens_in_a_bubble_of_its_own(app, session, tmp_path):
    (session.folder / "class").mkdir()
    shutil.copy(synth_piano(tmp_path / "row.wav", seconds=4.0, seed=2), session.folder / "class" / "row.wav")
    history = [{"role": "user", "content": "How was it?"}, {"role": "assistant", "content": "An answer."}]
    out = app.open_row(SimpleNamespace(row_value=["row.wav"]), history, session, progress_bar=lambda *a, **k: None)
    chat = out[0]
    assert chat[-1]["role"] == "assistant" and chat[-1]["content"].startswith("Opened **row.wav**")
    assert chat[-2]["role"] == "user", "the note would join the previous answer's bubble"
    assert chat[1]["content"] == "An answer."


def test_play_me_the_passage_you_mean_replays_the_last_cited_one(app, session):
    """Understood, not an overview: the passage the last answer cited, cut again and playable."""
    first = app.respond({"text": "What happened around 0:02?", "files": []}, [], session, *SETTINGS)
    *_, cited = first
    *_, last = app.respond({"text": "Play me the passage you mean", "files": []}, cited[0], session, *SETTINGS)
    chat = last[0]
    replies = [m["content"] for m in chat if m["role"] == "assistant" and isinstance(m["content"], str)]
    [earlier] = session.turns[-2].passages
    assert f"Here it is again: {earlier.label}." in replies[-1]
    assert not isinstance(chat[-1]["content"], str), "the replayed passage comes as a clip"
    *_, stops = app.respond({"text": "Did I stop anywhere?", "files": []}, [], session, *SETTINGS)
    assert "without stopping" in stops[0][-1]["content"]
