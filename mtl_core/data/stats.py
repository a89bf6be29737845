"""Task statistics before any training: label distribution per task, class-imbalance and
missing-label warnings, and a task-to-task label association matrix, a first cheap look at
relatedness: correlation (regression and binary pairs, signed: phi / point-biserial /
Pearson), Cramér's V (multiclass with classes) and the correlation ratio (multiclass with
regression), both 0..1. Computed on the training split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from mtl_core.data.prepare import PreparedData
from mtl_core.data.tasks import TaskSpec

# Fewer shared labelled rows than this give no association value.
MIN_SHARED_ROWS = 10
MISSING_WARNING = 0.5
# Labels that are one number per row (TaskKind.label_scale): they correlate with numbers.
NUMERIC_SCALES = ("binary", "continuous")
# An input this correlated with a task's label is flagged as a likely leak of the label.
LABEL_LIKE_CORRELATION = 0.9


def _labels(data: PreparedData, task: TaskSpec, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(values in original units, labelled mask) of one task on one split."""
    tensors = data.splits[split]
    values = tensors.targets[task.name].numpy()
    if task.task_kind.standardised:
        mean, std = data.target_stats.get(task.name, (0.0, 1.0))
        values = values * std + mean
    return values, tensors.masks[task.name].numpy()


def _own_rows(data: PreparedData, mask: np.ndarray, split: str) -> np.ndarray:
    """Rows of the dataset a task belongs to (all rows when there is one dataset)."""
    sources = data.splits[split].sources
    if sources is None or not mask.any() or int(sources.max()) == 0:
        return np.ones_like(mask)
    ids = sources.numpy()
    return ids == np.bincount(ids[mask]).argmax()


def _warnings(
    task: TaskSpec, distribution: dict[str, Any], labelled: int, missing: float
) -> list[str]:
    notes = []
    if missing > MISSING_WARNING:
        notes.append(f"task '{task.name}': {missing:.0%} of its rows have no label")
    return notes + task.task_kind.label_warnings(task.name, distribution, labelled)


def task_statistics(data: PreparedData, split: str = "train") -> list[dict[str, Any]]:
    """Per task: its column and definition (derived tasks), kind, primary metric, rows,
    labelled rows, missing-label share, distribution, warnings."""
    result = []
    for task in data.tasks:
        values, mask = _labels(data, task, split)
        own = _own_rows(data, mask, split)
        labelled = int(mask.sum())
        rows = int(own.sum())
        missing = 1.0 - labelled / rows if rows else 0.0
        distribution = task.task_kind.label_summary(values[mask], task.classes)
        result.append(
            {
                "task": task.name,
                "column": task.column,
                "definition": task.definition,
                "kind": task.kind,
                "metric": task.metric,
                "rows": rows,
                "labelled": labelled,
                "missing_share": round(missing, 4),
                "distribution": distribution,
                "warnings": _warnings(task, distribution, labelled, missing),
            }
        )
    return result


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Association of two categorical variables, 0 (independent) .. 1."""
    table = pd.crosstab(a, b).to_numpy().astype(np.float64)
    if min(table.shape) < 2:
        return float("nan")
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / table.sum() / (min(table.shape) - 1)))


def correlation_ratio(categories: np.ndarray, values: np.ndarray) -> float:
    """eta: how much of a number's variance the categories explain, 0 .. 1."""
    total = ((values - values.mean()) ** 2).sum()
    if total == 0:
        return float("nan")
    frame = pd.DataFrame({"c": categories, "v": values})
    groups = frame.groupby("c")["v"].agg(["mean", "count"])
    between = (groups["count"] * (groups["mean"] - values.mean()) ** 2).sum()
    return float(np.sqrt(between / total))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _pair(a: TaskSpec, x: np.ndarray, b: TaskSpec, y: np.ndarray) -> tuple[float, str]:
    scale_a, scale_b = a.task_kind.label_scale, b.task_kind.label_scale
    if "sets" in (scale_a, scale_b):
        sets = a if scale_a == "sets" else b
        return float("nan"), f"not computed for {sets.kind} tasks"
    if scale_a in NUMERIC_SCALES and scale_b in NUMERIC_SCALES:
        return _pearson(x.astype(np.float64), y.astype(np.float64)), "correlation"
    if scale_a == "continuous":
        return correlation_ratio(y, x), "correlation ratio"
    if scale_b == "continuous":
        return correlation_ratio(x, y), "correlation ratio"
    return cramers_v(x, y), "Cramér's V"


def association_matrix(data: PreparedData, split: str = "train") -> dict[str, Any]:
    """Task x task label association on rows labelled for both tasks. `values` holds None
    where there are fewer than MIN_SHARED_ROWS shared rows (e.g. tasks from different
    datasets); `methods` says which measure each cell is."""
    labels = {t.name: _labels(data, t, split) for t in data.tasks}
    names = [t.name for t in data.tasks]
    values: list[list[float | None]] = []
    methods: list[list[str]] = []
    shared: list[list[int]] = []
    for a in data.tasks:
        row_values, row_methods, row_shared = [], [], []
        for b in data.tasks:
            (x, mask_a), (y, mask_b) = labels[a.name], labels[b.name]
            both = mask_a & mask_b
            row_shared.append(int(both.sum()))
            if a.name == b.name:
                value, method = 1.0, "same task"
            elif both.sum() < MIN_SHARED_ROWS:
                value, method = float("nan"), "too few rows labelled for both"
            else:
                value, method = _pair(a, x[both], b, y[both])
            row_values.append(None if np.isnan(value) else round(value, 4))
            row_methods.append(method)
        values.append(row_values)
        methods.append(row_methods)
        shared.append(row_shared)
    return {"tasks": names, "values": values, "methods": methods, "shared_rows": shared}


def label_like_inputs(data: PreparedData, split: str = "train") -> list[str]:
    """Warnings for tabular inputs that nearly determine a regression or binary task's
    label (|correlation| at least LABEL_LIKE_CORRELATION on its labelled rows): another
    task's label, or a value known only with the label, read as an input."""
    if data.input_kind != "tabular":
        return []
    x = data.splits[split].x.numpy().astype(np.float64)
    notes = []
    for task in data.tasks:
        values, mask = _labels(data, task, split)
        if task.task_kind.label_scale not in NUMERIC_SCALES or mask.sum() < MIN_SHARED_ROWS:
            continue
        for k, feature in enumerate(data.feature_names):
            r = _pearson(x[mask, k], values[mask].astype(np.float64))
            if not np.isnan(r) and abs(r) >= LABEL_LIKE_CORRELATION:
                notes.append(
                    f"input '{feature}' has correlation {r:+.2f} with task "
                    f"'{task.name}' on the training rows: if it is another task's "
                    "label or known only with the answer, it leaks it (ignore it: "
                    "data.ignore)"
                )
    return notes


def source_sizes(data: PreparedData, split: str = "train") -> dict[str, int]:
    """Rows per dataset (several datasets), in source order."""
    sources = data.splits[split].sources
    if sources is None or not data.source_names:
        return {}
    counts = torch.bincount(sources, minlength=len(data.source_names)).tolist()
    return dict(zip(data.source_names, counts, strict=True))
