"""UPGrad: unconflicting projection of gradients (torchjd's recommended aggregator)."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import UPGrad

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("upgrad")
class UnconflictingProjection(GradientWeighting):
    """Projects every task gradient onto the dual cone of all of them and averages: the update
    never conflicts with any task gradient (torchjd `UPGrad`). Quinton and Rey, "Jacobian
    Descent for Multi-Objective Optimization", arXiv 2406.16232. Cost class: gradient
    (Jacobian + a T×T quadratic program per task)."""

    title = "UPGrad"
    summary = "Averages the task gradients after removing every conflict between them."
    helps_when = "Task gradients often point against each other (see the cosine chart)."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> UPGrad:
        return UPGrad()
