"""Equal and static weighting: L = Σ_i w_i L_i with fixed weights (one backward)."""

from __future__ import annotations

import torch

from mtl_core.errors import UserError
from mtl_core.weighting.base import WeightingMethod
from mtl_core.weighting.registry import register


@register("equal")
class EqualWeighting(WeightingMethod):
    """Every task weight 1 (Σ_i L_i): the baseline every other method must beat.
    Cost: one backward per step."""

    cost_class = "loss"

    def backward(self, losses, model, features, step):
        weights = torch.ones_like(losses)
        (weights.detach() * losses).sum().backward()
        return weights.detach()


@register("static")
class StaticWeighting(WeightingMethod):
    """User-chosen fixed weights (`params.weights: {task: w}`), optionally normalised to
    sum to the number of tasks. Cost: one backward per step."""

    cost_class = "loss"

    def __init__(self, task_names, params, update_every=1):
        super().__init__(task_names, params, update_every)
        given = dict(params.get("weights", {}))
        unknown = sorted(set(given) - set(task_names))
        if unknown:
            raise UserError(f"config error at 'weighting.params.weights': unknown task '{unknown[0]}'")
        values = torch.tensor([float(given.get(n, 1.0)) for n in task_names])
        if (values < 0).any() or values.sum() <= 0:
            raise UserError("config error at 'weighting.params.weights': weights must be >= 0 "
                            "and not all 0")
        if params.get("normalize", False):
            values = values * len(task_names) / values.sum()
        self.weights = values

    def backward(self, losses, model, features, step):
        weights = self.weights.to(losses.device, losses.dtype)
        (weights * losses).sum().backward()
        return weights
