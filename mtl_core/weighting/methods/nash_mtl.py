"""Nash-MTL: task weights from a bargaining game between the tasks."""

from __future__ import annotations

import warnings

from mtl_core.weighting.base import Param
from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("nash_mtl")
class NashBargaining(GradientWeighting):
    """Weights of the Nash bargaining solution between the task gradients (G w = 1/w), found by
    a sequence of convex programs in cvxpy (torchjd `NashMTL`). Navon et al., "Multi-Task
    Learning as a Bargaining Game", ICML 2022. Cost class: gradient, plus a cvxpy solve per recomputation: the
    slowest method here; the paper itself recommends recomputing every 50-100 steps."""

    title = "Nash-MTL"
    summary = "Lets the tasks bargain for the update; each gets a fair share of progress."
    helps_when = "Many tasks of different difficulty; use update_every to keep it affordable."
    param_specs = {
        "max_norm": Param(1.0, "Clip the update's norm to this (0 = no clipping).", 0.0, 100.0),
        "optim_niter": Param(20, "Convex-program iterations per recomputation.", 1, 200,
                             integer=True),
    }

    def make_aggregator(self, n_tasks, params):
        from torchjd.aggregation import NashMTL  # cvxpy-backed: imported only when chosen

        return NashMTL(n_tasks, max_norm=params["max_norm"], optim_niter=params["optim_niter"])

    def backward(self, losses, model, step):
        with warnings.catch_warnings():  # cvxpy: "problem is not DPP" on every solve, harmless
            warnings.simplefilter("ignore", UserWarning)
            return super().backward(losses, model, step)
