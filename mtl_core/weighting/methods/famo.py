"""FAMO: fast adaptive multitask optimisation from loss changes only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torchjd.scalarization import FAMO

from mtl_core.weighting.base import Param
from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting

FAMO_EPSILON = 1e-8  # torchjd's FAMO adds it to every loss before the logarithm


class FAMOWithWeights(FAMO):
    """torchjd's `FAMO` (its state, its `update` and Adam on the logits), with the gradient
    of its scalarization with respect to the losses given in closed form, so that the step
    back-propagates the losses with those weights and builds no graph for the scalarization.
    c Σ_i z_i log(L_i − b_i + ε) with c held constant has ∂/∂L_i = c z_i / (L_i − b_i + ε),
    c = 1 / Σ_j z_j / (L_j − b_j + ε). Builds on torchjd's private `_w` and `_prev_losses`
    (the requirements pin torchjd)."""

    def weights_for(self, losses: torch.Tensor) -> torch.Tensor:
        """The weight each task gets this step (they sum to 1); remembers the losses for
        `update`, as calling the scalarizer does."""
        values = losses.detach()
        self._check_shape(values)
        self._prev_losses = values.clone()
        share = torch.softmax(self._w.detach().flatten(), dim=0).reshape(values.shape)
        scaled = share / (values - self.min_losses + FAMO_EPSILON)
        return scaled / scaled.sum()


@register("famo")
class FastAdaptiveMultitask(ScalarizerWeighting):
    """c Σ_i z_i log(L_i + ε), z = softmax(w); after each step w takes an Adam step towards
    equal relative loss decrease, measured by re-evaluating the batch (torchjd `FAMO`; the
    step back-propagates the losses with the scalarization's weights, in closed form). Liu et
    al., "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023. Cost class: loss (1
    backward plus 1 no-grad forward after the optimizer step; with `update_every: k` that
    forward and the update of w happen every k steps, w is kept in between)."""

    title = "FAMO"
    summary = "Balances tasks so that every loss falls at about the same relative rate."
    helps_when = "You want a gradient-method-like balance at loss-based cost."
    param_specs = {
        "lr": Param(0.025, "Learning rate of FAMO's own Adam on the task logits.", 0.0, 1.0),
        "weight_decay": Param(1e-3, "Weight decay of that Adam.", 0.0, 1.0),
    }
    self_stepped = True
    amortised = True
    scalarizer: FAMOWithWeights

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> FAMOWithWeights:
        return FAMOWithWeights(n_tasks, lr=params["lr"], weight_decay=params["weight_decay"])

    def after_step(
        self, model: nn.Module, step: int, losses_after: Callable[[], torch.Tensor] | None = None
    ) -> None:
        if losses_after is None:
            self.note(
                "FAMO's task weights stayed equal: the training loop gave no way to "
                "re-evaluate the batch after the step"
            )
            return
        if step % self.update_every:
            return
        with torch.no_grad():
            self.scalarizer.update(losses_after().detach())
