"""Metrics of raw head outputs, plain or for many bootstrap resamples at once.

`metric_values(kind, metric, truth, outputs)` is the plain metric; with `weights`, a (B, n)
array of row counts (one bootstrap resample per row), it returns B values, each equal to
the plain metric on the rows repeated by their counts, computed without a Python loop
over the resamples (`mtl_core.kinds.scores` holds the arithmetic)."""

from __future__ import annotations

import numpy as np

from mtl_core.kinds import get_kind


def metric_values(
    kind: str,
    metric: str,
    truth: np.ndarray,
    outputs: np.ndarray,
    weights: np.ndarray | None = None,
) -> float | np.ndarray:
    """`metric` of a `kind` task's raw `outputs` against `truth`.

    outputs: binary logits (n,); multiclass logits (n, C); multilabel logits (n, L);
    regression values in target units (n,). truth: 0/1, class indices, a 0/1 matrix, or
    values. weights: None (a float) or non-negative row counts (B, n) (B floats), in any
    numeric dtype (integer counts are summed exactly; small ones, e.g. uint8, move least
    memory and are fastest). ROC-AUC and PR-AUC are NaN where a resample lacks a positive
    (ROC-AUC: or a negative) row; mean metrics are NaN for a resample without rows."""
    return get_kind(kind).metric_values(metric, truth, outputs, weights)
