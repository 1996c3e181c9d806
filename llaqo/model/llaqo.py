"""LLaQo: audio encoder -> Q-Former bridge -> splice into a frozen LLaMA/Vicuna.

fbank (B, 4096, 128)
  -> 4 segments (4B, 1, 1024, 128)        llaqo.audio.split_segments
  -> AudioMAE + ln_audio (4B, 512, D)     encode_audio
  -> Q-Former queries (B, 32 * 4, H)      query_audio
  -> llm_proj (B, T, D_llm)               project: T = 1 (the original) or 128
  -> [emb(</s>)][indicator][audio T][emb(question)] -> LLM      llm_inputs
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import LlamaForCausalLM

from llaqo.audio import split_segments
from llaqo.config import LLaQoConfig
from llaqo.model.audio_encoder import AudioEncoder
from llaqo.model.qformer import QFormer


@dataclass
class LLMInputs:
    """What the LLM receives. inputs_embeds (B, P, D_llm) in the LLM's dtype; attention_mask (B, P)."""

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor

    @property
    def prompt_length(self) -> int:
        return self.inputs_embeds.shape[1]


class LLaQo(nn.Module):
    def __init__(self, config: LLaQoConfig, llm: LlamaForCausalLM | None):
        """llm=None builds the bridge alone (encoder, Q-Former, projections), to convert or write weights."""
        super().__init__()
        self.config = config
        self.audio_encoder = AudioEncoder(config.audio_encoder)
        self.ln_audio = nn.LayerNorm(config.audio_encoder.embed_dim)
        self.qformer = QFormer(config.qformer)
        self.query_tokens = nn.Parameter(torch.zeros(1, config.qformer.num_query_tokens, config.qformer.hidden_size))
        self.audio_indicator_token = nn.Parameter(torch.zeros(1, 1, config.llm_hidden_size))
        self.llm_proj = nn.Linear(config.qformer.hidden_size, config.llm_hidden_size)
        self.llm = llm

    def bridge_to(self, device: torch.device | str) -> LLaQo:
        """Move everything but the LLM, which accelerate may have placed over several devices or quantized."""
        for name, child in self.named_children():
            if name != "llm":
                child.to(device)
        for param in self.parameters(recurse=False):
            param.data = param.data.to(device)
        return self

    def encode_audio(self, fbank: torch.Tensor) -> torch.Tensor:
        """(B, 4096, 128) -> (4B, 512, D), segment-major: rows [B*i : B*(i+1)] are segment i."""
        return self.ln_audio(self.audio_encoder(split_segments(fbank)))

    def query_audio(self, audio: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Audio (nB, 512, D) and the question's BERT ids/mask (B, L) -> (B, 32 * n, H), segment by segment."""
        batch = input_ids.shape[0]
        segments = audio.shape[0] // batch
        queries = self.query_tokens.expand(audio.shape[0], -1, -1)
        out = self.qformer(queries, input_ids.repeat(segments, 1), attention_mask.repeat(segments, 1), audio)
        return torch.cat(out.split(batch, dim=0), dim=1)

    def project(self, query_output: torch.Tensor) -> torch.Tensor:
        """(B, 32 * n, H) -> (B, T, D_llm). The original keeps T = 1: query 0 of segment 0."""
        if self.config.bridge.llm_tokens == "first_query":
            # The original slices [:, :query_tokens.size(0)], and size(0) of a (1, 32, H) tensor is 1.
            query_output = query_output[:, :1]
        return self.llm_proj(query_output)

    def llm_inputs(
        self, audio_tokens: torch.Tensor, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor | None = None
    ) -> LLMInputs:
        """Splice (B, T, D_llm) audio tokens into the prompt (B, L), which starts with the id-2 BOS.

        Layout: [emb(ids[:, 0])][audio_indicator_token][audio tokens][emb(ids[:, 1:])]. The mask is all ones
        for one prompt; a right-padded batch passes its (B, L) mask, and the audio positions are always kept.
        """
        embed = self.llm.get_input_embeddings()
        batch = prompt_ids.shape[0]
        text = embed(prompt_ids)
        parts = [text[:, :1], self.audio_indicator_token.expand(batch, -1, -1), audio_tokens, text[:, 1:]]
        # Joined in fp32, then cast to fp16 whatever the LLM's dtype, as the original did: that rounding
        # is part of the function the released checkpoint computes.
        embeds = torch.cat([p.float() for p in parts], dim=1).to(torch.float16).to(self.llm.dtype)
        if prompt_mask is None:
            prompt_mask = torch.ones_like(prompt_ids)
        audio_mask = prompt_mask.new_ones(batch, 1 + audio_tokens.shape[1])
        mask = torch.cat([prompt_mask[:, :1], audio_mask, prompt_mask[:, 1:]], dim=1)
        return LLMInputs(embeds, mask)

    def prepare(
        self, fbank: torch.Tensor, qformer_ids: torch.Tensor, qformer_mask: torch.Tensor, prompt_ids: torch.Tensor
    ) -> LLMInputs:
        """The whole path from fbank to the LLM's inputs, for one batch of (recording, question)."""
        audio = self.encode_audio(fbank)
        return self.llm_inputs(self.project(self.query_audio(audio, qformer_ids, qformer_mask)), prompt_ids)

    def forward(self, inputs: LLMInputs) -> torch.Tensor:
        """LLM logits (B, P, vocab) for prepared inputs."""
        return self.llm(inputs_embeds=inputs.inputs_embeds, attention_mask=inputs.attention_mask).logits
