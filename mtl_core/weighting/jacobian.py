"""The Jacobian of the task losses on the shared parameters, in two vectorised passes:

1. the T per-task gradients of the losses with respect to the representation tensors (the
   `features` the model returns) and to every non-shared parameter, as one batched VJP
   (`torch.autograd.grad(..., is_grads_batched=True)`, i.e. vmap over the T rows);
2. those T representation gradients pushed through the trunk to the shared parameters, again
   as one batched VJP.

This is torchjd's `mtl_backward` split (heads per task, trunk as vmapped VJPs), written here
because the loop hands over the losses stacked into one tensor, which `mtl_backward` cannot
take (it back-propagates each task through the shared stack node and frees it). Batched VJPs
that an operation cannot vmap fall back to one pass per task (same numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TaskJacobian:
    """Per-parameter Jacobians, each [T, *param.shape]."""

    shared: list[nn.Parameter]
    shared_rows: list[torch.Tensor]
    others: list[nn.Parameter]
    other_rows: list[torch.Tensor | None]  # None: the losses do not reach that parameter

    def matrix(self) -> torch.Tensor:
        """J on the shared parameters as one [T, D] matrix."""
        return torch.cat([rows.reshape(rows.shape[0], -1) for rows in self.shared_rows], dim=1)


def batched_vjp(
    outputs: list[torch.Tensor], inputs: list[torch.Tensor], rows: list[torch.Tensor]
) -> list[torch.Tensor]:
    """For each input, the T stacked VJPs [T, *input.shape] of `outputs` with `rows` (one
    [T, *output.shape] tensor per output), None where the input is not reached. Keeps the
    graph."""
    count = rows[0].shape[0]
    try:
        grads = torch.autograd.grad(outputs, inputs, rows, retain_graph=True,
                                    is_grads_batched=True, allow_unused=True)
    except RuntimeError:  # an op without a batching rule: same numbers, one pass per row
        per_row = [torch.autograd.grad(outputs, inputs, [r[i] for r in rows],
                                       retain_graph=True, allow_unused=True)
                   for i in range(count)]
        grads = tuple(None if column[0] is None else torch.stack(column)
                      for column in zip(*per_row, strict=True))
    return list(grads)


def _zeros_for_unused(rows: list, params: list[torch.Tensor], count: int) -> list[torch.Tensor]:
    return [torch.zeros(count, *p.shape, device=p.device, dtype=p.dtype) if r is None else r
            for r, p in zip(rows, params, strict=True)]


def task_jacobian(
    losses: torch.Tensor,
    features: list[torch.Tensor],
    shared: list[nn.Parameter],
    others: list[nn.Parameter],
) -> TaskJacobian:
    """Jacobians of `losses` [T] on `shared` (through `features`) and on `others` (directly).

    Keeps the graph: a later ordinary backward (or the loop's regularisation) still works."""
    eye = torch.eye(len(losses), device=losses.device, dtype=losses.dtype)
    first = batched_vjp([losses], [*features, *others], [eye])
    count = len(losses)
    feature_rows = _zeros_for_unused(first[: len(features)], list(features), count)
    shared_rows = _zeros_for_unused(batched_vjp(list(features), list(shared), feature_rows),
                                    list(shared), count)
    other_rows = first[len(features):]
    return TaskJacobian(shared, shared_rows, others, other_rows)
