"""Fine-tune LLaQo with the original recipe: `accelerate launch -m llaqo.training.train --config configs/finetune.yaml`.

Trainable: the AudioMAE encoder (fp32), ln_audio, the Q-Former, query_tokens, audio_indicator_token and llm_proj.
The LLM stays frozen (fp16 on a GPU), optionally with LoRA adapters. The loss covers the answer and its EOS only.
The same code runs on one CPU, one GPU, or many GPUs and nodes: accelerate's launcher decides, not this file.
This file is the loop; the data is batches.py's, what is trained and how recipe.py's, the saves saving.py's.

Out folder layout:
  metrics.jsonl        one JSON line per logged step (loss, lr) and per evaluation (eval_loss), main process
  step-0003000/        trainable weights in our format: `checkpoint.load(PathsConfig(checkpoint=...))` reads it
  state-0003000/       the latest resumable state: trainables, optimizer, scheduler, scaler, RNG, step
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch.utils.data import DataLoader
from tqdm import tqdm

from llaqo import checkpoint
from llaqo.config import load_yaml, to_dict
from llaqo.training.batches import StepBatches, evaluation_samples, training_samples
from llaqo.training.collate import IGNORE_INDEX, Collator
from llaqo.training.config import TrainConfig
from llaqo.training.data import Sample
from llaqo.training.recipe import LossModel, add_lora, batch_loss, llm_dtype, mark_trainable, param_groups, schedule
from llaqo.training.saving import CHECKPOINT_PREFIX, STATE_PREFIX, STEP_FILE, keep_trainable_only, latest, save

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


@torch.no_grad()
def evaluation_loss(
    accelerator: Accelerator, loss_model: LossModel, collator: Collator, samples: list[Sample], batch_size: int
) -> float:
    """Token-weighted mean loss over `samples`, shared across processes (each takes every P-th sample)."""
    mine = samples[accelerator.process_index :: accelerator.num_processes]
    totals = torch.zeros(2, device=accelerator.device)  # summed loss, answer tokens
    loss_model.eval()
    for start in range(0, len(mine), batch_size):
        batch = collator(mine[start : start + batch_size]).to(accelerator.device)
        tokens = (batch.labels != IGNORE_INDEX).sum()
        with accelerator.autocast():
            totals += torch.stack([batch_loss(loss_model, batch).float() * tokens, tokens.float()])
    loss_model.train()
    totals = accelerator.reduce(totals, reduction="sum")
    return (totals[0] / totals[1].clamp(min=1)).item()


def train(config: TrainConfig) -> Path:
    """Run (or resume) the fine-tuning. Returns the folder of the last trainable-weights checkpoint."""
    precision = config.mixed_precision
    if precision == "fp16" and not torch.cuda.is_available():
        log.warning("fp16 mixed precision needs CUDA; training in fp32 on this machine")
        precision = "no"
    accelerator = Accelerator(
        # Without any accelerator, processes started by torchrun (or `accelerate launch --multi_gpu`) train
        # together on the CPU over gloo; accelerate only does so when told it is on the CPU.
        cpu=not torch.accelerator.is_available(),
        mixed_precision=precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        # Unused by the loss, yet trainable as in the original: the encoder's AudioSet head, the Q-Former's
        # last text feed-forward, and with the original splice every query but the first.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(config.seed)
    loaded = checkpoint.load(
        config.paths,
        device=accelerator.device,
        llm_dtype=llm_dtype(config, accelerator.device),
        bridge=config.bridge,
    )
    model, tokenizer = loaded.model, loaded.tokenizer
    out_dir = Path(config.out_dir)
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(to_dict(config), indent=2) + "\n")
    mark_trainable(model)
    if config.lora.enabled:
        add_lora(model, config.lora)
    if config.gradient_checkpointing:
        model.llm.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.train()

    loss_model = LossModel(model)
    optimizer = torch.optim.AdamW(
        param_groups(loss_model, config.optim.weight_decay), lr=config.optim.lr, betas=config.optim.betas
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(config))
    loss_model, optimizer = accelerator.prepare(loss_model, optimizer)
    # The schedule counts optimizer steps itself; accelerate's scheduler wrapper would step it once per process.
    accelerator.register_for_checkpointing(scheduler)
    accelerator.register_save_state_pre_hook(keep_trainable_only)

    start_step = 0
    state = latest(out_dir, STATE_PREFIX) if config.resume else None
    if state is not None:
        accelerator.load_state(str(state), strict=False)
        start_step = json.loads((state / STEP_FILE).read_text())["step"]
        log.info("resumed from %s at step %d", state, start_step)

    collator = Collator(
        tokenizer, train=True, start_s=config.data.start_s, max_answer_tokens=config.data.max_answer_tokens
    )
    batches = StepBatches(
        training_samples(config.data),
        config.data.ratios,
        config.batch_size,
        accelerator.process_index,
        accelerator.num_processes,
        config.seed,
    )
    batches.start = start_step * config.gradient_accumulation_steps
    loader = DataLoader(
        batches,
        batch_size=None,
        collate_fn=collator,
        num_workers=config.data.num_workers,
        # Its own generator, so creating the loader leaves the global RNG (dropout) as a resumed run found it.
        generator=torch.Generator().manual_seed(config.seed),
    )
    eval_samples = evaluation_samples(config.data) if config.eval_every else []

    metrics = (out_dir / METRICS_FILE).open("a") if accelerator.is_main_process else None
    progress = tqdm(total=config.max_steps, initial=start_step, desc="train", disable=not accelerator.is_main_process)
    if eval_samples and start_step == 0:
        # The starting point, so later evaluations show what training changed.
        unwrapped = accelerator.unwrap_model(loss_model)
        baseline = evaluation_loss(accelerator, unwrapped, collator, eval_samples, config.batch_size)
        log.info("step 0: eval loss %.4f", baseline)
        if metrics is not None:
            metrics.write(json.dumps({"step": 0, "eval_loss": baseline}) + "\n")
    micro_batches = iter(loader)
    step = start_step
    last = None
    while step < config.max_steps:
        losses = []
        for _ in range(config.gradient_accumulation_steps):
            batch = next(micro_batches).to(accelerator.device)
            with accelerator.accumulate(loss_model), accelerator.autocast():
                loss = batch_loss(loss_model, batch)
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
            losses.append(loss.detach())
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        step += 1
        progress.update(1)
        record = {"step": step}
        if step % config.log_every == 0 or step == config.max_steps:
            record["loss"] = accelerator.reduce(torch.stack(losses).mean(), reduction="mean").item()
            record["lr"] = lr
            progress.set_postfix(loss=f"{record['loss']:.4f}")
        if eval_samples and (step % config.eval_every == 0 or step == config.max_steps):
            unwrapped = accelerator.unwrap_model(loss_model)
            record["eval_loss"] = evaluation_loss(accelerator, unwrapped, collator, eval_samples, config.batch_size)
            log.info("step %d: eval loss %.4f", step, record["eval_loss"])
        if metrics is not None and len(record) > 1:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        if step % config.save_every == 0 or step == config.max_steps:
            save(accelerator, accelerator.unwrap_model(loss_model).llaqo, tokenizer, out_dir, step)
            last = out_dir / f"{CHECKPOINT_PREFIX}{step:07d}"
    progress.close()
    if metrics is not None:
        metrics.close()
    accelerator.end_training()
    return last or latest(out_dir, CHECKPOINT_PREFIX)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="accelerate launch -m llaqo.training.train", description="fine-tune LLaQo (the original recipe by default)"
    )
    parser.add_argument("--config", required=True, help="a TrainConfig YAML, e.g. configs/finetune.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_yaml(TrainConfig, args.config)
    except (OSError, ValueError) as err:
        log.error("%s", err)
        return 2
    try:
        out = train(config)
    except (checkpoint.CheckpointError, FileNotFoundError) as err:  # missing weights or data: the message says why
        log.error("%s", err)
        return 2
    log.info("trainable weights: %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
