"""Per-task metrics on a split, each kind's own (`TaskKind.metrics`: ROC-AUC, PR-AUC, F1,
accuracy and macro-F1 for binary; accuracy and macro-F1 for multiclass and multilabel; MSE,
MAE and R² for regression, in the target's own units), computed by `mtl_core.kinds`."""

from __future__ import annotations

import torch

from mtl_core.data.tasks import TaskSpec
from mtl_core.kinds import get_kind


def task_metrics(
    task: TaskSpec,
    output: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    target_stats: tuple[float, float] | None = None,
) -> dict[str, float]:
    """Every metric of the task's kind on the labelled rows (none labelled: {}).
    `target_stats` (mean, std) turn standardised regression outputs back into units."""
    mask = mask.cpu()
    if not bool(mask.any()):
        return {}
    outputs = output.detach().float().cpu()[mask].numpy()
    truth = target.cpu()[mask].numpy()
    if target_stats is not None:
        mean, std = target_stats
        outputs, truth = outputs * std + mean, truth * std + mean
    kind = get_kind(task.kind)
    return {metric: float(kind.metric_values(metric, truth, outputs)) for metric in kind.metrics}
