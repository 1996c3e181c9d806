"""The chat app's launcher (LLaQo-chat.py): its flags, the coach they pick, and the served demo.

The weight flags are the CLI's (`--ckpts DIR` or `--config FILE`, then `--checkpoint` and the other paths),
so one folder is named the same way by the app, `ask`, `doctor` and `download`.
"""

from __future__ import annotations

import argparse
import logging
import os

from llaqo import cli, release
from llaqo.config import PathsConfig

VLLM_CONCURRENCY = 16
"""Chat answers in flight at once with --llm-engine vllm: the server batches them; this process encodes the audio."""


def parse_auth(text: str) -> tuple[str, str]:
    """USER:PASS -> (user, password)."""
    user, colon, password = text.partition(":")
    if not (user and colon and password):
        raise argparse.ArgumentTypeError("expected USER:PASS, e.g. --auth teacher:s3cret")
    return user, password


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="LLaQo piano coach chat")
    parser.add_argument(
        "--backend",
        choices=["auto", "llaqo", "lite"],
        default="auto",
        help="auto: LLaQo when its weights are complete (python -m llaqo doctor), else Lite",
    )
    cli.add_paths_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve a classroom network")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="a temporary public gradio.live link")
    parser.add_argument(
        "--auth", type=parse_auth, default=os.environ.get("LLAQO_AUTH"), help="USER:PASS (or env LLAQO_AUTH)"
    )
    parser.add_argument("--device", help="LLaQo: auto (default), cpu, cuda, cuda:N")
    parser.add_argument("--dtype", choices=["auto", "fp32", "fp16", "bf16"], help="LLaQo's LLM (default auto)")
    parser.add_argument("--quantization", choices=["none", "8bit", "4bit"], help="bitsandbytes, CUDA only")
    cli.add_engine_arguments(parser)
    parser.add_argument(
        "--concurrency",
        type=int,
        help=f"answers computed at once (default: LLaQo's batch size, {VLLM_CONCURRENCY} with vLLM, 2 for Lite)",
    )
    parser.add_argument("--batch-size", type=int, help="LLaQo: answers decoded together (default 1, or --config's)")
    parser.add_argument("--batch-wait", type=float, help="LLaQo: seconds an answer waits for others to batch with")
    return parser


def use_llaqo(backend: str, paths: PathsConfig) -> bool:
    """Whether the LLaQo model answers: asked for, or (auto) its weights are all present."""
    return backend == "llaqo" or (backend == "auto" and release.complete(paths))


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from llaqo.app import build_demo
    from llaqo.coach import LLaQoCoach
    from llaqo.lite.coach import LiteCoach
    from llaqo.vllm_engine import VllmError

    config = cli.coach_config(args)
    if args.batch_size:
        config.batch.max_batch_size = args.batch_size
    if args.batch_wait is not None:
        config.batch.fill_wait_s = args.batch_wait
    llaqo = use_llaqo(args.backend, config.paths)
    lite = LiteCoach()
    try:
        coach = LLaQoCoach(config) if llaqo else lite
    except VllmError as err:  # a dead or wrong server: never fall back to another engine
        raise SystemExit(f"error: {err}") from err
    demo = build_demo(coach, evidence_coach=lite, practice_coach=lite)
    if not llaqo:
        concurrency = 2
    elif config.llm_engine == "vllm":
        concurrency = VLLM_CONCURRENCY
    else:  # LLaQo answers wait for the model's one worker, which decodes up to a batch of them at once.
        concurrency = config.batch.max_batch_size
    demo.queue(default_concurrency_limit=args.concurrency or concurrency)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=args.auth)
