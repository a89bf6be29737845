"""ConFIG: the conflict-free direction with equal cosine to every task gradient."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import ConFIG

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("config")
class ConflictFreeUpdate(GradientWeighting):
    """The direction with equal cosine to every unit task gradient (a pseudo-inverse), scaled
    by the sum of the gradients' projections on it (torchjd `ConFIG`). Liu et al., "ConFIG:
    Towards Conflict-free Training of Physics Informed Neural Networks", ICLR 2025. Cost class:
    gradient. The recorded weights are its effective (least-squares) weights."""

    title = "ConFIG"
    summary = "Takes the one direction that agrees equally with every task."
    helps_when = "Tasks fight over the update and you want each to gain alike."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> ConFIG:
        return ConFIG()
