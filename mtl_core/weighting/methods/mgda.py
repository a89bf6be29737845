"""MGDA: the minimum-norm point of the convex hull of the task gradients."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import MGDA

from mtl_core.weighting.base import Param
from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("mgda")
class MultipleGradientDescent(GradientWeighting):
    """Weights on the simplex minimising ‖Σ_i w_i g_i‖, found by Frank-Wolfe on the Gramian
    (torchjd `MGDA`): a common descent direction. Désidéri 2012; Sener and Koltun, "Multi-Task
    Learning as Multi-Objective Optimization", NeurIPS 2018. Cost class: gradient."""

    title = "MGDA"
    summary = "Takes the smallest combination of task gradients that still helps every task."
    helps_when = "You want no task to get worse; it can favour the task with the smallest gradient."
    param_specs = {
        "epsilon": Param(
            1e-3, "Frank-Wolfe stops when the weights move less than this.", 1e-8, 1.0
        ),
        "max_iters": Param(100, "Most Frank-Wolfe iterations.", 1, 10000, integer=True),
    }

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> MGDA:
        return MGDA(epsilon=params["epsilon"], max_iters=params["max_iters"])
