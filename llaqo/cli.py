"""`python -m llaqo ...`: the command line. Each subcommand parses its flags and calls library code."""

from __future__ import annotations

import argparse
import logging
import sys

from llaqo import checkpoint
from llaqo.config import PathsConfig
from llaqo.data import cli as data_cli


def add_paths_arguments(parser: argparse.ArgumentParser) -> None:
    """The four weight locations, each defaulting to the standard ckpts/ layout."""
    defaults = PathsConfig()
    parser.add_argument("--checkpoint", default=defaults.checkpoint, help="LLaQo .pth, or a converted folder")
    parser.add_argument("--audio-encoder", default=defaults.audio_encoder, help="AudioMAE vit.pth")
    parser.add_argument("--llm", default=defaults.llm, help="Vicuna folder (plain or hub-cache layout)")
    parser.add_argument("--qformer-tokenizer", default=defaults.qformer_tokenizer, help="BERT tokenizer folder")


def paths_from(args: argparse.Namespace) -> PathsConfig:
    return PathsConfig(args.checkpoint, args.audio_encoder, args.llm, args.qformer_tokenizer)


def run_convert(args: argparse.Namespace) -> int:
    try:
        out = checkpoint.convert(paths_from(args), args.out)
    except (checkpoint.CheckpointError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} (load it with --checkpoint {out})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llaqo", description="LLaQo piano performance coach")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser(
        "convert", help="write the released weights as safetensors + JSON config (no optimizer state)"
    )
    add_paths_arguments(convert)
    convert.add_argument("--out", required=True, help="folder to write")
    convert.set_defaults(func=run_convert)

    data_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return args.func(args)
