"""Launch the LLaQo piano coach chat in the browser.

python LLaQo-chat.py                      # LLaQo when ckpts/ holds the weights, else the Lite coach
python LLaQo-chat.py --backend lite --port 7860
python LLaQo-chat.py --host 0.0.0.0 --batch-size 8 --batch-wait 0.2   # a classroom: 8 answers per decoding step
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from llaqo import release  # noqa: E402
from llaqo.app import MAX_UPLOAD_MB, build_demo  # noqa: E402
from llaqo.coach import CoachConfig, LLaQoCoach  # noqa: E402
from llaqo.config import PathsConfig, load_yaml  # noqa: E402
from llaqo.lite.coach import LiteCoach  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="LLaQo piano coach chat")
    parser.add_argument(
        "--backend",
        choices=["auto", "llaqo", "lite"],
        default="auto",
        help="auto: LLaQo when its checkpoints are present, else Lite",
    )
    parser.add_argument("--ckpts", default="ckpts", help="folder with the released weights (see ckpts/README.md)")
    parser.add_argument("--checkpoint", help="a LLaQo checkpoint elsewhere, e.g. a fine-tuned runs/.../step-N")
    parser.add_argument("--config", help="a CoachConfig YAML (configs/llaqo.yaml); overrides --ckpts")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve a classroom network")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="a temporary public gradio.live link")
    parser.add_argument("--auth", default=os.environ.get("LLAQO_AUTH"), help="USER:PASS (or env LLAQO_AUTH)")
    parser.add_argument("--device", default="auto", help="LLaQo: auto, cpu, cuda, cuda:N")
    parser.add_argument("--dtype", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="LLaQo's LLM")
    parser.add_argument("--quantization", default="none", choices=["none", "8bit", "4bit"])
    parser.add_argument(
        "--concurrency", type=int, help="answers computed at once (default: LLaQo's batch size, 2 for Lite)"
    )
    parser.add_argument("--batch-size", type=int, help="LLaQo: answers decoded together (default 1, or --config's)")
    parser.add_argument("--batch-wait", type=float, help="LLaQo: seconds an answer waits for others to batch with")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.config:
        config = load_yaml(CoachConfig, args.config)
    else:
        layout = PathsConfig()
        paths = PathsConfig(**{f: getattr(layout, f).replace("ckpts", args.ckpts, 1) for f in vars(layout)})
        config = CoachConfig(paths=paths, device=args.device, dtype=args.dtype, quantization=args.quantization)
    if args.checkpoint:
        config.paths = replace(config.paths, checkpoint=args.checkpoint)
    if args.batch_size:
        config.batch.max_batch_size = args.batch_size
    if args.batch_wait is not None:
        config.batch.fill_wait_s = args.batch_wait
    use_llaqo = args.backend == "llaqo" or (args.backend == "auto" and release.complete(config.paths))
    lite = LiteCoach()
    coach = LLaQoCoach(config) if use_llaqo else lite
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    demo = build_demo(coach, evidence_coach=lite)
    # LLaQo answers wait for the model's one worker, which decodes up to a batch of them at once.
    demo.queue(default_concurrency_limit=args.concurrency or (config.batch.max_batch_size if use_llaqo else 2))
    demo.launch(
        server_name=args.host, server_port=args.port, share=args.share, auth=auth, max_file_size=f"{MAX_UPLOAD_MB}mb"
    )


if __name__ == "__main__":
    main()
