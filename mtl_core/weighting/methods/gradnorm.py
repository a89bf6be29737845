"""GradNorm: learn task weights that equalise the tasks' gradient norms (not in torchjd)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from mtl_core.weighting.base import FixedWeighting, Param, StepRequest, StepResult
from mtl_core.weighting.jacobian import JacobianRecorder
from mtl_core.weighting.registry import register


@register("gradnorm")
class GradNorm(FixedWeighting):
    """Learned weights w_i. On the last shared weight matrix W, G_i = w_i ‖∇_W L_i‖ is pulled
    towards mean(G) · r_i^α, where r_i = (L_i / L_i(0)) / mean_j(L_j / L_j(0)) is the task's
    relative inverse training rate: L_grad = Σ_i |G_i − target_i| (target held constant)
    gives w its gradient, the model gets Σ_i w_i L_i, and w is renormalised to sum to T after
    every step. Chen et al., "GradNorm", ICML 2018. Written here: torchjd 0.18 lacks it.
    Cost class: loss (1 backward, during which each task's gradient at the task cut is
    recorded, plus one batched VJP from the cut to W only; with `update_every: k` the norms
    and w's update are taken every k steps, w is kept in between)."""

    title = "GradNorm"
    summary = "Learns weights so that all tasks' gradients have similar sizes."
    helps_when = "One task's gradients dominate and its loss races ahead of the others."
    param_specs = {
        "alpha": Param(1.5, "Restoring force: higher pulls lagging tasks harder.", 0.0, 10.0)
    }
    amortised = True

    def __init__(
        self,
        task_names: list[str],
        params: dict[str, Any],
        update_every: int = 1,
        gramian_every: int = 0,
    ) -> None:
        super().__init__(task_names, params, update_every, gramian_every)
        self.task_weights = nn.Parameter(torch.ones(len(self.task_names)))
        self.initial_losses: torch.Tensor | None = None

    def parameters(self) -> list[nn.Parameter]:
        return [self.task_weights]

    def step(self, request: StepRequest) -> StepResult:
        losses, step = request.losses, request.step
        layer = [p for p in self.shared_of(request.model) if p.ndim >= 2][-1:]
        if not layer:
            self.note("GradNorm kept its weights fixed: the model has no shared weight matrix")
            return super().step(request)
        due = step % self.update_every == 0
        # The norms need the rows on W; the request or a due Gramian wants all shared rows.
        recorder = self.recorder(request)
        whole = recorder is not None
        if not whole and due and len(losses) > 1:
            recorder = JacobianRecorder(losses, layer)
        weights = self.weighted_backward(losses, step, recorder)
        if recorder is None:
            return StepResult(weights)
        jacobian = recorder.jacobian(weights)  # the model's own backward, read per task
        if due:
            rows = jacobian.shared_rows[[id(p) for p in jacobian.shared].index(id(layer[0]))]
            self._set_weight_gradient(losses.detach(), rows.flatten(1).norm(dim=1).detach())
        return self.result(request, weights, jacobian) if whole else StepResult(weights)

    def _set_weight_gradient(self, losses: torch.Tensor, norms: torch.Tensor) -> None:
        """d/dw_i Σ_j |w_j n_j − target_j| with the target held constant (n_i = ‖∇_W L_i‖)."""
        weights = self.task_weights
        if self.initial_losses is None:
            self.initial_losses = losses.clamp_min(1e-12)
        ratios = losses / self.initial_losses
        inverse_rate = ratios / ratios.mean().clamp_min(1e-12)
        scaled = weights.detach().to(norms.device) * norms
        target = scaled.mean() * inverse_rate ** self.params["alpha"]
        grad = torch.sign(scaled - target) * norms
        weights.grad = grad.to(weights.device) if weights.grad is None else weights.grad + grad

    def fixed_weights(self, losses: torch.Tensor) -> torch.Tensor:
        """The learned weights as they stand (they change in `after_step`, not in the step)."""
        return self.task_weights.detach().to(losses.device, losses.dtype, copy=True)

    def after_step(
        self, model: nn.Module, step: int, losses_after: Callable[[], torch.Tensor] | None = None
    ) -> None:
        with torch.no_grad():
            clamped = self.task_weights.clamp_min(1e-4)
            self.task_weights.copy_(clamped * len(clamped) / clamped.sum())
