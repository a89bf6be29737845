"""Per-task losses with missing labels masked out: a row without a label for task A
still trains task B. A mask of `None` means every row has a label: no masking at all (the
training loop passes `None` for tasks whose training labels are complete, which saves the
boolean indexing, and on a GPU a host sync, per task and step). `candidate_losses` computes the same numbers for several candidate
models' outputs at once (the affinity probe's lookahead)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mtl_core.data.tasks import TaskSpec


def _loss(kind: str, output: torch.Tensor, target: torch.Tensor,
          reduction: str) -> torch.Tensor:
    """The loss of a task kind over labelled rows (`reduction` as in torch.nn.functional)."""
    if kind == "multiclass":
        return F.cross_entropy(output, target, reduction=reduction)
    if kind == "binary":
        return F.binary_cross_entropy_with_logits(output.squeeze(-1), target.float(),
                                                  reduction=reduction)
    if kind == "multilabel":
        return F.binary_cross_entropy_with_logits(output, target.float(), reduction=reduction)
    return F.mse_loss(output.squeeze(-1), target, reduction=reduction)


def task_loss(
    task: TaskSpec, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """Mean loss over the labelled rows (0 with a live graph when none is labelled)."""
    if mask is None:
        return _loss(task.kind, output, target, "mean")
    if not bool(mask.any()):
        return output.sum() * 0.0
    return _loss(task.kind, output[mask], target[mask], "mean")


def task_losses(
    tasks: list[TaskSpec],
    outputs: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor | None],
) -> torch.Tensor:
    """Stacked per-task losses, shape [T], in task order."""
    return torch.stack(
        [task_loss(t, outputs[t.name], targets[t.name], masks[t.name]) for t in tasks]
    )


def candidate_losses(
    tasks: list[TaskSpec],
    outputs: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor | None],
) -> torch.Tensor:
    """[C, T] losses of C candidate models, from outputs with a leading candidate dimension
    ([C, N, ...] per task) on one batch: row c equals `task_losses` of candidate c (up to
    rounding: regression tasks with every label present are computed together)."""
    columns: dict[str, torch.Tensor] = {}
    together = [t.name for t in tasks if t.kind == "regression" and masks[t.name] is None]
    if len(together) > 1:  # one squared error over [C, N, tasks] instead of one per task
        output = torch.cat([outputs[name] for name in together], dim=-1)
        target = torch.stack([targets[name] for name in together], dim=-1)
        columns.update(zip(together, (output - target).pow(2).mean(1).unbind(1), strict=True))
    for task in tasks:
        if task.name in columns:
            continue
        output, mask = outputs[task.name], masks[task.name]
        count = output.shape[0]
        if mask is not None and not bool(mask.any()):
            columns[task.name] = output.new_zeros(count)
            continue
        picked = output if mask is None else output[:, mask]  # [C, n, ...]
        if task.kind == "multiclass":  # classes on dim 1, as cross_entropy wants them
            picked = picked.transpose(1, 2)
        target = targets[task.name] if mask is None else targets[task.name][mask]
        target = target.expand(count, *target.shape)  # a view, no copy
        columns[task.name] = _loss(task.kind, picked, target, "none").reshape(count, -1).mean(1)
    return torch.stack([columns[task.name] for task in tasks], dim=1)
