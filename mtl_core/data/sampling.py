"""Which rows make up each training batch of an epoch."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def epoch_batches(
    n_rows: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> Iterator[torch.Tensor]:
    """Row indices of each batch: one seeded shuffle per epoch, every row once."""
    permutation = torch.randperm(n_rows, generator=generator).to(device)
    yield from permutation.split(batch_size)
