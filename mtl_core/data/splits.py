"""Train/validation/test splits: the dataset's own where present, otherwise seeded random
splits stratified on the first classification task."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mtl_core.config import SplitConfig
from mtl_core.errors import UserError

SPLIT_NAMES = ("train", "validation", "test")


def _carve(
    rows: np.ndarray, fraction: float, labels: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split off `fraction` of the row positions; stratify when every class has at least
    two rows. Positions, not frames, so the rows are copied once at the end."""
    if fraction <= 0 or len(rows) < 2:
        return rows, rows[:0]
    stratify = None
    if labels is not None:
        stratify = labels[rows]
        counts = pd.Series(stratify).value_counts()
        n_holdout = max(1, round(fraction * len(rows)))
        if counts.min() < 2 or n_holdout < counts.size or len(rows) - n_holdout < counts.size:
            stratify = None
    kept, held = train_test_split(
        rows, test_size=fraction, random_state=seed, shuffle=True, stratify=stratify
    )
    return kept, held


def split_plan(
    sizes: dict[str, int], config: SplitConfig, labels: np.ndarray | None
) -> dict[str, tuple[str, np.ndarray]]:
    """Map the dataset's splits onto train/validation/test, carving missing ones out of
    train: {split: (dataset split it reads, row positions there)}. `labels` (one per train
    row) stratify the carving. Positions, not frames, so each row is copied once, later."""
    if config.train not in sizes:
        have = ", ".join(sizes)
        raise UserError(f"split '{config.train}' not in the dataset (it has: {have})")
    own = {"validation": config.validation, "test": config.test}
    for role, name in own.items():
        if name is None and role in sizes and role != config.train:
            own[role] = role
        elif name is not None and name not in sizes:
            raise UserError(f"split '{name}' not in the dataset (it has: {', '.join(sizes)})")
    rows = np.arange(sizes[config.train])
    plan: dict[str, tuple[str, np.ndarray]] = {}
    if own["test"] is None:
        rows, held = _carve(rows, config.test_fraction, labels, config.seed)
        plan["test"] = (config.train, held)
    else:
        plan["test"] = (own["test"], np.arange(sizes[own["test"]]))
    if own["validation"] is None:
        fraction = config.val_fraction / max(1e-9, 1.0 - config.test_fraction)
        if own["test"] is not None:
            fraction = config.val_fraction
        rows, held = _carve(rows, fraction, labels, config.seed + 1)
        plan["validation"] = (config.train, held)
    else:
        plan["validation"] = (own["validation"], np.arange(sizes[own["validation"]]))
    plan["train"] = (config.train, rows)
    return {name: plan[name] for name in SPLIT_NAMES}


def seeded_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of at most `max_rows` of `n_rows` rows drawn with `seed`; None when
    every row fits under the cap."""
    if max_rows is None or n_rows <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))
