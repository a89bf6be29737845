"""Train/validation/test splits: the dataset's own where present, otherwise seeded random
splits stratified on the first classification task. The rules of which split plays which
role live here; the Data page's pickers call them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mtl_core.config import SplitConfig
from mtl_core.errors import UserError

SPLIT_NAMES = ("train", "validation", "test")


def _stratified_holdout(labels: np.ndarray, n_holdout: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of `n_holdout` positions, each class held out in proportion to its size
    (largest remainders take the rounding), members drawn at random."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = counts * n_holdout / len(labels)
    quota = np.floor(exact).astype(np.int64)
    short = n_holdout - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    shuffled = rng.permutation(len(labels))
    by_class = shuffled[np.argsort(inverse[shuffled], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    held = np.zeros(len(labels), dtype=bool)
    for start, count in zip(starts, quota, strict=True):
        held[by_class[start : start + count]] = True
    return held


def _carve(
    rows: np.ndarray, fraction: float, labels: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split off `fraction` of the row positions (seeded); stratified when every class has
    at least two rows and fits on both sides. Positions, not frames, so rows are copied
    once at the end; numpy instead of sklearn's splitter, which took most of the time."""
    if fraction <= 0 or len(rows) < 2:
        return rows, rows[:0]
    n_holdout = min(len(rows) - 1, max(1, int(np.ceil(fraction * len(rows)))))
    rng = np.random.default_rng(seed)
    if labels is not None:
        stratify = labels[rows]
        counts = np.unique(stratify, return_counts=True)[1]
        if counts.min() >= 2 and counts.size <= min(n_holdout, len(rows) - n_holdout):
            held = _stratified_holdout(stratify, n_holdout, rng)
            return rng.permutation(rows[~held]), rng.permutation(rows[held])
    shuffled = rng.permutation(rows)
    return shuffled[n_holdout:], shuffled[:n_holdout]


def training_split(sizes: Mapping[str, int], current: str | None) -> str:
    """The split to train on when offering a choice: the one chosen before, else `train`,
    else the largest."""
    if current is not None and current in sizes:
        return current
    return "train" if "train" in sizes else max(sizes, key=sizes.__getitem__)


def role_split(sizes: Mapping[str, int], train: str, role: str, chosen: str | None) -> str | None:
    """The dataset split that plays `role` ("validation" or "test"): the chosen one, else the
    split named like the role when it is not the training split; None: the role's rows are
    held out of the training split."""
    if chosen is not None:
        return chosen
    return role if role in sizes and role != train else None


def split_plan(
    sizes: dict[str, int], config: SplitConfig, labels: np.ndarray | None
) -> dict[str, tuple[str, np.ndarray]]:
    """Map the dataset's splits onto train/validation/test, carving missing ones out of
    train: {split: (dataset split it reads, row positions there)}. `labels` (one per train
    row) stratify the carving. Positions, not frames, so each row is copied once, later."""
    if config.train not in sizes:
        have = ", ".join(sizes)
        raise UserError(f"split '{config.train}' not in the dataset (it has: {have})")
    own = {
        role: role_split(sizes, config.train, role, chosen)
        for role, chosen in (("validation", config.validation), ("test", config.test))
    }
    for name in own.values():
        if name is not None and name not in sizes:
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
