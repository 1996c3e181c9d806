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
    env["RELEASE"] = str(tmp_path / "release")
    run = subprocess.run(["bash", str(REPO / "bench" / "gpu.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "stopped or failed" not in run.stdout, run.stdout + run.stderr
    (kv,) = json.loads((tmp_path / "kv-cache-tiny-cpu.json").read_text())["results"]
    configurations = {(c["batch"], c["kv_cache"]): c for c in kv["configurations"]}
    assert set(configurations) == {(1, "dynamic"), (1, "static"), (8, "dynamic"), (8, "static")}
    for c in configurations.values():
        assert c["pipeline"]["batches"] == [c["batch"]]
        assert c["bare"]["tokens_per_s"] > 0 and c["pipeline"]["ttft_s"] > 0
    assert kv["whole_scan"]["same_answers"] and kv["whole_scan"]["static"]["batches"] == [18]
    assert [1, 256] in kv["static_cache_shapes"] and [24, 256] in kv["static_cache_shapes"], "a scan of 18 windows"
    memory = [json.loads(line) for line in (tmp_path / "memory-tiny-cpu.jsonl").read_text().splitlines()]
    assert [m["case"] for m in memory] == ["one", "batch8", "scan"]
    assert [m["batches"] for m in memory] == [[1], [8], [18]]
    assert all(m["peak_mb"] >= m["after_load_mb"] > 0 and m["kv_cache_mb"] > 0 for m in memory)
