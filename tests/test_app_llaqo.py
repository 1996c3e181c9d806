"""The app served with the real LLaQo coach (a tiny random release), through gradio_client: Stop in a beam
mode frees the model for the next user, and so does a client that goes away; eight sessions at once,
batched, each get their own answer; the API answers about the whole recording."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from gradio_client import Client, handle_file  # noqa: E402

from llaqo.app import build_demo  # noqa: E402
from llaqo.coach import CoachConfig, LLaQoCoach  # noqa: E402
from llaqo.synthetic import synth_piano  # noqa: E402

STEP_S = 0.05
"""Each LLM forward pass sleeps this long: a slow model, so that a long answer takes long."""
FAITHFUL = "Faithful (the original's 5-beam search)"
GREEDY = "Streaming, greedy"


def submit(client: Client, text: str, take, mode: str, max_new_tokens: int):
    message = {"text": text, "files": [handle_file(str(take))]}
    return client.submit(message, [], mode, 0.7, max_new_tokens, 0.0, False, api_name="/chat")


def last_answer(outputs: list) -> str:
    return outputs[-1][0][-1]["content"][0]["text"]


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    return synth_piano(tmp_path_factory.mktemp("take") / "take.wav", seconds=3.0)


@pytest.fixture(scope="module")
def slow(release, tmp_path_factory):
    """(url, forward-call times) of the app around a LLaQo coach whose LLM steps take STEP_S each, with LLaQo's
    default concurrency of one answer at a time."""
    coach = LLaQoCoach(CoachConfig(paths=release))
    coach.model.llm.generation_config.eos_token_id = None  # random weights: never end early
    steps: list[float] = []

    def slow_step(*_):
        steps.append(time.monotonic())
        time.sleep(STEP_S)

    coach.model.llm.register_forward_pre_hook(slow_step)
    demo = build_demo(coach, examples_dir=tmp_path_factory.mktemp("examples"))
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    yield url, steps
    demo.close()


def test_stop_ends_a_beam_answer_and_the_next_user_is_answered(slow, take):
    url, steps = slow
    long = 400  # new tokens: about 400 * STEP_S = 20 s of beam search if nothing stops it
    first = submit(Client(url, verbose=False), "How was my pedalling?", take, FAITHFUL, long)
    deadline = time.monotonic() + 60
    while len(steps) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(steps) >= 10, "the beam search is running"
    assert not first.done()
    first.cancel()  # what the Stop button does: cancel the running event
    stopped_at = time.monotonic()

    second = submit(Client(url, verbose=False), "And my tempo?", take, GREEDY, 8)
    answer = last_answer(list(second))
    waited = time.monotonic() - stopped_at
    assert answer.startswith("*take.wav · heard 0:00–0:03*") and len(answer) > len("*take.wav · heard 0:00–0:03*")
    assert waited < long * STEP_S / 2, f"the next user waited {waited:.1f} s: the beam search went on after Stop"
    # The next user's 8 tokens take 9 forward passes; the stopped beam search may finish the step it was in,
    # plus those during the stream's heartbeat and Gradio's close retry.
    after = [t for t in steps if t > stopped_at]
    assert len(after) <= 9 + 6, f"{len(after)} forward passes after Stop"


CLIENT = """
import sys
from gradio_client import Client, handle_file
job = Client(sys.argv[1], verbose=False).submit(
    {"text": "How was it?", "files": [handle_file(sys.argv[2])]}, [], sys.argv[3], 0.7, 400, 0.0, False,
    api_name="/chat",
)
for _ in job:
    print("started", flush=True)
    break
sys.stdin.read()
"""


def test_closing_the_tab_stops_a_beam_answer(slow, take):
    """A client that goes away mid-answer (its process killed, its connection dropped) stops the beam search."""
    url, steps = slow
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, url, str(take), FAITHFUL], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert client.stdout.readline().strip() == b"started"
        deadline = time.monotonic() + 60
        while len(steps) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        running = len(steps)
        time.sleep(0.5)
        assert len(steps) > running, "the beam search is running"
    finally:
        client.kill()
        client.wait()
    closed_at = time.monotonic()
    time.sleep(3.0)
    late = [t for t in steps if t > closed_at + 1.0]
    assert not late, f"{len(late)} forward passes more than 1 s after the tab closed"


QUESTIONS = [f"Question {i}: how was bar {i + 1}?" for i in range(8)]


@pytest.fixture(scope="module")
def classroom(release, tmp_path_factory):
    """(url, coach, takes, answers alone) of the app around a LLaQo coach that batches up to 8 answers."""
    from llaqo.batching import BatchConfig
    from llaqo.protocol import Settings

    folder = tmp_path_factory.mktemp("classroom")
    takes = [synth_piano(folder / f"student{i}.wav", seconds=2.0 + i / 2, seed=10 + i) for i in range(8)]
    alone = LLaQoCoach(CoachConfig(paths=release))
    settings = Settings(max_new_tokens=16)
    expected = [
        "".join(alone.answer(alone.prepare(t), q, settings=settings)) for t, q in zip(takes, QUESTIONS, strict=True)
    ]
    coach = LLaQoCoach(CoachConfig(paths=release, batch=BatchConfig(max_batch_size=8, fill_wait_s=0.5)))
    demo = build_demo(coach, examples_dir=tmp_path_factory.mktemp("examples"))
    demo.queue(default_concurrency_limit=coach.config.batch.max_batch_size)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    yield url, coach, takes, expected
    demo.close()


def test_eight_sessions_at_once_get_their_own_answers(classroom):
    url, coach, takes, expected = classroom
    results: list = [None] * len(takes)
    before = len(coach.scheduler.batch_sizes)

    def student(i: int) -> None:
        results[i] = last_answer(list(submit(Client(url, verbose=False), QUESTIONS[i], takes[i], GREEDY, 16)))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(len(takes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    for i, answer in enumerate(results):
        # Times are rounded to the second, as the answers round them: 2.5 s reads 0:02 and 3.5 s 0:04 (to even).
        header = f"*student{i}.wav · heard 0:00–0:0{round(2.0 + i / 2)}*"
        assert answer is not None and answer.startswith(header), answer
        assert answer == f"{header}\n\n{expected[i]}", "each session gets the answer to its own question and take"
    assert max(coach.scheduler.batch_sizes[before:]) > 1, "answers from different sessions shared a generate call"


def test_api_answers_about_the_whole_recording(classroom, tmp_path):
    url, *_ = classroom
    take = synth_piano(tmp_path / "long.wav", seconds=25.0, seed=5)
    answer = Client(url, verbose=False).predict(
        handle_file(str(take)), "How was it?", None, "whole", 5.0, api_name="/ask"
    )
    spans = re.findall(r"^\*\*(\d+:\d\d)–(\d+:\d\d)\*\* ", answer, flags=re.MULTILINE)
    assert spans and spans[0][0] == "0:00" and spans[-1][1] == "0:25", answer
