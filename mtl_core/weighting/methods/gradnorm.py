"""GradNorm: learn task weights that equalise the tasks' gradient norms (not in torchjd)."""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.weighting.base import LossWeighting, Param, shared_parameters
from mtl_core.weighting.jacobian import per_task_grads
from mtl_core.weighting.registry import register


@register("gradnorm")
class GradNorm(LossWeighting):
    """Learned weights w_i. On the last shared weight matrix W, G_i = w_i ‖∇_W L_i‖ is pulled
    towards mean(G) · r_i^α, where r_i = (L_i / L_i(0)) / mean_j(L_j / L_j(0)) is the task's
    relative inverse training rate: L_grad = Σ_i |G_i − target_i| (target held constant)
    gives w its gradient, the model gets Σ_i w_i L_i, and w is renormalised to sum to T after
    every step. Chen et al., "GradNorm", ICML 2018. Written here: torchjd 0.18 lacks it.
    Cost class: loss (1 backward, plus T small backwards from each loss down to W only)."""

    title = "GradNorm"
    summary = "Learns weights so that all tasks' gradients have similar sizes."
    helps_when = "One task's gradients dominate and its loss races ahead of the others."
    param_specs = {"alpha": Param(1.5, "Restoring force: higher pulls lagging tasks harder.",
                                  0.0, 10.0)}

    def __init__(self, task_names, params, update_every=1, gramian_every=0):
        super().__init__(task_names, params, update_every, gramian_every)
        self.task_weights = nn.Parameter(torch.ones(len(self.task_names)))
        self.initial_losses: torch.Tensor | None = None

    def parameters(self) -> list[nn.Parameter]:
        return [self.task_weights]

    def backward(self, losses, model, features, step):
        layer = [p for p in shared_parameters(model) if p.ndim >= 2][-1:]
        if not layer:
            self.note("GradNorm kept its weights fixed: the model has no shared weight matrix")
        else:
            self._set_weight_gradient(losses, layer[0])
        return super().backward(losses, model, features, step)

    def _set_weight_gradient(self, losses: torch.Tensor, layer: nn.Parameter) -> None:
        weights = self.task_weights
        rows = per_task_grads(losses, [layer])[0]
        norms = (rows.flatten(1).norm(dim=1) if rows is not None
                 else torch.zeros_like(losses)).detach()
        detached = losses.detach()
        if self.initial_losses is None:
            self.initial_losses = detached.clamp_min(1e-12)
        ratios = detached / self.initial_losses
        inverse_rate = ratios / ratios.mean().clamp_min(1e-12)
        scaled = weights.detach().to(norms.device) * norms
        target = scaled.mean() * inverse_rate ** self.params["alpha"]
        grad = torch.sign(scaled - target) * norms  # d/dw_i Σ |w_i n_i − target_i|
        weights.grad = grad.to(weights.device) if weights.grad is None else weights.grad + grad

    def combine(self, losses, step):
        return (self.task_weights.detach().to(losses.device, losses.dtype) * losses).sum()

    def after_step(self, model, step, losses_after=None) -> None:
        with torch.no_grad():
            clamped = self.task_weights.clamp_min(1e-4)
            self.task_weights.copy_(clamped * len(clamped) / clamped.sum())
