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
# A class with less than this share of a task's labels is flagged as imbalanced.
MINORITY_SHARE = 0.1
MISSING_WARNING = 0.5
# An input this correlated with a task's label is flagged as a likely leak of the label.
LABEL_LIKE_CORRELATION = 0.9
HISTOGRAM_BINS = 20


def _labels(data: PreparedData, task: TaskSpec, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(values in original units, labelled mask) of one task on one split."""
    tensors = data.splits[split]
    values = tensors.targets[task.name].numpy()
    if task.kind == "regression":
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


def _distribution(task: TaskSpec, values: np.ndarray) -> dict[str, Any]:
    if task.kind == "regression":
        if len(values) == 0:
            return {}
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
        return {"mean": float(values.mean()), "std": float(values.std()),
                "min": float(values.min()), "max": float(values.max()),
                "histogram": {"edges": edges.tolist(), "counts": counts.tolist()}}
    if task.kind == "multilabel":
        counts = values.sum(axis=0) if len(values) else np.zeros(len(task.classes))
    else:
        counts = np.bincount(values.astype(np.int64), minlength=len(task.classes))
    return {name: int(c) for name, c in zip(task.classes, counts, strict=True)}


def _warnings(task: TaskSpec, distribution: dict[str, Any], labelled: int,
              missing: float) -> list[str]:
    notes = []
    if missing > MISSING_WARNING:
        notes.append(f"task '{task.name}': {missing:.0%} of its rows have no label")
    if task.kind in ("binary", "multiclass") and labelled:
        name, count = min(distribution.items(), key=lambda item: item[1])
        if count / labelled < MINORITY_SHARE:
            notes.append(
                f"task '{task.name}': class '{name}' has {count / labelled:.1%} of the labels "
                "(imbalanced): watch macro F1, not accuracy"
            )
    if task.kind == "multilabel" and labelled:
        rare = [n for n, c in distribution.items() if c / labelled < 0.01]
        if rare:
            notes.append(f"task '{task.name}': labels {', '.join(rare[:5])} are on fewer than "
                         "1% of the rows")
    return notes


def task_statistics(data: PreparedData, split: str = "train") -> list[dict[str, Any]]:
    """Per task: kind, rows, labelled rows, missing-label share, distribution, warnings."""
    result = []
    for task in data.tasks:
        values, mask = _labels(data, task, split)
        own = _own_rows(data, mask, split)
        labelled = int(mask.sum())
        rows = int(own.sum())
        missing = 1.0 - labelled / rows if rows else 0.0
        distribution = _distribution(task, values[mask])
        result.append({
            "task": task.name,
            "column": task.column,
            "kind": task.kind,
            "rows": rows,
            "labelled": labelled,
            "missing_share": round(missing, 4),
            "distribution": distribution,
            "warnings": _warnings(task, distribution, labelled, missing),
        })
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
    signed = ("binary", "regression")
    if "multilabel" in (a.kind, b.kind):
        return float("nan"), "not computed for multilabel tasks"
    if a.kind in signed and b.kind in signed:
        return _pearson(x.astype(np.float64), y.astype(np.float64)), "correlation"
    if a.kind == "regression":
        return correlation_ratio(y, x), "correlation ratio"
    if b.kind == "regression":
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
        if task.kind not in ("regression", "binary") or mask.sum() < MIN_SHARED_ROWS:
            continue
        for k, feature in enumerate(data.feature_names):
            r = _pearson(x[mask, k], values[mask].astype(np.float64))
            if not np.isnan(r) and abs(r) >= LABEL_LIKE_CORRELATION:
                notes.append(f"input '{feature}' has correlation {r:+.2f} with task "
                             f"'{task.name}' on the training rows: if it is another task's "
                             "label or known only with the answer, it leaks it (ignore it: "
                             "data.ignore)")
    return notes


def source_sizes(data: PreparedData, split: str = "train") -> dict[str, int]:
    """Rows per dataset (several datasets), in source order."""
    sources = data.splits[split].sources
    if sources is None or not data.source_names:
        return {}
    counts = torch.bincount(sources, minlength=len(data.source_names)).tolist()
    return dict(zip(data.source_names, counts, strict=True))
