"""Random loss weighting (RLW): fresh random weights every step."""

from __future__ import annotations

from typing import Any

from torchjd.scalarization import Random

from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting


@register("rlw")
class RandomLossWeighting(ScalarizerWeighting):
    """Σ_i λ_i L_i with λ = softmax(N(0, I)) drawn every step (torchjd `Random`). Lin et al.,
    "Reasonable Effectiveness of Random Weighting: A Litmus Test for Multi-Task Learning",
    TMLR 2022. Cost class: loss (1 backward)."""

    title = "Random weights (RLW)"
    summary = "Draws new random task weights (summing to 1) at every step."
    helps_when = "As a baseline: a method that cannot beat random weights is not helping."

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> Random:
        return Random()
