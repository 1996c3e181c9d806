"""What the fine-tuning trains and how: the original's trainable parts (the LLM frozen, optionally with LoRA),
the loss over the answer and its EOS, the weight-decay groups, the warm-up and cosine schedule, the LLM's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from llaqo.model.llaqo import LLaQo
from llaqo.training.collate import IGNORE_INDEX, Batch, splice_labels
from llaqo.training.config import LoRAConfig, TrainConfig

TRAINABLE = ("audio_encoder", "ln_audio", "qformer", "query_tokens", "audio_indicator_token", "llm_proj")
"""What the original fine-tuned; everything else (the LLM) is frozen."""


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
