"""Per-task losses with missing labels masked out: a row without a label for task A
still trains task B. A mask of `None` means every row has a label: no masking at all (the
training loop passes `None` for tasks whose training labels are complete, which saves the
boolean indexing, and on a GPU a host sync, per task and step). `candidate_losses` computes the same numbers for several candidate
models' outputs at once (the affinity probe's lookahead)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mtl_core.data.tasks import TaskSpec


def task_loss(
    task: TaskSpec, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """Mean loss over the labelled rows (0 with a live graph when none is labelled)."""
    if mask is None:
        return task.task_kind.loss(output, target, "mean")
    if not bool(mask.any()):
        return output.sum() * 0.0
    return task.task_kind.loss(output[mask], target[mask], "mean")


def task_losses(
    tasks: list[TaskSpec],
    outputs: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    masks: Mapping[str, torch.Tensor | None],
) -> torch.Tensor:
    """Stacked per-task losses, shape [T], in task order."""
    return torch.stack(
        [task_loss(t, outputs[t.name], targets[t.name], masks[t.name]) for t in tasks]
    )


def candidate_losses(
    tasks: list[TaskSpec],
    outputs: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    masks: Mapping[str, torch.Tensor | None],
) -> torch.Tensor:
    """[C, T] losses of C candidate models, from outputs with a leading candidate dimension
    ([C, N, ...] per task) on one batch: row c equals `task_losses` of candidate c (up to
    rounding: regression tasks with every label present are computed together)."""
    columns: dict[str, torch.Tensor] = {}
    together = [t.name for t in tasks if t.task_kind.squared_error_loss and masks[t.name] is None]
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
        target = targets[task.name] if mask is None else targets[task.name][mask]
        columns[task.name] = task.task_kind.candidate_loss(picked, target)
    return torch.stack([columns[task.name] for task in tasks], dim=1)
