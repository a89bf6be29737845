"""What binary and multiclass tasks share: one class label per row, encoded as its index
among the task's classes, checked for a learnable number of classes, counted per class,
and stratified on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch

from mtl_core.errors import UserError
from mtl_core.kinds.base import TaskKind

# A classification target with more classes than this is refused (one logit per class).
MAX_CLASSES = 1000
# A class with less than this share of a task's labels is flagged as imbalanced.
MINORITY_SHARE = 0.1


class ClassLabels(TaskKind):
    """A kind whose rows each carry one class (its index among the task's classes)."""

    is_classification = True
    stratifies = True

    def check_labels(self, task: str, column: str, present: pd.Series) -> None:
        """UserError for fewer than 2 classes or more than MAX_CLASSES (an identifier,
        most likely)."""
        distinct = present.nunique()
        if distinct < 2:
            raise UserError(
                f"task '{task}': column '{column}' has a single class "
                f"({present.iloc[0]!r}): a task needs at least two"
            )
        if distinct > MAX_CLASSES:
            raise UserError(
                f"task '{task}': column '{column}' has {distinct:,} classes (more than "
                f"{MAX_CLASSES}): it looks like an identifier; choose another target, or set "
                "kind: regression if it is a number"
            )

    def label_summary(self, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
        """Rows per class."""
        counts = np.bincount(labels.astype(np.int64), minlength=len(classes))
        return {name: int(c) for name, c in zip(classes, counts, strict=True)}

    def label_warnings(self, task: str, summary: dict[str, Any], labelled: int) -> list[str]:
        """A warning when the rarest class has less than MINORITY_SHARE of the labels."""
        if not labelled:
            return []
        name, count = min(summary.items(), key=lambda item: item[1])
        if count / labelled >= MINORITY_SHARE:
            return []
        return [
            f"task '{task}': class '{name}' has {count / labelled:.1%} of the labels "
            "(imbalanced): watch macro F1, not accuracy"
        ]

    def encode_targets(
        self, values: pd.Series, feature: object, classes: Sequence[str]
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Class indices (long): ClassLabel codes as they are, other labels by their
        position in `classes`."""
        if isinstance(feature, datasets.ClassLabel):
            codes = values.fillna(-1).astype("int64").to_numpy()
        else:
            codes = pd.Index(classes).get_indexer(values.astype(str).where(values.notna()))
        mask = codes >= 0
        return torch.tensor(np.where(mask, codes, 0), dtype=torch.long), mask

    def empty_targets(self, n_rows: int, n_classes: int) -> torch.Tensor:
        return torch.zeros(n_rows, dtype=torch.long)
