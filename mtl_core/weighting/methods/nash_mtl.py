"""Nash-MTL: task weights from a bargaining game between the tasks."""

from __future__ import annotations

from typing import Any

import numpy as np
from torchjd.aggregation import WeightedAggregator
from torchjd.aggregation._nash_mtl import _NashMTLWeighting

from mtl_core.weighting.base import Param
from mtl_core.weighting.conic import min_linear_with_log_products
from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("nash_mtl")
class NashBargaining(GradientWeighting):
    """Weights of the Nash bargaining solution between the task gradients (G w = 1/w), found by
    a sequence of convex programs (torchjd `NashMTL`'s algorithm and state; each program
    solved by Clarabel directly, `DirectNashMTLWeighting`). Navon et al., "Multi-Task
    Learning as a Bargaining Game", ICML 2022. Cost class: gradient, plus up to `optim_niter`
    small convex solves per recomputation; the paper recommends recomputing every 50-100
    steps when the tasks are many."""

    title = "Nash-MTL"
    summary = "Lets the tasks bargain for the update; each gets a fair share of progress."
    helps_when = "Many tasks of different difficulty; use update_every to keep it affordable."
    param_specs = {
        "max_norm": Param(1.0, "Clip the update's norm to this (0 = no clipping).", 0.0, 100.0),
        "optim_niter": Param(
            20, "Convex-program iterations per recomputation.", 1, 200, integer=True
        ),
    }

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> WeightedAggregator:
        return WeightedAggregator(
            DirectNashMTLWeighting(
                n_tasks,
                max_norm=params["max_norm"],
                update_weights_every=1,
                optim_niter=params["optim_niter"],
            )
        )


class DirectNashMTLWeighting(_NashMTLWeighting):
    """torchjd's Nash-MTL weighting (normalisation, warm start, stopping rule, norm clipping)
    with its inner convex program solved directly (`conic.min_linear_with_log_products`)
    instead of through cvxpy, whose program here is not DPP and is rebuilt on every one of the
    up to `optim_niter` solves. The program is the same: minimise Σ(Gα) + φ'(α_t)ᵀ(α − α_t)/n
    subject to log(α_i n) + log (Gα)_i ≥ 0, with G the Gramian divided by its norm n.
    (`_NashMTLWeighting` is private in torchjd 0.18, which requirements.txt pins.)"""

    def _init_optim_problem(self) -> None:
        """Nothing to build: each program is stated afresh in `_solve_optimization`."""

    def _solve_optimization(self, gtg: np.ndarray) -> np.ndarray:
        scale = float(self.normalization_factor.item())
        floor = -np.log(scale)
        alpha_t = self.prvs_alpha
        for _ in range(self.optim_niter):
            slope = 1 / alpha_t + (1 / (gtg @ alpha_t)) @ gtg  # φ'(α_t), as torchjd linearises
            solved = min_linear_with_log_products(gtg, slope / scale, floor)
            if (
                solved is None
                or np.linalg.norm(gtg @ alpha_t - 1 / (alpha_t + 1e-10)) < 1e-3
                or np.linalg.norm(solved - alpha_t) < 1e-6
            ):
                break
            alpha_t = solved
        self.prvs_alpha = alpha_t
        return self.prvs_alpha
