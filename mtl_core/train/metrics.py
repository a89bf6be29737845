"""Per-task metrics on a split: accuracy and macro-F1 for classification; MSE, MAE and R²
(in the target's own units) for regression. `PRIMARY` names the metric Δm uses."""

from __future__ import annotations

import numpy as np
import torch

from mtl_core.data.tasks import TaskSpec

# The metric each kind is judged by, and whether higher is better.
PRIMARY = {
    "binary": ("accuracy", True),
    "multiclass": ("accuracy", True),
    "multilabel": ("macro_f1", True),
    "regression": ("mse", False),
}
HIGHER_IS_BETTER = {"accuracy": True, "macro_f1": True, "r2": True, "mse": False, "mae": False}


def predictions(task: TaskSpec, output: torch.Tensor) -> np.ndarray:
    if task.kind == "multiclass":
        return output.argmax(dim=-1).cpu().numpy()
    if task.kind in ("binary", "multilabel"):
        return (output > 0).long().squeeze(-1).cpu().numpy()
    return output.squeeze(-1).float().cpu().numpy()


def macro_f1(truth: np.ndarray, predicted: np.ndarray, multilabel: bool = False) -> float:
    """Mean over labels of F1 = 2TP / (2TP + FP + FN), as scikit-learn's
    `f1_score(average="macro", zero_division=0)`: over the labels seen in either array, or
    over every column of a multilabel indicator matrix (0 for a column never true nor
    predicted). In numpy: it runs on every validation pass."""
    if multilabel:
        truth, predicted = truth.astype(bool), predicted.astype(bool)
        tp = (truth & predicted).sum(axis=0)
        wrong = (truth ^ predicted).sum(axis=0)
    else:
        labels, index = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
        true_index, predicted_index = index[:len(truth)], index[len(truth):]
        hits = true_index[true_index == predicted_index]
        tp = np.bincount(hits, minlength=len(labels))
        wrong = (np.bincount(true_index, minlength=len(labels))
                 + np.bincount(predicted_index, minlength=len(labels)) - 2 * tp)
    denominator = 2 * tp + wrong
    scores = np.divide(2 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)
    return float(scores.mean()) if len(scores) else 0.0


def task_metrics(
    task: TaskSpec,
    output: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    target_stats: tuple[float, float] | None = None,
) -> dict[str, float]:
    mask = mask.cpu()
    if not bool(mask.any()):
        return {}
    predicted = predictions(task, output.detach())[mask.numpy()]
    truth = target.cpu()[mask].numpy()
    if task.is_classification:
        correct = predicted == truth
        if task.kind == "multilabel":
            correct = correct.all(axis=-1)  # exact match of the whole label set
        return {
            "accuracy": float(np.mean(correct)),
            "macro_f1": macro_f1(truth, predicted, multilabel=task.kind == "multilabel"),
        }
    mean, std = target_stats or (0.0, 1.0)
    predicted = predicted * std + mean
    truth = truth * std + mean
    error = predicted - truth
    variance = float(np.var(truth))
    return {
        "mse": float(np.mean(error**2)),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1.0 - np.mean(error**2) / variance) if variance > 0 else 0.0,
    }
