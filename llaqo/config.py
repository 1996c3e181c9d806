"""Configuration dataclasses. YAML keys are exactly these field names; unknown keys raise.

The model sizes are normally inferred from checkpoint tensors (see llaqo/checkpoint.py), so a
user rarely writes them by hand; they are spelled out here so that every size has one name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


@dataclass
class AudioEncoderConfig:
    """AudioMAE ViT: a (1024, 128) fbank image cut into 16x16 patches. Defaults are ViT-B/16."""

    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    """Not recoverable from tensors: read from `<encoder stem>.json` beside the weights, else 12."""
    patch_size: int = 16
    img_size: tuple[int, int] = (1024, 128)
    """(time frames, mel bins) of one segment."""
    mlp_hidden: int = 3072
    num_classes: int = 527
    """AudioSet head size. The head is unused by LLaQo but kept so checkpoints round-trip."""
    norm_eps: float = 1e-6


@dataclass
class QFormerConfig:
    """BLIP-2 Q-Former: BERT layers with learned queries. Defaults are the released BERT-mini."""

    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    """Not recoverable from tensors: read from the BERT folder's config.json."""
    intermediate_size: int = 1024
    vocab_size: int = 30523
    """BERT uncased vocabulary plus the `[DEC]` token the original appended."""
    max_position_embeddings: int = 512
    layer_norm_eps: float = 1e-12
    encoder_width: int = 768
    """Width of the audio features the queries cross-attend to."""
    cross_attention_freq: int = 2
    """Layers 0, freq, 2*freq, ... cross-attend to the audio."""
    num_query_tokens: int = 32
    max_text_len: int = 128
    """The question is left-truncated to this many BERT tokens."""
    dropout: float = 0.1
    """BERT's hidden and attention dropout, active only in training."""


@dataclass
class BridgeConfig:
    """How Q-Former outputs reach the LLM."""

    llm_tokens: Literal["first_query", "all_queries"] = "first_query"
    """first_query: the original's splice, one projected vector (query 0 of segment 0), so only the first
    10.24 s can matter. all_queries: all 32 queries of every segment, for models trained by this project."""


@dataclass
class LLaQoConfig:
    """The composite model's architecture, minus the LLM (whose config comes with its folder)."""

    audio_encoder: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    qformer: QFormerConfig = field(default_factory=QFormerConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    llm_hidden_size: int = 4096


@dataclass
class PathsConfig:
    """Where the weights live. Defaults are the standard `ckpts/` layout (see ckpts/README.md)."""

    checkpoint: str = "ckpts/checkpoint_2283000.pth"
    """The LLaQo checkpoint: the original .pth, or a folder converted by `python -m llaqo convert`."""
    audio_encoder: str = "ckpts/vit.pth"
    llm: str = "ckpts/vicuna-7b-v1.5"
    """A Hugging Face model folder, or a hub cache folder (models--lmsys--vicuna-7b-v1.5)."""
    qformer_tokenizer: str = "ckpts/bert-mini"
    """The Q-Former's BERT folder (config.json + vocab.txt): BERT-mini, uncased."""

    @classmethod
    def under(cls, folder: str | Path) -> PathsConfig:
        """The standard layout inside another folder than ckpts/ (`--ckpts DIR`)."""
        return cls(**{f.name: str(Path(folder) / Path(f.default).name) for f in dataclasses.fields(cls)})


class ConfigError(ValueError):
    """A configuration file or dict that does not match the dataclass: the message names the keys."""


def from_dict(cls: type, data: dict[str, Any]):
    """Build a (nested) config dataclass from a dict, rejecting unknown keys by name."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {', '.join(unknown)} (known: {', '.join(names)})")
    kwargs = {}
    for key, value in data.items():
        default = names[key].default_factory() if names[key].default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            value = from_dict(type(default), value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def to_dict(config) -> dict[str, Any]:
    """A config dataclass as plain JSON/YAML-ready data."""
    return json_ready(dataclasses.asdict(config))


def json_ready(value):
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [json_ready(v) for v in value]
    return value


def load_yaml(cls: type, path: str | Path):
    """Read a YAML file whose keys are cls's field names."""
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of {cls.__name__} fields")
    try:
        return from_dict(cls, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err
