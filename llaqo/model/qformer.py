"""The BLIP-2 Q-Former, instruction-aware, as LLaQo uses it.

Learned query tokens and the question's BERT tokens share bidirectional self-attention in every
layer; only the queries cross-attend to the audio, in layers 0, f, 2f, ...; query positions have a
feed-forward of their own. Parameter names follow BERT's so the original weights map one to one.

queries (B, Q, H) + question ids (B, L) + audio (B, N, W) -> (B, Q, H)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from llaqo.config import QFormerConfig

# BERT's additive mask value. The original used -10000 rather than -inf; with it a fully padded
# row still softmaxes to finite numbers, and the same value keeps padded batches bit-compatible.
MASKED = -10000.0


class Embeddings(nn.Module):
    """Question ids get word + position embeddings; queries (no positions) are prepended; one LayerNorm."""

    def __init__(self, config: QFormerConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).unsqueeze(0))

    def forward(self, queries: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, Q, H), (B, L) -> (B, Q + L, H)"""
        positions = self.position_ids[:, : input_ids.shape[1]]
        text = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(torch.cat([queries, text], dim=1)))


class SelfAttention(nn.Module):
    """Multi-head attention from `hidden` to `context` (itself, or the audio for cross-attention)."""

    def __init__(self, config: QFormerConfig, context_width: int):
        super().__init__()
        self.num_heads = config.num_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(context_width, config.hidden_size)
        self.value = nn.Linear(context_width, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, H) -> (B, heads, N, H / heads)"""
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, hidden: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(B, N, H), (B, M, W), additive mask (B, 1, 1, M) or None -> (B, N, H)"""
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(context)), self._heads(self.value(context))
        # BERT's order of operations (scores / sqrt(d) + mask), so outputs match the original bit for bit.
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores + mask
        return (self.dropout(scores.softmax(dim=-1)) @ v).transpose(1, 2).flatten(2)


class AddNorm(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual), BERT's output sub-layer."""

    def __init__(self, config: QFormerConfig, width: int):
        super().__init__()
        self.dense = nn.Linear(width, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, config: QFormerConfig, context_width: int):
        super().__init__()
        self.self = SelfAttention(config, context_width)
        self.output = AddNorm(config, config.hidden_size)

    def forward(self, hidden: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(hidden, context, mask), hidden)


class Intermediate(nn.Module):
    def __init__(self, config: QFormerConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    """Self-attention over [queries; text], cross-attention of the queries to the audio (some layers),
    then separate feed-forwards for query and text positions."""

    def __init__(self, config: QFormerConfig, index: int):
        super().__init__()
        self.attention = Attention(config, config.hidden_size)
        if index % config.cross_attention_freq == 0:
            self.crossattention = Attention(config, config.encoder_width)
        self.intermediate = Intermediate(config)
        self.output = AddNorm(config, config.intermediate_size)
        self.intermediate_query = Intermediate(config)
        self.output_query = AddNorm(config, config.intermediate_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, audio: torch.Tensor, num_queries: int) -> torch.Tensor:
        """(B, Q + L, H), mask (B, 1, 1, Q + L), audio (B, N, W) -> (B, Q + L, H)"""
        hidden = self.attention(hidden, hidden, mask)
        queries, text = hidden[:, :num_queries], hidden[:, num_queries:]
        if hasattr(self, "crossattention"):
            queries = self.crossattention(queries, audio, None)
        queries = self.output_query(self.intermediate_query(queries), queries)
        text = self.output(self.intermediate(text), text)
        return torch.cat([queries, text], dim=1)


class Encoder(nn.Module):
    def __init__(self, config: QFormerConfig):
        super().__init__()
        self.layer = nn.ModuleList(Layer(config, i) for i in range(config.num_layers))


class QFormer(nn.Module):
    """forward: queries (B, Q, H), question ids (B, L), question mask (B, L), audio (B, N, W) -> (B, Q, H)"""

    def __init__(self, config: QFormerConfig):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(
        self, queries: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor, audio: torch.Tensor
    ) -> torch.Tensor:
        num_queries = queries.shape[1]
        hidden = self.embeddings(queries, input_ids)
        keep = torch.cat([attention_mask.new_ones(attention_mask.shape[0], num_queries), attention_mask], dim=1)
        mask = (1.0 - keep[:, None, None, :].to(hidden.dtype)) * MASKED
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask, audio, num_queries)
        return hidden[:, :num_queries]
