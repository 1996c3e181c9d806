"""Benchmark the LLaQo coach engine against bare `LlamaForCausalLM.generate` on the same inputs.

Builds a random-weight release in the original formats (no download) and loads it through the real
loading code, then measures, on one device:
  (a) time to first token and greedy tokens/s: the streaming pipeline vs bare generate;
  (b) first-question latency (decode + encoder + answer) vs follow-up latency, with encoder call counts;
  (c) peak memory (process RSS; CUDA: max allocated);
  (d) on CUDA: faithful beam-5 latency, and peak memory (of this one process; bench/memory.py measures each
      configuration in a fresh one);
  (e) with --what batching (or --what engine batching): N concurrent greedy questions, each about its own
      recording, batched vs one after another (total time, each session's time to first token from the
      common start), and a whole-recording scan batched vs window by window;
  (f) with --what kv_cache: the dynamic KV cache against the static one (compiled by transformers on CUDA),
      at batch 1 and 8: the pipeline against bare generate on the same inputs (tokens/s per answer and in
      total, time to first token, each configuration's first run, which compiles), the warm-up at load, and a
      whole-recording scan with each cache. Peak memory per configuration is bench/memory.py's, in fresh
      processes.
  (g) with --what batching --engine vllm: the batching runs, and the same sessions and scan through a vLLM
      server (started here from .venv-vllm on the same LLM, --llm-engine vllm), in one run so the ratios compare.
Random weights never emit the end token by design here (EOS is disabled for both sides), so every
run generates exactly --new-tokens tokens.

    python bench/engine.py --size 1b --new-tokens 32 --out bench/out/cpu-1b.json
    python bench/engine.py --size tiny                      # seconds; what CI-sized checks use
    python bench/engine.py --size 1b --what batching --out bench/out/cpu-1b-batching.json
    python bench/engine.py --size 1b --what kv_cache --batches 1 8 --out bench/out/cpu-1b-kv.json
    python bench/engine.py --size 1b --what batching --engine vllm --out bench/out/cpu-1b-vllm.json
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import platform
import resource
import statistics
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import torch
import transformers

from llaqo.batching import BatchConfig, left_pad
from llaqo.coach import CoachConfig, LLaQoCoach
from llaqo.config import PathsConfig
from llaqo.decoding import generate_kwargs
from llaqo.protocol import Settings
from llaqo.synthetic import ReleaseSizes, synth_piano, write_release
from llaqo.vllm_engine import LocalServer, VllmConfig

REPO = Path(__file__).resolve().parents[1]

QUESTION = "How would you rate the performance, in a scale of 5?"
QUESTIONS = [
    QUESTION,
    "How was my pedalling?",
    "What should the student practise to improve the pedalling?",
    "Tempo?",
    "Was the articulation clean and even throughout the fast passages?",
    "How was the balance between the hands?",
    "Describe the dynamics of the opening, and how to shape them better next time.",
    "Any wrong notes?",
]
FOLLOW_UP = "What should the student practise to improve the pedalling?"


def sizes(name: str, engine: str = "local") -> ReleaseSizes:
    if name == "tiny":
        return ReleaseSizes.tiny_served() if engine == "vllm" else ReleaseSizes()
    if name == "7b":
        return ReleaseSizes.vicuna_7b()
    full = ReleaseSizes.vicuna_7b()
    # About 1.1B parameters: TinyLlama's shape, with the real AudioMAE ViT-B and BERT-mini Q-Former.
    llm = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32, vocab_size=32000)
    return replace(full, llm=llm)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class TokenClock:
    """A do-nothing streamer that notes when each token arrives, for timing bare generate the same way."""

    def __init__(self):
        self.times: list[float] = []
        self.prompt_seen = False

    def put(self, value) -> None:
        if self.prompt_seen:
            self.times.append(time.perf_counter())
        self.prompt_seen = True

    def end(self) -> None:
        pass


def bare_generate(coach: LLaQoCoach, clip, settings: Settings) -> tuple[float, float]:
    """(seconds to first token, tokens/s after it) of plain generate on the pipeline's own inputs.

    The inputs are built beforehand, so this is the LLM alone: the ceiling for the pipeline."""
    inputs = coach.inputs(clip, QUESTION)
    clock = TokenClock()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*repetition_penalty.*")  # as in llaqo.decoding
        sync(coach.device)
        start = time.perf_counter()
        coach.model.llm.generate(
            inputs_embeds=inputs.inputs_embeds,
            attention_mask=inputs.attention_mask,
            streamer=clock,
            **generate_kwargs(settings, inputs.prompt_length),
        )
        sync(coach.device)
    first, last = clock.times[0], clock.times[-1]
    return first - start, (len(clock.times) - 1) / max(last - first, 1e-9)


def pipeline(coach: LLaQoCoach, clip, question: str, settings: Settings) -> dict:
    start = time.perf_counter()
    stream = coach.stream(clip, question, settings=settings)
    for _ in stream:
        pass
    sync(coach.device)
    stats = stream.stats
    return {
        "ttft_s": stats.time_to_first_token_s,
        "tokens": stats.tokens,
        "tokens_per_s": stats.tokens_per_s,
        "total_s": time.perf_counter() - start,
    }


def measure(paths: PathsConfig, device: str, dtype: str, quantization: str, args, work: Path) -> dict:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    coach = LLaQoCoach(CoachConfig(paths=paths, device=device, dtype=dtype, quantization=quantization))
    load_s = time.perf_counter() - start
    coach.model.llm.generation_config.eos_token_id = None  # run every generation to its full length
    dev = coach.device
    result = {"device": str(dev), "llm_dtype": str(coach.model.llm.dtype), "quantization": quantization}
    result["load_s"] = load_s
    result["llm_parameters"] = sum(p.numel() for p in coach.model.llm.parameters())

    settings = Settings(max_new_tokens=args.new_tokens)
    clip_path = synth_piano(work / "take.wav", seconds=10.0)
    # (b) first question: decode + fbank + encoder + answer; then a follow-up on the cached clip.
    sync(dev)
    start = time.perf_counter()
    clip = coach.prepare(clip_path)
    sync(dev)
    prepare_s = time.perf_counter() - start
    first = pipeline(coach, clip, QUESTION, settings)
    calls_after_first = coach.encoder_calls
    follow = pipeline(coach, coach.prepare(clip_path), FOLLOW_UP, settings)
    first["latency_to_first_token_s"] = prepare_s + first["ttft_s"]
    result["first_question"] = {"prepare_s": prepare_s, **first}
    result["follow_up"] = {**follow, "latency_to_first_token_s": follow["ttft_s"]}
    result["encoder_calls"] = {"after_first_question": calls_after_first, "after_follow_up": coach.encoder_calls}

    # (a) pipeline vs bare generate, alternating so machine noise hits both alike.
    runs = {"pipeline_ttft_s": [], "pipeline_tokens_per_s": [], "bare_ttft_s": [], "bare_tokens_per_s": []}
    for _ in range(args.repeats):
        p = pipeline(coach, clip, QUESTION, settings)
        runs["pipeline_ttft_s"].append(p["ttft_s"])
        runs["pipeline_tokens_per_s"].append(p["tokens_per_s"])
        b_ttft, b_rate = bare_generate(coach, clip, settings)
        runs["bare_ttft_s"].append(b_ttft)
        runs["bare_tokens_per_s"].append(b_rate)
    medians = {k: statistics.median(v) for k, v in runs.items()}
    result["greedy"] = {
        "new_tokens": args.new_tokens,
        "runs": runs,
        "median": medians,
        "tokens_per_s_overhead_pct": 100 * (1 - medians["pipeline_tokens_per_s"] / medians["bare_tokens_per_s"]),
    }
    if args.beam:
        beam = Settings(mode="faithful", max_new_tokens=args.new_tokens)
        result["faithful_beam5"] = pipeline(coach, clip, QUESTION, beam)
    result["peak_memory_mb"] = peak_memory_mb(dev)
    del coach
    return result


def concurrent_answers(coach: LLaQoCoach, clips: list, settings: Settings, batch_size: int, wait_s: float) -> dict:
    """Every session asks at once (its own recording and question); the scheduler batches up to batch_size
    (a vLLM server batches them its own way)."""
    coach.config.batch.max_batch_size, coach.config.batch.fill_wait_s = batch_size, wait_s
    batch_sizes = getattr(coach.scheduler, "batch_sizes", [])
    before = len(batch_sizes)
    n = len(clips)
    ttft, done, texts, rates = [0.0] * n, [0.0] * n, [""] * n, [0.0] * n
    sync(coach.device)
    start = time.perf_counter()

    def session(i: int) -> None:
        stream = coach.stream(clips[i], QUESTIONS[i % len(QUESTIONS)], settings=settings)
        for _ in stream:
            pass
        ttft[i] = stream.rows[0].first_token_at - start
        done[i] = time.perf_counter() - start
        texts[i] = stream.stats.text
        rates[i] = stream.stats.tokens_per_s

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "batch_size": batch_size,
        "fill_wait_s": wait_s,
        "total_s": max(done),
        "ttft_s": ttft,
        "done_s": done,
        "batches": batch_sizes[before:],
        "texts": texts,
        "tokens_per_s": rates,
    }


def whole_scan(coach: LLaQoCoach, clip, settings: Settings, group: int) -> dict:
    """A whole-recording answer from scratch (windows encoded, then asked), group windows per batch."""
    coach.config.batch.max_group_size = group
    clip.payload.scans.clear()
    batch_sizes = getattr(coach.scheduler, "batch_sizes", [])
    before = len(batch_sizes)
    sync(coach.device)
    start = time.perf_counter()
    stream = coach.stream(clip, QUESTION, settings=settings)
    for _ in stream:
        pass
    sync(coach.device)
    windows = coach.scan(clip, settings.stride_s)
    return {
        "group": group,
        "windows": len(windows.spans),
        "total_s": time.perf_counter() - start,
        "batches": batch_sizes[before:],
        "text": stream.stats.text,
    }


def batching(paths: PathsConfig, device: str, dtype: str, args, work: Path, server: LocalServer | None) -> dict:
    coach = LLaQoCoach(CoachConfig(paths=paths, device=device, dtype=dtype))
    coach.model.llm.generation_config.eos_token_id = None  # run every generation to its full length
    settings = Settings(max_new_tokens=args.new_tokens)
    clips = [coach.prepare(synth_piano(work / f"student{i}.wav", seconds=10.0, seed=i)) for i in range(args.sessions)]
    concurrent_answers(coach, clips[:2], Settings(max_new_tokens=2), 2, 0.0)  # warm-up
    one_by_one = concurrent_answers(coach, clips, settings, 1, 0.0)
    batched = concurrent_answers(coach, clips, settings, args.sessions, args.fill_wait)
    result = {
        "device": str(coach.device),
        "sessions": args.sessions,
        "new_tokens": args.new_tokens,
        "one_after_another": one_by_one,
        "batched": batched,
        "total_time_ratio": batched["total_s"] / one_by_one["total_s"],
        "same_answers": batched["texts"] == one_by_one.pop("texts"),
    }
    take = coach.prepare(synth_piano(work / "piece.wav", seconds=args.scan_seconds, seed=99))
    scan_settings = Settings(max_new_tokens=args.scan_tokens, scope="whole")
    by_window = whole_scan(coach, take, scan_settings, 1)
    together = whole_scan(coach, take, scan_settings, 32)
    result["whole_scan"] = {
        "seconds": args.scan_seconds,
        "new_tokens": args.scan_tokens,
        "window_by_window": by_window,
        "batched": together,
        "total_time_ratio": together["total_s"] / by_window["total_s"],
        "same_answers": together["text"] == by_window["text"],
    }
    if server is not None:
        result["vllm"] = served(server, paths, device, args, clips, take, batched, together)
    batched.pop("texts")
    for scan in (by_window, together):
        scan.pop("text")
    del coach
    return result


def vllm_server(paths: PathsConfig, device: str, args, work: Path) -> LocalServer:
    """A vLLM server on the release's LLM, started before the local runs so that a failure to start costs
    nothing; it idles while they run."""
    extra = ["--max-model-len", "1024"]  # LLaQo's answers fit 256 positions; a CPU's small KV cache fits this
    if not torch.cuda.is_available() or device == "cpu":
        extra += ["--enforce-eager", "--dtype", "float32"]  # the local engine's CPU dtype; no torch.compile
    return LocalServer(args.vllm_python, paths.llm, work / "vllm.log", *extra)


def served(server: LocalServer, paths: PathsConfig, device: str, args, clips: list, take, batched, scan) -> dict:
    """The same 8 sessions and scan through the vLLM server on the same LLM (--llm-engine vllm), against the
    local scheduler's batched runs of this same process."""
    coach = LLaQoCoach(CoachConfig(paths=paths, device=device, llm_engine="vllm", vllm=VllmConfig(url=server.url)))
    settings = Settings(max_new_tokens=args.new_tokens)
    sessions = [coach.prepare(clip.payload.path) for clip in clips]
    concurrent_answers(coach, sessions[:2], Settings(max_new_tokens=2), 2, 0.0)  # warm-up
    answers = concurrent_answers(coach, sessions, settings, len(sessions), 0.0)
    scan_settings = Settings(max_new_tokens=args.scan_tokens, scope="whole")
    whole = whole_scan(coach, coach.prepare(take.payload.path), scan_settings, 32)
    return {
        "server_command": server.process.args[2:],
        "sessions": answers,
        "total_time_ratio_to_local_batched": answers["total_s"] / batched["total_s"],
        "same_answers_as_local": answers.pop("texts") == batched["texts"],
        "whole_scan": whole,
        "scan_time_ratio_to_local_batched": whole["total_s"] / scan["total_s"],
        "same_scan_as_local": whole.pop("text") == scan["text"],
    }


def bare_batch(coach: LLaQoCoach, clips: list, settings: Settings, static: bool) -> dict:
    """Bare generate on the pipeline's own inputs for len(clips) answers, left-padded into one batch; static:
    transformers' own `cache_implementation="static"`, sized as the engine's bucket so both compile once."""
    inputs = left_pad([coach.inputs(clip, QUESTIONS[i % len(QUESTIONS)]) for i, clip in enumerate(clips)])
    kwargs = generate_kwargs(settings, inputs.prompt_length)
    if static:
        step = coach.config.batch.length_step
        kwargs.update(
            cache_implementation="static",
            max_cache_len=-(-(inputs.prompt_length + settings.max_new_tokens) // step) * step,
        )
    clock = TokenClock()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*repetition_penalty.*")  # as in llaqo.decoding
        sync(coach.device)
        start = time.perf_counter()
        coach.model.llm.generate(
            inputs_embeds=inputs.inputs_embeds, attention_mask=inputs.attention_mask, streamer=clock, **kwargs
        )
        sync(coach.device)
    first, last = clock.times[0], clock.times[-1]
    per_answer = (len(clock.times) - 1) / max(last - first, 1e-9)
    return {"ttft_s": first - start, "tokens_per_s": per_answer, "total_tokens_per_s": per_answer * len(clips)}


def pipeline_batch(coach: LLaQoCoach, clips: list, settings: Settings) -> dict:
    """len(clips) sessions ask at once through the coach (the scheduler batches them); per answer and in total."""
    batch = concurrent_answers(coach, clips, settings, len(clips), 0.2 if len(clips) > 1 else 0.0)
    rates = batch["tokens_per_s"]
    return {
        "ttft_s": statistics.mean(batch["ttft_s"]),
        "tokens_per_s": statistics.mean(rates),
        "total_tokens_per_s": sum(rates),
        "batches": batch["batches"],
    }


def kv_cache(paths: PathsConfig, device: str, dtype: str, args, work: Path, report: dict) -> dict:
    """(f) dynamic against static KV cache, pipeline against bare generate, at each of args.batches."""
    sizes = sorted(set(args.batches))
    batch = BatchConfig(max_batch_size=max(sizes), kv_cache="static", compile=args.compile, warm_up=tuple(sizes))
    start = time.perf_counter()
    coach = LLaQoCoach(CoachConfig(paths=paths, device=device, dtype=dtype, batch=batch))
    coach.model.llm.generation_config.eos_token_id = None  # run every generation to its full length
    scheduler = coach.scheduler
    result = {
        "what": "kv_cache",
        "device": str(coach.device),
        "llm_dtype": str(coach.model.llm.dtype),
        "new_tokens": args.new_tokens,
        "load_s": time.perf_counter() - start,
        "warm_up_s": scheduler.warm_up_s,
        "compiled": scheduler.compiles,
        "configurations": [],
    }
    report["results"].append(result)
    settings = Settings(max_new_tokens=args.new_tokens)
    clips = [coach.prepare(synth_piano(work / f"kv{i}.wav", seconds=10.0, seed=i)) for i in range(max(sizes))]
    for size in sizes:
        for static in (False, True):
            scheduler.static = static
            row = {"batch": size, "kv_cache": "static" if static else "dynamic"}
            start = time.perf_counter()
            bare_batch(coach, clips[:size], settings, static)  # its first run compiles, where anything does
            row["bare_first_run_s"] = time.perf_counter() - start
            start = time.perf_counter()
            pipeline_batch(coach, clips[:size], settings)
            row["pipeline_first_run_s"] = time.perf_counter() - start
            runs = {"bare": [], "pipeline": []}
            for _ in range(args.repeats):  # alternating, so machine noise hits both alike
                runs["bare"].append(bare_batch(coach, clips[:size], settings, static))
                runs["pipeline"].append(pipeline_batch(coach, clips[:size], settings))
            for side, measured in runs.items():
                row[side] = {
                    key: statistics.median(m[key] for m in measured) for key in measured[0] if key != "batches"
                }
            row["pipeline"]["batches"] = runs["pipeline"][-1]["batches"]
            row["pipeline_vs_bare"] = row["pipeline"]["tokens_per_s"] / row["bare"]["tokens_per_s"]
            result["configurations"].append(row)
            print(json.dumps(row), flush=True)
            write(report, args.out)
    take = coach.prepare(synth_piano(work / "kv-piece.wav", seconds=args.scan_seconds, seed=99))
    scan_settings = Settings(max_new_tokens=args.scan_tokens, scope="whole")
    result["whole_scan"] = {"seconds": args.scan_seconds, "new_tokens": args.scan_tokens}
    texts = {}
    for static in (False, True):
        scheduler.static = static
        name = "static" if static else "dynamic"
        first = whole_scan(coach, take, scan_settings, args.scan_group)  # it compiles, where anything does
        scan = {**whole_scan(coach, take, scan_settings, args.scan_group), "first_run_s": first["total_s"]}
        texts[name] = scan.pop("text")
        result["whole_scan"][name] = scan
    result["whole_scan"]["same_answers"] = texts["static"] == texts["dynamic"]
    result["static_cache_shapes"] = sorted(set(scheduler.cache_shapes))
    result["peak_memory_mb"] = peak_memory_mb(coach.device)
    print(json.dumps(result["whole_scan"]), flush=True)
    return result


def write(report: dict, out: Path | None) -> None:
    """The report so far: a stopped run leaves what it measured."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")


def release(folder: Path, size: str, engine: str = "local") -> PathsConfig:
    """The random release in folder, written there first unless a previous run left it (gpu.sh writes it once
    for all its processes). Written in a child process, so that building the random weights does not count in
    this process's peak memory."""
    files = {"checkpoint": "checkpoint.pth", "audio_encoder": "vit.pth", "llm": "llm", "qformer_tokenizer": "bert"}
    done = folder / "written.json"
    if not done.is_file():
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            written = pool.submit(write_release, folder, sizes(size, engine)).result()
        assert {k: Path(v).name for k, v in written.items()} == files
        done.write_text(json.dumps({"size": size, "engine": engine}) + "\n")
    elif json.loads(done.read_text()) != {"size": size, "engine": engine}:
        raise SystemExit(f"{folder} holds a release of another size: remove it or choose another folder")
    return PathsConfig(**{k: str(folder / v) for k, v in files.items()})


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "1b", "7b"], default="tiny")
    parser.add_argument("--release", type=Path, help="the random release's folder, reused if already written")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="the LLM's dtype")
    parser.add_argument("--quantization", nargs="+", default=["none"], help="none 8bit 4bit (CUDA)")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--beam", action="store_true", help="also time the faithful 5-beam mode")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--what",
        nargs="+",
        choices=["engine", "batching", "kv_cache", "release"],
        default=["engine"],
        help="which measurements (release: only write --release)",
    )
    parser.add_argument("--sessions", type=int, default=8, help="batching: concurrent sessions")
    parser.add_argument("--fill-wait", type=float, default=0.2, help="batching: seconds to wait for a batch to fill")
    parser.add_argument("--scan-seconds", type=float, default=180.0, help="the scanned recording's length")
    parser.add_argument("--scan-tokens", type=int, default=16, help="new tokens per window of a scan")
    parser.add_argument("--scan-group", type=int, default=32, help="kv_cache: windows decoded together in a scan")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="kv_cache: batch sizes")
    parser.add_argument(
        "--compile", default="auto", help="kv_cache: BatchConfig.compile (always: compile on the CPU too)"
    )
    parser.add_argument(
        "--engine", choices=["local", "vllm"], default="local", help="batching: also through a vLLM server"
    )
    parser.add_argument("--vllm-python", default=str(REPO / ".venv-vllm" / "bin" / "python"), help="vLLM's venv")
    args = parser.parse_args()

    report = {"machine": machine(), "size": args.size, "results": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        paths = release(args.release or work / "release", args.size, args.engine)
        report["write_release_s"] = time.perf_counter() - start
        if "kv_cache" in args.what:
            kv_cache(paths, args.device, args.dtype, args, work, report)
            write(report, args.out)
        if "batching" in args.what:
            with vllm_server(paths, args.device, args, work) if args.engine == "vllm" else nullcontext() as server:
                report["results"].append(batching(paths, args.device, args.dtype, args, work, server))
            print(json.dumps(report["results"][-1], indent=1), flush=True)
            write(report, args.out)
        for quantization in args.quantization if "engine" in args.what else ():
            report["results"].append(measure(paths, args.device, args.dtype, quantization, args, work))
            print(json.dumps(report["results"][-1], indent=1), flush=True)
            write(report, args.out)


if __name__ == "__main__":
    main()
