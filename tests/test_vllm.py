"""LLaQo's LLM served by vLLM: the same answers as the local engine, Stop, and a dead or wrong server.

The served tests share one vLLM server (started once, ~1 min on a 2-core CPU) on a tiny random release's LLM,
with the README's command; the last one kills it. The others need no vLLM.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import VLLM_CPU_FLAGS, VLLM_PYTHON, vllm_unavailable

from llaqo.batching import Row
from llaqo.cli import main
from llaqo.coach import CoachConfig, LLaQoCoach
from llaqo.config import PathsConfig
from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import Settings
from llaqo.synthetic import ReleaseSizes, synth_piano, write_release
from llaqo.vllm_engine import PENALTY_ARG, LocalServer, VllmConfig, VllmEngine, VllmError

QUESTIONS = [
    "How would you rate the performance, in a scale of 5?",
    "How was my pedalling?",
    "What should the student practise to improve the pedalling?",
    "Tempo?",
    "Was the articulation clean and even throughout the fast passages?",
    "How was the balance between the hands?",
    "Describe the dynamics of the opening.",
    "Any wrong notes?",
]
LONG = Settings(max_new_tokens=1500)
"""An answer long enough (seconds) to be stopped or broken off in the middle."""
STOPPED = Settings(max_new_tokens=1900)
"""An answer about as long as the served tiny LLM's 2048 positions allow beside its prompt, for the Stop test."""


def free_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def path_flags(paths: PathsConfig) -> list[str]:
    flags = ["--checkpoint", paths.checkpoint, "--audio-encoder", paths.audio_encoder]
    return flags + ["--llm", paths.llm, "--qformer-tokenizer", paths.qformer_tokenizer]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    reason = vllm_unavailable()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("served")
    written = write_release(root / "release", ReleaseSizes.tiny_served())
    paths = PathsConfig(**{k: str(v) for k, v in written.items()})
    clips = [synth_piano(root / f"student{i}.wav", seconds=6.0, seed=i) for i in range(8)]
    log = root / "vllm.log"
    with LocalServer(VLLM_PYTHON, paths.llm, log, *VLLM_CPU_FLAGS, "--enable-log-requests") as server:
        local = LLaQoCoach(CoachConfig(paths=paths))
        remote = LLaQoCoach(CoachConfig(paths=paths, llm_engine="vllm", vllm=VllmConfig(url=server.url)))
        yield SimpleNamespace(server=server, paths=paths, clips=clips, local=local, remote=remote, root=root)


def answer(coach: LLaQoCoach, audio: Path, question: str, settings: Settings = Settings()):
    stream = coach.stream(coach.prepare(audio), question, settings=settings)
    pieces = [p for p in stream if p]
    return [row.ids for row in stream.rows], pieces, stream.stats.text


def metric(server: LocalServer, name: str, **labels: str) -> float:
    """One of the server's Prometheus metrics, summed over the series with these labels."""
    import urllib.request

    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    series = [line for line in lines if line.startswith(name + "{") and all(w in line for w in wanted)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in series)


@pytest.mark.vllm
@pytest.mark.slow
def test_one_answer_streams_the_local_engines_tokens(served):
    assert type(served.remote.model.llm).__name__ == "InputEmbeddings"  # no LLM weights in this process
    local = answer(served.local, served.clips[0], QUESTIONS[1])
    remote = answer(served.remote, served.clips[0], QUESTIONS[1])
    assert remote == local  # ids, streamed pieces and text, token for token, over the whole default budget
    assert len(local[0][0]) > 50
    ids, _, _ = answer(served.remote, served.clips[0], QUESTIONS[1], Settings(mode="sample", max_new_tokens=8))
    assert 1 <= len(ids[0]) <= 8


@pytest.mark.vllm
@pytest.mark.slow
def test_eight_concurrent_sessions_get_their_own_answers(served):
    expected = [answer(served.local, clip, q)[0] for clip, q in zip(served.clips, QUESTIONS, strict=True)]
    got = [None] * 8

    def session(i: int) -> None:
        got[i] = answer(served.remote, served.clips[i], QUESTIONS[i])[0]

    threads = [threading.Thread(target=session, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected
    assert len({str(ids) for ids in expected}) == 8


@pytest.mark.vllm
@pytest.mark.slow
def test_whole_recording_scan_sends_its_windows_together(served):
    piece = synth_piano(served.root / "piece.wav", seconds=30.0, seed=9)
    settings = Settings(scope="whole", max_new_tokens=24)
    local = answer(served.local, piece, QUESTIONS[0], settings)
    remote = answer(served.remote, piece, QUESTIONS[0], settings)
    assert len(local[0]) == 3  # windows
    assert remote == local


@pytest.mark.vllm
@pytest.mark.slow
def test_beam_modes_stay_on_the_local_engine(served):
    with pytest.raises(VllmError, match="local engine only"):
        answer(served.remote, served.clips[0], QUESTIONS[0], Settings(mode="faithful"))


@pytest.mark.vllm
@pytest.mark.slow
def test_stop_frees_the_request_on_the_server(served, monkeypatch):
    """Stop at an answer's first token closes its connection, and the server aborts the request and leaves none
    running. The server is asked to ignore its end of sequence (vLLM's ignore_eos), so that the answer runs
    STOPPED.max_new_tokens tokens unless it is aborted. The tiny LLM makes those in a few seconds, and a loaded
    machine can take as long to run the test's Stop (a CI run here saw the server finish first, 472 tokens
    already read): so the server is frozen (SIGSTOP) while the client stops, and an answer that had ended before
    the Stop reached it is asked again, at most three times."""
    request = served.remote.scheduler.request
    monkeypatch.setattr(served.remote.scheduler, "request", lambda row: {**request(row), "ignore_eos": True})
    group = served.server.process.pid
    for _ in range(3):
        made = metric(served.server, "vllm:generation_tokens_total")
        aborted = served.server.log_path.read_text().count("Aborted request")
        stream = served.remote.stream(served.remote.prepare(served.clips[0]), QUESTIONS[0], settings=STOPPED)
        pieces = iter(stream)
        next(pieces)  # the request is sent
        while not stream.rows[0].tokens:  # stopped at its first token
            time.sleep(0.001)
        os.killpg(group, signal.SIGSTOP)
        try:
            pieces.close()  # what Stop (or a closed tab) does to the answer's generator
            deadline = time.monotonic() + 30
            while not stream.rows[0].done and time.monotonic() < deadline:
                time.sleep(0.01)
            assert stream.rows[0].done, "the stopped answer's connection is still open"
        finally:
            os.killpg(group, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while metric(served.server, "vllm:num_requests_running") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert metric(served.server, "vllm:num_requests_running") == 0
        made = metric(served.server, "vllm:generation_tokens_total") - made
        if made < STOPPED.max_new_tokens:
            break  # it was aborted in the middle, not ended before the Stop reached the server
    else:
        pytest.fail(f"the server ended all three answers ({STOPPED.max_new_tokens} tokens) before the Stop")
    assert stream.rows[0].tokens < STOPPED.max_new_tokens
    # The server logs the abort as it handles the dropped connection: on a loaded machine, after the test reads.
    deadline = time.monotonic() + 30
    while served.server.log_path.read_text().count("Aborted request") == aborted and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served.server.log_path.read_text().count("Aborted request") > aborted, "the answer was not aborted"
    monkeypatch.undo()
    assert answer(served.remote, served.clips[1], QUESTIONS[3], Settings(max_new_tokens=4))[0][0]


@pytest.mark.vllm
@pytest.mark.slow
def test_a_server_killed_during_an_answer_gives_the_clear_error(served, capsys):
    """Last: it kills the module's server. The tiny LLM answers within the moment a kill takes, so the server is
    frozen (SIGSTOP) before the question and killed once the request is in its socket: the answer cannot end
    by itself first. (A stream cut in the middle is test_vllm_client's.)"""
    url = served.server.url
    prepared = served.remote.prepare(served.clips[0])
    os.killpg(served.server.process.pid, signal.SIGSTOP)
    stream = served.remote.stream(prepared, QUESTIONS[0], settings=LONG)
    pieces = iter(stream)
    next(pieces)  # the request's thread is started
    time.sleep(1.0)  # for it to connect and send: the frozen server's kernel accepts the connection
    served.server.kill()
    with pytest.raises(VllmError, match=f"vLLM server at {url} (broke off|closed) the answer"):
        for _ in pieces:
            pass
    argv = ["ask", str(served.clips[0]), QUESTIONS[0], "--llm-engine", "vllm", "--vllm-url", url]
    assert main(argv + path_flags(served.paths)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"vLLM server at {url} cannot be reached" in err


def test_a_dead_server_is_named_by_ask_and_doctor(release, clip, capsys):
    url = free_url()
    argv = [str(clip), "How was my pedalling?", "--llm-engine", "vllm", "--vllm-url", url]
    assert main(["ask", *argv, *path_flags(release)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: the vLLM server at {url} cannot be reached") and err.count("\n") == 1
    assert main(["doctor", "--llm-engine", "vllm", "--vllm-url", url, *path_flags(release)]) == 1
    assert f"vLLM server at {url} cannot be reached" in capsys.readouterr().out


def test_requests_carry_the_local_decoding_settings():
    engine = VllmEngine(VllmConfig("http://127.0.0.1:1"), eos_id=2, top_k=50)
    engine.model = "llm"
    inputs = LLMInputs(torch.zeros(1, 20, 8), torch.ones(1, 20, dtype=torch.long))
    greedy = engine.request(Row(inputs, Settings(repetition_penalty=1.3)))
    assert greedy["max_tokens"] == 236  # the original's 256 positions minus the prompt's 20
    assert (greedy["temperature"], greedy["top_k"], greedy["top_p"], greedy["repetition_penalty"]) == (0, 0, 1, 1)
    assert greedy["vllm_xargs"] == {PENALTY_ARG: 1.3}
    sample = engine.request(Row(inputs, Settings(mode="sample", temperature=0.7, top_p=0.8, max_new_tokens=9)))
    assert (sample["temperature"], sample["top_p"], sample["top_k"], sample["max_tokens"]) == (0.7, 0.8, 50, 9)
    with pytest.raises(VllmError, match="local engine only"):
        engine.submit([Row(inputs, Settings(mode="faithful"))])
