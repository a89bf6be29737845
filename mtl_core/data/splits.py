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
    frame: pd.DataFrame, fraction: float, stratify: pd.Series | None, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off `fraction` of rows; stratify when every class has at least two rows."""
    if fraction <= 0 or len(frame) < 2:
        return frame, frame.iloc[0:0]
    labels = None
    if stratify is not None:
        labels = stratify.loc[frame.index].astype(str).fillna("<missing>")
        counts = labels.value_counts()
        n_holdout = max(1, round(fraction * len(frame)))
        if counts.min() < 2 or n_holdout < counts.size or len(frame) - n_holdout < counts.size:
            labels = None
    kept, held = train_test_split(
        frame, test_size=fraction, random_state=seed, shuffle=True, stratify=labels
    )
    return kept, held


def make_splits(
    frames: dict[str, pd.DataFrame], config: SplitConfig, stratify_column: str | None
) -> dict[str, pd.DataFrame]:
    """Map the dataset's splits onto train/validation/test, carving missing ones."""
    if config.train not in frames:
        have = ", ".join(frames)
        raise UserError(f"split '{config.train}' not in the dataset (it has: {have})")
    own = {"validation": config.validation, "test": config.test}
    for role, name in own.items():
        if name is None and role in frames and role != config.train:
            own[role] = role
        elif name is not None and name not in frames:
            raise UserError(f"split '{name}' not in the dataset (it has: {', '.join(frames)})")
    train = frames[config.train].reset_index(drop=True)
    stratify = train[stratify_column] if stratify_column else None
    result: dict[str, pd.DataFrame] = {}
    if own["test"] is None:
        train, result["test"] = _carve(train, config.test_fraction, stratify, config.seed)
    else:
        result["test"] = frames[own["test"]]
    if own["validation"] is None:
        fraction = config.val_fraction / max(1e-9, 1.0 - config.test_fraction)
        if own["test"] is not None:
            fraction = config.val_fraction
        train, result["validation"] = _carve(train, fraction, stratify, config.seed + 1)
    else:
        result["validation"] = frames[own["validation"]]
    result["train"] = train
    return {name: result[name].reset_index(drop=True) for name in SPLIT_NAMES}


def split_sizes(splits: dict[str, pd.DataFrame]) -> dict[str, int]:
    return {name: int(len(frame)) for name, frame in splits.items()}


def seeded_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of at most `max_rows` of `n_rows` rows drawn with `seed`; None when
    every row fits under the cap."""
    if max_rows is None or n_rows <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))
