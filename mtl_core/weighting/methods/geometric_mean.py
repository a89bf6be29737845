"""Geometric mean of the task losses (GLS)."""

from __future__ import annotations

from typing import Any

import torch
from torchjd.scalarization import GeometricMean

from mtl_core.weighting.registry import register
from mtl_core.weighting.scalarized import ScalarizerWeighting

FLOOR = 1e-8  # a batch without labels for a task has loss 0; log(0) would poison the step


@register("geometric_mean")
class GeometricMeanLoss(ScalarizerWeighting):
    """(Π_i L_i)^(1/T) (torchjd `GeometricMean`); task i's weight is that mean / (T L_i), so
    small losses weigh more. Chennupati et al., "MultiNet++", CVPR Workshops 2019. Losses are
    floored at 1e-8. Cost class: loss (1 backward)."""

    title = "Geometric mean"
    summary = "Minimises the geometric mean of the losses, which is scale-invariant per task."
    helps_when = "Losses on very different scales and you want no tuning."

    def make_scalarizer(self, n_tasks: int, params: dict[str, Any]) -> GeometricMean:
        return GeometricMean()

    def combine(self, losses: torch.Tensor, step: int) -> torch.Tensor:
        return super().combine(losses.clamp_min(FLOOR), step)
