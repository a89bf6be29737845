"""DualProj: project the mean gradient onto the dual cone of the task gradients."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import DualProj

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("dualproj")
class DualConeProjection(GradientWeighting):
    """The mean gradient projected onto the dual cone of the rows of the Jacobian, so it
    conflicts with no task (torchjd `DualProj`). Quinton and Rey, "Jacobian Descent for
    Multi-Objective Optimization", arXiv 2406.16232 (after GEM, Lopez-Paz and Ranzato 2017).
    Cost class: gradient (one T×T quadratic program)."""

    title = "DualProj"
    summary = "Moves the average gradient the least needed so that it helps every task."
    helps_when = "Like UPGrad with one projection instead of T; slightly cheaper."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> DualProj:
        return DualProj()
