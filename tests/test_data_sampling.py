"""Batch sampling: one dataset = every row once per epoch; several datasets = per-batch
draws by strategy (proportional, uniform, temperature) with the stated probabilities."""

from __future__ import annotations

import pytest
import torch

from mtl_core.config.schema import SamplingConfig
from mtl_core.data.sampling import epoch_batches, source_probabilities

CPU = torch.device("cpu")


def _batches(n_rows, batch_size, sources=None, sampling=None, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return list(epoch_batches(n_rows, batch_size, generator, CPU, sources, sampling))


@pytest.mark.parametrize("sources", [None, torch.zeros(103, dtype=torch.long)])
def test_one_dataset_uses_every_row_once(sources):
    batches = _batches(103, 10, sources)
    assert len(batches) == 11 and max(len(b) for b in batches) == 10
    assert sorted(torch.cat(batches).tolist()) == list(range(103))
    # the same shuffle as before multi-dataset sampling existed
    plain = torch.randperm(103, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat(batches), plain)


def test_probabilities_follow_the_strategy():
    sizes = [900, 100]
    proportional = source_probabilities(sizes, SamplingConfig(strategy="proportional"))
    uniform = source_probabilities(sizes, SamplingConfig(strategy="uniform"))
    hot = source_probabilities(sizes, SamplingConfig(strategy="temperature", temperature=2.0))
    assert proportional.tolist() == pytest.approx([0.9, 0.1])
    assert uniform.tolist() == pytest.approx([0.5, 0.5])
    assert hot.tolist() == pytest.approx([30 / 40, 10 / 40])  # sqrt(900) : sqrt(100)
    one = source_probabilities(sizes, SamplingConfig(strategy="temperature", temperature=1.0))
    assert torch.allclose(one, proportional)


@pytest.mark.parametrize(
    ("strategy", "small_share"), [("proportional", 0.1), ("uniform", 0.5), ("temperature", 0.25)]
)
def test_batches_draw_datasets_in_the_strategy_proportions(strategy, small_share):
    sources = torch.cat([torch.zeros(900, dtype=torch.long), torch.ones(100, dtype=torch.long)])
    sampling = SamplingConfig(strategy=strategy, temperature=2.0)
    rows = torch.cat([torch.cat(_batches(1000, 50, sources, sampling, seed)) for seed in range(8)])
    share = float((sources[rows] == 1).float().mean())
    assert share == pytest.approx(small_share, abs=0.03)
    batches = _batches(1000, 64, sources, sampling)
    assert len(batches) == 16 and all(len(b) <= 64 for b in batches)


def test_a_small_dataset_is_repeated_only_after_all_its_rows_were_used():
    sources = torch.cat([torch.zeros(500, dtype=torch.long), torch.ones(20, dtype=torch.long)])
    rows = torch.cat(_batches(520, 40, sources, SamplingConfig(strategy="uniform")))
    small = rows[sources[rows] == 1].tolist()
    assert len(small) > 40
    for start in range(0, len(small) - 20 + 1, 20):
        assert sorted(small[start : start + 20]) == list(range(500, 520))
