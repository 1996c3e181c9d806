"""The vLLM engine's client side against a small fake server on loopback: runs where vLLM cannot.

The fake speaks the part of vLLM's API the engine uses (models, the prompt-embeds probe, streamed completions
with token ids), with switches for the ways a real server goes wrong.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from llaqo.batching import Row
from llaqo.model.llaqo import LLMInputs
from llaqo.protocol import Settings
from llaqo.vllm_engine import PENALTY_ARG, VllmConfig, VllmEngine, VllmError, encode_embeds

EOS = 2


class Fake(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.root = "/models/llm"
        self.embeds = True
        self.plugin = True
        self.stop_after: int | None = None
        """Answer with the end token after this many tokens."""
        self.die_after: int | None = None
        """Drop the connection after this many tokens, as a killed server does."""
        self.delay_s = 0.0
        self.requests: list[dict] = []
        self.disconnected = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Fake

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.reply(200, {"data": [{"id": self.server.root, "root": self.server.root, "max_model_len": 2048}]})

    def do_POST(self) -> None:
        fake = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not fake.embeds:
            return self.reply(400, {"error": {"message": "You must set `--enable-prompt-embeds` to input it."}})
        if (body.get("vllm_xargs") or {}).get(PENALTY_ARG) == -1 and fake.plugin:
            return self.reply(400, {"error": {"message": f"{PENALTY_ARG} must be a number > 0, got -1"}})
        if not body.get("stream"):
            return self.reply(200, {"choices": [{"text": "", "token_ids": [5]}]})
        fake.requests.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
        try:
            for i in range(body["max_tokens"]):
                if fake.die_after is not None and i == fake.die_after:
                    return
                token, reason = 10 + i, None
                if fake.stop_after is not None and i == fake.stop_after:
                    token, reason = EOS, "stop"
                elif i == body["max_tokens"] - 1:
                    reason = "length"
                event = {"choices": [{"index": 0, "token_ids": [token], "finish_reason": reason}]}
                self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.flush()
                if reason:
                    break
                time.sleep(fake.delay_s)
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            fake.disconnected.set()


@pytest.fixture
def fake():
    server = Fake()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def engine(fake: Fake) -> VllmEngine:
    built = VllmEngine(VllmConfig(fake.url, timeout_s=10), eos_id=EOS, top_k=50)
    built.check("/somewhere/else/llm", hidden_size=8)
    return built


def row(settings: Settings = Settings(max_new_tokens=6)) -> Row:
    return Row(LLMInputs(torch.zeros(1, 5, 8), torch.ones(1, 5, dtype=torch.long)), settings)


def ids(rows: list[Row]) -> list[list[int]]:
    for r in rows:
        while True:
            if r.get(timeout=10) is Row.FINISHED:
                break
    return [r.ids for r in rows]


def test_rows_receive_their_streamed_tokens_and_the_end_token(fake):
    vllm = engine(fake)
    assert ids(vllm.submit([row(), row(Settings(max_new_tokens=3))])) == [[10, 11, 12, 13, 14, 15], [10, 11, 12]]
    fake.stop_after = 2  # a real server ends at EOS with finish_reason "stop"
    assert ids(vllm.submit([row()])) == [[10, 11, EOS]]
    sent = fake.requests[-1]
    embeds = torch.load(io.BytesIO(base64.b64decode(sent["prompt_embeds"])), weights_only=True)
    assert torch.equal(embeds, torch.zeros(5, 8, dtype=torch.float16))
    assert sent["prompt_embeds"] == encode_embeds(torch.zeros(1, 5, 8))
    assert sent["model"] == fake.root


def test_stop_closes_the_connection(fake):
    fake.delay_s = 0.05
    vllm = engine(fake)
    (answer,) = vllm.submit([row(Settings(max_new_tokens=200))])
    assert answer.get(timeout=10) == 10
    answer.cancel()
    assert fake.disconnected.wait(5)
    assert answer.tokens < 200


def test_a_server_that_dies_mid_answer_fails_the_answer_by_url(fake):
    fake.die_after = 3
    (answer,) = engine(fake).submit([row()])
    with pytest.raises(VllmError, match=f"vLLM server at {fake.url} closed the answer before it ended"):
        ids([answer])
    assert answer.ids == [10, 11, 12]


@pytest.mark.parametrize(
    "setting, message",
    [
        ("root", "serves /models/other, not LLaQo's LLM"),
        ("embeds", "restart it with --enable-prompt-embeds"),
        ("plugin", "lacks LLaQo's repetition penalty"),
    ],
)
def test_a_wrong_server_is_refused_by_name(fake, setting, message):
    if setting == "root":
        fake.root = "/models/other"
    else:
        setattr(fake, setting, False)
    with pytest.raises(VllmError, match=message) as raised:
        engine(fake)
    assert fake.url in str(raised.value)


def test_the_chat_names_the_server_that_broke_off_and_keeps_beams_local(fake, release, clip, tmp_path):
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client, handle_file

    from llaqo.app import build_demo
    from llaqo.coach import CoachConfig, LLaQoCoach

    fake.root = "/models/" + Path(release.llm).name
    coach = LLaQoCoach(CoachConfig(paths=release, llm_engine="vllm", vllm=VllmConfig(fake.url, timeout_s=10)))
    demo = build_demo(coach, examples_dir=tmp_path)
    demo.queue(default_concurrency_limit=2)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)

        def chat(mode: str) -> str:
            message = {"text": "How was my pedalling?", "files": [handle_file(str(clip))]}
            outputs = list(client.submit(message, [], mode, 0.7, 8, 0.0, False, api_name="/chat"))
            return outputs[-1][0][-1]["content"][0]["text"]

        fake.die_after = 3
        assert f"**Problem:** the vLLM server at {fake.url} closed the answer before it ended" in chat(
            "Streaming, greedy"
        )
        beams = chat("Faithful (the original's 5-beam search)")
        assert "**Problem:** faithful decoding (beam search) runs on the local engine only" in beams
    finally:
        demo.close()
