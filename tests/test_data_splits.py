"""Seeded splits: disjoint, complete, the asked sizes, stratified per class (within one row),
reproducible; the dataset's own splits are used when present."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_core.config import SplitConfig
from mtl_core.data.splits import split_plan
from mtl_core.errors import UserError


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 400), st.integers(1, 5), st.integers(0, 3))
def test_carved_splits_are_disjoint_complete_and_stratified(n, n_classes, seed):
    labels = np.random.default_rng(seed).integers(0, n_classes, n)
    config = SplitConfig(val_fraction=0.15, test_fraction=0.2, seed=seed)
    plan = split_plan({"train": n}, config, labels)
    parts = [plan[name][1] for name in ("train", "validation", "test")]
    assert all(plan[name][0] == "train" for name in plan)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(n))
    assert len(parts[2]) == min(n - 1, max(1, int(np.ceil(0.2 * n))))
    counts = np.bincount(labels, minlength=n_classes)
    test_counts = np.bincount(labels[parts[2]], minlength=n_classes)
    if counts.min() >= 2 and n_classes <= min(len(parts[2]), n - len(parts[2])):
        assert np.all(np.abs(test_counts - counts * len(parts[2]) / n) < 1.0 + 1e-9)
    again = split_plan({"train": n}, config, labels)
    assert all(np.array_equal(plan[k][1], again[k][1]) for k in plan)


def test_own_splits_are_used_and_missing_ones_named():
    plan = split_plan({"train": 50, "test": 20}, SplitConfig(), None)
    assert plan["test"][0] == "test" and len(plan["test"][1]) == 20
    assert (
        plan["validation"][0] == "train"
        and len(plan["train"][1]) + len(plan["validation"][1]) == 50
    )
    with pytest.raises(UserError, match="split 'dev' not in the dataset"):
        split_plan({"train": 50}, SplitConfig(validation="dev"), None)
