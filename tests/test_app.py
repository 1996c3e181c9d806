"""The chat app in-process, through gradio_client, with a fake coach: streaming, follow-ups, switching
recordings, bad files, and two sessions at once."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402

from llaqo import audio  # noqa: E402
from llaqo.app import ChatApp, Session, build_demo  # noqa: E402
from llaqo.app.handlers import SAME_AGAIN  # noqa: E402
from llaqo.lite.evidence import clips  # noqa: E402
from llaqo.protocol import Answer, AudioFacts, Clip, Evidence, Passage, Settings, Turn  # noqa: E402
from llaqo.synthetic import synth_piano  # noqa: E402


class FakeCoach:
    """Honours the Coach protocol; answers slowly, word by word, naming the recording and the question."""

    name = "Fake"
    about = "A fake coach for tests."
    max_duration_s = 600.0

    def __init__(self):
        self.prepared: list[str] = []
        self.lock = threading.Lock()

    def prepare(self, audio_path, *, score_path=None, start_s=0.0) -> Clip:
        recording = audio.load_audio(audio_path)  # the real validation, so bad files fail as in the app
        with self.lock:
            self.prepared.append(Path(audio_path).name)
        facts = AudioFacts(
            Path(audio_path).name,
            recording.duration_s,
            recording.sample_rate,
            recording.channels,
            (0.0, recording.duration_s),
        )
        return Clip(key=Path(audio_path).name, facts=facts)

    def answer(self, clip: Clip, question: str, history=(), settings: Settings = Settings()) -> Answer:
        return Answer(self.words(f"About {clip.facts.name}: you asked '{question}' after {len(history)} turns."))

    @staticmethod
    def words(text: str) -> Iterator[str]:
        for i, word in enumerate(text.split(" ")):
            time.sleep(0.01)
            yield word if i == 0 else " " + word

    def evidence(self, clip: Clip) -> Evidence:
        return Evidence(clip.facts, {}, {})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    coach = FakeCoach()
    demo = build_demo(coach, evidence_coach=coach, examples_dir=tmp_path_factory.mktemp("examples"))
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_port=0 or None, quiet=True)
    yield coach, url
    demo.close()


@pytest.fixture(scope="module")
def takes(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("takes")
    return {
        name: synth_piano(folder / name, seconds=3.0, seed=i) for i, name in enumerate(["first.wav", "second.flac"])
    }


SETTINGS = ["Streaming, greedy", 0.7, 0, 0.0, False]


def chat(client: Client, history: list, text: str, *files: Path) -> list[list]:
    """One chat submit; returns every streamed output (chatbot, ...)."""
    message = {"text": text, "files": [handle_file(str(f)) for f in files]}
    return list(client.submit(message, history, *SETTINGS, api_name="/chat"))


def last_answer(outputs: list) -> str:
    return outputs[-1][0][-1]["content"][0]["text"]


def test_streams_answer_and_follow_up_reuses_the_recording(served, takes):
    coach, url = served
    client = Client(url, verbose=False)
    outputs = chat(client, [], "How was my pedalling?", takes["first.wav"])
    assert len(outputs) >= 3, "the answer arrives in several updates (Gradio may merge some under load)"
    first = last_answer(outputs)
    assert first.startswith("*first.wav · heard 0:00–0:03*")
    assert "you asked 'How was my pedalling?' after 0 turns." in first
    prepared = len(coach.prepared)
    follow = chat(client, outputs[-1][0], "And the tempo?")
    assert "About first.wav: you asked 'And the tempo?' after 1 turns." in last_answer(follow)
    assert len(coach.prepared) == prepared, "a follow-up does not prepare the recording again"


def test_new_upload_switches_recording(served, takes):
    _, url = served
    client = Client(url, verbose=False)
    outputs = chat(client, [], "First?", takes["first.wav"])
    outputs = chat(client, outputs[-1][0], "Second?", takes["second.flac"])
    answer = last_answer(outputs)
    assert answer.startswith("*second.flac") and "after 0 turns" in answer
    messages = [m["content"][0]["text"] for m in outputs[-1][0]]
    assert any(m.startswith("*first.wav") for m in messages), "earlier answers keep their recording's name"


def test_empty_question_gets_an_overall_assessment(served, takes):
    _, url = served
    outputs = chat(Client(url, verbose=False), [], "", takes["first.wav"])
    assert "How would you rate the performance" in last_answer(outputs)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.wav", b"", "the file is empty"),
        ("noise.mp3", b"\x13\x37" * 500, "not a readable audio file"),
    ],
)
def test_bad_files_get_a_clear_message_and_the_server_keeps_serving(served, takes, tmp_path, name, data, message):
    _, url = served
    client = Client(url, verbose=False)
    bad = tmp_path / name
    bad.write_bytes(data)
    answer = last_answer(chat(client, [], "How was it?", bad))
    assert message in answer and "Traceback" not in answer
    assert "About first.wav" in last_answer(chat(client, [], "Still there?", takes["first.wav"]))


def test_other_file_types_are_refused_by_name(served, takes, tmp_path):
    _, url = served
    client = Client(url, verbose=False)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    message = {"text": "How was it?", "files": [handle_file(str(notes))]}
    with pytest.raises(Exception, match=r"Invalid file type.*'\.wav'"):
        client.predict(message, [], *SETTINGS, api_name="/chat")
    assert "About first.wav" in last_answer(chat(client, [], "Still there?", takes["first.wav"]))


def test_silent_recording(served, tmp_path):
    _, url = served
    silent = tmp_path / "silent.wav"
    import numpy as np
    import soundfile

    soundfile.write(str(silent), np.zeros(16000, dtype=np.float32), 16000)
    assert "silent" in last_answer(chat(Client(url, verbose=False), [], "How was it?", silent))


def test_question_before_any_recording(served):
    _, url = served
    assert "Upload or record a performance first" in last_answer(chat(Client(url, verbose=False), [], "Hello?"))


def test_two_sessions_at_once_do_not_see_each_other(served, takes):
    _, url = served
    results: dict[str, list[str]] = {}

    def converse(name: str) -> None:
        client = Client(url, verbose=False)
        outputs = chat(client, [], f"Question from {name}", takes[name])
        outputs = chat(client, outputs[-1][0], f"Follow-up from {name}")
        results[name] = [m["content"][0]["text"] for m in outputs[-1][0] if m["role"] == "assistant"]

    threads = [threading.Thread(target=converse, args=(n,)) for n in takes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for name, answers in results.items():
        other = next(n for n in takes if n != name)
        assert len(answers) == 2
        assert all(name in a and other not in a for a in answers), answers
    assert set(results) == set(takes)


def test_api_endpoint_streams(served, takes):
    _, url = served
    client = Client(url, verbose=False)
    outputs = list(client.submit(handle_file(str(takes["first.wav"])), "How was it?", None, api_name="/ask"))
    assert outputs[-1] == "About first.wav: you asked 'How was it?' after 0 turns."
    assert len(outputs) > 3


def test_regenerate_and_export(takes, tmp_path):
    coach = FakeCoach()
    app = ChatApp(coach, coach)
    session = Session()
    message = {"text": "How was it?", "files": [str(synth_piano(tmp_path / "take.wav", seconds=2.0))]}
    *_, last = app.respond(message, [], session, *SETTINGS)
    history = last[0]
    *_, again = app.regenerate(history, session, *SETTINGS)
    regenerated = again[0][-1]["content"]
    assert regenerated.endswith("you asked 'How was it?' after 0 turns." + SAME_AGAIN), "the same answer says so"
    assert [t.question for t in session.turns] == ["How was it?"]
    markdown, data = app.export(session)["value"]
    text = Path(markdown).read_text()
    assert "## take.wav" in text and "**Q:** How was it?" in text
    assert '"question": "How was it?"' in Path(data).read_text()
    folder = session.folder
    app.clear(session)
    assert not folder.exists(), "the session's recordings are deleted with it"


def upload(path: Path, tmp_path: Path) -> str:
    """A copy, as Gradio hands over an upload: the app moves it into the session's folder."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    return str(copy)


def test_session_history_feeds_the_coach(takes, tmp_path):
    """Turns recorded in the session reach the coach as history (the LLaQo coach decides whether to use them)."""
    coach = FakeCoach()
    app = ChatApp(coach, coach)
    session = Session()
    list(app.respond({"text": "One?", "files": [upload(takes["first.wav"], tmp_path)]}, [], session, *SETTINGS))
    session.turns.append(Turn("Two?", "..."))
    *_, last = app.respond({"text": "Three?", "files": []}, [], session, *SETTINGS)
    assert "after 2 turns" in last[0][-1]["content"]


def test_the_llaqo_coach_answers_in_the_app(release, takes, tmp_path):
    """The real LLaQo coach (a tiny random release) behind the app, with another coach's evidence beside it."""
    from llaqo.coach import CoachConfig, LLaQoCoach

    coach = LLaQoCoach(CoachConfig(paths=release))
    app = ChatApp(coach, FakeCoach())
    message = {"text": "How was my pedalling?", "files": [upload(takes["first.wav"], tmp_path)]}
    outputs = list(app.respond(message, [], None, "Streaming, greedy", 0.7, 8, 0.0, False))
    answer = outputs[-1][0][-1]["content"]
    assert answer.startswith("*first.wav · heard 0:00–0:03*\n\n") and len(answer) > len(
        "*first.wav · heard 0:00–0:03*\n\n"
    )
    assert len(outputs) > 2, "the answer streamed"
    overview = next(o[2] for o in outputs if isinstance(o[2], str))  # with the answer's first update
    assert overview.startswith("**first.wav**"), "the overview shows the recording's facts"


class FakePracticeCoach(FakeCoach):
    """A FakeCoach that is a PracticeCoach too: it answers comparisons itself and notes each progress report."""

    def __init__(self):
        super().__init__()
        self.reported: list[str] = []

    def prepare(self, audio_path, *, score_path=None, start_s=0.0, progress=None) -> Clip:
        if progress is not None:
            progress(1, 1)
            self.reported.append(Path(audio_path).name)
        return super().prepare(audio_path, score_path=score_path, start_s=start_s)

    def answer(self, clip, question, history=(), settings=Settings(), *, reference=None, takes=None):
        if reference is not None:
            return Answer([f"Compared with {reference.facts.name}."])
        return super().answer(clip, question, history, settings)

    def asks_comparison(self, question, previous_question=None) -> bool:
        return "reference" in question

    def asks_progress(self, question) -> bool:
        return False

    def comparison_figure(self, clip, reference):
        return None

    def save_take(self, store, clip, piece_name=None):
        raise AssertionError("no take is saved in this test")


def test_the_practice_coach_answers_comparisons_when_it_is_the_chat_coach(takes, tmp_path):
    """ChatApp asks the practice coach, not the coach's type or name: comparisons are answered by it when it is the
    chat's coach, its prepare() reports progress in either role, and its answers are recorded as measured."""
    first, second = (upload(takes[name], tmp_path) for name in ("first.wav", "second.flac"))
    practice = FakePracticeCoach()
    app = ChatApp(practice, practice, practice_coach=practice)
    session = Session()
    list(app.respond({"text": "How was it?", "files": [first]}, [], session, *SETTINGS))
    app.practice.mark_reference(session)
    *_, last = app.respond({"text": "Slower than the reference?", "files": [second]}, [], session, *SETTINGS)
    assert last[0][-1]["content"].endswith("Compared with first.wav.")
    assert practice.reported == ["first.wav", "second.flac"]
    assert [e.mode for e in session.report.exchanges] == ["measured", "measured"]

    # Another coach answers the chat: the practice coach supplies the evidence (still with progress), and the
    # comparison question goes to the chat's coach, answered with its decoding settings.
    practice, other = FakePracticeCoach(), FakeCoach()
    app = ChatApp(other, practice, practice_coach=practice)
    session = Session()
    list(app.respond({"text": "How was it?", "files": [upload(takes["first.wav"], tmp_path)]}, [], session, *SETTINGS))
    session.reference = session.clip  # as "Use as reference" would, had the chat's coach compared
    *_, last = app.respond({"text": "Slower than the reference?", "files": []}, [], session, *SETTINGS)
    assert "you asked 'Slower than the reference?'" in last[0][-1]["content"]
    assert practice.reported == ["first.wav"] and other.prepared == ["first.wav"]
    assert session.report.exchanges[-1].mode == "greedy"


class CitingCoach(FakeCoach):
    """A FakeCoach whose every answer cites 1.0-2.0 s of the recording."""

    def answer(self, clip: Clip, question: str, history=(), settings: Settings = Settings()) -> Answer:
        return Answer(super().answer(clip, question, history, settings), [Passage(1.0, 2.0, "0:01-0:02")])


def test_cited_passages_are_clips_in_the_chat_the_export_and_the_session_folder(tmp_path):
    coach = CitingCoach()
    app = ChatApp(coach, coach)
    session = Session()
    (tmp_path / "made").mkdir()
    take = synth_piano(tmp_path / "made" / "take.wav", seconds=3.0)
    *_, last = app.respond({"text": "How was it?", "files": [upload(take, tmp_path)]}, [], session, *SETTINGS)
    message = last[0][-1]
    assert message["role"] == "assistant" and isinstance(message["content"], gr.Audio)
    [clip] = list((session.folder / "clips").iterdir())
    samples, rate = soundfile.read(clip)
    assert len(samples) / rate == pytest.approx(1.0 + 2 * clips.CONTEXT_S, abs=1e-3)
    assert session.report.exchanges[-1].passages[0]["clip"] == str(clip)
    exported = [Path(p) for p in app.export(session)["value"]]
    assert clip.name in [p.name for p in exported] and f"]({clip.name})" in exported[0].read_text()
    folder = session.folder
    app.clear(session)
    assert not folder.exists(), "the clips are deleted with the session"


def test_api_returns_the_cited_passages(takes, tmp_path_factory):
    coach = CitingCoach()
    demo = build_demo(coach, evidence_coach=coach, examples_dir=tmp_path_factory.mktemp("examples"))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        result = Client(url, verbose=False).predict(
            handle_file(str(takes["first.wav"])), "How was it?", None, api_name="/ask_passages"
        )
    finally:
        demo.close()
    assert result["answer"] == "About first.wav: you asked 'How was it?' after 0 turns."
    assert result["passages"] == [{"start_s": 1.0, "end_s": 2.0, "label": "0:01-0:02", "bars": None}]


def rendered(markdown: str) -> tuple[set[str], str]:
    """Markdown as a browser gets it (CommonMark with raw HTML allowed): (HTML tags present, visible text)."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)

        def handle_data(self, data):
            self.text.append(data)

    parser = Collect()
    parser.feed(MarkdownIt("commonmark").render(markdown))
    return parser.tags, "".join(parser.text)


def test_takes_with_one_file_name_stay_apart(tmp_path):
    """Every microphone take arrives as audio.wav: each keeps its own name, file, facts and questions."""
    coach = FakeCoach()
    app = ChatApp(coach, coach)
    session = Session()
    takes = []
    for i, seconds in enumerate((2.0, 3.0)):
        (tmp_path / f"take{i}").mkdir()
        take = synth_piano(tmp_path / f"take{i}" / "audio.wav", seconds=seconds, seed=i)
        takes.append(take.read_bytes())
        message = {"text": f"Take {i + 1}?", "files": [upload(take, tmp_path)]}
        outputs = list(app.respond(message, [], session, *SETTINGS))
        name = "audio.wav (take 2)" if i else "audio.wav"
        assert outputs[-1][0][-1]["content"].startswith(f"*{name} · heard 0:00–0:0{i + 2}*")
        assert next(o[2] for o in outputs if isinstance(o[2], str)).startswith(f"**{name}**: {seconds:.1f} s")
    kept = sorted(session.folder.rglob("audio.wav"))
    assert sorted(p.read_bytes() for p in kept) == sorted(takes), "the second take did not overwrite the first"
    # The first take again (same content) is the same recording, not a third.
    again = tmp_path / "again" / "audio.wav"
    again.parent.mkdir()
    again.write_bytes(takes[0])
    *_, last = app.respond({"text": "First again?", "files": [str(again)]}, [], session, *SETTINGS)
    assert last[0][-1]["content"].startswith("*audio.wav · heard 0:00–0:02*")

    markdown, data = app.export(session)["value"]
    sections = Path(markdown).read_text().split("\n## ")[1:]
    assert [s.splitlines()[0] for s in sections] == ["audio.wav", "audio.wav (take 2)"]
    assert "Take 1?" in sections[0] and "First again?" in sections[0] and "Take 2?" not in sections[0]
    assert "Take 2?" in sections[1] and "Take 1?" not in sections[1]
    assert sections[0].splitlines()[2].startswith("2.0 s") and sections[1].splitlines()[2].startswith("3.0 s")
    recordings = json.loads(Path(data).read_text())["recordings"]
    assert [(r["name"], r["facts"]["duration_s"]) for r in recordings.values()] == [
        ("audio.wav", 2.0),
        ("audio.wav (take 2)", 3.0),
    ]


def test_names_and_questions_are_escaped(tmp_path):
    """A file named like an HTML tag, and a question with Markdown and HTML in it, stay literal text."""

    class Plain(FakeCoach):  # an answer that does not echo the question
        def answer(self, clip, question, history=(), settings=Settings()):
            return Answer(["Steady."])

    coach = Plain()
    app = ChatApp(coach, coach)
    session = Session()
    name = "<img src=x onerror=alert(1)>_*take*_.wav"
    question = "Was **bar 3** <script>alert(2)</script> [ok](http://x)?\n\n# really"
    (tmp_path / "in").mkdir()
    take = synth_piano(tmp_path / "in" / name, seconds=2.0)
    *_, last = app.respond({"text": question, "files": [str(take)]}, [], session, *SETTINGS)
    for message in last[0]:
        tags, text = rendered(message["content"])
        assert tags <= {"p", "em"}, (message["content"], tags)
    assert rendered(last[0][-1]["content"])[1].startswith(f"{name} · heard")
    markdown, _ = app.export(session)["value"]
    exported = Path(markdown).read_text()
    tags, text = rendered(exported)
    assert tags <= {"h1", "h2", "p", "em", "strong"}, tags
    assert exported.count("\n# ") == 0 and f"\n{name}\n" in text
    assert "Was **bar 3** <script>alert(2)</script> [ok](http://x)? # really" in text


def test_every_launch_limits_uploads_and_auth_refuses_a_wrong_password(tmp_path):
    """build_demo's own launch() has the upload limit (no max_file_size passed), and --auth keeps strangers out."""
    import httpx

    coach = FakeCoach()
    demo = build_demo(coach, evidence_coach=coach, examples_dir=tmp_path / "examples", max_upload_mb=1)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, auth=("teacher", "s3cret"))
    try:
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("teacher", "wrong"), verbose=False)
        small = synth_piano(tmp_path / "small.wav", seconds=2.0)  # 0.2 MB
        client = Client(url, auth=("teacher", "s3cret"), verbose=False)
        assert "About small.wav" in last_answer(chat(client, [], "Fine?", small))
        big = synth_piano(tmp_path / "big.wav", seconds=20.0, sample_rate=44100, channels=2)  # 3.4 MB
        with httpx.Client(base_url=url, timeout=30) as web:
            assert web.post("login", data={"username": "teacher", "password": "wrong"}).status_code == 400
            assert web.post("gradio_api/upload", files={"files": small.open("rb")}).status_code == 401
            assert web.post("login", data={"username": "teacher", "password": "s3cret"}).status_code == 200
            assert web.post("gradio_api/upload", files={"files": small.open("rb")}).status_code == 200
            refused = web.post("gradio_api/upload", files={"files": big.open("rb")})
        assert refused.status_code == 413 and "maximum allowed size of 1048576 bytes" in refused.text
    finally:
        demo.close()


def test_a_file_over_the_limit_is_refused_by_name_and_deleted(tmp_path):
    coach = FakeCoach()
    app = ChatApp(coach, coach, max_upload_mb=1)
    big = synth_piano(tmp_path / "big.wav", seconds=20.0, sample_rate=44100, channels=2)
    *_, last = app.respond({"text": "Too big?", "files": [str(big)]}, [], Session(), *SETTINGS)
    assert last[0][-1]["content"] == "**Problem:** big.wav is 3 MB; uploads are limited to 1 MB."
    assert not big.exists() and coach.prepared == []
    assert list(
        app.api.ask({"path": str(synth_piano(tmp_path / "b2.wav", seconds=20.0, sample_rate=44100, channels=2))}, "?")
    ) == ["**Problem:** b2.wav is 3 MB; uploads are limited to 1 MB."]


def test_no_recording_name_or_content_reaches_the_logs(tmp_path, caplog):
    """Unexpected errors are logged by type and place; their messages (which name the file) are not."""
    import logging

    class Failing(FakeCoach):
        def prepare(self, audio_path, *, score_path=None, start_s=0.0):
            if "prepare" in Path(audio_path).name:
                raise RuntimeError(f"cannot decode {audio_path}: {Path(audio_path).read_bytes()[:64]!r}")
            return super().prepare(audio_path, score_path=score_path, start_s=start_s)

        def answer(self, clip, question, history=(), settings=Settings()):
            def pieces():
                yield "Half an answer"
                raise RuntimeError(f"lost {clip.facts.name}")

            return Answer(pieces())

    caplog.set_level(logging.DEBUG)
    app = ChatApp(Failing(), None)
    secrets = []
    for name in ("fails-in-prepare-7391.wav", "fails-in-answer-7392.wav"):
        take = synth_piano(tmp_path / name, seconds=2.0)
        secrets += [name.removesuffix(".wav"), repr(take.read_bytes()[44:76])[2:-1]]
        *_, last = app.respond({"text": "How was it?", "files": [str(take)]}, [], Session(), *SETTINGS)
        assert "something went wrong" in last[0][-1]["content"]
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged, "the failure itself is logged"
    assert not [s for s in secrets if s in logged], logged
