"""Load the released LLaQo weights (or our converted format) into the model, strictly.

Sources, as released:
  checkpoint_2283000.pth  {"model": state dict, "optimizer", "config", "scaler", "iters"}: trainable weights + buffers
  vit.pth                 {"model": AudioMAE state dict}, the only source of the fixed `pos_embed`
  vicuna-7b-v1.5/         a Hugging Face folder, plain or hub-cache layout (models--lmsys--vicuna-7b-v1.5/)
  bert folder             the Q-Former's WordPiece vocabulary (bert-base-uncased's)

Our format (written by `convert`): a folder with `config.json` (the LLaQoConfig), `model.safetensors`
(every non-LLM weight, pos_embed included) and `qformer_tokenizer/`. It needs only the LLM besides.
Sizes are read from the tensors; only head counts come from the BERT config and `<vit stem>.json`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, BertTokenizer, LlamaForCausalLM

from llaqo.config import (
    AudioEncoderConfig,
    BridgeConfig,
    LLaQoConfig,
    PathsConfig,
    QFormerConfig,
    from_dict,
    to_dict,
)
from llaqo.model.llaqo import LLaQo
from llaqo.model.tokenizers import PromptTokenizer, QuestionTokenizer, load_qformer_tokenizer

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONVERTED_CONFIG = "config.json"
CONVERTED_WEIGHTS = "model.safetensors"
CONVERTED_TOKENIZER = "qformer_tokenizer"
CONVERTED_ADAPTER = "llm_adapter"  # a LoRA adapter written by `save`, merged into the LLM by `load`

# Original parameter-name prefixes -> ours. Everything else keeps its name.
PREFIXES = {"audio_encoder.model.": "audio_encoder.", "Qformer.bert.": "qformer.", "llm_model.": "llm."}
# Rotary tables that old transformers saved as buffers; today's LLaMA recomputes them.
HARMLESS = re.compile(r"^llm\.model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")


class CheckpointError(RuntimeError):
    """Weights that do not fit the model. The message names the file and the offending keys."""


@dataclass
class LoadedLLaQo:
    """A ready model and the tokenizers that go with it."""

    model: LLaQo
    tokenizer: QuestionTokenizer


def rename(state: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """Original key names -> ours (see PREFIXES), with `prefix` put in front of every key first."""
    out = {}
    for key, value in state.items():
        key = prefix + key
        for old, new in PREFIXES.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        out[key] = value
    return out


def read_torch_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The `model` dict of an original .pth, read with weights_only=True (never plain pickle)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} not found: run `python -m llaqo doctor`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({err})") from err
    state = blob.get("model") if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict with a 'model' state dict")
    return state


def resolve_llm_dir(path: str | Path) -> Path:
    """A plain HF folder, a `models--org--name` cache folder, or a cache root holding one -> the folder to load."""
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    caches = [path] if (path / "snapshots").is_dir() else sorted(path.glob("models--*"))
    for cache in caches:
        ref = cache / "refs" / "main"
        snapshots = [cache / "snapshots" / ref.read_text().strip()] if ref.is_file() else []
        snapshots += sorted((cache / "snapshots").glob("*"))
        for snapshot in snapshots:
            if (snapshot / "config.json").is_file():
                return snapshot
    raise CheckpointError(f"{path}: no LLM found (expected config.json, or a hub cache with snapshots/)")


def _count(state: dict[str, torch.Tensor], pattern: str) -> list[int]:
    found = {int(m.group(1)) for key in state if (m := re.match(pattern, key))}
    return sorted(found)


def infer_config(
    state: dict[str, torch.Tensor], vit_heads: int, qformer_heads: int, bridge: BridgeConfig
) -> LLaQoConfig:
    """Every size from the (renamed, merged) tensors; head counts are given, since no tensor shows them."""
    try:
        blocks = _count(state, r"audio_encoder\.blocks\.(\d+)\.")
        patch = state["audio_encoder.patch_embed.proj.weight"]
        encoder = AudioEncoderConfig(
            embed_dim=patch.shape[0],
            depth=len(blocks),
            num_heads=vit_heads,
            patch_size=patch.shape[-1],
            mlp_hidden=state["audio_encoder.blocks.0.mlp.fc1.weight"].shape[0],
            num_classes=state["audio_encoder.head.weight"].shape[0],
        )
        layers = _count(state, r"qformer\.encoder\.layer\.(\d+)\.")
        cross = _count(state, r"qformer\.encoder\.layer\.(\d+)\.crossattention\.")
        queries = state["query_tokens"]
        qformer = QFormerConfig(
            hidden_size=queries.shape[-1],
            num_layers=len(layers),
            num_heads=qformer_heads,
            intermediate_size=state["qformer.encoder.layer.0.intermediate.dense.weight"].shape[0],
            vocab_size=state["qformer.embeddings.word_embeddings.weight"].shape[0],
            max_position_embeddings=state["qformer.embeddings.position_embeddings.weight"].shape[0],
            encoder_width=state[f"qformer.encoder.layer.{cross[0]}.crossattention.self.key.weight"].shape[1],
            cross_attention_freq=cross[1] - cross[0] if len(cross) > 1 else len(layers),
            num_query_tokens=queries.shape[1],
        )
        return LLaQoConfig(encoder, qformer, bridge, llm_hidden_size=state["llm_proj.weight"].shape[0])
    except (KeyError, IndexError) as err:
        raise CheckpointError(f"the checkpoint lacks a tensor needed to size the model: {err}") from err


def check_and_load(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str, skip: str = "llm.") -> None:
    """Load `state` into `module` strictly, except keys under `skip` (the LLM loads from its own folder).

    Missing, unexpected (other than the rotary buffers) and wrongly shaped keys raise, by name.
    """
    expected = {k: v for k, v in module.state_dict().items() if not k.startswith(skip)}
    given = {k: v for k, v in state.items() if not HARMLESS.match(k)}
    problems = []
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    shapes = [
        f"{k}: checkpoint {tuple(given[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(given) & set(expected))
        if given[k].shape != expected[k].shape
    ]
    if shapes:
        problems.append(f"shape mismatches: {'; '.join(shapes)}")
    if problems:
        raise CheckpointError(f"{source} does not fit the model: " + " | ".join(problems))
    module.load_state_dict({k: given[k] for k in expected}, strict=False)


def read_vit_heads(vit_path: Path) -> int:
    """Head count from `<stem>.json` beside the encoder weights, else ViT-B/16's 12."""
    sidecar = vit_path.with_suffix(".json")
    if sidecar.is_file():
        return int(json.loads(sidecar.read_text())["num_heads"])
    return AudioEncoderConfig.num_heads


def is_converted(path: str | Path) -> bool:
    return (Path(path) / CONVERTED_CONFIG).is_file()


def read_bridge(paths: PathsConfig, bridge: BridgeConfig | None = None) -> tuple[LLaQoConfig, dict, Path]:
    """The non-LLM weights in our naming, their config, and the Q-Former tokenizer folder."""
    checkpoint = Path(paths.checkpoint)
    if is_converted(checkpoint):
        data = json.loads((checkpoint / CONVERTED_CONFIG).read_text())
        if data.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{checkpoint}: unknown format version {data.get('format_version')}")
        config = from_dict(LLaQoConfig, data["model"])
        if bridge is not None:
            config.bridge = bridge
        return config, load_file(checkpoint / CONVERTED_WEIGHTS), checkpoint / CONVERTED_TOKENIZER
    vit_path = Path(paths.audio_encoder)
    # vit.pth first, the LLaQo checkpoint over it: only pos_embed survives from vit.pth, as in the original.
    state = rename(read_torch_state(vit_path), prefix="audio_encoder.model.")
    state.update(rename(read_torch_state(checkpoint)))
    bert_config = AutoConfig.from_pretrained(paths.qformer_tokenizer)
    config = infer_config(state, read_vit_heads(vit_path), bert_config.num_attention_heads, bridge or BridgeConfig())
    if bert_config.hidden_size != config.qformer.hidden_size:
        # The head count is read from this folder, so a mismatched BERT would silently change the model.
        raise CheckpointError(
            f"{paths.qformer_tokenizer}: BERT hidden size {bert_config.hidden_size} does not match the checkpoint's "
            f"Q-Former ({config.qformer.hidden_size}); use the BERT-mini folder described in ckpts/README.md"
        )
    config.qformer.layer_norm_eps = bert_config.layer_norm_eps
    return config, state, Path(paths.qformer_tokenizer)


def load_llm(
    llm_dir: str | Path, dtype: torch.dtype, device_map: str | torch.device = "cpu", **kwargs
) -> LlamaForCausalLM:
    """Vicuna (or any LLaMA folder), with the two rows the original appended: `[PAD]` and `<AUDIO>`.

    The original left both rows random at every load; here they are seeded so answers are reproducible.
    Neither token appears in a prompt. The `<AUDIO>` input row is zero, as in the original.
    """
    llm = LlamaForCausalLM.from_pretrained(str(resolve_llm_dir(llm_dir)), dtype=dtype, device_map=device_map, **kwargs)
    vocab = llm.get_input_embeddings().weight.shape[0]
    llm.resize_token_embeddings(vocab + 2, mean_resizing=False)
    with torch.no_grad():
        weights = (llm.get_input_embeddings().weight, llm.get_output_embeddings().weight)
        for table, rows in zip(weights, appended_rows(weights[0].shape[1], llm.config.initializer_range), strict=True):
            table[vocab:] = rows.to(table.dtype)
    return llm.requires_grad_(False).eval()


def appended_rows(width: int, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The seeded `[PAD]` and `<AUDIO>` rows as (input rows, output rows), each (2, width). `<AUDIO>`'s input
    row is zero, as in the original."""
    generator = torch.Generator().manual_seed(0)
    inputs, outputs = (torch.randn(2, width, generator=generator) * std for _ in range(2))
    inputs[1] = 0
    return inputs, outputs


class InputEmbeddings(torch.nn.Module):
    """The LLM's input embedding table alone, with the two appended rows: what LLaQo needs of the LLM to build
    prompt embeddings when a server decodes them (`llm_engine: vllm`). Never the LLM's other weights."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding.from_pretrained(weight, freeze=True)

    def get_input_embeddings(self) -> torch.nn.Embedding:
        return self.embed_tokens

    @property
    def dtype(self) -> torch.dtype:
        return self.embed_tokens.weight.dtype


EMBED_TOKENS = "model.embed_tokens.weight"


def load_input_embeddings(llm_dir: str | Path, device: str | torch.device = "cpu") -> InputEmbeddings:
    """Read only the embedding table from the LLM folder's safetensors (in the file's dtype), plus the two
    appended rows. A few hundred MB for Vicuna-7B instead of 13 GB."""
    from safetensors import safe_open

    folder = resolve_llm_dir(llm_dir)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        file = folder / json.loads(index.read_text())["weight_map"][EMBED_TOKENS]
    else:
        file = folder / "model.safetensors"
    if not file.is_file():
        raise CheckpointError(
            f"{folder}: no safetensors weights; the vLLM engine reads the LLM's embedding table from them "
            "(download the model's safetensors files, see ckpts/README.md)"
        )
    with safe_open(str(file), framework="pt") as weights:
        table = weights.get_tensor(EMBED_TOKENS)
    std = json.loads((folder / "config.json").read_text()).get("initializer_range", 0.02)
    rows = appended_rows(table.shape[1], std)[0].to(table.dtype)
    return InputEmbeddings(torch.cat([table, rows]).to(device))


def load(
    paths: PathsConfig,
    *,
    device: str | torch.device = "cpu",
    llm_dtype: torch.dtype | None = None,
    bridge: BridgeConfig | None = None,
    llm_device_map: str | None = None,
    llm_kwargs: dict | None = None,
    embeddings_only: bool = False,
) -> LoadedLLaQo:
    """Build the model from released or converted weights. The model is in eval mode and frozen.

    embeddings_only: of the LLM, load only its input embedding table (InputEmbeddings), for a served LLM.

    The bridge (encoder, Q-Former, projections) runs in fp32 on `device`; the LLM in `llm_dtype` on
    `device`, or spread by accelerate with `llm_device_map` (e.g. "auto" for several GPUs).
    """
    device = torch.device(device)
    llm_dtype = llm_dtype or (torch.float16 if device.type == "cuda" else torch.float32)
    config, state, tokenizer_dir = read_bridge(paths, bridge)
    model = LLaQo(config, llm=None)
    check_and_load(model, state, f"{paths.checkpoint} + {paths.audio_encoder}")
    # The bridge's file tensors are copied into the model: dropped before the LLM loads, so that the two never
    # sit in memory together.
    del state
    model.bridge_to(device)
    adapter = Path(paths.checkpoint) / CONVERTED_ADAPTER
    if embeddings_only:
        if adapter.is_dir():
            raise CheckpointError(
                f"{adapter}: a LoRA adapter on the LLM, which the vLLM engine does not serve; use --llm-engine local"
            )
        llm = load_input_embeddings(paths.llm, device)
    else:
        llm = load_llm(paths.llm, llm_dtype, llm_device_map or device, **(llm_kwargs or {}))
    if adapter.is_dir():
        from peft import PeftModel

        # Merged, so inference runs a plain LLaMA at full speed.
        llm = PeftModel.from_pretrained(llm, str(adapter)).merge_and_unload()
    model.llm = llm
    model.requires_grad_(False).eval()
    tokenizer = QuestionTokenizer(
        load_qformer_tokenizer(tokenizer_dir, config.qformer.max_text_len),
        PromptTokenizer.from_dir(resolve_llm_dir(paths.llm)),
        config.qformer.max_text_len,
    )
    if len(tokenizer.prompt) != llm.get_input_embeddings().weight.shape[0]:
        raise CheckpointError(
            f"{paths.llm}: tokenizer has {len(tokenizer.prompt)} tokens with [PAD] and <AUDIO>, "
            f"the LLM's embeddings {llm.get_input_embeddings().weight.shape[0]}"
        )
    return LoadedLLaQo(model, tokenizer)


def convert(paths: PathsConfig, out_dir: str | Path) -> Path:
    """Write the released weights in our format: safetensors + JSON config + tokenizer, no optimizer state."""
    config, state, tokenizer_dir = read_bridge(paths)
    bridge_only = LLaQo(config, llm=None)
    check_and_load(bridge_only, state, f"{paths.checkpoint} + {paths.audio_encoder}")
    return save(bridge_only, load_qformer_tokenizer(tokenizer_dir, config.qformer.max_text_len), out_dir)


def save(model: LLaQo, qformer_tokenizer: BertTokenizer, out_dir: str | Path) -> Path:
    """Write a (trained) model in our format, as `convert` does: every non-LLM weight (the trainables, their
    buffers and the fixed pos_embed), the config and the Q-Former tokenizer. A peft LoRA adapter on the LLM goes
    to `llm_adapter/`, which `load` merges into the LLM; the LLM's own weights are never written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items() if not k.startswith("llm.")}
    save_file(weights, out / CONVERTED_WEIGHTS, metadata={"format": "pt"})
    (out / CONVERTED_CONFIG).write_text(
        json.dumps({"format_version": FORMAT_VERSION, "model": to_dict(model.config)}, indent=2) + "\n"
    )
    qformer_tokenizer.save_pretrained(out / CONVERTED_TOKENIZER)
    if hasattr(model.llm, "peft_config"):
        # The resized embeddings stay frozen and `load_llm` rebuilds them, so the adapter need not carry them.
        model.llm.save_pretrained(out / CONVERTED_ADAPTER, save_embedding_layers=False)
    log.info("wrote %d tensors to %s", len(weights), out)
    return out
