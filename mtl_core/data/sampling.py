"""Which rows make up each training batch of an epoch.

One dataset: one seeded shuffle per epoch, every row once. Several datasets (tasks from
different sources): every batch draws its rows from the datasets with probabilities set by
the strategy, p_i ~ n_i^(1/T) with T = 1 (proportional), T = temperature, or T -> infinity
(uniform). Each dataset's rows come from its own shuffled queue (reshuffled when used up),
so a small dataset is repeated and a large one is subsampled. Batches mix datasets so every
task sees labels in (almost) every step: gradient-based weightings such as MGDA stall when
a task has no labelled row in a batch."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from mtl_core.config.schema import SamplingConfig


def source_probabilities(sizes: list[int], sampling: SamplingConfig) -> torch.Tensor:
    """Probability of drawing a row from each dataset under the strategy."""
    counts = torch.tensor(sizes, dtype=torch.float64)
    if sampling.strategy == "uniform":
        scaled = (counts > 0).double()
    elif sampling.strategy == "temperature":
        scaled = counts ** (1.0 / sampling.temperature)
    else:
        scaled = counts
    return scaled / scaled.sum()


class _Queue:
    """The rows of one dataset in seeded shuffled order, refilled when used up."""

    def __init__(self, rows: torch.Tensor, generator: torch.Generator) -> None:
        self.rows, self.generator = rows, generator
        self.order = rows[torch.randperm(len(rows), generator=generator)]

    def take(self, count: int) -> torch.Tensor:
        taken = []
        while count > 0:
            if len(self.order) == 0:
                self.order = self.rows[torch.randperm(len(self.rows), generator=self.generator)]
            taken.append(self.order[:count])
            count -= len(taken[-1])
            self.order = self.order[len(taken[-1]) :]
        return torch.cat(taken) if taken else self.rows[:0]


def epoch_batches(
    n_rows: int,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    sources: torch.Tensor | None = None,
    sampling: SamplingConfig | None = None,
) -> Iterator[torch.Tensor]:
    """Row indices of each batch of one epoch (ceil(n_rows / batch_size) batches)."""
    n_sources = int(sources.max()) + 1 if sources is not None and len(sources) else 1
    if sources is None or n_sources == 1:
        permutation = torch.randperm(n_rows, generator=generator).to(device)
        yield from permutation.split(batch_size)
        return
    rows = [torch.nonzero(sources == i).flatten() for i in range(n_sources)]
    probabilities = source_probabilities([len(r) for r in rows], sampling or SamplingConfig())
    queues = [_Queue(r, generator) for r in rows]
    for start in range(0, n_rows, batch_size):
        size = min(batch_size, n_rows - start)
        draws = torch.multinomial(probabilities, size, replacement=True, generator=generator)
        counts = torch.bincount(draws, minlength=n_sources).tolist()
        batch = torch.cat([q.take(c) for q, c in zip(queues, counts, strict=True)])
        yield batch.to(device)
