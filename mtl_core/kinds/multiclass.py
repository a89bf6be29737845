"""Multiclass tasks: one logit per class, a class index, cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mtl_core.kinds import scores
from mtl_core.kinds.classes import ClassLabels


class Multiclass(ClassLabels):
    name = "multiclass"
    label = "multiclass"
    metrics = ("accuracy", "macro_f1")
    default_metric = "accuracy"
    explains_classes = True
    label_scale = "categorical"

    def output_size(self, classes: Sequence[str]) -> int:
        return len(classes)

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
        return F.cross_entropy(output, target, reduction=reduction)

    def candidate_loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # cross_entropy wants the classes on dim 1: [C, classes, n]
        return super().candidate_loss(outputs.transpose(1, 2), target)

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return outputs.argmax(axis=-1)

    def trivial_outputs(self, train_targets: np.ndarray, n_rows: int) -> np.ndarray:
        """Log of the (add-one smoothed) class shares: the argmax is the majority class.
        Columns run up to the largest class index seen in training (argmax is all that the
        metrics read)."""
        counts = np.bincount(np.asarray(train_targets, dtype=np.int64)).astype(np.float64)
        return np.tile(np.log((counts + 1.0) / (counts.sum() + len(counts))), (n_rows, 1))

    def _scores(
        self, metric: str, truth: np.ndarray, outputs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        truth = truth.astype(np.int64)
        predicted = self.predict(outputs)
        if metric == "accuracy":
            return scores.weighted_mean(truth == predicted, weights)
        return scores.macro_f1_labels(truth, predicted, weights)
