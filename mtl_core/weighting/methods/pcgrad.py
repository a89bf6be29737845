"""PCGrad: project away the conflicting part of each task gradient."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import PCGrad

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("pcgrad")
class ProjectingConflictingGradients(GradientWeighting):
    """For each task, in random order over the others, removes the component along any
    gradient it conflicts with; the update is the sum (torchjd `PCGrad`). Yu et al., "Gradient
    Surgery for Multi-Task Learning", NeurIPS 2020. Cost class: gradient."""

    title = "PCGrad"
    summary = "Removes from each task gradient the part that points against another task."
    helps_when = "Gradients conflict and differ in size (PCGrad's 'tragic triad')."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> PCGrad:
        return PCGrad()
