"""`python -m llaqo ...`: the command line. Each subcommand parses its flags and calls library code."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace

from llaqo import checkpoint, history_cli, release
from llaqo.audio import AudioError
from llaqo.config import ConfigError, PathsConfig, load_yaml
from llaqo.decoding import PromptTooLong
from llaqo.lite import cli as lite_cli
from llaqo.protocol import Settings, Turn
from llaqo.training import evaluate
from llaqo.training.data import cli as data_cli
from llaqo.vllm_engine import VllmError

EXIT_ERROR = 2


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def add_paths_arguments(parser: argparse.ArgumentParser) -> None:
    """The four weight locations; unset ones come from --config, else the standard layout in --ckpts."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--ckpts", metavar="DIR", help="folder with the released weights, laid out as ckpts/ (default)")
    where.add_argument("--config", help="a YAML file with CoachConfig's fields (e.g. configs/llaqo.yaml)")
    parser.add_argument("--checkpoint", help="LLaQo .pth, or a converted folder")
    parser.add_argument("--audio-encoder", help="AudioMAE vit.pth")
    parser.add_argument("--llm", help="Vicuna folder (plain or hub-cache layout)")
    parser.add_argument("--qformer-tokenizer", help="BERT tokenizer folder")


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Which engine decodes LLaQo's answers: this process, or a vLLM server (README: Serving with vLLM)."""
    parser.add_argument(
        "--llm-engine",
        choices=["local", "vllm"],
        help="local (default): the LLM runs here; vllm: a vLLM server decodes, this process keeps the audio side",
    )
    parser.add_argument(
        "--vllm-url", metavar="URL", help="the vLLM server, e.g. http://127.0.0.1:8000 (--llm-engine vllm)"
    )


def coach_config(args: argparse.Namespace):
    from llaqo.coach import CoachConfig

    if args.config:
        config = load_yaml(CoachConfig, args.config)
    else:
        config = CoachConfig(paths=PathsConfig.under(args.ckpts) if args.ckpts else PathsConfig())
    overrides = {
        f: getattr(args, f) for f in ("checkpoint", "audio_encoder", "llm", "qformer_tokenizer") if getattr(args, f)
    }
    config.paths = replace(config.paths, **overrides)
    for name in ("device", "dtype", "quantization", "llm_engine"):
        if getattr(args, name, None):
            setattr(config, name, getattr(args, name))
    if getattr(args, "vllm_url", None):
        config.vllm.url = args.vllm_url
    return config


def paths_from(args: argparse.Namespace) -> PathsConfig:
    return coach_config(args).paths


def settings_from(args: argparse.Namespace) -> Settings:
    if args.faithful:
        mode = "faithful"
    elif args.beams:
        mode = "beam"
    elif args.temperature is not None:
        mode = "sample"
    else:
        mode = "greedy"
    settings = Settings(
        mode=mode,
        max_new_tokens=args.max_new_tokens,
        use_history=args.history,
        scope=args.scope,
        stride_s=args.stride,
    )
    if args.repetition_penalty is not None:
        settings = replace(settings, repetition_penalty=args.repetition_penalty)
    if args.beams:
        settings = replace(settings, num_beams=args.beams)
    if args.temperature is not None:
        settings = replace(settings, temperature=args.temperature)
    return settings


def run_ask(args: argparse.Namespace) -> int:
    config = coach_config(args)
    files, questions = (args.inputs, [args.question]) if args.question else (args.inputs[:1], args.inputs[1:])
    if not questions:
        return fail("no question: give QUESTION after the recording, or --question Q for one or more recordings")
    backend = args.backend
    if backend == "auto":
        backend = "llaqo" if release.complete(config.paths) else "lite"
    if backend == "lite":
        return lite_cli.run_ask(files, questions, args.score, args.json)
    if args.score:
        return fail("--score is read by the Lite coach only: add --backend lite")
    from llaqo.coach import LLaQoCoach

    if not release.complete(config.paths):
        return fail("LLaQo weights are missing; run `python -m llaqo doctor` to see which and how to get them")
    try:
        coach = LLaQoCoach(config)
        clips = [coach.prepare(path, start_s=args.start) for path in files]
    except (checkpoint.CheckpointError, AudioError, VllmError) as err:
        return fail(str(err))
    settings = settings_from(args)
    if len(clips) > 1:
        return ask_many(coach, clips, questions[0], settings, args.json)
    clip = clips[0]
    history: list[Turn] = []
    for question in questions:
        if len(questions) > 1 and not args.json:
            print(f"> {question}", flush=True)
        stream = coach.stream(clip, question, history, settings)
        try:
            for piece in stream:
                if not args.json:
                    print(piece, end="", flush=True)
        except (PromptTooLong, AudioError, VllmError) as err:
            return fail(str(err))
        stats = stream.stats
        history.append(Turn(question, stats.text))
        if args.json:
            print(json.dumps({"question": question, **vars(stats)}))
        else:
            print(flush=True)
    return 0


def ask_many(coach, clips, question: str, settings: Settings, as_json: bool) -> int:
    """The same question about many recordings: decoded together (a whole-recording scope: one scan each)."""
    try:
        if settings.scope == "whole":
            answers = []
            for clip in clips:
                stream = coach.stream(clip, question, settings=settings)
                for _ in stream:
                    pass
                answers.append(stream.stats)
        else:
            answers = coach.answer_all(clips, question, settings)
    except (PromptTooLong, AudioError, VllmError) as err:
        return fail(str(err))
    for clip, stats in zip(clips, answers, strict=True):
        if as_json:
            print(json.dumps({"audio": clip.facts.name, "question": question, **vars(stats)}))
        else:
            print(f"> {clip.facts.name}\n{stats.text}", flush=True)
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    config = coach_config(args)
    entries = release.status(config.paths)
    for entry in entries:
        mark = "ok     " if entry.present else "MISSING"
        note = f"  ({entry.note})" if entry.note else ""
        print(f"{mark} {entry.part.what:<28} {entry.path}{note}")
    missing = [e for e in entries if not e.present]
    if not missing:
        if config.llm_engine == "vllm":
            return doctor_vllm(config)
        print("\nAll LLaQo weights are present: the app and `python -m llaqo ask` use the LLaQo model.")
        return 0
    print("\nWithout them the app uses the Lite coach. To get them (needs internet), run:")
    for entry in missing:
        print(f"  .venv/bin/{entry.part.command(entry.path)}")
    print("or all at once: .venv/bin/python -m llaqo download   (details: ckpts/README.md)")
    return 1


def doctor_vllm(config) -> int:
    """The vLLM server: reachable, serving this LLM, with prompt embeddings and LLaQo's penalty processor."""
    from llaqo import vllm_engine

    try:
        hidden = json.loads((checkpoint.resolve_llm_dir(config.paths.llm) / "config.json").read_text())["hidden_size"]
        info = vllm_engine.VllmEngine(config.vllm, eos_id=0, top_k=0).check(config.paths.llm, hidden)
    except VllmError as err:
        print(f"FAILED  {'vLLM server':<28} {config.vllm.url}\n\n{err}")
        return 1
    print(f"ok      {'vLLM server':<28} {config.vllm.url}  (serves {info.root}, prompt embeds of width {hidden})")
    print("\nAll LLaQo weights are present and the vLLM server decodes for them (--llm-engine vllm).")
    return 0


def run_download(args: argparse.Namespace) -> int:
    try:
        release.download(paths_from(args))
    except release.OfflineError as err:
        return fail(str(err))
    return run_doctor(args)


def run_convert(args: argparse.Namespace) -> int:
    try:
        out = checkpoint.convert(paths_from(args), args.out)
    except (checkpoint.CheckpointError, OSError) as err:
        return fail(str(err))
    print(f"wrote {out} (load it with --checkpoint {out})")
    return 0


def add_ask_parser(commands) -> None:
    ask = commands.add_parser(
        "ask",
        help="ask the coach (LLaQo, or the Lite coach) questions about a recording (AUDIO QUESTION...), or one "
        "question about many (FILE... --question Q); answers stream to stdout",
    )
    ask.add_argument(
        "inputs",
        nargs="+",
        metavar="AUDIO [QUESTION ...]",
        help="a recording (wav, flac, mp3, ogg/opus, webm or m4a) and its questions (several are follow-ups); "
        "with --question: recordings only",
    )
    ask.add_argument("--question", metavar="Q", help="ask Q about every recording given, decoded together")
    add_paths_arguments(ask)
    mode = ask.add_mutually_exclusive_group()
    mode.add_argument("--greedy", action="store_true", help="stream greedy decoding (the default)")
    mode.add_argument("--faithful", action="store_true", help="the original: 5 beams, penalty 1.5, 256 positions")
    mode.add_argument("--beams", type=int, metavar="N", help="beam search with N beams")
    mode.add_argument("--temperature", type=float, metavar="T", help="stream sampling at temperature T")
    ask.add_argument("--repetition-penalty", type=float, metavar="R", help="default 1.5, the original's")
    ask.add_argument("--max-new-tokens", type=int, metavar="N", help="default: 256 positions minus the prompt")
    ask.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="where the heard window starts")
    ask.add_argument(
        "--scope",
        choices=["window", "whole"],
        default="window",
        help="window: the part from --start (the original); whole: every window, answers listed with their times",
    )
    ask.add_argument(
        "--stride", type=float, metavar="SECONDS", help="--scope whole: seconds between windows (default: side by side)"
    )
    ask.add_argument("--history", action="store_true", help="feed earlier questions (models trained with history)")
    ask.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    ask.add_argument("--dtype", choices=["auto", "fp32", "fp16", "bf16"], help="the LLM's dtype")
    ask.add_argument("--quantization", choices=["none", "8bit", "4bit"], help="bitsandbytes, CUDA only")
    add_engine_arguments(ask)
    ask.add_argument("--json", action="store_true", help="one JSON line per answer, its text under 'text'")
    ask.add_argument(
        "--backend",
        choices=["auto", "llaqo", "lite"],
        default="auto",
        help="auto (default): the LLaQo model when its weights are complete, else the Lite coach",
    )
    ask.add_argument("--score", help="the score (MIDI or MusicXML), for the Lite coach")
    ask.set_defaults(func=run_ask)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llaqo", description="LLaQo piano performance coach")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    lite_cli.add_parser(commands)
    add_ask_parser(commands)
    for name, func, text in (
        ("doctor", run_doctor, "say which LLaQo weight files are present and how to get the missing ones"),
        ("download", run_download, "fetch the released checkpoints and Vicuna from the Hugging Face hub"),
    ):
        sub = commands.add_parser(name, help=text)
        add_paths_arguments(sub)
        if func is run_doctor:
            add_engine_arguments(sub)
        sub.set_defaults(func=func)

    convert = commands.add_parser(
        "convert", help="write the released weights as safetensors + JSON config (no optimizer state)"
    )
    add_paths_arguments(convert)
    convert.add_argument("--out", required=True, help="folder to write")
    convert.set_defaults(func=run_convert)

    data_cli.add_parser(commands)
    history_cli.add_parser(commands)
    evaluate.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not args.verbose:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError) as err:
        return fail(str(err))
