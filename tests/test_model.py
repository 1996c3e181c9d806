"""The model's parts against reference implementations, with copied weights."""

from __future__ import annotations

import torch
from transformers import InstructBlipQFormerConfig, InstructBlipQFormerModel

from llaqo.config import QFormerConfig
from llaqo.model.qformer import QFormer


def hf_name(key: str) -> str:
    """Our (BERT-style) Q-Former key -> transformers' InstructBLIP Q-Former key."""
    key = key.replace("embeddings.LayerNorm.", "embeddings.layernorm.")
    return key.replace("attention.self.", "attention.attention.")


def test_qformer_matches_instructblip_qformer():
    """InstructBLIP's Q-Former is the same instruction-aware design; ours must compute the same function,
    padding included, with cross-attention in layers 0 and 2 of 4."""
    torch.manual_seed(0)
    config = QFormerConfig(
        hidden_size=24, num_layers=4, num_heads=2, intermediate_size=48, vocab_size=50, encoder_width=32
    )
    ours = QFormer(config).eval()
    with torch.no_grad():
        for tensor in ours.state_dict().values():
            if tensor.is_floating_point():
                tensor.normal_(0, 0.3)
    reference = InstructBlipQFormerModel(
        InstructBlipQFormerConfig(
            vocab_size=50,
            hidden_size=24,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=48,
            encoder_hidden_size=32,
            cross_attention_frequency=2,
            layer_norm_eps=config.layer_norm_eps,
        )
    ).eval()
    state = {hf_name(k): v for k, v in ours.state_dict().items() if k != "embeddings.position_ids"}
    missing, unexpected = reference.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)

    queries = torch.randn(2, 32, 24)
    ids = torch.randint(5, 50, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0  # the second question is shorter: padded
    audio = torch.randn(2, 16, 32)
    with torch.no_grad():
        # transformers takes the mask over [queries; text]; ours takes the text's and prepends the queries'.
        full_mask = torch.cat([torch.ones(2, 32, dtype=torch.long), mask], dim=1)
        expected = reference(
            input_ids=ids, attention_mask=full_mask, query_embeds=queries, encoder_hidden_states=audio
        ).last_hidden_state[:, :32]
        actual = ours(queries, ids, mask, audio)
    assert actual.shape == (2, 32, 24)
    assert torch.allclose(actual, expected, atol=1e-5), (actual - expected).abs().max()
