"""Equal and static weighting: L = Σ_i w_i L_i with fixed weights (one backward)."""

from __future__ import annotations

from typing import Any

import torch

from mtl_core.errors import UserError
from mtl_core.weighting.base import FixedWeighting
from mtl_core.weighting.registry import register


@register("equal")
class EqualWeighting(FixedWeighting):
    """Equal weighting (Σ_i L_i): the baseline every other method must beat ("In Defense of
    the Unitary Scalarization", Kurin et al., NeurIPS 2022). Cost class: loss (1 backward)."""

    title = "Equal weights"
    summary = "Adds the task losses with weight 1 each."
    helps_when = "Always the baseline to beat; often as good as anything fancier."

    _ones: torch.Tensor | None = None  # reused every step (never written in place)

    def fixed_weights(self, losses: torch.Tensor) -> torch.Tensor:
        ones = self._ones
        if (
            ones is None
            or ones.shape != losses.shape
            or ones.device != losses.device
            or ones.dtype != losses.dtype
        ):
            self._ones = ones = torch.ones_like(losses).detach()
        return ones


@register("static")
class StaticWeighting(FixedWeighting):
    """User-chosen fixed weights (`params.weights: {task: w}`, missing tasks 1), optionally
    normalised (`params.normalize: true`) to sum to the number of tasks, so that the overall
    step size stays that of equal weighting. Cost class: loss (1 backward)."""

    title = "Static weights"
    summary = "Adds the task losses with weights you choose."
    helps_when = "You know one task matters more, or a loss is on a much larger scale."
    extra_params = ("weights", "normalize")

    def __init__(
        self,
        task_names: list[str],
        params: dict[str, Any],
        update_every: int = 1,
        gramian_every: int = 0,
    ) -> None:
        super().__init__(task_names, params, update_every, gramian_every)
        given: object = self.params.get("weights", {}) or {}
        if not isinstance(given, dict):
            raise UserError(
                "config error at 'weighting.params.weights': expected a mapping {task: weight}"
            )
        unknown = sorted(set(given) - set(task_names))
        if unknown:
            raise UserError(
                f"config error at 'weighting.params.weights': unknown task "
                f"'{unknown[0]}' (tasks: {', '.join(task_names)})"
            )
        try:
            values = torch.tensor([float(given.get(n, 1.0)) for n in task_names])
        except (TypeError, ValueError) as error:
            raise UserError(
                "config error at 'weighting.params.weights': weights must be numbers"
            ) from error
        if (values < 0).any() or values.sum() <= 0 or not torch.isfinite(values).all():
            raise UserError(
                "config error at 'weighting.params.weights': weights must be >= 0 and not all 0"
            )
        if self.params.get("normalize", False):
            values = values * len(task_names) / values.sum()
        self.weights = values

    def fixed_weights(self, losses: torch.Tensor) -> torch.Tensor:
        return self.weights.to(losses.device, losses.dtype)
