"""Shared test fixtures: a tiny random LLaQo release in the original formats, and a synthesized clip."""

from __future__ import annotations

import json
import platform
import socket
import sys
from pathlib import Path

import pytest
import torch

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


def vllm_unavailable() -> str | None:
    """Why vLLM's CPU engine cannot run here (scripts/setup.sh --test builds it where it can), or None."""
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine() != "x86_64" or not cpuinfo.is_file() or "avx512f" not in cpuinfo.read_text():
        return "vLLM's CPU engine (vllm-cpu) needs an x86-64 CPU with AVX-512, which this one lacks"
    if not VLLM_PYTHON.is_file():
        return f"{VLLM_PYTHON.parents[1]} is missing: scripts/setup.sh --test builds it"
    return None


def head_size(llm: Path) -> int:
    config = json.loads((llm / "config.json").read_text())
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def widen_heads(llm: Path, out: Path, head_dim: int = 32) -> Path:
    """A copy of a LLaMA folder, in fp32, whose attention heads are widened with zeros to head_dim dims and
    compute the same function: for vLLM's CPU engine, which takes heads of 32 or more dims only.

    Query and key dim i of a d-dim head go to slot i * head_dim / d (and its rotary partner), where the wider
    head's rotary frequency is the same; the other slots are zero, so the scores are unchanged once the
    queries are scaled for the wider softmax scale. Values fill the first d slots; o_proj ignores the rest."""
    import shutil

    from safetensors.torch import load_file, save_file

    config = json.loads((llm / "config.json").read_text())
    heads, hidden = config["num_attention_heads"], config["hidden_size"]
    kv_heads = config.get("num_key_value_heads") or heads
    old = config.get("head_dim") or hidden // heads
    factor = head_dim // old
    assert factor * old == head_dim, f"{head_dim} is not a multiple of {old}"
    half = old // 2
    slots = [factor * i for i in range(half)] + [head_dim // 2 + factor * i for i in range(half)]
    state = {k: v.float() for k, v in load_file(llm / "model.safetensors").items()}
    for name in list(state):
        weight = state[name]
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            n = heads if "q_proj" in name else kv_heads
            wide = torch.zeros(n, head_dim, hidden)
            scale = (head_dim / old) ** 0.5 if "q_proj" in name else 1.0
            wide[:, slots] = weight.view(n, old, hidden) * scale
        elif name.endswith("v_proj.weight"):
            wide = torch.zeros(kv_heads, head_dim, hidden)
            wide[:, :old] = weight.view(kv_heads, old, hidden)
        elif name.endswith("o_proj.weight"):
            wide = torch.zeros(hidden, heads, head_dim)
            wide[:, :, :old] = weight.view(hidden, heads, old)
        else:
            continue
        state[name] = wide.reshape(-1, wide.shape[-1]) if "o_proj" not in name else wide.reshape(hidden, -1)
    out.mkdir(parents=True, exist_ok=True)
    for f in llm.iterdir():
        if f.name not in ("config.json", "model.safetensors"):
            shutil.copy(f, out / f.name)
    save_file({k: v.contiguous() for k, v in state.items()}, out / "model.safetensors", metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps({**config, "head_dim": head_dim, "torch_dtype": "float32"}))
    return out
