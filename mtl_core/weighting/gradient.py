"""Gradient-based methods: the Jacobian of the task losses on the shared parameters
(`jacobian.task_jacobian`, two vectorised passes) aggregated into one update by a torchjd
aggregator (`torchjd.autojac.jac_to_grad`). Every other parameter (task heads, gates) gets
its ordinary gradient of Σ_i L_i.

Amortisation (`update_every: k`, as Nash-MTL's `update_weights_every`): the Jacobian and the
aggregation weights are computed on steps 0, k, 2k, ...; in between the method does ONE
ordinary backward on Σ_i w_i L_i with the last weights (there, the heads' gradients are
scaled by w_i too). Aggregators that are not a weighting of the rows (GradDrop, ConFIG) are
reused through their effective weights: the least-squares w with Jᵀw ≈ their update.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
from torchjd.aggregation import Aggregator
from torchjd.autojac import jac_to_grad

from mtl_core.weighting.base import WeightingMethod, shared_parameters
from mtl_core.weighting.jacobian import task_jacobian


class GradientWeighting(WeightingMethod):
    """Jacobian descent on the shared parameters with a torchjd aggregator."""

    cost_class = "gradient"
    amortised = True

    def __init__(self, task_names, params, update_every=1, gramian_every=0):
        super().__init__(task_names, params, update_every, gramian_every)
        self.aggregator = self.make_aggregator(len(self.task_names), self.params)
        self.last_weights: torch.Tensor | None = None
        self._seen: tuple[torch.Tensor, torch.Tensor] | None = None
        self.aggregator.register_forward_hook(self._capture)

    @abstractmethod
    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> Aggregator:
        """The torchjd aggregator this method is."""

    def _capture(self, _module, inputs, output) -> None:
        self._seen = inputs[0].detach(), output.detach()

    def due(self, step: int) -> bool:
        """Whether this step recomputes the Jacobian and the weights."""
        return self.last_weights is None or step % self.update_every == 0

    def backward(self, losses, model, features, step):
        shared = shared_parameters(model)
        if not shared or not features or len(losses) < 2:
            return self._plain_backward(losses)
        if not self.due(step):
            weights = self.last_weights.to(losses.device, losses.dtype)
            (weights * losses).sum().backward()
            return weights
        others, owners = _split_parameters(model, shared, self.task_names)
        jacobian = task_jacobian(losses, features, shared, others, owners)
        for param, rows in zip(shared, jacobian.shared_rows, strict=True):
            param.jac = rows
        weights = jac_to_grad(shared, self.aggregator)
        for param, grad in zip(others, jacobian.other_grads, strict=True):
            if grad is not None:
                param.grad = grad if param.grad is None else param.grad + grad
        matrix, update = self._seen
        self._seen = None
        self.record_gramian(step, matrix)
        if weights is None:
            weights = _effective_weights(matrix, update)
        self.last_weights = weights.detach()
        return self.last_weights

    def _plain_backward(self, losses: torch.Tensor) -> torch.Tensor:
        self.note(f"'{self.name}' needs parameters shared by several tasks; this model has none "
                  "(e.g. single_task), so every step was a plain backward of Σ_i L_i")
        weights = torch.ones_like(losses).detach()
        (weights * losses).sum().backward()
        return weights


def _effective_weights(jacobian: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    """The least-squares w with Jᵀw ≈ update (exact when the update lies in the row span)."""
    gramian = (jacobian @ jacobian.T).double()
    return (torch.linalg.pinv(gramian) @ (jacobian.double() @ update.double())).to(update.dtype)


def _split_parameters(model, shared, task_names):
    """The non-shared trainable parameters, and per task those its head owns (when the model
    says so through `task_parameters()`), so each task's backward only crosses its own head."""
    shared_ids = {id(p) for p in shared}
    others = [p for p in model.parameters() if p.requires_grad and id(p) not in shared_ids]
    per_task = getattr(model, "task_parameters", None)
    if per_task is None:
        return others, None
    owned = per_task()
    if set(owned) != set(task_names):
        return others, None
    return others, [owned[name] for name in task_names]
