"""Fine-tune LLaQo with the original recipe: `accelerate launch -m llaqo.training.train --config configs/finetune.yaml`.

Trainable: the AudioMAE encoder (fp32), ln_audio, the Q-Former, query_tokens, audio_indicator_token and llm_proj.
The LLM stays frozen (fp16 on a GPU), optionally with LoRA adapters. The loss covers the answer and its EOS only.
The same code runs on one CPU, one GPU, or many GPUs and nodes: accelerate's launcher decides, not this file.

Out folder layout:
  metrics.jsonl        one JSON line per logged step (loss, lr) and per evaluation (eval_loss), main process
  step-0003000/        trainable weights in our format: `checkpoint.load(PathsConfig(checkpoint=...))` reads it
  state-0003000/       the latest resumable state: trainables, optimizer, scheduler, scaler, RNG, step
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import count, zip_longest
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm import tqdm

from llaqo import checkpoint
from llaqo.config import load_yaml, to_dict
from llaqo.model.llaqo import LLaQo
from llaqo.training.collate import IGNORE_INDEX, Batch, Collator, read_csv, splice_labels
from llaqo.training.config import DataConfig, LoRAConfig, TrainConfig
from llaqo.training.data import DATASETS, Mixture, Sample, load_datasets, resolve_metadata_dir

log = logging.getLogger(__name__)

TRAINABLE = ("audio_encoder", "ln_audio", "qformer", "query_tokens", "audio_indicator_token", "llm_proj")
"""What the original fine-tuned; everything else (the LLM) is frozen."""
METRICS_FILE = "metrics.jsonl"
STATE_PREFIX = "state-"
CHECKPOINT_PREFIX = "step-"
STEP_FILE = "trainer.json"


# --- data -----------------------------------------------------------------------------------------------------


def training_samples(config: DataConfig) -> dict[str, list[Sample]]:
    """Dataset name -> the training samples (one entry, "csv", for a CSV)."""
    if config.csv is not None:
        return {"csv": read_csv(config.csv, split=config.split)}
    unknown = sorted(set(config.datasets) - set(DATASETS))
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; choose from {sorted(DATASETS)}")
    specs = [DATASETS[name] for name in config.datasets]
    metadata = resolve_metadata_dir(config.metadata_dir)
    return load_datasets(specs, metadata, Path(config.audio_root), splits=(config.split,))


def evaluation_samples(config: DataConfig) -> list[Sample]:
    """The first `eval_samples` evaluation samples, or none when no evaluation data is configured."""
    if config.eval_csv is not None:
        samples = read_csv(config.eval_csv, split=config.eval_split)
    elif config.csv is not None:
        return []
    else:
        specs = [DATASETS[name] for name in config.datasets]
        metadata = resolve_metadata_dir(config.metadata_dir)
        loaded = load_datasets(specs, metadata, Path(config.audio_root), splits=(config.eval_split,))
        # Round robin over the tables, so a small evaluation set covers every task, not just the first table.
        samples = [s for group in zip_longest(*loaded.values()) for s in group if s is not None]
    return samples[: config.eval_samples]


class StepBatches(IterableDataset):
    """This process's micro-batches (lists of Samples), from micro-batch `start` on.

    Global micro-batch m is draws [m * B * P, (m + 1) * B * P) of the seeded Mixture stream, epoch after epoch;
    process r takes its r-th slice of B. The stream depends only on the seed, so a resumed run sees exactly the
    batches the interrupted one would have. DataLoader worker w of n yields micro-batches w, w + n, ...
    """

    def __init__(
        self, datasets: Mapping[str, Sequence[Sample]], ratios, batch_size: int, rank: int, world: int, seed: int
    ):
        self.mixture = Mixture(datasets, ratios, seed=seed)
        self.batch_size, self.rank, self.world = batch_size, rank, world
        self.start = 0

    def draws(self) -> Iterator[Sample]:
        for epoch in count():
            self.mixture.set_epoch(epoch)
            yield from self.mixture

    def __iter__(self) -> Iterator[list[Sample]]:
        worker = get_worker_info()
        first, step = (0, 1) if worker is None else (worker.id, worker.num_workers)
        stream = self.draws()
        size = self.batch_size * self.world
        for index in count():
            micro = [next(stream) for _ in range(size)]
            if index >= self.start and (index - self.start) % step == first:
                yield micro[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]


# --- model ----------------------------------------------------------------------------------------------------


class LossModel(nn.Module):
    """LLaQo behind one forward that returns the loss, so DistributedDataParallel sees every use of a weight."""

    def __init__(self, llaqo: LLaQo):
        super().__init__()
        self.llaqo = llaqo

    def forward(
        self,
        fbank: torch.Tensor,
        qformer_ids: torch.Tensor,
        qformer_mask: torch.Tensor,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        labels: torch.Tensor,
    ) -> torch.Tensor:
        """Mean cross-entropy over the answer and EOS tokens of the batch (see collate.Batch for shapes)."""
        model = self.llaqo
        audio_tokens = model.project(model.query_audio(model.encode_audio(fbank), qformer_ids, qformer_mask))
        logits = model(model.llm_inputs(audio_tokens, prompt_ids, prompt_mask))  # (B, P, vocab)
        targets = splice_labels(labels, audio_tokens.shape[1])  # (B, P)
        # Position i predicts token i + 1; the loss is taken in fp32 whatever the LLM's dtype.
        return F.cross_entropy(
            logits[:, :-1].float().flatten(0, 1), targets[:, 1:].flatten(), ignore_index=IGNORE_INDEX
        )


def batch_loss(loss_model: nn.Module, batch: Batch) -> torch.Tensor:
    """A LossModel's loss on a batch; `loss_model` may be wrapped for distributed training."""
    return loss_model(
        batch.fbank, batch.qformer_ids, batch.qformer_mask, batch.prompt_ids, batch.prompt_mask, batch.labels
    )


def mark_trainable(model: LLaQo) -> None:
    """Freeze everything, then unfreeze the original's trainable parts and keep them in fp32."""
    model.requires_grad_(False)
    for name in TRAINABLE:
        part = getattr(model, name)
        part.requires_grad_(True)
        for param in part.parameters() if isinstance(part, nn.Module) else (part,):
            param.data = param.data.float()


def add_lora(model: LLaQo, config: LoRAConfig) -> None:
    """Wrap the frozen LLM with trainable LoRA adapters (kept in fp32 by peft)."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    model.llm = get_peft_model(model.llm, lora)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on trainable tensors of 2+ dimensions only; biases, norms and other 1-D tensors get none."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@dataclass
class WarmupCosine:
    """LR multiplier (of `lr`) at an optimizer step: LAVIS's linear_warmup_cosine, per inner epoch.

    Inner epoch e = step // iters_per_inner_epoch. In epoch 0, the first warmup_steps rise linearly from
    warmup_lr to lr; otherwise lr is min_lr + (lr - min_lr) * (1 + cos(pi * e / epochs)) / 2.
    """

    lr: float
    min_lr: float
    warmup_lr: float
    warmup_steps: int
    iters_per_inner_epoch: int
    epochs: int

    def __call__(self, step: int) -> float:
        epoch, inner = divmod(step, self.iters_per_inner_epoch)
        if epoch == 0 and inner < self.warmup_steps:
            value = self.warmup_lr + (self.lr - self.warmup_lr) * inner / max(self.warmup_steps, 1)
            return min(value, self.lr) / self.lr
        cosine = 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return (self.min_lr + (self.lr - self.min_lr) * cosine) / self.lr


def schedule(config: TrainConfig) -> WarmupCosine:
    optim = config.optim
    epochs = max(1, math.ceil(config.max_steps / optim.iters_per_inner_epoch))
    return WarmupCosine(
        optim.lr, optim.min_lr, optim.warmup_lr, optim.warmup_steps, optim.iters_per_inner_epoch, epochs
    )


def llm_dtype(config: TrainConfig, device: torch.device) -> torch.dtype:
    if config.llm_dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return getattr(torch, config.llm_dtype)


# --- checkpoints ----------------------------------------------------------------------------------------------


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


# --- the loop -------------------------------------------------------------------------------------------------


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
