"""Aligned-MTL: align the task gradients by making their matrix well conditioned."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import AlignedMTL

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("aligned_mtl")
class AlignedMultiTask(GradientWeighting):
    """Rescales the task gradients' principal components to equal size (condition number 1),
    then sums (torchjd `AlignedMTL`, scale "min"). Senushkin et al., "Independent Component
    Alignment for Multi-Task Learning", CVPR 2023. Cost class: gradient (an eigendecomposition
    of the T×T Gramian)."""

    title = "Aligned-MTL"
    summary = "Stabilises training by removing both conflicts and dominance between gradients."
    helps_when = "Gradients differ widely in size and direction, making training unstable."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> AlignedMTL:
        return AlignedMTL()
