"""Regression tasks: one value per row, mean squared error (trained on standardised
targets; metrics in the target's own units)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mtl_core.errors import UserError
from mtl_core.kinds import scores
from mtl_core.kinds.base import TaskKind

HISTOGRAM_BINS = 20


class Regression(TaskKind):
    name = "regression"
    label = "regression"
    is_classification = False
    metrics = ("mse", "mae", "r2")
    default_metric = "mse"
    error_metrics = frozenset({"mse", "mae"})
    squared_error_loss = True
    standardised = True
    label_scale = "continuous"

    def output_size(self, classes: Sequence[str]) -> int:
        return 1

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
        return F.mse_loss(output.squeeze(-1), target, reduction=reduction)

    def check_labels(self, task: str, column: str, present: pd.Series) -> None:
        if not pd.api.types.is_numeric_dtype(present):
            raise UserError(
                f"task '{task}': column '{column}' is not numeric, so it cannot be a regression "
                "target: set kind: multiclass"
            )

    def label_summary(self, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
        """Mean, spread, range and a histogram ({} without labels)."""
        if len(labels) == 0:
            return {}
        counts, edges = np.histogram(labels, bins=HISTOGRAM_BINS)
        return {
            "mean": float(labels.mean()),
            "std": float(labels.std()),
            "min": float(labels.min()),
            "max": float(labels.max()),
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        }

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return outputs.reshape(len(outputs))

    def trivial_outputs(self, train_targets: np.ndarray, n_rows: int) -> np.ndarray:
        """The training mean for every row."""
        targets = np.asarray(train_targets, dtype=np.float64)
        return np.full(n_rows, targets.mean() if len(targets) else 0.0)

    def encode_targets(
        self, values: pd.Series, feature: object, classes: Sequence[str]
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Float targets; values that are not numbers count as missing."""
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        mask = numbers.notna().to_numpy()
        return torch.tensor(numbers.fillna(0.0).to_numpy(), dtype=torch.float32), mask

    def empty_targets(self, n_rows: int, n_classes: int) -> torch.Tensor:
        return torch.zeros(n_rows, dtype=torch.float32)

    def _scores(
        self, metric: str, truth: np.ndarray, outputs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        predicted = self.predict(outputs).astype(np.float64)
        truth = truth.astype(np.float64)
        if metric == "mse":
            return scores.weighted_mean((predicted - truth) ** 2, weights)
        if metric == "mae":
            return scores.weighted_mean(np.abs(predicted - truth), weights)
        return scores.r_squared(truth, predicted, weights)
