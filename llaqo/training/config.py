"""The fine-tuning run's settings (TrainConfig and its parts), one documented field per YAML key.

configs/finetune.yaml holds the original's values; `TrainConfig` is what `python -m llaqo.training.train --config`
reads (unknown keys raise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llaqo.config import BridgeConfig, PathsConfig
from llaqo.training.data import DATASETS


@dataclass
class DataConfig:
    """Where the QA pairs and recordings are. Either a CSV, or the instruction-tuning tables."""

    csv: str | None = None
    """A CSV with columns audio, question, answer (audio relative to the CSV); replaces the tables when set."""
    metadata_dir: str | None = None
    """Folder of the QA tables (the original repository's metadatas/); None: $LLAQO_METADATA."""
    audio_root: str = "data/audio"
    """One folder per dataset: audio_root/Burgmuller/..., see llaqo/training/data/specs.py."""
    datasets: tuple[str, ...] = tuple(DATASETS)
    """Tables to train on. The original: the 11 tables plus NeuroPiano (skipped when absent)."""
    ratios: dict[str, float] | None = None
    """Dataset name -> sampling weight; None samples in proportion to size, as the original."""
    split: str = "train"
    eval_csv: str | None = None
    """A CSV for periodic evaluation; None: the tables' `eval_split` (or nothing with a training CSV)."""
    eval_split: str = "valid"
    """Only CIPI and techniques have a valid split; "test" evaluates on every table's held-out rows."""
    eval_samples: int = 64
    """Evaluate on the first this many evaluation samples, so evaluations stay cheap and comparable."""
    start_s: float = 0.0
    """Offset of the 40.96 s window the model hears, in seconds."""
    max_answer_tokens: int = 256
    """Answer tokens kept for the loss, EOS included."""
    num_workers: int = 2
    """DataLoader processes decoding audio; 0 decodes in the training process."""


@dataclass
class OptimConfig:
    """AdamW and the original's LAVIS "linear_warmup_cosine" schedule, counted in optimizer steps."""

    lr: float = 1e-4
    min_lr: float = 1e-5
    warmup_lr: float = 1e-6
    """Warm-up starts here and rises linearly to `lr` over `warmup_steps` (within the first inner epoch)."""
    warmup_steps: int = 2000
    iters_per_inner_epoch: int = 3000
    """After warm-up the learning rate follows a cosine from lr to min_lr over the run's inner epochs,
    set once per inner epoch, as LAVIS's iteration runner did."""
    weight_decay: float = 0.05
    """Applied to weights with 2 or more dimensions; biases, norms and other 1-D parameters get 0."""
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class LoRAConfig:
    """Optional LoRA adapters on the frozen LLM (peft). The original used none."""

    enabled: bool = False
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")


@dataclass
class TrainConfig:
    """One fine-tuning run. YAML keys are these field names (nested for the sub-configs); unknown keys raise."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    """The starting weights: the released checkpoint, or a folder in our format."""
    out_dir: str = "runs/finetune"
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    lora: LoRAConfig = field(default_factory=LoRAConfig)
    batch_size: int = 4
    """Samples per process per micro-batch. The original: 4, on one GPU."""
    gradient_accumulation_steps: int = 1
    max_steps: int = 30000
    """Optimizer steps in the run (10 inner epochs of 3000 by default)."""
    mixed_precision: Literal["no", "fp16", "bf16"] = "fp16"
    """fp16: autocast with a GradScaler, as the original. Without CUDA, fp16 falls back to "no"."""
    llm_dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    """The frozen LLM's weights: auto is float16 on a GPU (the original) and float32 on the CPU."""
    gradient_checkpointing: bool = False
    """Recompute the LLM's activations in the backward pass, trading time for memory."""
    seed: int = 42
    log_every: int = 50
    save_every: int = 3000
    """Write trainable weights (step-N/) and the resumable state (state-N/) every this many steps and at the end."""
    eval_every: int = 3000
    """Evaluation loss on the evaluation samples every this many steps; 0 turns it off."""
    resume: bool = True
    """Continue from the latest state-N/ in out_dir when there is one."""
