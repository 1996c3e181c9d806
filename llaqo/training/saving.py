"""The fine-tuning's saves: trainable weights in our format (step-N/) and the resumable state (state-N/, only the
latest kept), each complete once its STEP_FILE is written, so an interrupted save is never resumed from.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from accelerate import Accelerator
from torch import nn

from llaqo import checkpoint
from llaqo.model.llaqo import LLaQo

log = logging.getLogger(__name__)

STATE_PREFIX = "state-"
CHECKPOINT_PREFIX = "step-"
STEP_FILE = "trainer.json"


def latest(out_dir: Path, prefix: str) -> Path | None:
    """The highest-numbered `prefix`N folder that holds a complete save (its STEP_FILE), or None."""
    found = sorted(p for p in out_dir.glob(prefix + "*") if (p / STEP_FILE).is_file())
    return found[-1] if found else None


def keep_trainable_only(models: list[nn.Module], weights: list[dict], output_dir: str) -> None:
    """accelerate save-state hook: store only the trainable tensors; the frozen ones come from `paths`."""
    for model, state in zip(models, weights, strict=True):
        trainable = {name for name, param in model.named_parameters() if param.requires_grad}
        for key in [k for k in state if k not in trainable]:
            del state[key]


def save(accelerator: Accelerator, model: LLaQo, tokenizer, out_dir: Path, step: int) -> None:
    """Weights (step-N/, our format) and resumable state (state-N/, replacing the previous one)."""
    name = f"{step:07d}"
    if accelerator.is_main_process:
        weights = out_dir / f"{CHECKPOINT_PREFIX}{name}"
        checkpoint.save(model, tokenizer.qformer, weights)
        (weights / STEP_FILE).write_text(json.dumps({"step": step}) + "\n")
    state = out_dir / f"{STATE_PREFIX}{name}"
    previous = latest(out_dir, STATE_PREFIX)
    accelerator.save_state(str(state))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        # Written last: a state folder without it is an interrupted save, which resume skips.
        (state / STEP_FILE).write_text(json.dumps({"step": step}) + "\n")
        if previous is not None and previous != state:
            shutil.rmtree(previous)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        log.info("step %d: saved %s", step, state)
