"""A tab's session across Stop: Stop ends that tab's answer at its next update and no other tab's, the tab keeps
one session (its uploads included) when a stopped message never returned it to the page, a message sent again after
Stop finds its upload, and a file that is gone gets a clear message instead of a traceback."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from llaqo.app.sessions import Session, Sessions, oversized

SETTINGS = ["Streaming, greedy", 0.7, 0, 0.0, False]


def tab(name: str = "tab-1") -> SimpleNamespace:
    return SimpleNamespace(session_hash=name)


def test_stop_ends_the_tabs_updates_at_the_next_one_and_closes_them():
    sessions = Sessions()
    closed = []

    def updates(name: str):
        try:
            for i in range(1000):
                yield name, i
        finally:
            closed.append(name)  # where a handler stops its work (the analysis' worker, the answer's rows)

    mine, theirs = (
        sessions.until_stopped(tab(), updates("mine")),
        sessions.until_stopped(tab("tab-2"), updates("theirs")),
    )
    assert next(mine) == ("mine", 0) and next(theirs) == ("theirs", 0)
    sessions.stop(tab())
    assert list(mine) == [] and closed == ["mine"]
    assert next(theirs) == ("theirs", 1)  # another tab's answer goes on
    # The Stop was for the answer it ended: the tab's next message runs.
    again = sessions.until_stopped(tab(), updates("again"))
    assert [next(again), next(again)] == [("again", 0), ("again", 1)]
    sessions.forget(tab())  # a closed tab's Stop goes with it
    assert list(sessions.until_stopped(tab(), updates("new")))[-1] == ("new", 999)


def test_a_tab_keeps_its_session_when_the_page_sent_none():
    sessions = Sessions()
    first = sessions.open(None, tab())
    try:
        assert sessions.open(None, tab()) is first  # the stopped message's session, not a new folder
        assert sessions.open(first, tab()) is first
        other = sessions.open(None, tab("tab-2"))
        assert other is not first
        other.close()
    finally:
        first.close()


def test_a_cleared_session_is_replaced_and_a_dropped_one_closed():
    sessions = Sessions()
    first = sessions.open(None, tab())
    first.close()  # Clear
    second = sessions.open(None, tab())
    assert second is not first and second.folder.is_dir()
    third = Session()
    assert sessions.open(third, tab()) is third
    assert second.closed and not second.folder.exists(), "the session the page no longer holds is deleted"
    third.close()


def test_an_upload_moved_by_a_stopped_message_is_found_again(tmp_path):
    upload = tmp_path / "gradio" / "take.wav"
    upload.parent.mkdir()
    upload.write_bytes(b"RIFF")
    session = Session()
    try:
        kept = session.keep(str(upload))
        assert not upload.exists() and kept.is_file()
        assert session.arrived(str(upload)) == str(kept)
        assert session.arrived(str(tmp_path / "other.wav")) == str(tmp_path / "other.wav")
    finally:
        session.close()


def test_a_file_that_is_gone_is_named_not_a_traceback(tmp_path):
    gone = tmp_path / "take.wav"
    message = oversized([str(gone)], 50)
    assert message is not None and "take.wav is no longer on the server" in message
    kept = tmp_path / "kept.wav"
    shutil.copy(Path(__file__), kept)
    assert oversized([str(kept)], 50) is None


@pytest.mark.slow
def test_stop_during_the_analysis_stops_it_and_sending_again_answers(tmp_path):
    """Closing the handler at a yield while the recording is analysed (what Stop does) stops the analysis at its
    next transcription segment: nothing of it is cached. The same message sent again, naming the upload's first
    path, which the stopped message moved into the session, is analysed and answered."""
    from llaqo.app import ChatApp
    from llaqo.lite.coach import LiteCoach
    from llaqo.synthetic import synth_piano

    coach = LiteCoach()
    app = ChatApp(coach, coach, practice_coach=coach)  # as build_demo wires the Lite coach
    session = Session()
    upload = synth_piano(tmp_path / "take.wav", seconds=40.0, seed=3)  # three transcription segments
    message = {"text": "How steady was my tempo?", "files": [str(upload)]}
    try:
        stopped = app.respond(message, [], session, *SETTINGS)
        first = next(stopped)
        assert first[0][-1]["content"] == "*Analysing the recording…*"
        next(stopped)  # the analysis is under way in its worker
        stopped.close()
        deadline = time.time() + 120
        while any(t.name == "llaqo-load" for t in threading.enumerate()) and time.time() < deadline:
            time.sleep(0.2)
        assert not any(t.name == "llaqo-load" for t in threading.enumerate()), "the analysis did not stop"
        assert session.clip is None and not coach._cache, "the stopped analysis was kept"
        *_, last = app.respond(message, [], session, *SETTINGS)
        answer = last[0][-1]["content"]
        assert "BPM" in answer and "Problem" not in answer
    finally:
        session.close()
