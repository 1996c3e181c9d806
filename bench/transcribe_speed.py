"""Speed of the Lite coach's transcriber (Transkun 2.0, llaqo.lite.hearing.transcribe) alone, on the CPU or a GPU.

Usage: python bench/transcribe_speed.py [--device cuda] [--minutes 0.5 3] [--precision fp32 unfused tf32 bf16] [--out F]
Each take is synthesised (llaqo.lite.synth.texture_notes), so nothing but the wheel's weights is needed: the
script runs on a bare GPU machine. Precisions: fp32 is the unmodified model; tf32 lets CUDA matrix products
use TF32; bf16 runs the model under torch.autocast. --out writes the timings and every transcribed note with
the synthesised truth, so the accuracy of each precision can be checked afterwards where mir_eval is
installed (bench/transcriber.py's onset_f1).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from pathlib import Path

import torch
from common import quiet  # this folder is on the path of a script run from it

from llaqo.lite import synth
from llaqo.lite.hearing import transcribe
from llaqo.lite.hearing.transcribe import TranscriberConfig


@contextlib.contextmanager
def precision_context(precision: str, device: str, model: torch.nn.Module):
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    fused = {name: m.forward for name, m in model.named_modules() if "forward" in vars(m)}
    if precision == "unfused":  # the attention layers' own forward, as Transkun ships them
        for name in fused:
            del model.get_submodule(name).forward
    try:
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=precision == "bf16"):
            yield
    finally:
        for name, forward in fused.items():
            model.get_submodule(name).forward = forward


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--minutes", type=float, nargs="+", default=[0.5, 3.0])
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "unfused", "tf32", "bf16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write timings, notes and truth as JSON here")
    args = parser.parse_args()
    config = TranscriberConfig(device=args.device)
    start = time.perf_counter()
    model = transcribe.load_model(config)
    load_s = time.perf_counter() - start
    sr = transcribe.SAMPLE_RATE
    warm = synth.render(synth.texture_notes(0.3), sr, 18.0)
    report = {
        "device": torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{torch.get_num_threads()}",
        "torch": torch.__version__,
        "load_s": load_s,
        "runs": [],
    }
    for precision in args.precision:
        with precision_context(precision, args.device, model):
            transcribe.transcribe(warm, config)  # warm-up: kernels, allocator, autocast caches
            for minutes in args.minutes:
                truth = synth.texture_notes(minutes)
                wave = synth.render(truth, sr, minutes * 60)
                seconds = []
                for _ in range(args.repeats):
                    sync(args.device)
                    start = time.perf_counter()
                    heard = transcribe.transcribe(wave, config)
                    sync(args.device)
                    seconds.append(time.perf_counter() - start)
                run = {
                    "precision": precision,
                    "minutes": minutes,
                    "median_s": statistics.median(seconds),
                    "seconds": seconds,
                    "real_time_factor": statistics.median(seconds) / (minutes * 60),
                    "notes": heard.notes.tolist(),
                    "truth": truth.tolist(),
                }
                report["runs"].append(run)
                print(
                    f"{precision} {minutes:g} min: median {run['median_s']:.2f} s (RTF {run['real_time_factor']:.3f}),"
                    f" {len(heard.notes)} notes heard of {len(truth)}",
                    flush=True,
                )
    print(f"device {report['device']}, model load {load_s:.1f} s, load average {os.getloadavg()[0]:.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
