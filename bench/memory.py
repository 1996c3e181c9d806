"""Peak memory of one LLaQo configuration, measured in this process, which should be a fresh one: the weights, the
KV cache and the activations, for one answer, a batch of 8 concurrent answers, or a whole-recording scan.

CUDA: torch's allocator counts (`memory_allocated` after loading = the weights; `max_memory_allocated` while
answering = the peak). The KV cache is computed from the shapes the engine used (the static cache's buckets, or
the dynamic cache's rows x positions), and the activations are what is left of the peak. CPU: the process's
resident memory (VmRSS after loading, VmHWM at the end), a rough check only. Random weights never end an answer
here (EOS disabled), so each answer fills its whole budget: the original's 256 positions unless --new-tokens.

    python bench/memory.py --size tiny --case one
    python bench/memory.py --release /tmp/llaqo-7b --size 7b --device cuda --quantization 4bit --case batch8
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import torch
from engine import QUESTIONS, machine, release, sync

from llaqo.batching import BatchConfig
from llaqo.coach import CoachConfig, LLaQoCoach
from llaqo.protocol import Settings
from llaqo.synthetic import synth_piano

MB = 2**20


def rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def allocated_mb(device: torch.device, peak: bool = False) -> float:
    if device.type == "cuda":
        return (torch.cuda.max_memory_allocated(device) if peak else torch.cuda.memory_allocated(device)) / MB
    return rss_mb("VmHWM" if peak else "VmRSS")


def tensor_mb(module: torch.nn.Module) -> float:
    """Parameters and buffers as stored (a 4-bit weight counts its packed bytes, not its quantisation state)."""
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()]) / MB


def kv_mb(coach: LLaQoCoach, rows: int, positions: int) -> float:
    """Keys and values of every layer for rows x positions, in the LLM's activation dtype."""
    config = coach.model.llm.config
    heads = config.num_key_value_heads or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    size = torch.empty(0, dtype=coach.model.llm.dtype).element_size()
    return 2 * config.num_hidden_layers * rows * positions * heads * head_dim * size / MB


def answer_all(coach: LLaQoCoach, clips: list, settings: Settings) -> list:
    """Each clip's session asks at once; the scheduler decodes them together. Returns their streams."""
    streams = [coach.stream(clip, QUESTIONS[i % len(QUESTIONS)], settings=settings) for i, clip in enumerate(clips)]
    threads = [threading.Thread(target=lambda s=s: [None for _ in s]) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "1b", "7b"], default="tiny")
    parser.add_argument("--release", type=Path, help="the random release's folder, reused if already written")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quantization", default="none", help="none, 8bit or 4bit (CUDA)")
    parser.add_argument("--case", choices=["one", "batch8", "scan"], default="one")
    parser.add_argument("--kv-cache", default="auto", help="auto, static or dynamic (BatchConfig.kv_cache)")
    parser.add_argument("--compile", default="never", help="BatchConfig.compile: never (default), auto, always")
    parser.add_argument("--new-tokens", type=int, help="per answer (default: the original's 256 positions)")
    parser.add_argument("--scan-seconds", type=float, default=180.0)
    parser.add_argument("--out", type=Path, help="append the result as one JSON line here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = release(args.release or work / "release", args.size)
        sessions = 8 if args.case == "batch8" else 1
        batch = BatchConfig(max_batch_size=sessions, fill_wait_s=0.5, kv_cache=args.kv_cache, compile=args.compile)
        start = time.perf_counter()
        coach = LLaQoCoach(CoachConfig(paths=paths, device=args.device, quantization=args.quantization, batch=batch))
        load_s = time.perf_counter() - start
        device = coach.device
        coach.model.llm.generation_config.eos_token_id = None  # every answer fills its budget
        sync(device)
        result = {
            "machine": machine(),
            "size": args.size,
            "device": str(device),
            "quantization": args.quantization,
            "case": args.case,
            "kv_cache": "static" if coach.scheduler.static else "dynamic",
            "compiled": coach.scheduler.compiles,
            "load_s": load_s,
            "load_peak_mb": allocated_mb(device, peak=True),
            "after_load_mb": allocated_mb(device),
            "llm_weights_mb": tensor_mb(coach.model.llm),
            "bridge_weights_mb": tensor_mb(coach.model) - tensor_mb(coach.model.llm),
        }
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        settings = Settings(max_new_tokens=args.new_tokens)
        if args.case == "scan":
            clip = coach.prepare(synth_piano(work / "piece.wav", seconds=args.scan_seconds, seed=99))
            streams = answer_all(coach, [clip], Settings(max_new_tokens=args.new_tokens, scope="whole"))
        else:
            clips = [coach.prepare(synth_piano(work / f"take{i}.wav", seconds=10.0, seed=i)) for i in range(sessions)]
            streams = answer_all(coach, clips, settings)
        sync(device)
        rows = [row for stream in streams for row in stream.rows]
        if coach.scheduler.static:
            shape = max(coach.scheduler.cache_shapes, key=lambda s: s[0] * s[1])
        else:  # each batch's rows, left-padded to the longest prompt, plus the longest answer
            longest = max(row.inputs.prompt_length for row in rows) + max(row.tokens for row in rows)
            shape = (len(rows) if args.case == "scan" else sessions, longest)
        peak = allocated_mb(device, peak=True)
        result.update(
            answers=len(rows),
            tokens=[row.tokens for row in rows][:8],
            batches=coach.scheduler.batch_sizes,
            kv_cache_shape=list(shape),
            kv_cache_mb=kv_mb(coach, *shape),
            peak_mb=peak,
            process_peak_mb=max(peak, result["load_peak_mb"]),
        )
        result["activations_mb"] = peak - result["after_load_mb"] - result["kv_cache_mb"]
    line = json.dumps(result)
    print(line, flush=True)
    if args.out:
        with args.out.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
