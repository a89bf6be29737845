"""The Jacobian of the task losses on the shared parameters, in two passes:

1. per task, the gradient of its loss with respect to the representation tensors (the
   `features` the model returns) and to every non-shared parameter: one small backward per
   task that starts at that task's own loss node (the input edge of the `torch.stack` that
   made `losses`), so it only crosses that task's head;
2. those T representation gradients pushed through the trunk to the shared parameters, as ONE
   batched VJP (`torch.autograd.grad(..., is_grads_batched=True)`, vmap over the T rows).

This is torchjd's `mtl_backward` split (heads per task, trunk as vmapped VJPs), written here
because the loop hands over the losses stacked into one tensor, which `mtl_backward` cannot
take (it back-propagates each task through the shared stack node and frees it). When the
losses are not a plain stack, step 1 is one batched VJP of the losses instead; batched VJPs
that an operation cannot vmap fall back to one pass per task (same numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.autograd.graph import GradientEdge


@dataclass
class TaskJacobian:
    """Per shared parameter the Jacobian rows [T, *param.shape]; per other parameter the plain
    gradient of Σ_i L_i (None where no loss reaches it)."""

    shared: list[nn.Parameter]
    shared_rows: list[torch.Tensor]
    others: list[nn.Parameter]
    other_grads: list[torch.Tensor | None]

    def matrix(self) -> torch.Tensor:
        """J on the shared parameters as one [T, D] matrix."""
        return torch.cat([rows.reshape(rows.shape[0], -1) for rows in self.shared_rows], dim=1)


def batched_vjp(
    outputs: list[torch.Tensor], inputs: list[torch.Tensor], rows: list[torch.Tensor]
) -> list[torch.Tensor | None]:
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
        grads = tuple(_stack_or_none(column, param)
                      for column, param in zip(zip(*per_row, strict=True), inputs, strict=True))
    return list(grads)


def _stack_or_none(column, param: torch.Tensor) -> torch.Tensor | None:
    if all(g is None for g in column):
        return None
    return torch.stack([torch.zeros_like(param) if g is None else g for g in column])


def _zeros_if_none(rows: torch.Tensor | None, param: torch.Tensor, count: int) -> torch.Tensor:
    if rows is None:
        return torch.zeros(count, *param.shape, device=param.device, dtype=param.dtype)
    return rows


def task_edges(losses: torch.Tensor) -> list[GradientEdge] | None:
    """Each task's own loss node, when `losses` is a plain `torch.stack` of T scalars."""
    node = losses.grad_fn
    if node is None or type(node).__name__ != "StackBackward0":
        return None
    edges = node.next_functions
    if len(edges) != len(losses) or any(edge[0] is None for edge in edges):
        return None
    return [GradientEdge(*edge) for edge in edges]


def per_task_grads(
    losses: torch.Tensor, inputs: list[torch.Tensor], owned: list[list[int]] | None = None
) -> list[torch.Tensor | None]:
    """[T, *input.shape] gradients of each task's loss on each input (None: none reaches it).
    `owned[i]`: indices of the inputs task i's loss can reach (default: all of them)."""
    edges = task_edges(losses)
    if edges is None:
        eye = torch.eye(len(losses), device=losses.device, dtype=losses.dtype)
        return batched_vjp([losses], inputs, [eye])
    one = torch.ones((), device=losses.device, dtype=losses.dtype)
    columns: list[list[torch.Tensor | None]] = [[None] * len(edges) for _ in inputs]
    for task, edge in enumerate(edges):
        picked = owned[task] if owned is not None else range(len(inputs))
        grads = torch.autograd.grad([edge], [inputs[i] for i in picked], [one],
                                    retain_graph=True, allow_unused=True)
        for index, grad in zip(picked, grads, strict=True):
            columns[index][task] = grad
    return [_stack_or_none(column, param) for column, param in zip(columns, inputs, strict=True)]


def task_jacobian(
    losses: torch.Tensor,
    features: list[torch.Tensor],
    shared: list[nn.Parameter],
    others: list[nn.Parameter],
    owners: list[list[nn.Parameter]] | None = None,
) -> TaskJacobian:
    """Jacobians of `losses` [T] on `shared` (through `features`), gradients of Σ_i L_i on
    `others`. `owners[i]`: the parameters among `others` only task i reaches (its head); the
    rest of `others` is offered to every task. Keeps the graph for later backwards."""
    count, width = len(losses), len(features)
    inputs = [*features, *others]
    owned = None
    if owners is not None:
        index = {id(p): width + k for k, p in enumerate(others)}
        claimed = {id(p) for params in owners for p in params}
        common = [*range(width), *(index[id(p)] for p in others if id(p) not in claimed)]
        owned = [common + [index[id(p)] for p in params if id(p) in index] for params in owners]
    first = per_task_grads(losses, inputs, owned)
    feature_rows = [_zeros_if_none(r, f, count) for r, f in zip(first[:width], features,
                                                                strict=True)]
    shared_rows = [_zeros_if_none(r, p, count) for r, p in
                   zip(batched_vjp(list(features), list(shared), feature_rows), shared,
                       strict=True)]
    other_grads = [None if rows is None else rows.sum(0) for rows in first[width:]]
    return TaskJacobian(shared, shared_rows, others, other_grads)
