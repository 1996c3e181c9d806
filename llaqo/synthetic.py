"""Things the project makes itself instead of downloading: piano-like clips and random-weight releases.

`write_release` writes a complete LLaQo release (checkpoint.pth, vit.pth, the Vicuna-style LLM folder
and the BERT tokenizer folder) in the original formats, at any size, with random weights. Tests load it
through the real loading code; benchmarks use it at the real model's shapes.
"""

from __future__ import annotations

import itertools
import json
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from llaqo.checkpoint import PREFIXES
from llaqo.config import AudioEncoderConfig, LLaQoConfig, QFormerConfig
from llaqo.model.llaqo import LLaQo


def piano_tone(freq: float, seconds: float, sample_rate: int, velocity: float = 0.5) -> np.ndarray:
    """One decaying note with a few slightly inharmonic partials. (samples,) float32."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = sum((0.6**k) * np.sin(2 * np.pi * freq * (k + 1) * (1 + 0.0004 * k * k) * t) for k in range(6)) * np.exp(
        -3.0 * t
    )
    attack = np.minimum(1.0, t / 0.005)
    return (velocity * attack * tone / 2.2).astype(np.float32)


def synth_piano(
    path: str | Path,
    seconds: float = 6.0,
    sample_rate: int = 44100,
    channels: int = 1,
    bpm: float = 100.0,
    seed: int = 0,
) -> Path:
    """Write a short piano-like performance: a C-major broken chord pattern at `bpm`, to any soundfile format."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    # Room for the last note's 1.5-beat ring past the end; it is cut off below.
    out = np.zeros(int((seconds + 1.5 * beat) * sample_rate) + 1, dtype=np.float32)
    pitches = [60, 64, 67, 72, 67, 64]
    for i, onset in enumerate(np.arange(0.0, seconds, beat)):
        midi = pitches[i % len(pitches)]
        note = piano_tone(440.0 * 2 ** ((midi - 69) / 12), beat * 1.5, sample_rate, 0.35 + 0.3 * rng.random())
        start = int(onset * sample_rate)
        out[start : start + len(note)] += note
    wave = np.stack([out[: int(seconds * sample_rate)]] * channels, axis=1)
    soundfile.write(str(path), wave, sample_rate)
    return Path(path)


@dataclass
class ReleaseSizes:
    """Sizes of a random release. Defaults are tiny; `vicuna_7b()` gives the real shapes."""

    audio_encoder: AudioEncoderConfig = field(
        default_factory=lambda: AudioEncoderConfig(embed_dim=32, depth=2, num_heads=2, mlp_hidden=64, num_classes=5)
    )
    qformer: QFormerConfig = field(
        default_factory=lambda: QFormerConfig(
            hidden_size=24, num_layers=2, num_heads=2, intermediate_size=48, vocab_size=0, encoder_width=32
        )
    )
    """vocab_size is set from the generated BERT vocabulary (+1 for [DEC])."""
    llm: dict = field(
        default_factory=lambda: dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=1000
        )
    )
    """LlamaConfig arguments."""
    bert_vocab_size: int = 200
    freeze_vit: bool = False
    """True writes a checkpoint without encoder weights, as the released inference config did."""

    @classmethod
    def tiny_served(cls) -> ReleaseSizes:
        """Tiny, with an LLM that vLLM's CPU engine can serve: its attention takes heads of 32 to 512 dims."""
        llm = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, vocab_size=1000)
        return cls(llm=llm)

    @classmethod
    def vicuna_7b(cls) -> ReleaseSizes:
        """AudioMAE ViT-B/16, BERT-mini Q-Former, and Vicuna-7B's exact LLM shape."""
        return cls(
            audio_encoder=AudioEncoderConfig(),
            qformer=QFormerConfig(vocab_size=0),
            llm=dict(
                hidden_size=4096,
                intermediate_size=11008,
                num_hidden_layers=32,
                num_attention_heads=32,
                vocab_size=32000,
                max_position_embeddings=4096,
            ),
            bert_vocab_size=30522,
        )


def sentencepiece_model(vocab_size: int) -> bytes:
    """A valid BPE sentencepiece model with exactly vocab_size pieces: specials, 256 byte pieces,
    characters, then letter n-grams. Its segmentations are meaningless but deterministic."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.BPE
    proto.trainer_spec.byte_fallback = True
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id = 0, 1, 2
    proto.trainer_spec.pad_id = -1
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = False

    def add(piece: str, kind, score: float = 0.0) -> None:
        p = proto.pieces.add()
        p.piece, p.type, p.score = piece, kind, score

    Piece = pb.ModelProto.SentencePiece
    add("<unk>", Piece.UNKNOWN)
    add("<s>", Piece.CONTROL)
    add("</s>", Piece.CONTROL)
    for b in range(256):
        add(f"<0x{b:02X}>", Piece.BYTE)
    letters = string.ascii_lowercase
    singles = ["\u2581", *string.ascii_letters, *string.digits, *string.punctuation]
    grams = itertools.chain(
        ("\u2581" + c for c in letters),
        ("".join(p) for p in itertools.product(letters, repeat=2)),
        ("\u2581" + "".join(p) for p in itertools.product(letters, repeat=2)),
        ("".join(p) for p in itertools.product(letters, repeat=3)),
        ("\u2581" + "".join(p) for p in itertools.product(letters, repeat=3)),
    )
    for rank, piece in enumerate(itertools.chain(singles, grams)):
        if len(proto.pieces) >= vocab_size:
            break
        add(piece, Piece.NORMAL, -float(rank))
    if len(proto.pieces) != vocab_size:
        raise ValueError(f"cannot build a sentencepiece model of {vocab_size} pieces")
    return proto.SerializeToString()


def bert_vocab(size: int) -> list[str]:
    """An uncased WordPiece vocabulary of `size` entries, specials first as in BERT."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.punctuation, *string.digits, *string.ascii_lowercase]
    words += ["the", "how", "would", "you", "rate", "performance", "tempo", "pedal", "dynamics", "piano", "was", "my"]
    words += [f"##{c}" for c in string.ascii_lowercase]
    words += ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=2)]
    if size > len(words):
        words += [f"[unused{i}]" for i in range(size - len(words))]
    return words[:size]


def _randomize(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Seeded weights with unit-scale activations: norms near 1, biases and tables small, linears 1/sqrt(fan_in)."""
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=generator)
            if "norm" in name.lower() and name.endswith("weight"):
                tensor.copy_(1 + 0.1 * noise)
            elif name.endswith("bias"):
                tensor.copy_(0.1 * noise)
            elif tensor.ndim >= 2 and "embed" not in name and "token" not in name:
                tensor.copy_(noise / tensor[0].numel() ** 0.5)
            else:
                tensor.copy_(noise)


def _original_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our key names -> the original's (the inverse of checkpoint.PREFIXES)."""
    out = {}
    for key, value in state.items():
        for old, new in PREFIXES.items():
            if key.startswith(new):
                key = old + key[len(new) :]
                break
        out[key] = value
    return out


def write_release(root: str | Path, sizes: ReleaseSizes | None = None, seed: int = 0) -> dict[str, Path]:
    """Write a random-weight release in the original formats under root. Returns the four paths
    (checkpoint, audio_encoder, llm, qformer_tokenizer), ready for PathsConfig(**paths)."""
    sizes = sizes or ReleaseSizes()
    root = Path(root)
    generator = torch.Generator().manual_seed(seed)

    llm_dir, bert_dir = root / "llm", root / "bert"
    llm_dir.mkdir(parents=True, exist_ok=True)
    bert_dir.mkdir(parents=True, exist_ok=True)
    llm_config = LlamaConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, **sizes.llm)
    with torch.device("meta"):
        llm = LlamaForCausalLM(llm_config)
    llm = llm.to_empty(device="cpu")
    _randomize(llm, generator)
    llm.to(torch.float16).save_pretrained(llm_dir)
    (llm_dir / "tokenizer.model").write_bytes(sentencepiece_model(llm_config.vocab_size))
    (llm_dir / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "LlamaTokenizer", "legacy": False, "add_bos_token": True})
    )
    del llm

    vocab = bert_vocab(sizes.bert_vocab_size)
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    qformer = QFormerConfig(**{**vars(sizes.qformer), "vocab_size": len(vocab) + 1})
    (bert_dir / "config.json").write_text(
        json.dumps(
            {
                "model_type": "bert",
                "hidden_size": qformer.hidden_size,
                "num_hidden_layers": qformer.num_layers,
                "num_attention_heads": qformer.num_heads,
                "intermediate_size": qformer.intermediate_size,
                "vocab_size": len(vocab),
                "layer_norm_eps": qformer.layer_norm_eps,
            }
        )
    )

    config = LLaQoConfig(sizes.audio_encoder, qformer, llm_hidden_size=llm_config.hidden_size)
    bridge = LLaQo(config, llm=None)
    _randomize(bridge, generator)
    state = _original_names(bridge.state_dict())
    encoder = {k[len("audio_encoder.model.") :]: v for k, v in state.items() if k.startswith("audio_encoder.model.")}
    # vit.pth is a different draw, as in the release: the checkpoint's encoder weights override it.
    vit = {k: torch.randn(v.shape, generator=generator) * 0.02 for k, v in encoder.items()}
    vit["pos_embed"] = encoder.pop("pos_embed")
    state.pop("audio_encoder.model.pos_embed")
    if sizes.freeze_vit:
        state = {k: v for k, v in state.items() if not k.startswith("audio_encoder.")}
    # Old transformers saved LLaMA's rotary tables as buffers; the release has them, so ours does too.
    head_dim = llm_config.hidden_size // llm_config.num_attention_heads
    for i in range(llm_config.num_hidden_layers):
        state[f"llm_model.model.layers.{i}.self_attn.rotary_emb.inv_freq"] = torch.zeros(head_dim // 2)
    paths = {
        "checkpoint": root / "checkpoint.pth",
        "audio_encoder": root / "vit.pth",
        "llm": llm_dir,
        "qformer_tokenizer": bert_dir,
    }
    torch.save({"model": state, "config": {"model": {"freeze_vit": sizes.freeze_vit}}, "iters": 0}, paths["checkpoint"])
    torch.save({"model": vit}, paths["audio_encoder"])
    (root / "vit.json").write_text(json.dumps({"num_heads": sizes.audio_encoder.num_heads}))
    return paths
