"""`python -m llaqo ...`: the command line. Each subcommand parses its flags and calls library code."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace

from llaqo import checkpoint, evaluate, release
from llaqo.audio import AudioError
from llaqo.config import ConfigError, PathsConfig, load_yaml
from llaqo.data import cli as data_cli
from llaqo.decoding import PromptTooLong
from llaqo.lite import cli as lite_cli
from llaqo.protocol import Settings, Turn

EXIT_ERROR = 2


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def add_paths_arguments(parser: argparse.ArgumentParser) -> None:
    """The four weight locations; unset ones come from --config, else the standard ckpts/ layout."""
    parser.add_argument("--config", help="a YAML file with CoachConfig's fields (e.g. configs/llaqo.yaml)")
    parser.add_argument("--checkpoint", help="LLaQo .pth, or a converted folder")
    parser.add_argument("--audio-encoder", help="AudioMAE vit.pth")
    parser.add_argument("--llm", help="Vicuna folder (plain or hub-cache layout)")
    parser.add_argument("--qformer-tokenizer", help="BERT tokenizer folder")


def coach_config(args: argparse.Namespace):
    from llaqo.coach import CoachConfig

    config = load_yaml(CoachConfig, args.config) if args.config else CoachConfig()
    overrides = {
        f: getattr(args, f) for f in ("checkpoint", "audio_encoder", "llm", "qformer_tokenizer") if getattr(args, f)
    }
    config.paths = replace(config.paths, **overrides)
    for name in ("device", "dtype", "quantization"):
        if getattr(args, name, None):
            setattr(config, name, getattr(args, name))
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
    settings = Settings(mode=mode, max_new_tokens=args.max_new_tokens, use_history=args.history)
    if args.repetition_penalty is not None:
        settings = replace(settings, repetition_penalty=args.repetition_penalty)
    if args.beams:
        settings = replace(settings, num_beams=args.beams)
    if args.temperature is not None:
        settings = replace(settings, temperature=args.temperature)
    return settings


def run_ask(args: argparse.Namespace) -> int:
    config = coach_config(args)
    backend = args.backend
    if backend == "auto":
        backend = "llaqo" if release.complete(config.paths) else "lite"
    if backend == "lite":
        return lite_cli.run_ask(args.audio, args.questions, args.score, args.json)
    if args.score:
        return fail("--score is read by the Lite coach only: add --backend lite")
    from llaqo.coach import LLaQoCoach

    if not release.complete(config.paths):
        return fail("LLaQo weights are missing; run `python -m llaqo doctor` to see which and how to get them")
    try:
        coach = LLaQoCoach(config)
        clip = coach.prepare(args.audio, start_s=args.start)
    except (checkpoint.CheckpointError, AudioError) as err:
        return fail(str(err))
    settings = settings_from(args)
    history: list[Turn] = []
    for question in args.questions:
        if len(args.questions) > 1 and not args.json:
            print(f"> {question}", flush=True)
        stream = coach.stream(clip, question, history, settings)
        try:
            for piece in stream:
                if not args.json:
                    print(piece, end="", flush=True)
        except PromptTooLong as err:
            return fail(str(err))
        stats = stream.stats
        history.append(Turn(question, stats.text))
        if args.json:
            print(json.dumps({"question": question, **vars(stats)}))
        else:
            print(flush=True)
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    entries = release.status(paths_from(args))
    for entry in entries:
        mark = "ok     " if entry.present else "MISSING"
        note = f"  ({entry.note})" if entry.note else ""
        print(f"{mark} {entry.part.what:<28} {entry.path}{note}")
    missing = [e for e in entries if not e.present]
    if not missing:
        print("\nAll LLaQo weights are present: the app and `python -m llaqo ask` use the LLaQo model.")
        return 0
    print("\nWithout them the app uses the Lite coach. To get them (needs internet), run:")
    for entry in missing:
        print(f"  .venv/bin/{entry.part.command(entry.path)}")
    print("or all at once: .venv/bin/python -m llaqo download   (details: ckpts/README.md)")
    return 1


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
    ask = commands.add_parser("ask", help="ask the coach questions about a recording; answers stream to stdout")
    ask.add_argument("audio", help="wav, flac, mp3, ogg/opus, webm or m4a")
    ask.add_argument("questions", nargs="+", metavar="QUESTION", help="several questions are follow-ups")
    add_paths_arguments(ask)
    mode = ask.add_mutually_exclusive_group()
    mode.add_argument("--greedy", action="store_true", help="stream greedy decoding (the default)")
    mode.add_argument("--faithful", action="store_true", help="the original: 5 beams, penalty 1.5, 256 positions")
    mode.add_argument("--beams", type=int, metavar="N", help="beam search with N beams")
    mode.add_argument("--temperature", type=float, metavar="T", help="stream sampling at temperature T")
    ask.add_argument("--repetition-penalty", type=float, metavar="R", help="default 1.5, the original's")
    ask.add_argument("--max-new-tokens", type=int, metavar="N", help="default: 256 positions minus the prompt")
    ask.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="where the heard window starts")
    ask.add_argument("--history", action="store_true", help="feed earlier questions (models trained with history)")
    ask.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    ask.add_argument("--dtype", choices=["auto", "fp32", "fp16", "bf16"], help="the LLM's dtype")
    ask.add_argument("--quantization", choices=["none", "8bit", "4bit"], help="bitsandbytes, CUDA only")
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
        sub.set_defaults(func=func)

    convert = commands.add_parser(
        "convert", help="write the released weights as safetensors + JSON config (no optimizer state)"
    )
    add_paths_arguments(convert)
    convert.add_argument("--out", required=True, help="folder to write")
    convert.set_defaults(func=run_convert)

    data_cli.add_parser(commands)
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
