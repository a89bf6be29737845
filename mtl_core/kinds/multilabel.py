"""Multilabel tasks: one logit per label, a 0/1 indicator row, binary cross-entropy per
label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mtl_core.kinds import scores
from mtl_core.kinds.base import TaskKind
from mtl_core.kinds.binary import constant_logit


class Multilabel(TaskKind):
    name = "multilabel"
    label = "multilabel"
    is_classification = True
    metrics = ("macro_f1", "accuracy")  # accuracy: exact match of the whole label set
    default_metric = "macro_f1"
    label_scale = "sets"

    def output_size(self, classes: Sequence[str]) -> int:
        return len(classes)

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(output, target.float(), reduction=reduction)

    def check_labels(self, task: str, column: str, present: pd.Series) -> None:
        """Any label sets will do: a label never present only scores 0 in macro-F1."""

    def label_summary(self, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
        """Rows carrying each label."""
        counts = labels.sum(axis=0) if len(labels) else np.zeros(len(classes))
        return {name: int(c) for name, c in zip(classes, counts, strict=True)}

    def label_warnings(self, task: str, summary: dict[str, Any], labelled: int) -> list[str]:
        rare = [name for name, count in summary.items() if labelled and count / labelled < 0.01]
        if not rare:
            return []
        return [f"task '{task}': labels {', '.join(rare[:5])} are on fewer than 1% of the rows"]

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return (outputs > 0).astype(np.int64)

    def trivial_outputs(self, train_targets: np.ndarray, n_rows: int) -> np.ndarray:
        """Each label's constant log-odds: every label predicted as its majority."""
        return np.tile(constant_logit(np.asarray(train_targets)), (n_rows, 1))

    def encode_targets(
        self, values: pd.Series, feature: object, classes: Sequence[str]
    ) -> tuple[torch.Tensor, np.ndarray]:
        """0/1 indicator rows (float): labels by ClassLabel code, or by name in `classes`."""
        by_index = isinstance(getattr(feature, "feature", None), datasets.ClassLabel)
        lookup = {name: i for i, name in enumerate(classes)}
        out = np.zeros((len(values), len(classes)), dtype=np.float32)
        mask = np.zeros(len(values), dtype=bool)
        for row, labels in enumerate(values):
            if labels is None or (isinstance(labels, float) and np.isnan(labels)):
                continue
            mask[row] = True
            for label in labels:
                index = int(label) if by_index else lookup.get(str(label), -1)
                if 0 <= index < len(classes):
                    out[row, index] = 1.0
        return torch.from_numpy(out), mask

    def empty_targets(self, n_rows: int, n_classes: int) -> torch.Tensor:
        return torch.zeros((n_rows, n_classes))

    def _scores(
        self, metric: str, truth: np.ndarray, outputs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        truth = truth.astype(np.int64)
        predicted = self.predict(outputs)
        if metric == "accuracy":
            return scores.weighted_mean((truth == predicted).all(axis=-1), weights)
        return scores.macro_f1_columns(truth, predicted, weights)
