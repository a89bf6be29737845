"""GradDrop: keep, per coordinate, only the gradient sign most tasks agree on."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import GradDrop

from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("graddrop")
class GradientSignDropout(GradientWeighting):
    """For every coordinate, drops the positive or the negative task gradients at random, with
    probability given by their sign purity (torchjd `GradDrop`, applied to the Jacobian of the
    shared parameters rather than of a representation). Chen et al., "Just Pick a Sign",
    NeurIPS 2020. Cost class: gradient. Not a weighting of whole gradients: the recorded
    weights are its effective (least-squares) weights."""

    title = "GradDrop"
    summary = "Per coordinate, randomly keeps only the gradients of one sign."
    helps_when = "Gradients disagree in sign coordinate by coordinate; adds useful noise."

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> GradDrop:
        return GradDrop()
