"""The benchmark scripts keep running end to end (on a tiny model, on the CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_script_runs_on_cpu_with_the_tiny_size(tmp_path):
    env = {**os.environ, "SIZE": "tiny", "DEVICE": "cpu", "OUT": str(tmp_path), "PYTHON": sys.executable}
    subprocess.run(["bash", str(REPO / "bench" / "gpu.sh")], check=True, env=env, capture_output=True, timeout=300)
    report = json.loads((tmp_path / "gpu-tiny-cpu.json").read_text())
    batching, result = report["results"]
    assert batching["batched"]["batches"] == [8] and batching["one_after_another"]["batches"] == [1] * 8
    assert batching["same_answers"] and batching["whole_scan"]["same_answers"]
    assert batching["whole_scan"]["batched"]["batches"] == [batching["whole_scan"]["batched"]["windows"]]
    assert result["encoder_calls"] == {"after_first_question": 1, "after_follow_up": 1}
    assert result["greedy"]["median"]["pipeline_tokens_per_s"] > 0
    assert result["faithful_beam5"]["tokens"] == 64
    assert result["peak_memory_mb"] > 0
