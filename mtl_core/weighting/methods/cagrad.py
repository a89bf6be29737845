"""CAGrad: conflict-averse gradient descent."""

from __future__ import annotations

from torchjd.aggregation import CAGrad

from mtl_core.weighting.base import Param
from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("cagrad")
class ConflictAverseGradient(GradientWeighting):
    """The update within a ball of radius c‖ḡ‖ around the mean gradient that maximises the
    worst task's improvement (torchjd `CAGrad`, a solver on the Gramian). Liu et al.,
    "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021. Cost class:
    gradient."""

    title = "CAGrad"
    summary = "Stays near the average gradient while improving the worst-off task most."
    helps_when = "Gradients conflict but you want to keep close to equal weighting."
    param_specs = {"c": Param(0.5, "Radius of the ball around the mean gradient (0 = mean).",
                              0.0, 10.0)}

    def make_aggregator(self, n_tasks, params):
        return CAGrad(c=params["c"])
