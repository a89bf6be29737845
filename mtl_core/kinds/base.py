"""The task-kind plug-in interface: what the rest of the workbench asks of a kind of target
(binary, multiclass, multilabel, regression, ...). One subclass per kind, one file each,
registered in `mtl_core.kinds`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import torch


class TaskKind(ABC):
    """One kind of task: its head's width, loss, predictions, metrics and trivial predictor.

    Raw outputs are what the head emits for a row (binary: one logit; multiclass: C logits;
    multilabel: L logits; regression: one value, standardised during training and in the
    target's units where metrics are computed). Kinds are stateless: one instance each."""

    name: ClassVar[str]
    # A short label for tables and pickers.
    label: ClassVar[str]
    # Whether targets are class labels (the task keeps its class names).
    is_classification: ClassVar[bool]
    # The metrics `task_metrics` reports, and the ones a user may choose as a task's
    # primary metric; `default_metric` is the primary metric when the task names none.
    metrics: ClassVar[tuple[str, ...]]
    default_metric: ClassVar[str]
    # Metrics of which lower is better (errors); the others are scores.
    error_metrics: ClassVar[frozenset[str]] = frozenset()
    # True when the loss is the mean squared error of one output column, so that the
    # affinity probe may compute such tasks' losses together.
    squared_error_loss: ClassVar[bool] = False
    # True when each row has one class label that splits can be stratified on.
    stratifies: ClassVar[bool] = False
    # True when targets are standardised (training mean and std) for training; metrics and
    # statistics turn them back into the target's units.
    standardised: ClassVar[bool] = False
    # True when attributions may explain one class's logit (a chosen class, or each
    # example's predicted class), the classes competing in one softmax.
    explains_classes: ClassVar[bool] = False
    # What one row's label is, for label association between tasks: a 0/1 number, a number,
    # one of several classes, or a set of labels (no association computed).
    label_scale: ClassVar[Literal["binary", "continuous", "categorical", "sets"]]

    def higher_is_better(self, metric: str) -> bool:
        """Whether a larger value of `metric` (one of this kind's) is better."""
        self._check_metric(metric)
        return metric not in self.error_metrics

    @abstractmethod
    def output_size(self, classes: Sequence[str]) -> int:
        """Width of the head's output for a task with these class names."""

    @abstractmethod
    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
        """Loss over labelled rows: `output` [..., n, width] (leading candidate dimensions
        allowed), `target` as encoded; `reduction` as in torch.nn.functional."""

    def candidate_loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of each of C candidate models: `outputs` [C, n, width], one `target`
        [n, ...] shared by all; returns [C]."""
        count = outputs.shape[0]
        expanded = target.expand(count, *target.shape)  # a view, no copy
        return self.loss(outputs, expanded, "none").reshape(count, -1).mean(1)

    @abstractmethod
    def check_labels(self, task: str, column: str, present: pd.Series) -> None:
        """Raise UserError when the non-missing labels of `column` cannot be learned as this
        kind (the message names the column and says what to do)."""

    @abstractmethod
    def label_summary(self, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
        """The distribution of labelled rows' labels (in the target's units) for the Data
        page: counts per class, or summary statistics and a histogram."""

    def label_warnings(self, task: str, summary: dict[str, Any], labelled: int) -> list[str]:
        """Warnings about the label distribution (`label_summary`) of `labelled` rows."""
        return []

    @abstractmethod
    def predict(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions from raw outputs: class indices, 0/1 labels or values."""

    @abstractmethod
    def trivial_outputs(self, train_targets: np.ndarray, n_rows: int) -> np.ndarray:
        """Raw outputs, for `n_rows` rows, of the predictor that ignores the inputs (the
        majority class, a constant score, the training mean), fitted on the training
        split's labelled targets; in the same units as those targets."""

    @abstractmethod
    def encode_targets(
        self, values: pd.Series, feature: object, classes: Sequence[str]
    ) -> tuple[torch.Tensor, np.ndarray]:
        """(targets, labelled mask) of a target column: `feature` is its `datasets` feature
        (ClassLabel codes are kept), `classes` the task's class names; unlabelled rows get
        a placeholder target and a False mask."""

    @abstractmethod
    def empty_targets(self, n_rows: int, n_classes: int) -> torch.Tensor:
        """Placeholder targets (of the encoded dtype and shape) for rows without a label."""

    def metric_values(
        self,
        metric: str,
        truth: np.ndarray,
        outputs: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> float | np.ndarray:
        """`metric` of raw `outputs` against `truth`: a float when `weights` is None, else
        one value per row of the (B, n) row counts (see `mtl_core.kinds.metrics`)."""
        self._check_metric(metric)
        truth, outputs = np.asarray(truth), np.asarray(outputs)
        if weights is None:
            return float(self._scores(metric, truth, outputs, np.ones((1, len(truth))))[0])
        weights = np.asarray(weights)
        if weights.ndim != 2 or weights.shape[1] != len(truth):
            raise ValueError(
                f"weights must have shape (resamples, {len(truth)}), not {weights.shape}"
            )
        return self._scores(metric, truth, outputs, weights)

    @abstractmethod
    def _scores(
        self, metric: str, truth: np.ndarray, outputs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """One of this kind's metrics for each row of `weights` (B, n): B values."""

    def _check_metric(self, metric: str) -> None:
        if metric not in self.metrics:
            raise ValueError(
                f"'{metric}' is not a metric of {self.name} tasks "
                f"(choose one of: {', '.join(self.metrics)})"
            )
