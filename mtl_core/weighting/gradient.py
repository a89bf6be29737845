"""Gradient-based methods: the Jacobian of the task losses on the shared parameters
(`jacobian.task_jacobian`: one backward to the task cut, one batched VJP beyond it)
aggregated into one update by a torchjd aggregator. Aggregators that weight the rows from
the Gramian get the Gramian the run records anyway (no second J Jᵀ). Every other parameter
(task heads, gates) gets its ordinary gradient of Σ_i L_i.

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
from torch import nn
from torchjd.aggregation import Aggregator, GramianWeightedAggregator, WeightedAggregator

from mtl_core.weighting.base import StepRequest, StepResult, WeightingMethod
from mtl_core.weighting.jacobian import JacobianRecorder, backward_recording, task_jacobian


class GradientWeighting(WeightingMethod):
    """Jacobian descent on the shared parameters with a torchjd aggregator."""

    cost_class = "gradient"
    amortised = True

    def __init__(
        self,
        task_names: list[str],
        params: dict[str, Any],
        update_every: int = 1,
        gramian_every: int = 0,
    ) -> None:
        super().__init__(task_names, params, update_every, gramian_every)
        self.aggregator = self.make_aggregator(len(self.task_names), self.params)
        # Aggregators for subsets of the tasks (see `aggregate_active`), made when first needed.
        self._subset_aggregators: dict[tuple[int, ...], Aggregator] = {}
        self.last_weights: torch.Tensor | None = None
        self._others: tuple[Any, list] | None = None

    @abstractmethod
    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> Aggregator:
        """The torchjd aggregator this method is."""

    def due(self, step: int) -> bool:
        """Whether this step recomputes the Jacobian and the weights."""
        return self.last_weights is None or step % self.update_every == 0

    def split(self, model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(shared, other trainable parameters) of `model`, worked out once per model."""
        shared = self.shared_of(model)
        if self._others is None or self._others[0] is not model:
            shared_ids = {id(p) for p in shared}
            self._others = (
                model,
                [p for p in model.parameters() if p.requires_grad and id(p) not in shared_ids],
            )
        return shared, self._others[1]

    def step(self, request: StepRequest) -> StepResult:
        losses, step = request.losses, request.step
        shared, others = self.split(request.model)
        if not shared or len(losses) < 2:
            return StepResult(self._plain_backward(losses))
        if self.last_weights is not None and not self.due(step):
            return self._reuse_weights(request, shared, self.last_weights)
        jacobian = task_jacobian(losses, shared, others)  # keeps the graph
        matrix = jacobian.matrix()
        gramian = matrix @ matrix.T
        self.record_gramian(step, gramian)
        weights, update = self.aggregate_active(matrix, gramian)
        for param, part in zip(shared, update.split([p.numel() for p in shared]), strict=True):
            _accumulate(param, part.view_as(param))
        for param, grad in zip(others, jacobian.other_grads, strict=True):
            if grad is not None:
                _accumulate(param, grad)
        self.last_weights = weights.detach()
        return StepResult(self.last_weights, jacobian if request.record_jacobian else None)

    def _reuse_weights(
        self, request: StepRequest, shared: list[nn.Parameter], last_weights: torch.Tensor
    ) -> StepResult:
        """Between recomputations: one ordinary backward of Σ_i w_i L_i with the last weights
        (the Jacobian read off it when the request asks for it)."""
        losses = request.losses
        weights = last_weights.to(losses.device, losses.dtype)
        recorder = JacobianRecorder(losses, shared) if request.record_jacobian else None
        backward_recording(losses, recorder, weights)
        return StepResult(weights, None if recorder is None else recorder.jacobian(weights))

    def aggregate_active(
        self, matrix: torch.Tensor, gramian: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (task weights, update), aggregating only the tasks whose gradient is not zero.
        A task whose loss is scaled to 0 (a curriculum task that has not joined yet) or has
        no label in the batch has nothing to say about the direction: left in, it would make
        MGDA's minimum-norm point and CAGrad's update 0 (training stalls) and Nash-MTL's
        solve divide by 0. It gets weight 0; the other tasks are aggregated by an aggregator
        of their own (stateful ones keep a state per set of tasks)."""
        active = tuple(i for i, norm in enumerate(gramian.diagonal().tolist()) if norm > 0)
        if len(active) == len(matrix):
            return aggregate(self.aggregator, matrix, gramian)
        weights = matrix.new_zeros(len(matrix))
        if not active:
            return weights, matrix.new_zeros(matrix.shape[1])
        aggregator = self._subset_aggregators.get(active)
        if aggregator is None:
            aggregator = self._subset_aggregators[active] = self.make_aggregator(
                len(active), self.params
            )
        index = torch.tensor(active, device=matrix.device)
        subset_weights, update = aggregate(aggregator, matrix[index], gramian[index][:, index])
        weights[index] = subset_weights.to(weights.dtype)
        return weights, update

    def _plain_backward(self, losses: torch.Tensor) -> torch.Tensor:
        self.note(
            f"'{self.name}' needs parameters shared by several tasks; this model has none "
            "(e.g. single_task), so every step was a plain backward of Σ_i L_i"
        )
        weights = torch.ones_like(losses).detach()
        losses.backward(weights)
        return weights


def aggregate(
    aggregator: Aggregator, matrix: torch.Tensor, gramian: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (task weights, update) of a torchjd aggregator. One that weights the rows from the
    Gramian gets the Gramian already computed for the records; any other gets J."""
    if isinstance(aggregator, GramianWeightedAggregator):
        weights = aggregator.gramian_weighting(gramian)
        return weights, weights.to(matrix.dtype) @ matrix
    if isinstance(aggregator, WeightedAggregator):
        weights = aggregator.weighting(matrix)
        return weights, weights.to(matrix.dtype) @ matrix
    update = aggregator(matrix)
    return _effective_weights(matrix, gramian, update), update


def _accumulate(param: torch.Tensor, grad: torch.Tensor) -> None:
    param.grad = grad if param.grad is None else param.grad + grad


def _effective_weights(
    jacobian: torch.Tensor, gramian: torch.Tensor, update: torch.Tensor
) -> torch.Tensor:
    """The least-squares w with Jᵀw ≈ update (exact when the update lies in the row span);
    `gramian` = J Jᵀ."""
    return (torch.linalg.pinv(gramian.double()) @ (jacobian @ update).double()).to(update.dtype)
