"""Binary tasks: one logit per row, a 0/1 label, binary cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mtl_core.errors import UserError
from mtl_core.kinds import scores
from mtl_core.kinds.classes import ClassLabels


def constant_logit(labels: np.ndarray) -> np.ndarray:
    """Log-odds of the (add-one smoothed) share of 1s, per column: positive exactly when 1 is
    the majority, finite even when every label is the same."""
    positives = labels.sum(axis=0, dtype=np.float64)
    rate = (positives + 1.0) / (len(labels) + 2.0)
    return np.log(rate) - np.log1p(-rate)


class Binary(ClassLabels):
    name = "binary"
    label = "binary"
    metrics = ("roc_auc", "pr_auc", "f1", "accuracy", "macro_f1")
    default_metric = "roc_auc"
    label_scale = "binary"

    def output_size(self, classes: Sequence[str]) -> int:
        return 1

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(
            output.squeeze(-1), target.float(), reduction=reduction
        )

    def check_labels(self, task: str, column: str, present: pd.Series) -> None:
        super().check_labels(task, column, present)
        distinct = present.nunique()
        if distinct > 2:
            raise UserError(
                f"task '{task}': column '{column}' has {distinct} classes, not 2: "
                "set kind: multiclass"
            )

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return (outputs.reshape(len(outputs)) > 0).astype(np.int64)

    def trivial_outputs(self, train_targets: np.ndarray, n_rows: int) -> np.ndarray:
        return np.full(n_rows, constant_logit(np.asarray(train_targets)))

    def _scores(
        self, metric: str, truth: np.ndarray, outputs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        truth = truth.astype(np.int64)
        logits = outputs.reshape(len(truth))
        if metric == "roc_auc":
            return scores.roc_auc(truth, logits, weights)
        if metric == "pr_auc":
            return scores.average_precision(truth, logits, weights)
        predicted = self.predict(logits)
        if metric == "f1":
            return scores.f1_positive(truth, predicted, weights)
        if metric == "accuracy":
            return scores.weighted_mean(truth == predicted, weights)
        return scores.macro_f1_labels(truth, predicted, weights)
