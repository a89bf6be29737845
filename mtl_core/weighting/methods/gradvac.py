"""GradVac: pull pairwise gradient cosines up to a learned target."""

from __future__ import annotations

from typing import Any

from torchjd.aggregation import GradVac

from mtl_core.weighting.base import Param
from mtl_core.weighting.gradient import GradientWeighting
from mtl_core.weighting.registry import register


@register("gradvac")
class GradientVaccine(GradientWeighting):
    """When a pair's cosine falls below its running target φ̂ (EMA with rate beta), adds
    enough of the other gradient to reach it (torchjd `GradVac`). Wang et al., "Gradient
    Vaccine", ICLR 2021. Cost class: gradient."""

    title = "GradVac"
    summary = "Like PCGrad, but aligns gradients to their usual similarity, not just to 0."
    helps_when = "Tasks are related but their gradients drift apart during training."
    param_specs = {"beta": Param(0.5, "Rate of the moving cosine target.", 0.0, 1.0)}

    def make_aggregator(self, n_tasks: int, params: dict[str, Any]) -> GradVac:
        return GradVac(beta=params["beta"])
