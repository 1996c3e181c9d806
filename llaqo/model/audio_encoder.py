"""AudioMAE ViT-B/16: a fbank segment as an image of 16x16 patches through pre-norm transformer blocks.

(B, 1, 1024, 128) -> (B, 512, D): the residual stream after the last block, cls token dropped,
no final norm, exactly the `patch_embedding` LLaQo reads. Parameter names follow the
AudioMAE/timm layout so `vit.pth` loads without renaming.
"""

from __future__ import annotations

import torch
from torch import nn

from llaqo.config import AudioEncoderConfig


class PatchEmbed(nn.Module):
    """(B, 1, T, F) -> (B, (T/p) * (F/p), D) with a stride-p convolution."""

    def __init__(self, patch_size: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(1, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection. (B, N, D) -> (B, N, D)."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)
        # Explicit matmuls in timm's order rather than a fused kernel: the released model's numbers
        # are then reproduced bit for bit, which keeps fp16 roundings downstream identical.
        attn = ((q @ k.transpose(-2, -1)) * (D // self.num_heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block. (B, N, D) -> (B, N, D)."""

    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.embed_dim, eps=config.norm_eps)
        self.attn = Attention(config.embed_dim, config.num_heads)
        self.norm2 = nn.LayerNorm(config.embed_dim, eps=config.norm_eps)
        self.mlp = Mlp(config.embed_dim, config.mlp_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class AudioEncoder(nn.Module):
    """AudioMAE ViT. forward: (B, 1, 1024, 128) fbank segments -> (B, 512, D) patch features."""

    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        self.config = config
        time, freq = config.img_size
        num_patches = (time // config.patch_size) * (freq // config.patch_size)
        self.patch_embed = PatchEmbed(config.patch_size, config.embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.embed_dim))
        # Fixed sin-cos table in AudioMAE; it never trains, so it lives only in vit.pth.
        self.register_buffer("pos_embed", torch.zeros(1, num_patches + 1, config.embed_dim))
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        # AudioSet classifier: unused by LLaQo, kept so the released weights load and save unchanged.
        self.fc_norm = nn.LayerNorm(config.embed_dim, eps=config.norm_eps)
        self.head = nn.Linear(config.embed_dim, config.num_classes)

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(segments) + self.pos_embed[:, 1:]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return x[:, 1:]
