"""LLaQo's language model served by vLLM: each answer is one streamed request made of prompt embeddings.

The app keeps the audio bridge (encoder, Q-Former, projection) and the LLM's input embedding table, builds
each answer's prompt embeddings as the local engine does, and sends them to a vLLM server's Completions API
(`prompt_embeds`, base64 of a torch.save'd (P, D) tensor). The server batches all requests continuously, on
one GPU or several. `VllmEngine` has the batching Scheduler's interface (`submit(rows) -> rows`): a thread
per answer pushes the streamed token ids into its Row, so the streaming and the app do not know which engine
decodes. Stop (Row.cancel) closes the request's connection, which makes vLLM abort it.

Decoding settings map one to one (see `request`): greedy is temperature 0, sampling keeps the LLM's top-k as
transformers does, the token budget is the local one, and the repetition penalty covers the generated tokens
only, through llaqo/vllm_plugin.py on the server. Beam modes stay on the local engine.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import torch

from llaqo.batching import BEAM_MODES, Row
from llaqo.checkpoint import CheckpointError, resolve_llm_dir

log = logging.getLogger(__name__)

PENALTY_ARG = "llaqo_repetition_penalty"  # llaqo/vllm_plugin.py reads it; that module imports vllm
PLUGIN = "llaqo.vllm_plugin:GeneratedTokensRepetitionPenalty"
CANCEL_POLL_S = 0.1
"""How often cancelled answers are looked for, to close their connections (the Stop button's delay)."""
JSON = {"Content-Type": "application/json"}


@dataclass
class VllmConfig:
    """Where LLaQo's LLM is served when `llm_engine: vllm`. YAML keys are these field names (`vllm:` section)."""

    url: str = "http://127.0.0.1:8000"
    """The vLLM server's base URL, as started in the README (`vllm serve LLM --enable-prompt-embeds ...`)."""
    timeout_s: float = 300.0
    """The longest wait for the server's next token (or its answer to a check) before the answer fails."""


class VllmError(RuntimeError):
    """The vLLM server is unreachable, serves something else, or broke off an answer. The message names its URL."""


def encode_embeds(embeds: torch.Tensor) -> str:
    """(1, P, D) or (P, D) prompt embeddings -> the base64 `prompt_embeds` string vLLM reads (torch.load).

    Sent as fp16: LLaQo's prompt embeddings are fp16-rounded by construction (see LLaQo.llm_inputs), so this is
    lossless, and the server casts them to its own dtype as the local engine casts them to the LLM's."""
    buffer = io.BytesIO()
    torch.save(embeds.reshape(-1, embeds.shape[-1]).to(torch.float16).cpu().contiguous(), buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def model_names(path: str | Path) -> set[str]:
    """The names one LLM folder goes by: its folder, its resolved snapshot, its hub repo (models--org--name)."""
    path = Path(path)
    names = {path.name}
    if path.name.startswith("models--"):
        names.add(path.name.split("--")[-1])
    with contextlib.suppress(CheckpointError, OSError):  # the server's folder may exist on its machine only
        names.add(resolve_llm_dir(path).name)
    return names


@dataclass(frozen=True)
class ServerInfo:
    """What the server's check found: the model name to send, and its folder (or hub id) on the server."""

    model: str
    root: str


class VllmEngine:
    """Every answer as its own streamed request to one vLLM server. Thread-safe; `submit` as batching.Scheduler."""

    def __init__(self, config: VllmConfig, eos_id: int, top_k: int):
        """eos_id: the id that ends an answer; top_k: the LLM's generation config top_k, which transformers'
        sampling applies (vLLM's default is none)."""
        self.config, self.eos_id, self.top_k = config, eos_id, top_k
        self.url = config.url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise VllmError(f"{config.url}: expected the vLLM server's address as http://HOST:PORT")
        self._host, self._port, self._base = parts.hostname, parts.port or 80, parts.path
        self.model: str | None = None
        """The served model's name, set by `check`."""
        self._open: dict[Row, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    # --- the server --------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.config.timeout_s)
        try:
            data = None if body is None else json.dumps(body)
            conn.request(method, self._base + path, data, JSON)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as err:
            raise VllmError(
                f"the vLLM server at {self.url} cannot be reached ({err}); start it as the README shows, "
                "or run `python -m llaqo doctor --llm-engine vllm`"
            ) from err
        finally:
            conn.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, {"error": {"message": text[:300]}}

    def check(self, llm: str | Path, hidden_size: int) -> ServerInfo:
        """Raise VllmError unless the server is up, serves `llm` (by name) with prompt embeddings of
        `hidden_size`, and has LLaQo's penalty processor loaded. Sets `model`."""
        status, listing = self._call("GET", "/v1/models")
        served = listing.get("data") or []
        if status != 200 or not served:
            raise VllmError(f"{self.url}/v1/models answered HTTP {status} with no model: is it a vLLM server?")
        wanted = model_names(llm)
        match = [m for m in served if model_names(m.get("root") or m["id"]) & wanted]
        if not match:
            names = ", ".join(str(m.get("root") or m["id"]) for m in served)
            raise VllmError(
                f"the vLLM server at {self.url} serves {names}, not LLaQo's LLM {llm}: serve that folder (README: "
                "Serving LLaQo's LLM with vLLM), or point --llm at a copy of the folder the server serves"
            )
        info = ServerInfo(match[0]["id"], str(match[0].get("root") or match[0]["id"]))
        probe = {"model": info.model, "prompt_embeds": encode_embeds(torch.zeros(1, hidden_size)), "max_tokens": 1}
        status, answer = self._call("POST", "/v1/completions", probe)
        if status != 200:
            message = (answer.get("error") or {}).get("message", "")
            fix = "restart it with --enable-prompt-embeds" if "prompt-embeds" in message else "see its log"
            raise VllmError(
                f"the vLLM server at {self.url} refused prompt embeddings of width {hidden_size} "
                f"(HTTP {status}: {message[:300]}); {fix}"
            )
        status, answer = self._call("POST", "/v1/completions", {**probe, "vllm_xargs": {PENALTY_ARG: -1}})
        if PENALTY_ARG not in (answer.get("error") or {}).get("message", ""):
            raise VllmError(
                f"the vLLM server at {self.url} lacks LLaQo's repetition penalty (answers would differ from the "
                f"local engine's): restart it with PYTHONPATH=<LLaQo folder> and --logits-processors {PLUGIN}"
            )
        self.model = info.model
        return info

    # --- answers -----------------------------------------------------------------------------------------

    def request(self, row: Row) -> dict:
        """The Completions request for one row: its embeddings and the local engine's decoding settings."""
        settings = row.settings
        body = {
            "model": self.model,
            "prompt_embeds": encode_embeds(row.inputs.inputs_embeds),
            "max_tokens": row.budget,
            "stream": True,
            "return_token_ids": True,
            # Off: vLLM's penalty would also hit the ids it imagines for the embedded prompt (vllm_plugin.py).
            "repetition_penalty": 1.0,
            "vllm_xargs": {PENALTY_ARG: settings.repetition_penalty},
            # Explicit, so the server's defaults from the model's generation_config.json never apply.
            "temperature": 0.0,
            "top_p": 1.0,
            "top_k": 0,  # none
        }
        if settings.mode == "sample":
            body.update(temperature=settings.temperature, top_p=settings.top_p, top_k=self.top_k)
        return body

    def submit(self, rows: list[Row]) -> list[Row]:
        """Send each row as its own request (a scan's windows go concurrently). Returns them.

        Raises VllmError for beam modes, which only the local engine runs."""
        for row in rows:
            if row.settings.mode in BEAM_MODES:
                raise VllmError(
                    f"{row.settings.mode} decoding (beam search) runs on the local engine only, not through the "
                    f"vLLM server at {self.url}: choose greedy or sampling, or start with --llm-engine local"
                )
        if self.model is None:
            raise VllmError(f"the vLLM server at {self.url} was not checked: call check() first")
        for row in rows:
            threading.Thread(target=self._answer, args=(row,), name="llaqo-vllm", daemon=True).start()
        return rows

    def _answer(self, row: Row) -> None:
        """Stream one row's tokens from the server into it; every row ends finished or failed."""
        try:
            if not row.cancelled.is_set():
                self._stream(row)
        except VllmError as err:
            row.fail(err)
        except (OSError, http.client.HTTPException, ValueError) as err:
            if not row.cancelled.is_set():  # a cancelled row's connection is closed on purpose
                log.warning("the vLLM server at %s broke off an answer: %s", self.url, err)
                row.fail(
                    VllmError(
                        f"the vLLM server at {self.url} broke off the answer ({type(err).__name__}: {err}); "
                        "is it still running? `python -m llaqo doctor --llm-engine vllm` checks it"
                    )
                )
        finally:
            with self._lock:
                conn = self._open.pop(row, None)
            if conn is not None:
                conn.close()
            row.finish()

    def _stream(self, row: Row) -> None:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.config.timeout_s)
        with self._lock:
            self._open[row] = conn
            self._watch()
        try:
            conn.request("POST", self._base + "/v1/completions", json.dumps(self.request(row)), JSON)
        except OSError as err:
            raise VllmError(
                f"the vLLM server at {self.url} cannot be reached ({err}); start it as the README shows, "
                "or run `python -m llaqo doctor --llm-engine vllm`"
            ) from err
        response = conn.getresponse()
        if response.status != 200:
            text = response.read().decode("utf-8", "replace")
            raise VllmError(f"the vLLM server at {self.url} refused the answer (HTTP {response.status}): {text[:300]}")
        for line in iter(response.readline, b""):
            if not line.startswith(b"data: "):
                continue  # the blank lines between server-sent events
            data = line[len(b"data: ") :].strip()
            if data == b"[DONE]":
                return
            event = json.loads(data)
            if "error" in event:
                raise VllmError(f"the vLLM server at {self.url} failed the answer: {event['error'].get('message')}")
            for choice in event.get("choices") or ():
                for token in choice.get("token_ids") or ():
                    row.push(token, self.eos_id)
                if choice.get("finish_reason") == "stop" and not row.done:
                    # It stopped at the end token; the local engine hands that token over too.
                    row.push(self.eos_id, self.eos_id)
            if row.done:
                return  # the budget, or Stop: returning closes the connection, and vLLM aborts the request
        if not row.cancelled.is_set():
            raise VllmError(
                f"the vLLM server at {self.url} closed the answer before it ended; is it still running? "
                "`python -m llaqo doctor --llm-engine vllm` checks it"
            )

    def _watch(self) -> None:
        """Start the thread that closes cancelled rows' connections (called with the lock held)."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._close_cancelled, name="llaqo-vllm-stop", daemon=True)
            self._watcher.start()

    def _close_cancelled(self) -> None:
        # A reader blocked waiting for the server's next token would only see a cancel at that token; shutting
        # the socket down wakes it at once, and the server sees the client leave.
        while True:
            with self._lock:
                cancelled = [conn for row, conn in self._open.items() if row.cancelled.is_set()]
            for conn in cancelled:
                if conn.sock is not None:
                    with contextlib.suppress(OSError):  # already closed
                        conn.sock.shutdown(socket.SHUT_RDWR)
            time.sleep(CANCEL_POLL_S)


def sampling_top_k(llm: str | Path) -> int:
    """The top-k that transformers' sampling applies for this LLM: its generation_config.json's, else 50
    (transformers' global default)."""
    config = resolve_llm_dir(llm) / "generation_config.json"
    top_k = json.loads(config.read_text()).get("top_k") if config.is_file() else None
    return 50 if top_k is None else int(top_k)


def connect(config: VllmConfig, llm: str | Path, hidden_size: int, eos_id: int) -> VllmEngine:
    """An engine on the server at config.url, checked to serve `llm`. Raises VllmError."""
    engine = VllmEngine(config, eos_id, sampling_top_k(llm))
    info = engine.check(llm, hidden_size)
    log.info("LLaQo's LLM is served by vLLM at %s (%s)", engine.url, info.root)
    return engine


def serve_command(python: str | Path, llm: str | Path, port: int, *extra: str, host: str = "127.0.0.1") -> list[str]:
    """The command that serves LLaQo's LLM for this engine (the README's), with `python` the vLLM venv's.

    It needs LLaQo's folder on PYTHONPATH for the penalty processor. extra: more vLLM flags, such as
    --tensor-parallel-size 2, or on a CPU --dtype float32 (the local engine's CPU dtype)."""
    module = "vllm.entrypoints.openai.api_server"  # what `vllm serve` runs; the CPU wheel has no `vllm` command
    flags = ["--model", str(llm), "--host", host, "--port", str(port), "--enable-prompt-embeds"]
    return [str(python), "-m", module, *flags, "--logits-processors", PLUGIN, *extra]


class LocalServer:
    """A vLLM server in a child process on a loopback port, for tests and benchmarks. A context manager.

    Its log goes to `log_path`; `kill()` stops it at once, as a crash would."""

    def __init__(self, python: str | Path, llm: str | Path, log_path: str | Path, *extra: str, start_timeout_s=600):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(log_path)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache on a CPU; its default takes a lot more
        with open(self.log_path, "wb") as log_file:
            # Its own session, so that kill() reaches the engine processes it starts, too.
            self.process = subprocess.Popen(
                serve_command(python, llm, port, *extra),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._wait_up(start_timeout_s)

    def _wait_up(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(VllmError):
                status, _ = VllmEngine(VllmConfig(self.url), 0, 0)._call("GET", "/v1/models")
                if status == 200:
                    return
            time.sleep(1)
        self.stop()
        lines = self.log_path.read_text(errors="replace").splitlines()
        # The root cause is the first error line; a traceback's last lines only say that the engine failed.
        errors = [line for line in lines if "Error:" in line][:3]
        raise VllmError(f"the vLLM server at {self.url} did not start ({self.log_path}):\n" + "\n".join(errors))

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
