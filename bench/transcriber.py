"""Transkun as shipped against the Lite transcriber's settings: onset F1 and time per take, in one run.

Usage: python bench/transcriber.py [--perfbench ../shared/perfbench/dev] [--cache /tmp/llaqo-transkun-cache]
       [--variants hop12 hop14] [--takes d01 d09]
"reference" is Transkun's own TransKun.transcribe() at its defaults (16 s segments, 8 s hop, fp32): the
unmodified model. Each variant is llaqo.lite.hearing.transcribe with a TranscriberConfig. Each result is cached
(by take, variant and audio size) in --cache, with the seconds it took, so a rerun only times what is new;
timings from different runs are comparable only on an otherwise idle machine, so the table marks cached rows.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from common import PERFBENCH_DEV, quiet  # this folder is on the path of a script run from it
from lite_accuracy import onset_f1  # this folder is on the path of a script run from it

from llaqo.audio import load_audio
from llaqo.lite.hearing import transcribe
from llaqo.lite.hearing.transcribe import TranscriberConfig

VARIANTS = {f"hop{hop:g}": TranscriberConfig(hop_s=hop) for hop in (8.0, 12.0, 14.0)}


def reference(wave: np.ndarray) -> np.ndarray:
    """Transkun's own transcribe() at its defaults -> (N, 4) notes (pedal events dropped)."""
    model = transcribe.load_model(TranscriberConfig())
    with torch.inference_mode():
        events = model.transcribe(torch.from_numpy(wave)[:, None])
    rows = sorted((e.start, e.end, e.pitch, e.velocity) for e in events if e.pitch > 0)
    return np.array(rows, dtype=float).reshape(-1, 4)


def run(name: str, wave: np.ndarray, take: str, cache: Path) -> tuple[np.ndarray, float, bool]:
    """-> (notes, seconds, cached)."""
    path = cache / f"{take}.{name}.{len(wave)}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        return np.array(data["notes"]).reshape(-1, 4), data["seconds"], True
    start = time.perf_counter()
    notes = reference(wave) if name == "reference" else transcribe.transcribe(wave, VARIANTS[name]).notes
    seconds = time.perf_counter() - start
    path.write_text(json.dumps({"notes": notes.tolist(), "seconds": seconds}))
    return notes, seconds, False


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--perfbench", type=Path, default=PERFBENCH_DEV)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/llaqo-transkun-cache"))
    parser.add_argument("--variants", nargs="+", default=["hop12"], choices=sorted(VARIANTS))
    parser.add_argument("--takes", nargs="*", default=[], help="only takes whose name starts with one of these")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    names = ["reference", *args.variants]
    for name in names:  # load (and quantise) every model before timing anything
        transcribe.load_model(VARIANTS.get(name, TranscriberConfig()))
    print(f"{'take':<36} {'s':>6} " + " ".join(f"{n:>22}" for n in names))
    totals = {n: [0.0, 0.0] for n in names}
    worst = {n: 0.0 for n in args.variants}
    folders = sorted(p for p in args.perfbench.iterdir() if p.is_dir())
    for folder in [f for f in folders if not args.takes or f.name.startswith(tuple(args.takes))]:
        truth = np.array(json.loads((folder / "truth.json").read_text())["notes"])
        recording = load_audio(folder / "audio.flac")
        wave = recording.wave.mean(dim=0)
        if recording.sample_rate != transcribe.SAMPLE_RATE:
            import torchaudio

            wave = torchaudio.functional.resample(wave, recording.sample_rate, transcribe.SAMPLE_RATE)
        wave = wave.numpy().astype(np.float32)
        cells, f1 = [], {}
        for name in names:
            notes, seconds, cached = run(name, wave, folder.name, args.cache)
            f1[name] = onset_f1(truth, notes)
            totals[name][0] += seconds
            totals[name][1] += recording.duration_s
            cells.append(f"F1 {f1[name]:.3f} {seconds:6.1f}s{'*' if cached else ' '}")
        for name in args.variants:
            worst[name] = max(worst[name], f1["reference"] - f1[name])
        print(f"{folder.name:<36} {recording.duration_s:>6.1f} " + " ".join(f"{c:>22}" for c in cells))
    print()
    for name in names:
        seconds, audio = totals[name]
        extra = "" if name == "reference" else f", worst onset-F1 drop vs reference {worst[name]:+.4f}"
        ratio = totals["reference"][0] / seconds if seconds else float("nan")
        print(f"{name}: real-time factor {seconds / audio:.3f}, {ratio:.2f}x the reference's speed{extra}")
    print(f"(* = cached from an earlier run) cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
