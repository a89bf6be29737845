"""Per-task losses with missing labels masked out: a row without a label for task A
still trains task B."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mtl_core.data.tasks import TaskSpec


def task_loss(
    task: TaskSpec, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean loss over the labelled rows (0 with a live graph when none is labelled)."""
    if not bool(mask.any()):
        return output.sum() * 0.0
    output, target = output[mask], target[mask]
    if task.kind == "multiclass":
        return F.cross_entropy(output, target)
    if task.kind == "binary":
        return F.binary_cross_entropy_with_logits(output.squeeze(-1), target.float())
    if task.kind == "multilabel":
        return F.binary_cross_entropy_with_logits(output, target.float())
    return F.mse_loss(output.squeeze(-1), target)


def task_losses(
    tasks: list[TaskSpec],
    outputs: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
) -> torch.Tensor:
    """Stacked per-task losses, shape [T], in task order."""
    return torch.stack(
        [task_loss(t, outputs[t.name], targets[t.name], masks[t.name]) for t in tasks]
    )
