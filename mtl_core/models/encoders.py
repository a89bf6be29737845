"""Modality encoders: what turns a batch of inputs into a flat feature vector before the
sharing architecture. Tabular inputs are already encoded (identity); images go through a
small CNN; text (hashed n-gram ids, 0 = padding) through a mean of n-gram embeddings."""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.data.text import HASH_BUCKETS
from mtl_core.errors import UserError

TEXT_EMBEDDING_DIM = 32
CNN_CHANNELS = (16, 32)


class SmallCNN(nn.Module):
    """Two conv-ReLU-maxpool blocks, then global average pooling: [N, C, H, W] -> [N, 32]."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for channels in CNN_CHANNELS:
            layers += [nn.Conv2d(width, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width = channels
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class HashedTextEncoder(nn.Module):
    """Mean of the embeddings of a row's hashed n-gram ids, padding (0) left out: what
    `nn.EmbeddingBag(mode="mean", padding_idx=0)` computes, written with `nn.Embedding` so
    that vmap (torchjd's Jacobians, the affinity probes) has a batching rule for it."""

    def __init__(self, dim: int = TEXT_EMBEDDING_DIM) -> None:
        super().__init__()
        self.embedding = nn.Embedding(HASH_BUCKETS, dim, padding_idx=0)
        self.width = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        present = (x != 0).unsqueeze(-1).to(self.embedding.weight.dtype)
        total = (self.embedding(x) * present).sum(dim=1)
        return total / present.sum(dim=1).clamp(min=1.0)


def build_encoder(input_kind: str, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """-> (encoder module, width of its output)."""
    if input_kind == "tabular":
        return nn.Identity(), int(input_shape[0])
    if input_kind == "image":
        cnn = SmallCNN(int(input_shape[0]))
        return cnn, cnn.width
    if input_kind == "text":
        text = HashedTextEncoder()
        return text, text.width
    raise UserError(f"no encoder for '{input_kind}' inputs (use tabular, image or text)")
