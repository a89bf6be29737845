"""Multiclass tasks: one logit per class, a class index, cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mtl_core.errors import UserError
from mtl_core.kinds import scores
from mtl_core.kinds.base import TaskKind

# A classification target with more classes than this is refused (one logit per class).
MAX_CLASSES = 1000
# A class with less than this share of a task's labels is flagged as imbalanced.
MINORITY_SHARE = 0.1


def check_classes(task: str, column: str, present: pd.Series) -> int:
    """The number of classes in `present` labels; UserError for fewer than 2 or more than
    MAX_CLASSES (an identifier, most likely)."""
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
    return distinct


def class_indices(values: pd.Series, feature: object,
                  classes: Sequence[str]) -> tuple[torch.Tensor, np.ndarray]:
    """Class-index targets (long) and the labelled mask: ClassLabel codes as they are, other
    labels by their position in `classes`."""
    if isinstance(feature, datasets.ClassLabel):
        codes = values.fillna(-1).astype("int64").to_numpy()
    else:
        codes = pd.Index(classes).get_indexer(values.astype(str).where(values.notna()))
    mask = codes >= 0
    return torch.tensor(np.where(mask, codes, 0), dtype=torch.long), mask


def class_counts(labels: np.ndarray, classes: Sequence[str]) -> dict[str, int]:
    """Rows per class of class-index labels."""
    counts = np.bincount(labels.astype(np.int64), minlength=len(classes))
    return {name: int(c) for name, c in zip(classes, counts, strict=True)}


def imbalance_warnings(task: str, counts: dict[str, int], labelled: int) -> list[str]:
    """A warning when the rarest class has less than MINORITY_SHARE of the labels."""
    if not labelled:
        return []
    name, count = min(counts.items(), key=lambda item: item[1])
    if count / labelled >= MINORITY_SHARE:
        return []
    return [f"task '{task}': class '{name}' has {count / labelled:.1%} of the labels "
            "(imbalanced): watch macro F1, not accuracy"]


class Multiclass(TaskKind):
    name = "multiclass"
    label = "multiclass"
    is_classification = True
    metrics = ("accuracy", "macro_f1")
    default_metric = "accuracy"
    stratifies = True
    explains_classes = True
    label_scale = "categorical"

    def output_size(self, classes: Sequence[str]) -> int:
        return len(classes)

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
        return F.cross_entropy(output, target, reduction=reduction)

    def candidate_loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # cross_entropy wants the classes on dim 1: [C, classes, n]
        return super().candidate_loss(outputs.transpose(1, 2), target)

    def check_labels(self, task: str, column: str, present: pd.Series) -> None:
        check_classes(task, column, present)

    def label_summary(self, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
        return class_counts(labels, classes)

    def label_warnings(self, task: str, summary: dict[str, Any], labelled: int) -> list[str]:
        return imbalance_warnings(task, summary, labelled)

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return outputs.argmax(axis=-1)

    def trivial_outputs(self, train_targets: np.ndarray, n_rows: int) -> np.ndarray:
        """Log of the (add-one smoothed) class shares: the argmax is the majority class.
        Columns run up to the largest class index seen in training (argmax is all that the
        metrics read)."""
        counts = np.bincount(np.asarray(train_targets, dtype=np.int64)).astype(np.float64)
        return np.tile(np.log((counts + 1.0) / (counts.sum() + len(counts))), (n_rows, 1))

    def encode_targets(self, values: pd.Series, feature: object,
                       classes: Sequence[str]) -> tuple[torch.Tensor, np.ndarray]:
        return class_indices(values, feature, classes)

    def empty_targets(self, n_rows: int, n_classes: int) -> torch.Tensor:
        return torch.zeros(n_rows, dtype=torch.long)

    def _scores(self, metric: str, truth: np.ndarray, outputs: np.ndarray,
                weights: np.ndarray) -> np.ndarray:
        truth = truth.astype(np.int64)
        predicted = self.predict(outputs)
        if metric == "accuracy":
            return scores.weighted_mean(truth == predicted, weights)
        return scores.macro_f1_labels(truth, predicted, weights)
