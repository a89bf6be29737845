"""FAMO: fast adaptive multitask optimisation from loss changes only."""

from __future__ import annotations

import torch

from mtl_core.weighting.base import Param
from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


@register("famo")
class FastAdaptiveMultitask(ScalarizerWeighting):
    """c Σ_i z_i log(L_i + ε), z = softmax(w); after each step w takes an Adam step towards
    equal relative loss decrease, measured by re-evaluating the batch (torchjd `FAMO`). Liu et
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

    def make_scalarizer(self, n_tasks, params):
        from torchjd.scalarization import FAMO

        return FAMO(n_tasks, lr=params["lr"], weight_decay=params["weight_decay"])

    def after_step(self, model, step, losses_after=None) -> None:
        if losses_after is None:
            self.note("FAMO's task weights stayed equal: the training loop gave no way to "
                      "re-evaluate the batch after the step")
            return
        if step % self.update_every:
            return
        with torch.no_grad():
            self.scalarizer.update(losses_after().detach())
